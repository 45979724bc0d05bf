"""A directory geocoded earlier by the national address service carries its answer
(``result_label``, ``result_type``, ``result_citycode``…): the earlier geocoder's guesses,
never the row's own theme, name or address. Recognised by their content they made
« result_type » the theme (housenumber, street… in the legend) and « result_citycode » the
row's postcode (the point then checked against the geocoder's own answer)."""

from __future__ import annotations

import pandas as pd

from geo.columns import detect_columns
from tests import directories


def _table() -> pd.DataFrame:
    return pd.read_csv(directories.GEOCODED, sep=";", dtype=str, keep_default_na=False)


def test_an_earlier_answer_is_no_theme():
    found = detect_columns(_table(), None, path="annuaire.csv").found
    assert "theme" not in found, found
    assert found["postcode"] == "code_postal"


def test_an_earlier_answer_is_not_the_rows_own_address_or_name():
    table = _table().drop(columns=["nom", "adresse", "code_postal", "commune"])
    found = detect_columns(table, None, path="annuaire.csv").found
    assert not {v for v in found.values() if v.startswith("result_")}, found
