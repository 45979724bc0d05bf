"""The study workflow: demo offline, init + run, the Excel report."""

from __future__ import annotations

import os
import shutil
import subprocess

import openpyxl
import pandas as pd
import pytest

from geo import cli
from geo._errors import InputError
from geo.initiatives import read_initiatives
from geo.io import write_workbook
from geo.link import link
from geo.qpv import load_qpv
from geo.studyfile import load_study
from geo.write.report import SHEETS, write_report
from tests.servers import ROOT_DATA

EXAMPLE = ROOT_DATA / "exemple" / "initiatives.csv"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    exe = shutil.which("ess-qpv")
    result = subprocess.run([exe, "demo", "-o", "sortie"], cwd=folder, capture_output=True,
                            text=True, env={**os.environ,
                                            "ESS_QPV_CACHE": str(folder / "cache")})
    assert result.returncode == 0, result.stderr
    return folder / "sortie", result.stdout


def test_demo_writes_the_four_outputs_offline(demo):
    out, printed = demo
    for name in ("carte.html", "carte-autonome.html", "carte.pdf", "rapport.xlsx"):
        assert (out / name).stat().st_size > 1000
        assert f"sortie/{name}" in printed  # each file is named
    assert "FICTIVES" in printed
    assert "Exemple fictif" in (out / "carte.html").read_text(encoding="utf-8")
    assert (out / "carte.pdf").read_bytes().startswith(b"%PDF")
    provenance = (out / "provenance.json").read_text(encoding="utf-8")
    assert "ess-qpv" in provenance and "QPV 2024" in provenance


def test_report_sheets_headers_and_counts(demo):
    out, _ = demo
    book = openpyxl.load_workbook(out / "rapport.xlsx")
    assert book.sheetnames == list(SHEETS)
    for sheet in book:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    sites = pd.read_excel(out / "rapport.xlsx", sheet_name="Initiatives", dtype={
        "code_postal": str})
    assert len(sites) == 32
    assert "Relation aux QPV" in sites.columns and "QPV d'implantation (code)" in sites.columns
    assert set(sites["Relation aux QPV"]) <= {"implantée", "à proximité", "hors QPV",
                                             "non localisée"}
    assert sites["latitude"].dtype.kind == "f"  # numbers as numbers
    assert sites["code_postal"].str.len().eq(5).all()  # codes as text
    expected = link(read_initiatives(EXAMPLE), load_qpv())
    per_qpv = pd.read_excel(out / "rapport.xlsx", sheet_name="Par quartier", dtype={
        "Département": str})
    # the quartiers of the départements that hold the sites (issue 31), not all of France
    assert len(per_qpv) == len(expected.per_qpv) < 1584
    assert per_qpv["Initiatives implantées"].sum() == expected.per_qpv["n_implanted"].sum()
    assert per_qpv["Initiatives à proximité"].sum() == expected.per_qpv["n_nearby"].sum()
    assert per_qpv["Initiatives y intervenant"].sum() == expected.per_qpv["n_served"].sum()
    assert (sites["Relation aux QPV"] == "implantée").sum() == expected.summary()["implanted"]
    check = pd.read_excel(out / "rapport.xlsx", sheet_name="À vérifier")
    assert sorted(check["Ligne"]) == [31, 32, 33]  # the three address-only rows, offline
    sources = pd.read_excel(out / "rapport.xlsx", sheet_name="Sources")
    assert "Licence Ouverte / Etalab 2.0" in set(sources["Valeur"])


def test_report_is_formula_injection_safe(tmp_path):
    path = tmp_path / "sites.csv"
    pd.DataFrame({"nom": ['=HYPERLINK("http://x","clic")', "+33 1 23 45 67 89", "@SUM(A1)",
                          "-2+3"], "latitude": ["48.887"] * 4, "longitude": ["2.354"] * 4}
                 ).to_csv(path, sep=";", index=False)
    result = link(read_initiatives(path), load_qpv(departement="75"))
    report = tmp_path / "r.xlsx"
    write_report(report, result)
    sheet = openpyxl.load_workbook(report)["Initiatives"]
    cells = [c for c in sheet["A"][1:]]
    assert [c.value for c in cells][0].startswith("=HYPERLINK")
    assert all(c.data_type == "s" for c in cells)


def test_init_then_run_gives_the_demo_results(demo, tmp_path, capsys):
    out, _ = demo
    assert cli.main(["init", str(tmp_path)]) == 0
    toml = tmp_path / "etude.toml"
    assert "\nen_ligne = true\n" in toml.read_text(encoding="utf-8")  # new studies: online
    # as the demo, offline (here the national service is out of reach anyway)
    toml.write_text(toml.read_text(encoding="utf-8").replace("\nen_ligne = true\n",
                                                             "\nen_ligne = false\n"),
                    encoding="utf-8")
    template = tmp_path / "initiatives_modele.xlsx"
    documented = pd.read_excel(template, sheet_name="Colonnes")
    assert "qpv_servis" in set(documented["Colonne"])
    example = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    write_workbook({"Initiatives": example, "Colonnes": documented}, template)
    assert cli.main(["run", str(tmp_path / "etude.toml")]) == 0
    mine = pd.read_excel(tmp_path / "resultats" / "rapport.xlsx", sheet_name=None)
    demo_report = pd.read_excel(out / "rapport.xlsx", sheet_name=None)
    for sheet in ("Initiatives", "Par quartier", "Par territoire", "À vérifier"):
        pd.testing.assert_frame_equal(mine[sheet], demo_report[sheet], check_dtype=False)
    # Running again gives the same tables (the caches are used, nothing is appended).
    assert cli.main(["run", str(tmp_path / "etude.toml")]) == 0
    again = pd.read_excel(tmp_path / "resultats" / "rapport.xlsx", sheet_name=None)
    for sheet in ("Initiatives", "Par quartier", "Par territoire", "À vérifier"):
        pd.testing.assert_frame_equal(again[sheet], mine[sheet])
    assert cli.main(["init", str(tmp_path)]) == 2  # never overwrites a study
    assert "rien n'a été écrasé" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "message"), [
    ("[entrees]\n", "initiatives"),
    ('[entrees]\ninitiatives = "x.csv"\n[quartiers]\ndistance_m = "loin"\n', "distance_m"),
    ("pas du toml = = =", "illisible"),
    ('[entrees]\ninitiatives = "x.csv"\n[sorties]\nformat_impression = "B7"\n', "B7"),
])
def test_bad_study_files_are_named(tmp_path, text, message):
    path = tmp_path / "etude.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_study(path)


def test_run_with_a_missing_table_is_one_line(tmp_path, capsys):
    path = tmp_path / "etude.toml"
    path.write_text('[entrees]\ninitiatives = "absent.xlsx"\n', encoding="utf-8")
    assert cli.main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Erreur : fichier") and "absent.xlsx" in err
    assert not (tmp_path / "resultats").exists()


def test_a_site_left_unplaced_by_geocoding_says_why(tmp_path, isolated_cache):
    """The geocoder's note reaches the row's message (passed forward to the sites, not
    rewritten afterwards); a row with neither address nor coordinates says so."""
    from geo import geocode as gc
    from geo.study import Study, run_study

    (tmp_path / "t.csv").write_text(
        "id;nom;adresse;code_postal;commune;latitude;longitude\n"
        "A;Placée;;;;48.9205;2.3601\n"
        "B;Adresse;3 rue de la Paix;75002;Paris;;\n"
        "C;Rien;;;;;\n", encoding="utf-8")
    run = run_study(Study(initiatives=tmp_path / "t.csv"))
    notes = {issue.row: issue.message for issue in run.result.issues}
    assert notes[3] == f"{gc.NOTE_OFFLINE} : site non localisé"
    assert "site non localisé" in notes[4] and 2 not in notes
    assert run.result.sites["note_localisation"].iloc[1] == notes[3]
