"""A workbook's formula without a computed value is named, never read as an empty cell
(item 5 of the fresh-eye review: « =44.8378 » came out as « coordonnées manquantes »)."""

from __future__ import annotations

import zipfile

import openpyxl

from geo import cli
from tests.outputs import read_output


def _workbook(path, *, computed: bool):
    """A one-site workbook whose latitude is the formula ``=44.8378``; ``computed``: with
    the value a spreadsheet program stores beside it (openpyxl writes none)."""
    book = openpyxl.Workbook()
    book.active.append(["nom", "latitude", "longitude"])
    book.active.append(["Café", "=44.8378", -0.5792])
    book.save(path)
    if computed:
        with zipfile.ZipFile(path) as source:
            parts = {i.filename: source.read(i) for i in source.infolist()}
        sheet = "xl/worksheets/sheet1.xml"
        parts[sheet] = parts[sheet].replace(b"<f>44.8378</f><v />",
                                            b"<f>44.8378</f><v>44.8378</v>")
        assert b"<v>44.8378</v>" in parts[sheet]
        with zipfile.ZipFile(path, "w") as target:
            for name, data in parts.items():
                target.writestr(name, data)
    return path


def test_formula_without_value_is_named(tmp_path, capsys):
    out = tmp_path / "o.csv"
    sites = _workbook(tmp_path / "t.xlsx", computed=False)
    assert cli.main(["link", str(sites), "-o", str(out)]) != 0
    err = capsys.readouterr().err
    assert "ligne 2, colonne « latitude »" in err
    assert "formule (=44.8378) sans valeur calculée" in err and "enregistrez-le" in err
    assert "Traceback" not in err and not out.exists()


def test_formula_with_its_value_is_read(tmp_path):
    sites = _workbook(tmp_path / "t.xlsx", computed=True)
    assert cli.main(["link", str(sites), "-o", str(tmp_path / "o.csv")]) == 0
    assert read_output(tmp_path / "o.csv")["relation"].tolist() == ["none"]
