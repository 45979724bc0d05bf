"""What the print draws costs no more than the page shows: the locator's départements
simplified to its scale, a wide map's quartiers reduced to the dots it draws."""

from __future__ import annotations

import numpy as np
import pytest

from geo import cli
from tests.servers import ROOT_DATA

EXAMPLE = ROOT_DATA / "exemple" / "initiatives.csv"


def test_the_demo_print_holds_no_outline_finer_than_its_locator_shows(tmp_path):
    pdf = tmp_path / "demo.pdf"
    assert cli.main(["map", str(EXAMPLE), "-o", str(tmp_path / "c.html"), "--print",
                     str(pdf)]) == 0
    # 1.1 MB with the locator's départements drawn whole (84 000 points), 0.4 MB simplified
    assert pdf.stat().st_size < 700_000


@pytest.fixture(scope="module")
def layers():
    from geo.initiatives import read_initiatives
    from geo.link import link
    from geo.qpv import load_qpv
    from geo.write.printlayers import prepare_layers

    result = link(read_initiatives(EXAMPLE), load_qpv())
    return prepare_layers(result, load_qpv(), None, "theme", None)


def test_a_wide_map_takes_the_quartiers_dots_without_their_shapes(layers):
    france = (-5.5, 41.0, 10.0, 51.5)
    dots = layers.framed("qpv", france, "EPSG:2154", None)
    assert len(dots) > 1000
    assert dots["geometry"].isna().all()
    assert not any(shape is not None for shape in layers._projected["qpv", "EPSG:2154"].geoms)
    # the same points as when the shapes are drawn: each found on its whole shape
    shapes = layers.framed("qpv", france, "EPSG:2154", 400.0)
    assert np.allclose(dots[["spot_x", "spot_y"]].to_numpy(),
                       shapes[["spot_x", "spot_y"]].to_numpy())
    assert shapes["geometry"].notna().all()
