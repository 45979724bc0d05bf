"""Hostile and mistaken input across every command: nothing executed, nothing lost, a French
message with exit status 2, and the same answer whichever door a study comes through."""

from __future__ import annotations

import json
import os
import re
import shutil

import openpyxl
import pandas as pd
import pytest

from geo import cli
from geo.area import StudyArea
from geo.link import link
from geo.qpv import load_qpv
from geo.study import Study, run_study
from geo.studyfile import load_study
from geo.vocabulary import Columns
from tests.outputs import read_output
from tests.servers import ROOT_DATA

EXAMPLE = ROOT_DATA / "exemple" / "initiatives.csv"
PAYLOADS = ["{{ 7*7 }}", "<script>alert(1)</script>", "=1+1", "../../etc/passwd",
            "{{ cycler.__init__.__globals__.os.system('touch {mark}') }}",
            "{% for x in range(3) %}X{% endfor %}"]


def hostile_table(tmp_path):
    """Two real sites (Saint-Denis, Bordeaux) whose every text cell and one header is
    hostile; the file-touching payload names a marker file that must never appear."""
    mark = tmp_path / "PWNED"
    payloads = [p.replace("{mark}", str(mark)) for p in PAYLOADS]
    rows = []
    for i, (lat, lon) in enumerate([(48.9362, 2.3596), (44.8378, -0.5792)]):
        text = {c: payloads[(i + k) % len(payloads)] for k, c in enumerate(
            ["nom", "theme", "adresse", "commune", "=1+1", "qpv_servis"])}
        rows.append({"id_initiative": payloads[4], **text, "latitude": lat, "longitude": lon,
                     "site_web": "javascript:alert(1)", "{{ 7*7 }}": f"{i + 3},5",
                     "annee": 2015 + i})
    path = tmp_path / "hostile.csv"
    pd.DataFrame(rows).to_csv(path, sep=";", index=False)
    return path, mark, payloads


def test_nothing_from_data_runs_anywhere(tmp_path, capsys):
    path, mark, payloads = hostile_table(tmp_path)
    out = tmp_path / "out"
    title = payloads[4]
    assert cli.main(["link", str(path), "-o", str(out / "sites.xlsx"), "--per-qpv",
                     str(out / "q.csv"), "--long", str(out / "l.xlsx")]) == 0
    assert cli.main(["map", str(path), "-o", str(out / "carte.html"), "--self-contained",
                     "--embed", str(out / "e.html"), "--print", str(out / "p.pdf"),
                     "--title", title, "--departement", "93", "--indicateur", "{{ 7*7 }}",
                     "--taille", "{{ 7*7 }}", "--periodes", "2015,2016"]) == 0
    study = tmp_path / "etude"
    study.mkdir()
    (study / "t.csv").write_bytes(path.read_bytes())
    (study / "etude.toml").write_text(
        f'[etude]\ntitre = {json.dumps(title)}\n[entrees]\ninitiatives = "t.csv"\n'
        '[indicateurs]\ncolonnes = ["{{ 7*7 }}"]\n', encoding="utf-8")
    assert cli.main(["run", str(study / "etude.toml")]) == 0
    assert not mark.exists()
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err
    # Excel: every payload is text, the "=1+1" header and cells are not formulas.
    report = openpyxl.load_workbook(study / "resultats" / "rapport.xlsx")
    impact = [c.value for c in report["Impact"][1]]
    assert "{{ 7*7 }} – sites implantés" in impact  # the header as typed, summed
    for sheet in (openpyxl.load_workbook(out / "sites.xlsx").worksheets[0],
                  *report.worksheets):
        cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
        assert all(c.data_type == "s" for c in cells if c.value.startswith("="))
        values = {c.value for c in cells}
        if sheet.title in ("sites", "Initiatives"):  # département 49 is in the others
            assert "=1+1" in values and "{{ 7*7 }}" in values and "49" not in values
    # Pages: the payloads reach the page as inert JSON text, never as markup or template.
    for page in (out / "carte.html", out / "carte-autonome.html",
                 study / "resultats" / "carte.html"):
        text = page.read_text(encoding="utf-8")
        assert '"{{ 7*7 }}"' in text  # as it was typed: nothing compiled it
        assert "<script>alert(1)" not in text and "javascript:alert" not in text
        assert "Epicerie 49" not in text and "XXX" not in text
        assert "Taille : 49" not in text
    legend = (out / "carte.html").read_text(encoding="utf-8")
    assert "Taille\u00a0: \\u0026#123;\\u0026#123; 7*7" in legend  # escaped, then inert JSON
    embed = (out / "e.html").read_text(encoding="utf-8")
    assert "&#123;&#123; cycler" in embed and "{{" not in embed


def _cli(argv, capsys):
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    return code, err


MISTAKES = [
    (["--crs", "bogus"], "système de coordonnées « bogus » inconnu"),
    (["--distance", "-5"], "distance de proximité « -5.0 » refusée"),
    (["--distance", "nan"], "refusée"),
    (["--distance", "inf"], "refusée"),
    (["--chunk-size", "0", "--geocode"], "taille de lot « 0 » refusée"),
    (["--departement", "999"], "code de département inconnu : 999"),
    (["--commune", "99999"], "aucun quartier prioritaire de cette génération dans la commune"),
    (["--lat-column", "nope"], "« nope » n'existe pas"),
    (["--per-qpv", "{input}"], "écraserait un fichier lu"),
    (["--per-qpv", "{out}"], "deux sorties sur le même fichier"),
    (["--per-qpv", "{tmp}"], "dossier existant"),
    (["--per-qpv", "/proc/ess-qpv/x.csv"], "impossible d'écrire"),
    (["--per-territory", "{tmp}/t.geojson"], "extension « .geojson » impossible"),
]


@pytest.mark.parametrize(("extra", "message"), MISTAKES,
                         ids=[m[0][0] + "=" + m[0][1] for m in MISTAKES])
def test_link_mistakes_are_french_errors_and_write_nothing(tmp_path, capsys, extra, message):
    source = tmp_path / "sites.csv"
    source.write_bytes(EXAMPLE.read_bytes())
    out = tmp_path / "out.csv"
    extra = [e.format(tmp=tmp_path, input=source, out=out) for e in extra]
    code, err = _cli(["link", source, "-o", out, *extra], capsys)
    assert code == 2 and message in err, err
    assert err.startswith("Erreur : ") and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["sites.csv"]


def test_map_refuses_a_javascript_embed_url_before_any_work(tmp_path, capsys):
    code, err = _cli(["map", EXAMPLE, "-o", tmp_path / "c.html", "--embed",
                      tmp_path / "e.html", "--embed-url", "javascript:alert(1)"], capsys)
    assert code == 2 and "refusée pour l'extrait" in err and "--embed-url" in err
    assert not (tmp_path / "c.html").exists()


def test_read_only_output_folder(tmp_path, capsys):
    if os.geteuid() == 0:
        target = "/proc/version/x.csv"  # root writes anywhere but there
    else:
        locked = tmp_path / "ro"
        locked.mkdir(mode=0o500)
        target = locked / "x.csv"
    code, err = _cli(["link", EXAMPLE, "-o", target], capsys)
    assert code == 2 and "impossible d'écrire" in err


TOML_MISTAKES = [
    ('[sorties]\ncarte = 5\n', "[sorties] carte doit être du texte"),
    ('quartiers = 5\n', "« quartiers » doit être une section"),
    ('[quartiers]\ndistance = 5000\n', "clé « distance » inconnue ; vouliez-vous dire "
                                       "« distance_m » ?"),
    ('[quartier]\ndistance_m = 5\n', "section [quartier] inconnue ; vouliez-vous dire "
                                     "« quartiers » ?"),
    ('[quartiers]\ndistance_m = -5\n', "refusée : un nombre de mètres de 0 à 50\u202f000 "
                                       "est attendu (300 par défaut, 0 la désactive). "
                                       "(clé [quartiers] distance_m)"),
    ('[quartiers]\ndistance_m = 1e300\n', "un nombre de mètres de 0 à 50\u202f000"),
    ('[quartiers]\ndistance_m = nan\n', "refusée"),
    ('[sorties]\ntableau = "../../dehors.csv"\n', "hors du dossier de l'étude"),
    ('[sorties]\ntableau = "/tmp/ess-qpv-absolu.csv"\n', "hors du dossier de l'étude"),
    ('[sorties]\ndossier = ""\n', "[sorties] dossier est vide : indiquez le dossier des "
                                  "résultats, par exemple « resultats »"),
    ('[sorties]\ntableau = "x.csv\\u0000.txt"\n', "[sorties] tableau contient un caractère "
                                                  "nul"),
    ('[entrees]\ninitiatives = "t.csv\\u0000"\n', "ligne 3 : fichier d'étude illisible : "
                                                "une section ou une table est déclarée deux "
                                                "fois (colonne 9)"),
    ('[etude]\ntitre = "a\nb"\n', "ligne 2 : fichier d'étude illisible : une ligne se "
                                     "termine avant la fin d'un texte"),
    ('[sorties]\ntableau = "t.csv"\ndossier = "."\n', "écraserait un fichier lu"),
    ('[sorties]\ntableau = "a.csv"\ndetail = "a.csv"\n', "deux sorties sur le même fichier"),
]


@pytest.mark.parametrize(("text", "message"), TOML_MISTAKES)
def test_study_file_mistakes(tmp_path, capsys, text, message):
    (tmp_path / "t.csv").write_bytes(EXAMPLE.read_bytes())
    # top-level keys first: in TOML a line after a section header belongs to that section
    (tmp_path / "etude.toml").write_text(text + '[entrees]\ninitiatives = "t.csv"\n',
                                         encoding="utf-8")
    code, err = _cli(["run", tmp_path / "etude.toml"], capsys)
    assert code == 2 and message in err, err
    # an option only where the study file has no key for it (reaching outside its folder)
    assert "Traceback" not in err and "(option --" not in err.replace(
        "(option --autoriser-hors-dossier)", "")
    assert not (tmp_path / "resultats").exists()
    assert not os.path.exists("/tmp/ess-qpv-absolu.csv")


def test_a_nul_character_in_a_study_file_path_is_said(tmp_path, capsys):
    (tmp_path / "etude.toml").write_text('[entrees]\ninitiatives = "t.csv\\u0000"\n',
                                         encoding="utf-8")
    code, err = _cli(["run", tmp_path / "etude.toml"], capsys)
    assert code == 2 and "[entrees] initiatives contient un caractère nul" in err, err


def test_an_output_that_is_a_link_out_is_named(tmp_path, capsys):
    outside = tmp_path / "ailleurs.csv"
    outside.write_text("mine", encoding="utf-8")
    study = tmp_path / "etude"
    (study / "resultats").mkdir(parents=True)
    (study / "t.csv").write_bytes(EXAMPLE.read_bytes())
    (study / "etude.toml").write_text('[entrees]\ninitiatives = "t.csv"\n', encoding="utf-8")
    os.symlink(outside, study / "resultats" / "initiatives_enrichies.csv")
    code, err = _cli(["run", study / "etude.toml"], capsys)
    assert code == 2 and "hors du dossier de l'étude" in err, err
    assert "initiatives_enrichies.csv » est un lien symbolique vers" in err
    assert "« .. »" not in err and outside.read_text(encoding="utf-8") == "mine"


def test_init_never_overwrites(tmp_path, capsys):
    (tmp_path / "etude.toml").write_text("mine", encoding="utf-8")
    code, err = _cli(["init", tmp_path], capsys)
    assert code == 2 and "existe déjà" in err
    assert (tmp_path / "etude.toml").read_text(encoding="utf-8") == "mine"


def test_cache_env_pointing_to_a_file(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "fichier"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("ESS_QPV_CACHE", str(blocker))
    table = tmp_path / "a.csv"
    table.write_text("nom;adresse;commune\nA;1 rue X;Paris\n", encoding="utf-8")
    code, err = _cli(["link", table, "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and "dossier de cache inutilisable" in err


def test_nul_characters_reach_excel_as_a_visible_mark(tmp_path):
    table = tmp_path / "a.csv"
    table.write_text("nom;latitude;longitude\nA\x01B;48.9362;2.3596\n", encoding="utf-8")
    assert cli.main(["link", str(table), "-o", str(tmp_path / "o.xlsx")]) == 0
    sheet = openpyxl.load_workbook(tmp_path / "o.xlsx").worksheets[0]
    assert sheet["A2"].value == "A\ufffdB"


# --------------------------------------------------------------------------- rows and columns


@pytest.mark.parametrize(("text", "expected"), [
    ("nom;adresse;commune;x;y\nA;1 rue X;Saint-Denis;2.3596;48.9362\n", "implanted"),
    ("nom;coord.lat;coord.lng\nA;48.9362;2.3596\n", "implanted"),
    ("nom;lattitude;longitude\nA;48.9362;2.3596\n", "implanted"),
    ("nom;GPS Latitude;GPS Longitude\nA;48.9362;2.3596\n", "implanted"),
    ("nom;valeur_a;valeur_b\nA;2.3596;48.9362\nB;-0.5792;44.8378\n", "implanted"),
    ("nom;latitude;longitude;\nA;48.9362;2.3596;\nB;44.8378;-0.5792;\n", "implanted"),
])
def test_real_world_columns_are_recognised(tmp_path, text, expected):
    table = tmp_path / "a.csv"
    table.write_text(text, encoding="utf-8")
    run = run_study(Study(initiatives=table))
    assert run.result.sites["relation"].iloc[0] == expected
    assert run.result.summary()["not_located"] == 0
    assert any("coordonnées" in line for line in run.detection.report)


def test_two_coordinate_pairs_are_an_error_naming_them(tmp_path, capsys):
    table = tmp_path / "a.csv"
    table.write_text("nom;a;b;c;d\nA;2.35;48.93;2.36;48.94\n", encoding="utf-8")
    code, err = _cli(["link", table, "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and "plusieurs paires" in err and "--lon-column" in err


def test_a_stray_separator_in_the_first_row_is_refused_with_its_line(tmp_path, capsys):
    table = tmp_path / "a.csv"
    table.write_text("id;nom;latitude;longitude;rayon_m\n1;A;B;48.93;2.35;500\n"
                     "2;C;48.93;2.35;500\n", encoding="utf-8")
    code, err = _cli(["link", table, "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and "ligne 2" in err and "6 champs pour 5 colonnes" in err


@pytest.mark.parametrize(("lat", "lon"), [(50.8503, 4.3517), (46.2044, 6.1432),
                                          (47.5596, 7.5886)], ids=["Bruxelles", "Genève", "Bâle"])
def test_neighbouring_cities_are_not_in_france(tmp_path, lat, lon):
    table = tmp_path / "a.csv"
    table.write_text(f"nom;latitude;longitude\nA;{lat};{lon}\n", encoding="utf-8")
    run = run_study(Study(initiatives=table))
    assert run.result.sites["relation"].iloc[0] == "not_located"
    assert "hors de France" in run.result.sites["note_localisation"].iloc[0]


# --------------------------------------------------------------------------- one answer


def test_a_site_outside_the_territory_says_so(tmp_path):
    # One site inside a QPV of Seine-Saint-Denis, studied with the Gironde as territory.
    table = tmp_path / "a.csv"
    table.write_text("nom;latitude;longitude\nA;48.9362;2.3596\nB;44.8378;-0.5792\n",
                     encoding="utf-8")
    whole = run_study(Study(initiatives=table)).result.sites
    run = run_study(Study(initiatives=table, area=StudyArea.of("33")))
    sites = run.result.sites
    assert list(sites["relation"]) == list(whole["relation"])  # geometry unchanged
    assert list(sites["distance_m"]) == list(whole["distance_m"])
    assert list(sites["territory_status"]) == ["outside", "inside"]
    assert "hors du territoire étudié (département 33)" in sites["note_localisation"][0]
    assert set(run.result.per_qpv["insee_dep"]) == {"33"}
    assert run.result.summary()["outside"] == 1


KEY = ["relation", "code_qp", "distance_m", "nearest_code_qp", "qpv_nearby", "qpv_served"]


@pytest.mark.parametrize("territory", [None, "34"])
@pytest.mark.parametrize("compare", [None, "bundled-2015-occitanie"])
def test_every_door_gives_the_same_answer(tmp_path, capsys, territory, compare):
    options = (["--departement", territory] if territory else []) + (
        ["--compare", compare] if compare else [])
    cli_out = tmp_path / "cli.csv"
    assert cli.main(["link", str(EXAMPLE), "-o", str(cli_out), *options]) == 0
    by_cli = read_output(cli_out)

    folder = tmp_path / "etude"
    folder.mkdir()
    # a study reads inside its own folder (issue 30): the table is copied there
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    toml = [f'[entrees]\ninitiatives = "{EXAMPLE.name}"', "[quartiers]"]
    if territory:
        toml.append(f'departements = ["{territory}"]')
    if compare:
        toml.append(f'comparer = "{compare}"')
    toml.append('[sorties]\ndossier = "r"\ncarte = ""\ncarte_autonome = ""\n'
                'carte_impression = ""\nintegration = ""\nrapport = ""')
    (folder / "etude.toml").write_text("\n".join(toml) + "\n", encoding="utf-8")
    assert cli.main(["run", str(folder / "etude.toml")]) == 0
    by_run = read_output(folder / "r" / "initiatives_enrichies.csv")

    api = run_study(Study(initiatives=EXAMPLE, area=StudyArea.of(territory),
                          compare=compare)).result.sites
    keys = KEY + (["evolution"] if compare else []) + (["territory_status"] if territory else [])
    expected = pd.DataFrame(api[keys]).astype(object).fillna("").astype(str)
    for frame in (by_cli, by_run):
        pd.testing.assert_frame_equal(frame[keys], expected)
    # the map door draws each site with the same relation
    page = tmp_path / "c.html"
    assert cli.main(["map", str(EXAMPLE), "-o", str(page), *options]) == 0
    relations = []
    text = page.read_text(encoding="utf-8")
    for block in re.finditer(r'<script type="application/json" id="sites_layer_\w+-sites">'
                             r'(.*?)</script>', text, re.S):
        columns = json.loads(block.group(1))
        relations += [(name, columns["rv"][r]) for name, r in
                      zip(columns["n"], columns["r"], strict=True)]
    located = api[api["relation"] != "not_located"]
    assert sorted(relations) == sorted(zip(located["nom"], located["relation"], strict=True))


def test_the_result_records_its_distance_for_the_map():
    from geo.initiatives import read_initiatives
    from geo.write.maps import make_map

    result = link(read_initiatives(EXAMPLE), load_qpv(), distance=500)
    page = make_map(result, load_qpv(departement="93")).get_root().render()
    assert "Bande de 500 m" in page and "Bande de 300 m" not in page
    assert result.parameters["distance_m"] == 500


def test_library_errors_name_parameters_not_flags(tmp_path):
    from geo._errors import InputError

    table = tmp_path / "a.csv"
    table.write_text("nom;a;b;c;d\nA;2.35;48.93;2.36;48.94\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        run_study(Study(initiatives=table, columns=Columns()))
    assert "--" not in str(caught.value) and caught.value.parameters == ("lon", "lat")
    assert load_study  # the study file door is exercised above


def test_a_hostile_qpv_file_with_a_duplicated_code_and_an_invalid_polygon(tmp_path, capsys):
    """Two features share a code (merged), one self-intersects (repaired), and the QPV name
    carries a template payload: the map shows it as text, nothing runs."""
    mark = tmp_path / "PWNED"
    name = "{{ cycler.__init__.__globals__.os.system('touch " + str(mark) + "') }}"
    bowtie = [[2.35, 48.93], [2.37, 48.95], [2.37, 48.93], [2.35, 48.95], [2.35, 48.93]]
    square = [[2.36, 48.93], [2.38, 48.93], [2.38, 48.94], [2.36, 48.94], [2.36, 48.93]]
    features = [{"type": "Feature", "properties": {"code_qp": "QN09301M", "nom_qp": name,
                                                   "insee_com": "93066"},
                 "geometry": {"type": "Polygon", "coordinates": [ring]}}
                for ring in (bowtie, square)]
    qpv_file = tmp_path / "qpv.geojson"
    qpv_file.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                        encoding="utf-8")
    table = tmp_path / "a.csv"
    table.write_text("nom;latitude;longitude\nA;48.935;2.365\n", encoding="utf-8")
    assert cli.main(["link", str(table), "-o", str(tmp_path / "o.csv"), "--qpv",
                     str(qpv_file)]) == 0
    out = read_output(tmp_path / "o.csv", keep_default_na=True)
    assert out["code_qp"][0] == "QN09301M" and out["nom_qp"][0] == name
    assert cli.main(["map", str(table), "-o", str(tmp_path / "c.html"), "--qpv",
                     str(qpv_file), "--print", str(tmp_path / "c.pdf")]) == 0
    page = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert "{{ cycler" in page and not mark.exists()
    assert cli.main(["qpv", "info", "--qpv", str(qpv_file)]) == 0
    assert "Géométries réparées : 1 (après réparation : toutes valides)" in \
        capsys.readouterr().out


def test_help_and_usage_are_french_and_said_once(capsys):
    for argv in (["link", "--help"], ["qpv", "export", "--help"]):
        with pytest.raises(SystemExit):
            cli.main(argv)
        out = capsys.readouterr().out
        assert out.count("utilisation :") == 1 and "usage" not in out
    with pytest.raises(SystemExit) as stop:
        cli.main(["link"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("utilisation :") == 1
    assert "arguments obligatoires manquants : ENTREE, -o/--sortie" in err
    assert "the following" not in err


def test_no_local_path_in_what_is_published(tmp_path):
    """The page, the provenance and the report's Sources sheet name files, never where they
    sit on the author's disk."""
    folder = tmp_path / "secret-folder"
    folder.mkdir()
    (folder / "t.csv").write_bytes(EXAMPLE.read_bytes())
    (folder / "etude.toml").write_text('[entrees]\ninitiatives = "t.csv"\n'
                                       '[quartiers]\ncomparer = "bundled-2015-occitanie"\n'
                                       '[sorties]\ncarte_autonome = ""\ncarte_impression = ""\n',
                                       encoding="utf-8")
    assert cli.main(["run", str(folder / "etude.toml")]) == 0
    out = folder / "resultats"
    for name in ("carte.html", "provenance.json", "carte-iframe.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert "secret-folder" not in text and str(tmp_path) not in text, name
    sources = openpyxl.load_workbook(out / "rapport.xlsx")["Sources"]
    cells = [str(c.value) for row in sources.iter_rows() for c in row if c.value]
    assert not [c for c in cells if "secret-folder" in c]
    assert any(c == "t.csv" for c in cells)


def test_the_same_excel_table_from_link_and_from_the_report(tmp_path):
    assert cli.main(["link", str(EXAMPLE), "-o", str(tmp_path / "sites.xlsx")]) == 0
    run_study(Study(initiatives=EXAMPLE, outputs={"rapport": tmp_path / "rapport.xlsx"}))
    table = openpyxl.load_workbook(tmp_path / "sites.xlsx").worksheets[0]
    report = openpyxl.load_workbook(tmp_path / "rapport.xlsx")["Initiatives"]
    rows = [[c.value for c in row] for row in table.iter_rows()]
    assert rows == [[c.value for c in row] for row in report.iter_rows()]
    header = rows[0]
    assert "Relation aux QPV" in header and "Distance au QPV le plus proche (m)" in header
    lat = header.index("latitude")
    assert isinstance(rows[1][lat], float)  # numbers are numbers
    assert isinstance(rows[1][header.index("code_postal")], str)  # codes stay text
