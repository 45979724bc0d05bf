"""The declarations that carry their behaviour: QPV generations and status labels, each
declared once in geo.vocabulary and read by linking, key figures and tables alike."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from geo.impact import read_population
from geo.link import _match_qpv
from geo.qpv import load_qpv
from geo.vocabulary import (
    GENERATION,
    LABELS,
    QPV_CODE,
    VALUE_LABELS,
    GeocodeStatus,
    generation_of_code,
)

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("codes, generation", [
    (gpd.read_file(DATA / "qp2024_dep75_4dp.geojson")["code_qp"], "2024"),
    (gpd.read_file(DATA / "qp2024_dep93_4dp.geojson")["code_qp"], "2024"),
    (load_qpv("bundled-2015-occitanie")["code_qp"], "2015"),
    (load_qpv("bundled-2024")["code_qp"], "2024"),
])
def test_real_codes_match_their_generation_declared_once(codes, generation):
    """Real codes (QN07501M in 2024, QP066007 in 2015) are eight characters: the prefix
    and six more; one pattern serves every reader."""
    assert codes.str.fullmatch(QPV_CODE.pattern).all()
    assert codes.str.fullmatch(GENERATION[generation].code.pattern).all()
    assert {generation_of_code(c).key for c in codes} == {generation}


def test_linking_and_key_figures_read_codes_alike(tmp_path):
    """A served quartier written as a code and a key-figures file both read codes by the
    generations' one pattern (link once accepted seven characters, impact only eight)."""
    by_code = {"QN07501M": 0}
    assert _match_qpv("qn07501m", by_code, {}, []) == 0
    assert "code de quartier inconnu" in _match_qpv("QN09999Z", by_code, {}, [])
    assert "code de quartier inconnu" not in _match_qpv("QN07501", by_code, {}, [])
    path = tmp_path / "chiffres.csv"
    pd.DataFrame({"code": ["QN07501M", "QP066007"], "pop_mun": ["1200", "3400"]}).to_csv(
        path, index=False)
    assert sorted(read_population(path).values) == [1200, 3400]


def test_geocoding_statuses_have_one_label_table():
    """A cell, a table and a summary read the same declaration."""
    for status in GeocodeStatus:
        assert VALUE_LABELS["geocode_status"][status.value] == status.label == LABELS[status]
        assert status.counted
    assert GeocodeStatus.OK.counted == "géocodées (ok)"
