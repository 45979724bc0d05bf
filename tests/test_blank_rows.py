"""Blank rows in a directory, as spreadsheets save them: the rows after a blank line keep
the number the file shows them under (a CSV's blank line was skipped, every later message
named the row above), and blank rows at the end are no sites (a CSV's « ;;; » rows and a
workbook's rows of spaces were counted as sites without an address). CSV and workbook give
the same answer."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from geo.initiatives import read_initiatives, read_sites_table

ROWS = [["nom", "adresse", "latitude", "longitude"], ["A", "1 rue A", "45.7", "4.88"], [],
        ["B", "2 rue B", "x", "4.88"]]


def _csv(path):
    lines = [";".join(r) for r in ROWS] + [";;;", " ; ; ; ", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _workbook(path):
    book = Workbook()
    for row in ROWS:
        book.active.append(row)
    book.active.append([" ", "", None, " "])
    book.active.append(["", " "])
    book.save(path)


@pytest.mark.parametrize(("name", "make"), [("t.csv", _csv), ("t.xlsx", _workbook)])
def test_blank_rows_keep_the_numbering_and_are_no_sites_at_the_end(tmp_path, name, make):
    path = tmp_path / name
    make(path)
    table, first_row, _ = read_sites_table(path)
    assert len(table) == 3  # A, the blank row between, B
    issues = [str(i) for i in read_initiatives(path).issues]
    assert "ligne 4, colonne « latitude » : coordonnée « x » n'est pas un nombre : site " \
        "non localisé" in issues, issues
    assert not [i for i in issues if i.startswith(("ligne 5", "ligne 6"))], issues


def test_a_header_and_blank_rows_is_a_header_alone(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("nom;adresse\n;\n \n;;\n", encoding="utf-8")
    with pytest.raises(Exception, match="seulement l'en-tête"):
        read_sites_table(path)
