"""The fiches' maps (geo.write.sitemaps): never an empty square with one dot. A site far from
any quartier has its commune named on the map, the nearest quartier drawn and named, and
a locator of its département; layers named in the SVG."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from tests.test_fiches import _fiches_of

DATA = Path(__file__).parent / "data"

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")


def test_a_village_far_from_any_quartier_has_context(tmp_path):
    """Mont-Bonvillers (a real address of its Base Adresse Locale), 19.5 km from the
    nearest quartier: the map names the commune beside the site (it has no outline in the
    bundled communes), draws and names that quartier, and shows the site in its
    département (Meurthe-et-Moselle), in a group of its own."""
    bal = pd.read_csv(DATA / "adresses-54084.csv", sep=";", dtype=str).head(1)
    table = pd.DataFrame({"nom": ["Épicerie du Pays-Haut"], "commune": ["Mont-Bonvillers"],
                          "code_postal": ["54260"],
                          "adresse": [f"{bal['numero'][0]} {bal['voie_nom'][0]}"],
                          "latitude": bal["lat"], "longitude": bal["long"]})
    _fiches_of(table, tmp_path, images=True)
    svg = next((tmp_path / "fiches").glob("*.svg")).read_text(encoding="utf-8")
    texts = [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    # the panel's title and a name on the map itself
    assert texts.count("Mont-Bonvillers") >= 1 and "Mont-Bonvillers (1 site)" in texts, texts
    assert "Meurthe-et-Moselle" in texts, texts
    assert any("Rémelange" in t for t in texts), texts
    assert 'id="situation"' in svg


def test_compound_path_keeps_holes_and_every_part():
    """A polygon with a hole and a multipolygon become one path whose filled area is the
    shapes' (the hole stays empty under the non-zero rule)."""
    from matplotlib.path import Path as MPath

    from geo.write.drawing import compound_path

    ring = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)],
                           [[(2, 2), (2, 8), (8, 8), (8, 2)]])  # hole oriented as the shell
    other = shapely.MultiPolygon([shapely.box(20, 0, 22, 2), shapely.box(30, 0, 31, 1)])
    path = compound_path(np.array([ring, other, shapely.Polygon()], dtype=object))
    assert (path.codes == MPath.MOVETO).sum() == 4
    rings = path.to_polygons(closed_only=True)

    def signed(xy):  # shoelace: positive counter-clockwise
        x, y = xy[:, 0], xy[:, 1]
        return (x * np.roll(y, -1) - np.roll(x, -1) * y).sum() / 2

    # the hole turns the other way than every shell: empty under the non-zero rule
    assert [signed(r) for r in rings] == [100, -36, 4, 1]
    assert compound_path(np.array([shapely.Point(0, 0)], dtype=object)) is None


def test_a_site_40_km_from_any_quartier_is_framed_with_it(tmp_path):
    """A farm on the Aubrac, 40 km from Mende's quartier and in no commune the tool has
    an outline of, with no commune typed: its panel is named by its département and
    framed to hold the nearest quartier, drawn and named (not a square with one dot)."""
    from tests.test_print import text_of

    table = pd.DataFrame({"id": ["A1"], "nom": ["Ferme solidaire"],
                          "latitude": ["44.66"], "longitude": ["3.04"]})
    pdf = _fiches_of(table, tmp_path, images=False)
    text = " ".join(text_of(pdf, 1).split())
    assert "Lozère (1 site)" in text, text
    assert text.count("Fontanilles") >= 2, text  # the sites' table and the map


def test_reportlab_path_keeps_holes_and_every_part():
    """The fiches' paths (geo.write.vectorpage): a polygon with a hole and a multipolygon
    make one path of four rings (the hole stays empty under the even-odd rule), taken to
    the page; nothing for a point."""
    from geo.write.vectorpage import polygons_path, to_page

    ring = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)],
                           [[(2, 2), (2, 8), (8, 8), (8, 2)]])
    other = shapely.MultiPolygon([shapely.box(20, 0, 22, 2), shapely.box(30, 0, 31, 1)])
    path = polygons_path(np.array([ring, other, shapely.Polygon()], dtype=object),
                         to_page((0, 0, 40, 10), (100, 200, 80, 20)))
    assert path.operators.count(0) == 4 and path.operators.count(3) == 4  # rings, closed
    assert path.fillMode == 0  # even-odd
    xy = np.reshape(path.points, (-1, 2))
    assert xy[:, 0].min() == 100 and xy[:, 0].max() == 162 and xy[:, 1].max() == 220
    assert polygons_path(np.array([shapely.Point(0, 0)], dtype=object),
                         to_page((0, 0, 1, 1), (0, 0, 1, 1))) is None


def test_png_lines_keep_their_width_at_300_dpi(tmp_path, capfd):
    """A 5.5 pt line (the scale bar's) is 23 pixels thick at 300 dpi, not 5.5 (the
    rasteriser strokes in pixels); the drawing is left as it was."""
    from PIL import Image
    from reportlab.graphics.shapes import Drawing

    from geo.write.vectorpage import colour, polyline, write_png

    drawing = Drawing(72, 72)
    drawing.add(polyline([10, 62], [36, 36], strokeColor=colour("#000000"), strokeWidth=5.5))
    write_png(drawing, tmp_path / "l.png", 300)
    with Image.open(tmp_path / "l.png") as image:
        column = np.asarray(image.convert("L"))[:, image.size[0] // 2]
    assert 21 <= (column < 128).sum() <= 25, (column < 128).sum()
    assert drawing.contents[0].strokeWidth == 5.5


def test_maps_are_written_without_a_word_on_the_error_stream(tmp_path, capfd):
    """The PNG rasteriser's « colinear! » (a border two départements share) is not
    printed: the command's error stream is for errors."""
    from tests.test_print import EXAMPLE

    table = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False).head(3)
    _fiches_of(table, tmp_path, images=True)
    assert len(list((tmp_path / "fiches").glob("*.png"))) == 1
    assert capfd.readouterr().err == ""


def test_two_sites_in_two_panels_still_joined_by_their_line(tmp_path):
    """Two sites of one initiative 17 km apart (two agglomerations, each its panel, but
    close enough for the dashed line between them): a panel holding one of them draws
    what it can of the line, and the page is written."""
    from tests.test_print import text_of

    table = pd.DataFrame({"id": ["J1", "J1"], "nom": ["Jardins", "Jardins"],
                          "latitude": ["48.9205", "48.7800"],
                          "longitude": ["2.3601", "2.2000"]})
    pdf = _fiches_of(table, tmp_path, images=False)
    assert " ".join(text_of(pdf, 1).split()).count("(1 site)") == 2
