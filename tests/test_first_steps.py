"""What a study team meets first: the help, ``init`` and its template, a run offline where
every site left without a place is in the review and can be placed there."""

from __future__ import annotations

import shutil
import subprocess

import openpyxl
import pandas as pd

from geo import cli
from tests.outputs import read_output
from tests.servers import ROOT_DATA

EXAMPLE = ROOT_DATA / "exemple" / "initiatives.csv"


def test_the_command_alone_shows_the_help(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("utilisation : ess-qpv") and "demo" in out and "run" in out


def test_init_says_a_next_command_that_works_as_typed(tmp_path):
    exe = shutil.which("ess-qpv")
    done = subprocess.run([exe, "init", "mon étude"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    typed = done.stdout.strip().splitlines()[-1].strip()
    assert typed == "ess-qpv run 'mon étude/etude.toml'"
    template = tmp_path / "mon étude" / "initiatives_modele.xlsx"
    sheet = openpyxl.load_workbook(template)["Initiatives"]
    formats = {c.value: sheet.cell(2, c.column).number_format for c in sheet[1]}
    assert formats["code_postal"] == "@" and formats["id_initiative"] == "@"  # 01000 stays
    assert formats["latitude"] == "General"
    assert sheet.column_dimensions["B"].width >= 30  # names are readable
    # the template filled as a person types it: the postcode keeps its zero
    sheet["A2"], sheet["B2"], sheet["E2"], sheet["F2"] = "I1", "Atelier", "01000", "Bourg"
    sheet["G2"], sheet["H2"] = 46.2, 5.22
    sheet.parent.save(template)
    toml = tmp_path / "mon étude" / "etude.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("en_ligne = true",
                                                             "en_ligne = false"),
                    encoding="utf-8")
    done = subprocess.run(["bash", "-c", typed.replace("ess-qpv", exe, 1)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    sites = pd.read_excel(tmp_path / "mon étude" / "resultats" / "rapport.xlsx", dtype=str)
    assert sites["code_postal"].iloc[0] == "01000"


def test_offline_every_site_without_place_is_reviewed_and_placed_by_hand(tmp_path, capsys):
    folder = tmp_path / "etude"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "initiatives.csv")
    with open(folder / "initiatives.csv", "a", encoding="utf-8") as f:
        f.write("ESS-099;Sans lieu;recyclerie;;;;;;;;;\n")  # neither address nor coordinates
        f.write("ESS-098;Coordonnées fausses;recyclerie;;;;abc;2.35;;;;\n")
    (folder / "etude.toml").write_text(
        '[entrees]\ninitiatives = "initiatives.csv"\n[geocodage]\nen_ligne = false\n'
        'corrections = "corrections.csv"\n[sorties]\nrelecture = "a_verifier.csv"\n'
        'carte_impression = ""\n', encoding="utf-8")
    (folder / "corrections.csv").write_text("cle;latitude;longitude\n", encoding="utf-8")
    assert cli.main(["run", str(folder / "etude.toml")]) == 0
    review = read_output(folder / "resultats" / "a_verifier.csv").set_index("cle")
    sites = read_output(folder / "resultats" / "initiatives_enrichies.csv")
    unplaced = sites[sites["relation"] == "not_located"]
    assert len(unplaced) == len(review) >= 4  # every site without place, nothing else
    offline = review[review["statut"] == "non_geocode"]
    assert len(offline) >= 2 and offline["motif"].str.contains(
        "géocodage en ligne désactivé").all()
    assert (offline["adresse_saisie"].str.len() > 5).all()  # the address as typed
    assert review.loc["ESS-099", "motif"] == "ni coordonnées ni adresse"
    assert "« abc » n'est pas un nombre" in review.loc["ESS-098", "motif"]
    report = pd.read_excel(folder / "resultats" / "rapport.xlsx", sheet_name="À vérifier")
    assert len(report) >= len(review)
    # placed by hand in the review file, used as the corrections: every site is located
    review["latitude"], review["longitude"] = "44.8378", "-0.5792"
    review.reset_index().to_csv(folder / "corrections.csv", sep=";", index=False,
                                encoding="utf-8-sig")
    assert cli.main(["run", str(folder / "etude.toml")]) == 0
    again = read_output(folder / "resultats" / "initiatives_enrichies.csv")
    assert (again["relation"] != "not_located").all()
    after = read_output(folder / "resultats" / "a_verifier.csv")
    assert after.empty


def test_every_table_a_person_opens_is_in_french(tmp_path, capsys):
    from geo.vocabulary import OUTPUT_COLUMNS, VALUE_LABELS

    folder = tmp_path / "etude"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "initiatives.csv")
    (folder / "etude.toml").write_text(
        '[entrees]\ninitiatives = "initiatives.csv"\n[quartiers]\ncomparer = '
        '"bundled-2015-occitanie"\n[sorties]\ncarte = ""\ncarte_autonome = ""\n'
        'integration = ""\ncarte_impression = ""\ndetail = "detail.csv"\n'
        'par_initiative = "par_initiative.csv"\npar_quartier = "par_quartier.csv"\n'
        'par_territoire = "par_territoire.csv"\nrelecture = "a_verifier.csv"\n',
        encoding="utf-8")
    assert cli.main(["run", str(folder / "etude.toml")]) == 0
    out = folder / "resultats"
    english_headers = set(OUTPUT_COLUMNS) | {
        "geocode_status", "geocode_score", "geocode_label", "geocode_type", "geocode_note",
        "n_sites", "n_sites_localises", "qpv_implanted", "qpv_served", "n_implanted",
        "n_nearby", "n_served", "n_initiatives", "niveau", "code", "origine"}
    codes = {code for labels in VALUE_LABELS.values() for code, fr in labels.items()
             if code != fr} | {"True", "False"}
    tables = {p.name: pd.read_csv(p, sep=";", dtype=str, keep_default_na=False,
                                  encoding="utf-8-sig") for p in out.glob("*.csv")}
    tables.update({f"rapport:{name}": frame.astype(str) for name, frame in pd.read_excel(
        out / "rapport.xlsx", sheet_name=None, dtype=str, keep_default_na=False).items()})
    from geo.write.report import SHEETS

    assert len(tables) == 6 + len(SHEETS)  # the demo has indicators and years: every sheet
    for name, frame in tables.items():
        ours = [c for c in frame.columns if c not in pd.read_csv(
            EXAMPLE, sep=";", nrows=0).columns]
        assert not set(ours) & english_headers, (name, set(ours) & english_headers)
        assert not any(c.startswith(("n_", "n:", "taux:")) or c.endswith((
            ":implanted", ":nearby", ":served", ":open")) for c in ours), name
        values = set(frame[ours].to_numpy().ravel()) if ours else set()
        assert not values & codes, (name, values & codes)
    sites = tables["initiatives_enrichies.csv"]
    assert {"implantée", "à proximité"} <= set(sites["Relation aux QPV"])
    per_qpv = tables["par_quartier.csv"]
    counts = per_qpv["Initiatives (toutes relations)"].astype(int).tolist()
    assert counts[0] > 0 and counts == sorted(counts, reverse=True)  # quartiers with sites
    same = tables["rapport:Par quartier"]
    assert list(same["Code QPV"]) == list(per_qpv["Code QPV"])  # the same table in each
    sources = tables["rapport:Sources"].set_index("Élément")["Valeur"]
    assert "False" not in sources.to_string() and "{" not in sources.to_string()
    # plain French values: no Python list, no source key (« bundled-2024 »)
    assert "[" not in sources.to_string() and "bundled" not in sources.to_string()
    assert sources["Paramètre : indicateurs"].startswith("« emplois », ")
    assert sources["Paramètre : génération comparée"].startswith("QPV 2015, Occitanie")
    assert sources["Paramètre : géocodage en ligne"] == "non"
    assert " à " in sources["Date d'exécution"] and "T" not in sources["Date d'exécution"]


def test_the_web_review_lists_the_sites_left_offline(tmp_path, isolated_cache, browser):
    """« Lancer sans géocoder »: the review page lists every site without a place, with
    its address and why; a point placed there locates it at the next run."""
    import json

    from tests.test_web import TABLE, Flow, new_study
    from tests.web import WebServer

    server = WebServer(tmp_path / "etudes", isolated_cache)
    try:
        client = server.session()
        slug, _ = new_study(client, "hors ligne", TABLE.encode())
        page = client.page(f"/etudes/{slug}/parametres").text
        assert 'name="en_ligne" value="oui" checked' in page  # new studies: online
        client.post_form(f"/etudes/{slug}/parametres", {
            "source": "bundled-2024", "distance": "300", "score": "0.6", "format": "A4",
            "en_ligne": "oui", "action": "lancer_hors_ligne"})
        state = client.wait(slug)
        assert state["etat"] == "termine" and state["a_verifier"] == 6
        page = client.page(f"/etudes/{slug}/relecture").text
        assert "6 sites à vérifier ou à placer" in page
        assert page.count("géocodage en ligne désactivé") == 6
        assert "12 Rue Imaginaire des Essais 33000 Bordeaux" in page
        r = client.post_form(f"/etudes/{slug}/relecture", {
            "cle": "R3", "action": "placer", "latitude": "44.8378", "longitude": "-0.5792"})
        assert "Point placé" in r.text
        client.post_form(f"/etudes/{slug}/lancer")
        assert client.wait(slug)["a_verifier"] == 5
        sites = pd.read_excel(server.root / slug / "resultats" / "rapport.xlsx", dtype=str)
        placed = sites.set_index("id_initiative").loc["R3"]
        assert placed["Relation aux QPV"] != "non localisée"
        assert placed["Géocodage : statut"] == "corrigée"
        # a failed last run: the results say they come from the previous one
        folder = server.root / slug
        state = json.loads((folder / ".ess-qpv" / "etat.json").read_text(encoding="utf-8"))
        state.update(etat="erreur", message="le géocodeur ne répond pas")
        (folder / ".ess-qpv" / "etat.json").write_text(json.dumps(state), encoding="utf-8")
        # the pages this changed, read by the accessibility checkers
        flow = Flow(browser, server.url)
        for name, path in (("parametres", "parametres"), ("relecture", "relecture"),
                           ("resultats", "resultats")):
            flow.page.goto(f"{server.url}/etudes/{slug}/{path}")
            flow.check(name)
        assert "analyse précédente" in flow.page.content()
        assert {k: v for k, v in flow.violations.items() if v} == {}
        flow.context.close()
    finally:
        server.stop()


def _closed_port_url() -> str:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_one_run_says_one_count_and_only_advice_that_applies(tmp_path):
    """Two sites at one address, the geocoder unreachable: the warning and the summary say
    the same number; with en_ligne = true already, no advice to turn it on; the remarks
    name no column the table does not have, and send the reader to the column as written."""
    import re

    rows = ["nom;adresse;code_postal;commune",
            "Atelier;12 rue des Essais Fictifs;93200;Saint-Denis",
            "Antenne;12 rue des Essais Fictifs;93200;Saint-Denis",
            "Recyclerie;5 allée de l'Exemple;93200;Saint-Denis",
            *(f"Sans lieu {i};;;" for i in range(20))]
    (tmp_path / "sites.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    url = _closed_port_url()
    exe = shutil.which("ess-qpv")
    env = {"ESS_QPV_CACHE": str(tmp_path / "cache")}

    def run(*argv: str) -> str:
        import os

        done = subprocess.run([exe, *argv], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300, env={**os.environ, **env})
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    (tmp_path / "etude.toml").write_text(
        f'[entrees]\ninitiatives = "sites.csv"\n[geocodage]\nen_ligne = true\nurl = "{url}"\n'
        '[sorties]\ncarte = ""\ncarte_autonome = ""\ncarte_impression = ""\n'
        'integration = ""\n', encoding="utf-8")
    said = run("run", "etude.toml", "--geocodeur-du-fichier")
    warned = re.search(r"injoignable .*: (\d+) adresse", said)
    counted = re.search(r"Géocodage : (\d+) non géocodées", said)
    assert warned and counted and warned.group(1) == counted.group(1) == "3", said
    assert "en_ligne = true" not in said and "--geocode" not in said
    assert "longitude/latitude" not in said  # the table has no such columns
    assert "note_localisation" not in said
    assert "… et 3 autres (colonne « Remarque » du fichier initiatives_enrichies.csv)." \
        in said
    # offline, each door says its own way to go online, once
    said = run("link", "sites.csv", "-o", "sortie.csv")
    assert "géocodez-les en ligne, option --geocode)" in said
    assert "en_ligne" not in said and "(colonne « Remarque » du fichier sortie.csv)" in said
    (tmp_path / "etude.toml").write_text('[entrees]\ninitiatives = "sites.csv"\n'
                                         '[sorties]\ncarte = ""\ncarte_autonome = ""\n'
                                         'carte_impression = ""\nintegration = ""\n',
                                         encoding="utf-8")
    said = run("run", "etude.toml")
    assert "géocodez-les en ligne, [geocodage] en_ligne = true dans etude.toml)" in said
    assert "--geocode" not in said


def _options(parser, name: str = "ess-qpv"):
    """Every option of ``parser`` and of its sub-commands, with the command's name."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, subparser in action.choices.items():
                yield from _options(subparser, f"{name} {sub}")
        else:
            yield name, action


def test_every_help_shows_french_placeholders(capsys):
    """An option's placeholder is chosen in French (SORTIE, MOT_DE_PASSE, MO…), never
    argparse's default, its English destination in capitals (OUTPUT, PASSWORD, MAX_MB)."""
    import pytest

    english = [(name, action.option_strings[0], action.dest.upper())
               for name, action in _options(cli.build_parser())
               if action.option_strings and action.nargs != 0 and action.metavar is None
               and not action.choices]
    assert english == []
    for command in ("demo", "init", "run", "qpv", "geocode", "link", "map", "serve",
                    "sirene"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        shown = capsys.readouterr().out
        for word in ("OUTPUT", "PASSWORD", "MAX_MB", "MAX_ROWS", "GEOCODER_URL", "SHEET"):
            assert word not in shown, (command, word)
