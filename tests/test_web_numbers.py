"""The web page's results table writes numbers as the downloaded CSV of the same study does
(item 4 of the fresh-eye review: « 48.799456 » on the page, « 48,799456 » in the CSV)."""

from __future__ import annotations

import csv

from geo import cli
from geo.web.files import _report_tables

SITES = ("id;nom;latitude;longitude;budget\n"
         "1;Café;48.799456;2.3540;1234.5\n"
         "2;Atelier;44.8378;-0.5792;12\n")


def test_results_table_and_csv_show_the_same_numbers(tmp_path):
    (tmp_path / "t.csv").write_text(SITES, encoding="utf-8")
    table, report = tmp_path / "o.csv", tmp_path / "rapport.xlsx"
    assert cli.main(["link", str(tmp_path / "t.csv"), "-o", str(table),
                     "--rapport", str(report)]) == 0
    headers, rows, _, _ = _report_tables(str(report), report.stat().st_mtime_ns)["Initiatives"]
    shown = [dict(zip(headers, row, strict=True)) for row in rows]
    with table.open(encoding="utf-8-sig", newline="") as f:
        written = list(csv.DictReader(f, delimiter=";"))
    assert shown[0]["latitude"] == "48,799456" and shown[0]["budget"] == "1234,5"
    for column in ("latitude", "longitude", "budget", "Distance au QPV le plus proche (m)"):
        assert [r[column] for r in shown] == [r[column] for r in written], column
