"""Tables French Excel reads (issue 31, item 6): in our ``;``-separated CSV files a whole
number has no « .0 » and a decimal has a comma, as French Excel reads them; the tool reads
its own CSV files back to the same numbers; the Excel report keeps real numeric cells; text
that a spreadsheet would take for a formula is still written inert."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from geo import cli
from geo.io import TEXT_MARK, write_csv
from geo.study import Study, run_study
from tests.test_geocode import ADDRESSES

EXAMPLE_COLUMNS = ["id_initiative", "nom", "theme", "adresse", "code_postal", "commune",
                   "latitude", "longitude", "emplois", "benevoles", "beneficiaires"]
#: Real-ish sites (real quartiers of Saint-Denis, Bordeaux and Toulouse), with counts,
#: decimals, a negative longitude and a name a spreadsheet would take for a formula.
SITES = pd.DataFrame([
    ["ESS-001", "Conciergerie Les Clés", "conciergerie", "", "33000", "Bordeaux",
     "44.88055", "-0.5442", "4", "12", "350"],
    ["ESS-001", "Conciergerie Les Clés", "conciergerie", "", "93200", "Saint-Denis",
     "48.92764", "2.35283", "2,5", "6", "120"],
    ["ESS-002", "=1+1", "recyclerie", "", "31100", "Toulouse", "43.56921", "1.39522",
     "0.75", "3", ""],
    ["ESS-003", "Garage solidaire", "mobilité", "", "93200", "Saint-Denis", "48.9361",
     "2.3574", "", "", "1200"],
], columns=EXAMPLE_COLUMNS)

#: A number written with a decimal point, or a whole number written « 4.0 ».
ENGLISH_NUMBER = re.compile(r"^-?\d+\.\d+(e[+-]?\d+)?$")


def _study(tmp_path, source) -> tuple:
    out = tmp_path / "sorties"
    outputs = {key: out / f"{key}.csv" for key in
               ("tableau", "detail", "par_initiative", "par_quartier", "par_territoire",
                "relecture")}
    outputs["rapport"] = out / "rapport.xlsx"
    run = run_study(Study(initiatives=source, outputs=outputs, folder=tmp_path))
    return run, outputs


def _as_french_excel(path) -> pd.DataFrame:
    """A CSV as a French spreadsheet reads it: ``;`` between fields, decimal comma."""
    return pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig")


def _cells(path) -> list[str]:
    table = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False,
                        encoding="utf-8-sig")
    return [v for column in table for v in table[column]]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("etude")
    source = tmp_path / "initiatives.csv"
    SITES.to_csv(source, sep=";", index=False)
    return _study(tmp_path, source)


def test_every_csv_output_reads_as_numbers_in_french_excel(study):
    run, outputs = study
    for key, path in outputs.items():
        if path.suffix == ".csv":
            english = [v for v in _cells(path) if ENGLISH_NUMBER.match(v)]
            assert not english, (key, english[:5])
    sites = _as_french_excel(outputs["tableau"])
    assert sites["latitude"].dtype == float and sites["longitude"].dtype == float
    assert sites["latitude"].tolist() == [44.88055, 48.92764, 43.56921, 48.9361]
    assert sites["longitude"].tolist() == [-0.5442, 2.35283, 1.39522, 2.3574]
    np.testing.assert_array_equal(sites["emplois"], [4, 2.5, 0.75, np.nan])
    assert sites["benevoles"].tolist()[:3] == [12, 6, 3]
    per_qpv = _as_french_excel(outputs["par_quartier"])
    counts = per_qpv["Initiatives (toutes relations)"]
    assert counts.dtype == np.int64 and counts.sum() > 0  # counts stay integers
    per_territory = _as_french_excel(outputs["par_territoire"])
    assert per_territory["Initiatives implantées"].dtype == np.int64
    detail = _as_french_excel(outputs["detail"])
    assert detail["Distance (m)"].dtype == np.int64
    # the text of the file itself: « 4 », « 2,5 », « -0,5442 »
    text = outputs["tableau"].read_text(encoding="utf-8-sig").splitlines()
    assert text[1].split(";")[6:11] == ["44,88055", "-0,5442", "4", "12", "350"]
    # the Excel report keeps real numeric cells
    sheet = load_workbook(outputs["rapport"], read_only=True)["Initiatives"]
    rows = list(sheet.iter_rows(values_only=True))
    first, second = (dict(zip(rows[0], row, strict=True)) for row in rows[1:3])
    assert (first["latitude"], first["longitude"]) == (44.88055, -0.5442)
    assert (first["emplois"], second["emplois"], first["benevoles"]) == (4, 2.5, 12)


def test_formula_text_stays_inert_and_numbers_are_no_text(study, tmp_path):
    _, outputs = study
    cells = _cells(outputs["tableau"])
    assert TEXT_MARK + "=1+1" in cells and "=1+1" not in cells
    frame = pd.DataFrame({"texte": ["=1+1", "-x", "-3.5"], "nombre": [-3.5, -2.0, 0.125]})
    path = tmp_path / "t.csv"
    write_csv(frame, path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    # a typed text « -3.5 » stays as typed; numbers are written the French way, unmarked
    assert lines[1:] == ["'=1+1;-3,5", "'-x;-2", "-3.5;0,125"]


def test_the_tool_reads_its_own_csv_back_to_the_same_numbers(study, tmp_path):
    run, outputs = study
    assert "2,5" in _cells(outputs["tableau"])  # written the French way
    source = tmp_path / "enrichi.csv"  # relinking our own table
    source.write_bytes(outputs["tableau"].read_bytes())
    again, _ = _study(tmp_path, source)
    for column in ("emplois", "benevoles", "beneficiaires"):
        np.testing.assert_array_equal(again.initiatives.measures.values[column],
                                      run.initiatives.measures.values[column])
    before, after = run.result.sites, again.result.sites
    np.testing.assert_array_equal(after.geometry.x, before.geometry.x)
    np.testing.assert_array_equal(after.geometry.y, before.geometry.y)
    assert after["code_qp"].tolist() == before["code_qp"].tolist()
    assert after["distance_m"].tolist() == before["distance_m"].tolist()


def test_a_geocoded_table_and_its_review_read_in_french_excel_and_back(addok, tmp_path):
    source, first, second = tmp_path / "s.csv", tmp_path / "1.csv", tmp_path / "2.csv"
    review = tmp_path / "revue.csv"
    ADDRESSES.to_csv(source, sep=";", index=False)
    argv = ["--geocoder-url", addok.url]
    assert cli.main(["geocode", str(source), "-o", str(first), "--review", str(review),
                     *argv]) == 0
    assert not [v for v in _cells(first) + _cells(review) if ENGLISH_NUMBER.match(v)]
    table = _as_french_excel(first).set_index("id")
    assert table["latitude"].dtype == float
    assert table.loc["A", "latitude"] == pytest.approx(48.93, abs=0.02)
    assert table["Géocodage : score"].dtype == float
    proposed = _as_french_excel(review)
    assert proposed["score"].dtype == float and proposed["score"].notna().any()
    # geocoding our own output again: its scores (« 0,97 ») and points read back, the
    # same file is written
    assert cli.main(["geocode", str(first), "-o", str(second), *argv]) == 0
    assert first.read_text(encoding="utf-8") == second.read_text(encoding="utf-8")
