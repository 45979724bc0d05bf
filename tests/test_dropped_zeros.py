"""Postcodes and INSEE codes of the départements 01 to 09 as French Excel saves them, their
leading zero dropped (« 1000 » for 01000, « 1053 » for 01053). An earlier geocoder's answer
was doubted for every such row (« code postal différent (01000 au lieu de 1000) »), and a
point far from its address was not checked (the code was no code)."""

from __future__ import annotations

import pandas as pd

from geo import cli
from geo.geocode import STATUS_OK, assess

#: Bourg-en-Bresse (01053, 01000): its town hall, and a point in Lyon.
BOURG, LYON = ("46.2052", "5.2255"), ("45.7640", "4.8357")


def test_an_earlier_answer_agrees_with_a_code_without_its_zero():
    row = {"q": "1 rue X 1000 Bourg-en-Bresse", "address": "1 rue X", "postcode": "",
           "citycode": "", "check_postcode": "1000", "check_citycode": "1053"}
    answer = {"latitude": BOURG[0], "result_label": "1 rue X 01000 Bourg-en-Bresse",
              "result_score": "0.93", "result_type": "housenumber",
              "result_postcode": "01000", "result_citycode": "01053"}
    assert assess(row, answer) == (STATUS_OK, "")


def test_a_point_far_from_an_address_without_its_zero_is_reviewed(tmp_path):
    table = tmp_path / "annuaire.csv"
    header = "id;nom;adresse;code_postal;code_commune;commune;latitude;longitude;" \
             "result_score;result_type;result_postcode;result_citycode"
    rows = [f"A1;Régie;1 rue X;1000;1053;Bourg-en-Bresse;{BOURG[0]};{BOURG[1]};0,93;"
            "housenumber;01000;01053",
            f"A2;Atelier;2 rue Y;1000;1053;Bourg-en-Bresse;{LYON[0]};{LYON[1]};;;;"]
    table.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    review = tmp_path / "relecture.csv"
    assert cli.main(["link", str(table), "-o", str(tmp_path / "o.csv"),
                     "--relecture", str(review)]) == 0
    found = pd.read_csv(review, sep=";", dtype=str, keep_default_na=False,
                        encoding="utf-8-sig").set_index("cle")
    assert list(found.index) == ["A2"], found["motif"].to_dict()
    assert "adresse à Bourg-en-Bresse (01)" in found.loc["A2", "motif"]
