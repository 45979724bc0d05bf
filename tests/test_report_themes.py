"""The report's « Par quartier » counts per single theme, split as the maps split them
(item 2 of the fresh-eye review: one column per exact cell, « Alimentation ; Culture »)."""

from __future__ import annotations

import openpyxl

from geo import cli
from geo.write.report import SEVERAL_THEMES_COUNTED

SITES = ("id;nom;theme;latitude;longitude\n"
         "1;Épicerie;\"Alimentation ; Culture\";48.8870;2.3540\n"
         "2;Chantier;Insertion;48.8870;2.3540\n"
         "3;Régie;insertion|Insertion;48.8870;2.3540\n")


def test_par_quartier_counts_each_single_theme(tmp_path):
    sites = tmp_path / "t.csv"
    sites.write_text(SITES, encoding="utf-8")
    report = tmp_path / "rapport.xlsx"
    assert cli.main(["link", str(sites), "-o", str(tmp_path / "o.csv"),
                     "--rapport", str(report)]) == 0
    rows = list(openpyxl.load_workbook(report)["Par quartier"].values)
    header, first = rows[0], dict(zip(rows[0], rows[1], strict=True))
    themed = [h for h in header if h and h.startswith("Implantées – ")]
    assert themed == ["Implantées – Alimentation", "Implantées – Culture",
                      "Implantées – Insertion"]
    assert first["Code QPV"] == "QN07511M" and first["Initiatives implantées"] == 3
    assert [first[h] for h in themed] == [1, 1, 2]  # the first initiative in both its themes
    assert SEVERAL_THEMES_COUNTED in [row[0] for row in rows]
