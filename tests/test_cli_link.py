"""``ess-qpv link`` end to end: every row out, every table written, clear errors."""

from __future__ import annotations

import geopandas as gpd
import openpyxl
import pytest

from geo import cli
from tests.outputs import read_output
from tests.servers import TEST_DATA

SITES = (
    "id;nom;theme;code_commune;latitude;longitude;qpv_servis\n"
    "1;Épicerie de la Goutte;épicerie solidaire;75118;48,8870;2,3540;\n"
    "2;Régie Sémard;régie de quartier;93066;48.9362;2.3587;QN07511M\n"
    "3;Café loin;café associatif;33063;44.8378;-0.5792;\n"
    "4;Sans adresse;recyclerie;01004;;;\n"
    "5;=HYPERLINK(\"http://x\");garage solidaire;69123;45.76;4.85;\n"
)


@pytest.fixture
def sites(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(SITES, encoding="utf-8")
    return path


def test_link_writes_every_table(tmp_path, sites, capsys):
    out = tmp_path / "out"
    argv = ["link", str(sites), "-o", str(out / "sites.csv"),
            "--long", str(out / "long.csv"), "--per-qpv", str(out / "qpv.gpkg"),
            "--per-territory", str(out / "territoires.xlsx"),
            "--per-initiative", str(out / "initiatives.csv")]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "5 sites lus" in printed and "non localisés : 1" in printed
    assert "ligne 5" in printed  # the row without coordinates is named
    enriched = read_output(out / "sites.csv")
    assert len(enriched) == 5
    assert list(enriched.columns[:7]) == ["id", "nom", "theme", "code_commune", "latitude",
                                          "longitude", "qpv_servis"]
    assert list(enriched["code_commune"]) == ["75118", "93066", "33063", "01004", "69123"]
    assert list(enriched["relation"]) == ["implanted", "implanted", "none", "not_located",
                                          "none"]
    assert enriched["code_qp"][0] == "QN07511M" and enriched["qpv_served"][1] == "QN07511M"
    per_qpv = gpd.read_file(out / "qpv.gpkg")
    # the quartiers of the sites' départements (issue 31), each with its outline
    assert set(per_qpv["insee_dep"]) == {"33", "69", "75", "93"}
    assert per_qpv.geometry.notna().all()
    assert per_qpv.set_index("code_qp").loc["QN07511M", "n_implanted"] == 1
    book = openpyxl.load_workbook(out / "territoires.xlsx")
    assert book.active.freeze_panes == "A2"
    long = read_output(out / "long.csv", dtype=None, keep_default_na=True)
    assert not any(c.startswith("_") for c in long.columns)


def test_rerun_on_its_own_output_is_stable(tmp_path, sites):
    first, second = tmp_path / "1.csv", tmp_path / "2.csv"
    assert cli.main(["link", str(sites), "-o", str(first)]) == 0
    assert cli.main(["link", str(first), "-o", str(second)]) == 0
    assert first.read_text(encoding="utf-8") == second.read_text(encoding="utf-8")


def test_xlsx_output_keeps_user_text_as_text(tmp_path, sites):
    out = tmp_path / "sites.xlsx"
    assert cli.main(["link", str(sites), "-o", str(out)]) == 0
    sheet = openpyxl.load_workbook(out).active
    cell = next(c for c in sheet["B"] if str(c.value).startswith("=HYPERLINK"))
    assert cell.data_type == "s"


def test_geojson_output_and_qpv_by_path_with_compare(tmp_path, sites, capsys):
    out = tmp_path / "sites.geojson"
    qpv_path = TEST_DATA / "qp2024_dep75_4dp.geojson"
    assert cli.main(["link", str(sites), "-o", str(out), "--qpv", str(qpv_path),
                     "--compare", "bundled-2015-occitanie"]) == 0
    frame = gpd.read_file(out)
    assert len(frame) == 5 and frame.geometry.isna().sum() == 1
    assert frame["code_qp"][0] == "QN07511M"
    assert frame["relation"][2] == "none"  # Bordeaux has no quartier in the Paris file
    assert "Comparaison avec bundled-2015-occitanie" in capsys.readouterr().out


@pytest.mark.parametrize(("argv_tail", "message"), [
    (["-o", "{tmp}/x.txt"], "extension « .txt » impossible"),
    (["-o", "{tmp}/x.csv", "--per-qpv", "{tmp}/q.doc"], "extension « .doc » impossible"),
    (["-o", "{tmp}/x.csv", "--lat-column", "nope"], "« nope » n'existe pas"),
    (["-o", "{tmp}/x.csv", "--qpv", "{tmp}/absent.geojson"], "introuvable"),
    (["-o", "{tmp}/x.csv", "--per-territory", "{tmp}/t.geojson"], "extension « .geojson »"),
])
def test_mistakes_write_nothing(tmp_path, sites, capsys, argv_tail, message):
    out_dir = tmp_path / "sorties"
    out_dir.mkdir()
    argv = ["link", str(sites)] + [a.format(tmp=out_dir) for a in argv_tail]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(out_dir.iterdir()) == []


def test_missing_input_names_the_file(tmp_path, capsys):
    assert cli.main(["link", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "o.csv")]) == 2
    assert "absent.csv" in capsys.readouterr().err


def test_a_table_without_coordinates_or_address_is_refused(tmp_path, capsys):
    source = tmp_path / "s.csv"
    source.write_text("nom;theme\nA;recyclerie\n", encoding="utf-8")
    assert cli.main(["link", str(source), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "aucune colonne de coordonnées" in err and "nom, theme" in err
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("output", ["par_quartier.gpkg", "par_quartier.geojson",
                                    "enrichi.gpkg", "enrichi.xlsx"])
def test_our_own_outputs_link_again_without_a_traceback(tmp_path, capsys, output):
    """Linking one of the tool's own tables again took its « QPV d'implantation » column
    (nom_qp, an output of ours) for the sites' name and stopped on KeyError: 'nom_qp'."""
    from tests.servers import ROOT_DATA

    first = tmp_path / output
    option = "--par-quartier" if output.startswith("par_") else "-o"
    argv = ["link", ROOT_DATA / "exemple" / "initiatives.csv", "--departement", "93",
            option, first]
    if option != "-o":
        argv += ["-o", tmp_path / "premier.csv"]
    assert cli.main([str(a) for a in argv]) == 0
    capsys.readouterr()
    again = tmp_path / "encore.csv"
    code = cli.main(["link", str(first), "-o", str(again)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err and again.is_file()


def test_the_summary_agrees_with_its_numbers(tmp_path, capsys):
    """« 1 site lu (1 initiative), 1 localisé. », never « 1 sites lus »."""
    one = tmp_path / "un.csv"
    one.write_text("nom;latitude;longitude\nLieu;48.9205;2.3601\n", encoding="utf-8")
    assert cli.main(["link", str(one), "-o", str(tmp_path / "o.csv")]) == 0
    assert "1 site lu (1 initiative), 1 localisé." in capsys.readouterr().out


def test_the_summary_writes_counts_the_french_way(tmp_path, capsys):
    # 3 747 sites: counts of thousands carry a narrow no-break space, as in the outputs
    out = tmp_path / "liens.csv"
    assert cli.main(["link", str(TEST_DATA / "annuaire_national_grand.csv"), "-o",
                     str(out)]) == 0
    said = capsys.readouterr().out
    assert "3\u202f747 sites lus (3\u202f747 initiatives)" in said
    assert "  implantés dans un QPV : 1\u202f436\n" in said
    assert "Quartiers dans les tableaux (France entière (sites dans 101 départements)) : " \
           "1\u202f584 (" in said
