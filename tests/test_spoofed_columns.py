"""An input table's columns named like the tool's results never pass for them: they are
kept under another name and the run says so (item 1 of the fresh-eye review)."""

from __future__ import annotations

import openpyxl
import pytest

from geo import cli
from tests.outputs import read_output

SPOOF = ("nom;latitude;longitude;relation;code_qp;distance_m;Relation aux QPV\n"
         "Café de Bordeaux;44.8378;-0.5792;implantée;QN03301M;0;implantée\n")


def _write(path, text: str):
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        for line in text.splitlines():
            book.active.append(line.split(";"))
        book.save(path)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_input_columns_named_like_ours_are_set_aside(tmp_path, capsys, suffix):
    sites = _write(tmp_path / f"t{suffix}", SPOOF)
    assert cli.main(["link", str(sites), "-o", str(tmp_path / "o.xlsx")]) == 0
    printed = capsys.readouterr().out
    book = openpyxl.load_workbook(tmp_path / "o.xlsx")
    header = [c.value for c in book.active[1]]
    row = dict(zip(header, (c.value for c in book.active[2]), strict=True))
    assert len(header) == len(set(header))
    assert row["Relation aux QPV"] == "hors QPV"
    assert row["Relation aux QPV (fichier d'origine)"] == "implantée"
    assert row["relation (fichier d'origine)"] == "implantée"
    assert row["code_qp (fichier d'origine)"] == "QN03301M"
    assert str(row["distance_m (fichier d'origine)"]) == "0"
    assert "«\u00a0relation\u00a0» devient «\u00a0relation (fichier d'origine)\u00a0»" in printed


def test_own_output_read_again_is_still_ours(tmp_path):
    sites = _write(tmp_path / "t.csv", SPOOF)
    first, second = tmp_path / "1.csv", tmp_path / "2.csv"
    assert cli.main(["link", str(sites), "-o", str(first)]) == 0
    assert cli.main(["link", str(first), "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()


def test_repeated_headers_are_said(tmp_path, capsys):
    sites = _write(tmp_path / "t.csv", "nom;nom;latitude;longitude\nA;B;44.8378;-0.5792\n")
    assert cli.main(["link", str(sites), "-o", str(tmp_path / "o.csv")]) == 0
    printed = capsys.readouterr().out
    assert "en-tête «\u00a0nom\u00a0» en double" in printed and "«\u00a0nom.1\u00a0»" in printed
    assert "nom.1" in read_output(tmp_path / "o.csv").columns


def test_streamed_link_sets_them_aside_too(tmp_path, capsys):
    sites = _write(tmp_path / "t.csv", SPOOF)
    assert cli.main(["link", str(sites), "-o", str(tmp_path / "o.csv"), "--flux"]) == 0
    printed = capsys.readouterr().out
    header, line = (tmp_path / "o.csv").read_text(encoding="utf-8-sig").splitlines()
    header = header.split(";")
    row = dict(zip(header, line.split(";"), strict=True))
    assert len(header) == len(set(header))
    assert row["Relation aux QPV"] == "hors QPV"
    assert row["Relation aux QPV (fichier d'origine)"] == "implantée"
    assert row["code_qp (fichier d'origine)"] == "QN03301M"
    assert "«\u00a0relation\u00a0» devient «\u00a0relation (fichier d'origine)\u00a0»" in printed
