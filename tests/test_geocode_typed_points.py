"""Issue 31, one answer per mistake: ``ess-qpv geocode`` sends to its review the typed
points a study would not use (outside France, against the row's own address, doubted by an
earlier geocoder), the same rows with the same causes as ``link``; a point accepted there
is not sent again."""

from __future__ import annotations

import pandas as pd
import pytest

from geo import cli
from tests import directories
from tests.outputs import read_output
from tests.test_real_directories import GEOCODED, NATIONAL


def _review(path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False,
                       encoding="utf-8-sig").set_index("cle")


@pytest.mark.parametrize(("path", "expected"), [(directories.NATIONAL, NATIONAL),
                                                (directories.GEOCODED, GEOCODED)],
                         ids=["national", "geocode-avant"])
def test_geocode_reviews_the_rows_link_reviews(tmp_path, path, expected):
    out, review = tmp_path / "g.csv", tmp_path / "revue.csv"
    # offline: every row has its coordinates, nothing is sent
    argv = ["geocode", str(path), "-o", str(out), "--geocoder-url", "http://127.0.0.1:9"]
    assert cli.main([*argv, "--review", str(review)]) == 0
    found = _review(review)
    assert set(found.index) == set(expected), found[["motif"]].to_string()
    for key, cause in expected.items():
        assert cause in found.loc[key, "motif"], (key, found.loc[key, "motif"])
    table = read_output(out).set_index("id")
    assert set(table.index[table["geocode_status"] == "a_verifier"]) == set(expected)
    # the typed point is kept in the table and proposed at the review
    key = "Q-93066"
    assert table.loc[key, "latitude"] != ""
    assert found.loc[key, "latitude_proposee"] != ""

    # accepted at the review: its coordinates are the table's, and no longer doubted
    found.loc[key, "accepter"] = "oui"
    found.reset_index().to_csv(review, sep=";", index=False, encoding="utf-8-sig")
    again = tmp_path / "revue2.csv"
    assert cli.main([*argv, "--corrections", str(review), "--review", str(again)]) == 0
    assert set(_review(again).index) == set(expected) - {key}
    assert read_output(out).set_index("id").loc[key, "geocode_status"] == "corrige"
