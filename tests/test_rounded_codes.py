"""SIRETs that a spreadsheet saved in exponent form (« 1,23457E+13 »: digits lost) are
said as such where the columns are reported, with what to do, whether they now repeat
(no identifier) or still differ (an identifier that names no real establishment)."""

from __future__ import annotations

import pandas as pd

from geo.columns import detect_columns

ADVICE = "codes arrondis par un tableur"


def _table(sirets: list[str]) -> pd.DataFrame:
    n = len(sirets)
    return pd.DataFrame({"SIRET": sirets, "nom": [f"Site {i}" for i in range(n)],
                         "adresse": [f"{i + 1} rue A" for i in range(n)],
                         "latitude": ["45,7"] * n, "longitude": ["4,88"] * n})


def test_rounded_sirets_that_repeat_are_said():
    report = " ; ".join(detect_columns(_table(["1,23457E+13", "1,23457E+13", "1,98765E+13"]),
                                       None, path="t.csv").report)
    assert "pas d'identifiant de site" in report and ADVICE in report, report


def test_rounded_sirets_that_differ_are_said():
    report = " ; ".join(detect_columns(_table(["1,23457E+13", "1,98765E+13"]), None,
                                       path="t.csv").report)
    assert "identifiant de site : « SIRET »" in report and ADVICE in report, report
    # real SIRETs are not
    report = " ; ".join(detect_columns(_table(["12345678900011", "12345678900029"]), None,
                                       path="t.csv").report)
    assert "identifiant de site : « SIRET »" in report and ADVICE not in report
