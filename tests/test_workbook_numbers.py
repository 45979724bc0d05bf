"""A workbook's numbers stay numbers in the outputs, in every column of the user's: a
budget typed 12500.5 was written « 12500.5 » in the `;` CSV (text for French Excel, a date
for « 1.5 ») and as text in the Excel table. Identifiers typed as numbers (a SIRET) stay as
they read, codes typed as text (« 01004 ») stay text."""

from __future__ import annotations

import pandas as pd
from openpyxl import Workbook, load_workbook

from geo import cli

HEADER = ["SIRET", "nom", "adresse", "code_postal", "commune", "latitude", "longitude",
          "budget", "version"]
ROWS = [[12345678900011, "Régie", "98 rue Didot", 75014, "Paris", 48.8309, 2.3158, 12500.5,
         1.5],
        [12345678900029, "Atelier", "10 rue de Rivoli", 75004, "Paris", 48.8556, 2.3601, 300,
         "01004"]]


def _workbook(path):
    book = Workbook()
    for row in [HEADER, *ROWS]:
        book.active.append(row)
    book.save(path)


def test_numbers_of_a_workbook_stay_numbers(tmp_path):
    source = tmp_path / "annuaire.xlsx"
    _workbook(source)
    csv_out, xlsx_out = tmp_path / "o.csv", tmp_path / "o.xlsx"
    assert cli.main(["link", str(source), "-o", str(csv_out)]) == 0
    written = pd.read_csv(csv_out, sep=";", dtype=str, keep_default_na=False,
                          encoding="utf-8-sig")
    assert written["budget"].tolist() == ["12500,5", "300"]
    assert written["version"].tolist() == ["1,5", "01004"]
    assert written["SIRET"].tolist() == ["12345678900011", "12345678900029"]

    assert cli.main(["link", str(source), "-o", str(xlsx_out)]) == 0
    sheet = load_workbook(xlsx_out).active
    rows = list(sheet.iter_rows(values_only=True))
    column = {name: i for i, name in enumerate(rows[0])}
    assert [r[column["budget"]] for r in rows[1:]] == [12500.5, 300]
    assert [r[column["version"]] for r in rows[1:]] == [1.5, "01004"]
    assert [r[column["SIRET"]] for r in rows[1:]] == ["12345678900011", "12345678900029"]


def test_the_geocode_door_keeps_them_too(tmp_path):
    source = tmp_path / "annuaire.xlsx"
    _workbook(source)
    out = tmp_path / "g.csv"
    assert cli.main(["geocode", str(source), "-o", str(out), "--geocoder-url",
                     "http://127.0.0.1:9"]) == 0
    written = pd.read_csv(out, sep=";", dtype=str, keep_default_na=False,
                          encoding="utf-8-sig")
    assert written["version"].tolist() == ["1,5", "01004"]
    assert written["SIRET"].tolist() == ["12345678900011", "12345678900029"]
