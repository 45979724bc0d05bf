"""``ess-qpv serve``: the whole study in the browser (Debian's Chromium, Playwright), the
same outputs as ``ess-qpv run``, accessible pages, hostile input, runs that crash, cancel
and resume."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.browser import axe_violations, htmlcs_errors
from tests.servers import Server, forward
from tests.web import WebServer

#: A real-looking table: two sites with coordinates, five with addresses (fictional streets
#: placed in real QPV by the test geocoder, one street name found in two cities, one
#: address that does not exist).
TABLE = """id_initiative;nom;theme;adresse;code_postal;commune;latitude;longitude;qpv_servis;\
salariés
R1;Régie de quartier Franc-Moisin;régie de quartier;;93200;Saint-Denis;48.9205;2.3601;;12,5
R2;Recyclerie du Canal;recyclerie;3 Allée de l'Exemple Fictif;93200;Saint-Denis;;;;3
R3;Épicerie solidaire Bastide;épicerie solidaire;12 Rue Imaginaire des Essais;33000;Bordeaux;;;;
R4;Café associatif Le Doublon;café associatif;5 Rue du Doublon Fictif;;;;;;1
R5;Garage solidaire du Mirail;garage solidaire;7 Impasse du Jeu de Données;31400;Toulouse;;;;2
R6;Conciergerie de la Goutte d'Or;conciergerie solidaire;7 Rue Fictive de la Goutte;75018;\
Paris;;;;n.c.
R7;Atelier vélo Nulle Part;atelier vélo;999 zzz qqq;;;;;;
R8;Jardin partagé Villeurbanne;jardin partagé;;69100;Villeurbanne;45.7676;4.8812;;1 200
"""
CAPTURES = os.environ.get("ESS_QPV_CAPTURES")


@pytest.fixture
def web(tmp_path, isolated_cache):
    server = WebServer(tmp_path / "etudes", isolated_cache)
    yield server
    server.stop()


class Flow:
    """One browser tab through the pages, checking each with axe-core on the way."""

    def __init__(self, browser, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900},
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.url = url
        self.violations: dict[str, list] = {}
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("https://**", lambda route: route.abort())  # no tiles here
        self.shots = 0

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        self.violations[name] = axe_violations(self.page) + htmlcs_errors(self.page)
        if CAPTURES:
            self.shots += 1
            Path(CAPTURES).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=f"{CAPTURES}/{self.shots:02d}-{name}.png")

    def wait_done(self, timeout: float = 120_000) -> str:
        # (no wait_for_function: the page's policy forbids evaluating strings)
        expect(self.page.locator("#etat-libelle")).not_to_have_text("analyse en cours",
                                                                    timeout=timeout)
        return self.page.locator("#etat-libelle").inner_text()


def test_from_spreadsheet_to_report_in_the_browser(browser, addok, web, tmp_path):
    table = tmp_path / "mes initiatives.csv"
    table.write_text(TABLE, encoding="utf-8")
    flow = Flow(browser, web.url)
    page = flow.page
    page.goto(web.url + "/")
    flow.check("etudes")
    page.get_by_role("link", name="Nouvelle étude").click()
    page.get_by_label("Nom de l’étude").fill("ESS et QPV – essai")
    flow.check("nouvelle-etude")
    page.get_by_role("button", name="Créer").click()
    page.get_by_label("Tableau des initiatives").set_input_files(str(table))
    flow.check("import")
    page.get_by_role("button", name="Importer").click()
    # preview and the engine's detection, as editable choices
    assert page.get_by_role("cell", name="Recyclerie du Canal").count() == 1
    assert page.get_by_label("Identifiant de l'initiative").input_value() == "id_initiative"
    assert page.get_by_label("Latitude (ou Y)").input_value() == "latitude"
    assert page.get_by_role("group", name=re.compile("^Colonnes de l’adresse")).get_by_label(
        "adresse", exact=True).is_checked()
    # « salariés » is recognised as an indicator, and offered as the symbols' size
    assert page.get_by_role("group", name=re.compile("^Indicateurs")).get_by_label(
        "salariés", exact=True).is_checked()
    page.get_by_label("Taille des symboles sur les cartes selon l’indicateur").select_option(
        "salariés")
    flow.check("colonnes")
    page.get_by_role("button", name="Enregistrer les colonnes").click()
    page.get_by_label("Géocoder en ligne").check()
    page.get_by_label("Adresse du géocodeur").fill(addok.url)
    flow.check("parametres")
    page.get_by_role("button", name="Lancer l’analyse").click()
    assert flow.wait_done() == "analyse terminée"
    assert int(page.locator("#n-requetes").inner_text()) >= 1
    flow.check("analyse")
    page.get_by_role("link", name="Relire les adresses douteuses").click()
    sections = page.locator("section.relecture")
    assert sections.count() == 3  # R3 (postcode), R4 (two cities), R7 (not found)
    flow.check("relecture")
    bordeaux = sections.filter(has_text="12 Rue Imaginaire des Essais")
    bordeaux.get_by_role("button", name="Accepter").click()
    assert "Proposition acceptée" in page.get_by_role("status").first.inner_text()
    double = page.locator("section.relecture").filter(has_text="5 Rue du Doublon Fictif")
    double.get_by_label("Adresse corrigée").fill("5 Rue du Doublon Fictif 93200 Saint-Denis")
    double.get_by_role("button", name="Corriger l’adresse").click()
    # the third is placed by clicking on its small map (the fields take the point)
    nowhere = page.locator("section.relecture").filter(has_text="999 zzz qqq")
    nowhere.locator(".mini-carte").click(position={"x": 100, "y": 60})
    assert nowhere.get_by_label("Latitude").input_value() != ""
    corrections = pd.read_csv(web.root / "ess-et-qpv-essai" / "corrections.csv", sep=";",
                              encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert set(corrections["cle"]) == {"R3", "R4"}
    assert corrections.set_index("cle").loc["R3", "accepter"] == "oui"
    page.get_by_role("button", name="Relancer l’analyse").click()
    assert flow.wait_done() == "analyse terminée"
    page.get_by_role("link", name="voir les résultats").click()
    # the map is the page the command line writes, drawn in its frame
    page.locator("iframe.carte").scroll_into_view_if_needed()
    frame = page.frame_locator("iframe.carte")
    # its scripts run under the page's policy: the text version lists every site
    expect(frame.locator("table.essqpv-table tbody tr")).to_have_count(8, timeout=30_000)
    assert frame.locator(".leaflet-overlay-pane path").count() > 0  # the quartiers
    page.evaluate("window.scrollTo(0, 0)")
    flow.check("resultats")
    sites = page.get_by_role("table", name=re.compile("^Initiatives"))
    assert sites.get_by_role("row").count() == 1 + 8
    sites.get_by_role("button", name="Relation aux QPV").focus()
    page.keyboard.press("Enter")  # as a keyboard user sorts
    assert sites.locator("th[aria-sort=ascending]").count() == 1
    sites.get_by_role("button", name="nom", exact=True).click()  # and with the mouse
    assert sites.locator("th[aria-sort=ascending]").inner_text() == "nom"
    # what the initiatives bring, per quartier, with the counting rule under it
    impact = page.get_by_role("table", name=re.compile("^Impact"))
    assert impact.get_by_role("button", name="salariés – sites implantés").count() == 1
    whole = impact.get_by_role("row").filter(has_text="Ensemble de l'étude")
    assert whole.count() == 1
    assert page.get_by_text("compte une fois dans chacun", exact=False).count() == 1
    assert "<iframe" in page.get_by_label("Code d’intégration").input_value()
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le rapport (Excel)").click()
    report = tmp_path / "rapport-page.xlsx"
    download.value.save_as(report)
    # one page per initiative, and their maps for layout software
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("^Télécharger les fiches par initiative")
                         ).click()
    fiches = tmp_path / "fiches.pdf"
    download.value.save_as(fiches)
    assert fiches.read_bytes().startswith(b"%PDF")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("^Télécharger les cartes des fiches")).click()
    maps = tmp_path / "cartes.zip"
    download.value.save_as(maps)
    with zipfile.ZipFile(maps) as archive:
        names = archive.namelist()
    placed = pd.read_excel(report, sheet_name="Initiatives", dtype=str)
    placed = placed[placed["Relation aux QPV"] != "non localisée"]
    assert len(names) == 2 * placed["id_initiative"].nunique(), names  # PNG and SVG each
    assert all(re.fullmatch(r"fiches/[a-z0-9-]+\.(png|svg)", n) for n in names), names
    assert not flow.errors and not flow.dialogs
    assert {k: v for k, v in flow.violations.items() if v} == {}
    flow.context.close()

    # the page's report after the corrections
    sites = pd.read_excel(report, sheet_name="Initiatives", dtype=str).set_index(
        "id_initiative")
    assert sites.loc["R3", "Géocodage : statut"] == "corrigée"
    assert sites.loc["R4", "QPV d'implantation (code)"] == "QN09340I"
    assert sites.loc["R2", "QPV d'implantation (code)"] == "QN09338M"

    # `ess-qpv run` on a copy of the study folder writes the same outputs
    copy = tmp_path / "copie"
    shutil.copytree(web.root / "ess-et-qpv-essai", copy,
                    ignore=shutil.ignore_patterns("resultats", ".ess-qpv"))
    done = subprocess.run([sys.executable, "-m", "geo.cli", "run", str(copy / "etude.toml")],
                          capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    ours = web.root / "ess-et-qpv-essai" / "resultats"
    assert_same_outputs(ours, copy / "resultats")


def assert_same_outputs(a: Path, b: Path) -> None:
    """Every output equal, but for the date of the run."""
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        if name.endswith(".csv"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
        elif name.endswith(".xlsx"):
            for sheet, frame in pd.read_excel(a / name, sheet_name=None, dtype=str).items():
                other = pd.read_excel(b / name, sheet_name=sheet, dtype=str)
                if sheet == "Sources":
                    frame, other = (f[~f.iloc[:, 0].astype(str).str.startswith("Date d")]
                                    for f in (frame, other))
                pd.testing.assert_frame_equal(frame, other, obj=f"{name}/{sheet}")
        elif name.endswith(".json"):
            x, y = (json.loads((p / name).read_text(encoding="utf-8")) for p in (a, b))
            x.pop("date"), y.pop("date")
            assert x == y
        elif name.endswith(".html"):
            blocks = [re.findall(r'<script type="application/json"[^>]*>(.*?)</script>',
                                 (p / name).read_text(encoding="utf-8"), re.S) for p in (a, b)]
            assert blocks[0] == blocks[1], name


# --------------------------------------------------------------------------- hostile input

PAYLOADS = ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">', "{{ 7*7 }}",
            "=1+1", "../../etc/passwd"]


def new_study(client, name: str, table: bytes | None = None, filename: str = "t.csv"):
    client.page("/nouvelle")
    r = client.post_form("/nouvelle", {"nom": name})
    slug = r.url.rstrip("/").split("/")[-2]
    if table is not None:
        r = upload(client, slug, table, filename)
    return slug, r


def upload(client, slug: str, table: bytes, filename: str = "t.csv"):
    """Import ``table`` into the study ``slug`` as the page's form does."""
    client.page(f"/etudes/{slug}/import")
    return client.post(f"{client.base}/etudes/{slug}/import", data={"csrf_token": client.token},
                       files={"tableau": (filename, table)}, timeout=60)


def hostile_table() -> bytes:
    rows = ["id;nom;theme;latitude;longitude;<b>entête</b>"]
    for i, payload in enumerate(PAYLOADS):
        rows.append(f"H{i};{payload};{payload};48.9205;2.3601;{payload}")
    return ("\n".join(rows) + "\n").encode()


def test_hostile_cells_stay_text(browser, web, tmp_path):
    client = web.session()
    slug, r = new_study(client, "<script>alert('nom')</script> {{ 7*7 }}", hostile_table())
    assert r.status_code == 200 and "Les colonnes du tableau" in r.text
    for text in (r.text, client.page("/").text):
        assert "<script>alert" not in text and "<img src=x" not in text and "<b>" not in text
        assert "&lt;script&gt;" in text and "{{ 7*7 }}" in text  # shown, not evaluated
    client.page(f"/etudes/{slug}/parametres")
    client.post_form(f"/etudes/{slug}/parametres", {
        "titre": "{{ 7*7 }} <script>alert(3)</script> =1+1 ../../x", "source": "bundled-2024",
        "distance": "300", "score": "0.6", "format": "A4", "action": "lancer"})
    assert client.wait(slug)["etat"] == "termine"
    folder = web.root / slug
    report = pd.read_excel(folder / "resultats" / "rapport.xlsx", sheet_name="Initiatives",
                           dtype=str)
    assert set(PAYLOADS) <= set(report["nom"])  # kept as text, nothing evaluated
    # no script runs in any page of the study, the map included
    context = browser.new_context()
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.route("https://**", lambda route: route.abort())
    for path in ("/", f"/etudes/{slug}/colonnes", f"/etudes/{slug}/parametres",
                 f"/etudes/{slug}/resultats", f"/etudes/{slug}/relecture"):
        page.goto(web.url + path)
        page.wait_for_load_state("load")
    page.goto(web.url + f"/etudes/{slug}/resultats")
    # (Chromium pauses the animation frames of an off-screen frame of another origin)
    page.locator("iframe.carte").scroll_into_view_if_needed()
    expect(page.frame_locator("iframe.carte").locator("table.essqpv-table tbody tr")
           ).to_have_count(5, timeout=30_000)
    assert page.get_by_role("cell", name="{{ 7*7 }}").count() >= 1
    assert dialogs == []
    context.close()
    assert not (web.root.parent / "x").exists()
    study = (folder / "etude.toml").read_text(encoding="utf-8")
    assert "=1+1 ../../x" in study  # the title is text in the study file, nothing more


def test_study_names_become_safe_folders(web, tmp_path):
    client = web.session()
    for name in ("../../x", "/etc/passwd", "..", "C:\\Windows"):
        slug, r = new_study(client, name)
        assert r.status_code == 200
        assert re.fullmatch(r"[a-z0-9-]+", slug), slug
        assert (web.root / slug / "etude.toml").is_file()
    assert not (tmp_path / "x").exists() and not (web.root.parent / "x").exists()
    slug2, _ = new_study(client, "../../x")
    assert slug2 == "x-2"  # no collision
    assert client.page("/etudes/..%2F..%2Fx/import").status_code == 404
    assert client.page("/etudes/%2Fetc/import").status_code == 404


def test_forms_without_the_csrf_token_are_refused(web):
    client = web.session()
    client.page("/nouvelle")
    r = client.post_form("/nouvelle", {"nom": "sans jeton"}, token=False)
    assert r.status_code == 400 and "jeton de sécurité" in r.text
    r = client.post_form("/nouvelle", {"nom": "mauvais jeton", "csrf_token": "x"},
                         token=False)
    assert r.status_code == 400
    assert list(web.root.iterdir()) == [web.root / ".ess-qpv"]
    assert client.page("/").status_code == 200  # still serving


def test_uploads_are_judged_by_content_and_size(web):
    client = web.session()
    slug, r = new_study(client, "formats", os.urandom(20_000), "binaire.xlsx")
    assert r.status_code == 400 and "fichier binaire non reconnu" in r.text
    assert "binaire.xlsx" in r.text
    _, r = new_study(client, "zip", b"PK\x03\x04" + os.urandom(5000), "t.xlsx")
    assert r.status_code == 400 and "archive zip" in r.text
    _, r = new_study(client, "json", b'{"a": 1}', "t.geojson")
    assert r.status_code == 400 and "pas du GeoJSON" in r.text
    # a CSV named .xlsx is read as the CSV it is
    slug, r = new_study(client, "csv", TABLE.encode(), "tableau.xlsx")
    assert r.status_code == 200 and "Recyclerie du Canal" in r.text
    assert (web.root / slug / "initiatives.csv").is_file()
    # an OpenDocument sheet, whatever its name
    import io

    sheet = io.BytesIO()
    pd.read_csv(io.StringIO(TABLE), sep=";", dtype=str).to_excel(sheet, engine="odf",
                                                                  index=False)
    slug_ods, r = new_study(client, "ods", sheet.getvalue(), "tableau.dat")
    assert r.status_code == 200 and "Recyclerie du Canal" in r.text
    assert (web.root / slug_ods / "initiatives.ods").is_file()
    # 50 MB: refused with a French page, the server goes on
    _, r = new_study(client, "gros", b"a;b\n" + b"1;2\n" * (50 * 1024 * 1024 // 4), "gros.csv")
    assert r.status_code == 413 and "dépasse la limite de 20 Mo" in r.text
    assert client.page("/").status_code == 200
    # a failed import keeps the previous table
    client.page(f"/etudes/{slug}/import")
    r = client.post(f"{client.base}/etudes/{slug}/import", data={"csrf_token": client.token},
                    files={"tableau": ("x.csv", b"\x00\x01")}, timeout=30)
    assert r.status_code == 400
    assert "Recyclerie du Canal" in client.page(f"/etudes/{slug}/colonnes").text


def test_row_limit(tmp_path, isolated_cache):
    server = WebServer(tmp_path / "etudes", isolated_cache, "--lignes-max", "5")
    try:
        _, r = new_study(server.session(), "limite", TABLE.encode())
        assert r.status_code == 400 and "8 lignes : la limite est de 5" in r.text
    finally:
        server.stop()


def test_other_host_names_are_refused(web):
    import requests

    r = requests.get(web.url + "/", headers={"Host": "evil.example"}, timeout=10)
    assert r.status_code == 400 and "127.0.0.1" in r.text


def test_network_address_needs_a_password(tmp_path, isolated_cache):
    refused = subprocess.run(
        [sys.executable, "-m", "geo.cli", "serve", str(tmp_path / "e"), "--host", "127.0.0.2",
         "--no-browser"], capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k != "ESS_QPV_MOT_DE_PASSE"})
    assert refused.returncode == 2 and "donnez un mot de passe" in refused.stderr
    assert "Traceback" not in refused.stderr
    server = WebServer(tmp_path / "etudes", isolated_cache, "--host", "127.0.0.2",
                       env={"ESS_QPV_MOT_DE_PASSE": "un mot de passe"},
                       url_host="127.0.0.2")
    try:
        client = server.session()
        r = client.page("/")
        assert r.url.endswith("/connexion?suite=/?") and "Mot de passe" in r.text
        r = client.post_form("/connexion", {"mot_de_passe": "faux", "suite": "/"})
        assert r.status_code == 403 and "Mot de passe incorrect" in r.text
        r = client.post_form("/connexion", {"mot_de_passe": "un mot de passe",
                                            "suite": "//ailleurs.example/"})
        assert r.status_code == 200 and "Nouvelle étude" in r.text
        assert r.url == server.url + "/"  # never sent to another site
    finally:
        server.stop()


# --------------------------------------------------------------------------- runs


def slow_geocoder(addok, delay: float) -> Server:
    relay = Server()
    relay.set("/search/csv/", forward(addok.url, delay=delay))
    relay.set("/search/", forward(addok.url, delay=delay))
    return relay


def launch(client, slug: str, geocoder: str) -> None:
    client.page(f"/etudes/{slug}/parametres")
    r = client.post_form(f"/etudes/{slug}/parametres", {
        "source": "bundled-2024", "distance": "300", "score": "0.6", "format": "A4",
        "en_ligne": "oui", "url": geocoder, "action": "lancer"})
    assert r.status_code == 200, r.text


def test_cancel_a_run(web, addok):
    relay = slow_geocoder(addok, 5)
    try:
        client = web.session()
        slug, _ = new_study(client, "annuler", TABLE.encode())
        launch(client, slug, relay.url)
        state = client.page(f"/etudes/{slug}/etat").json()
        assert state["etat"] == "en_cours"
        client.page(f"/etudes/{slug}/analyse")
        # a running study is not changed under the run
        r = client.post_form(f"/etudes/{slug}/parametres", {"distance": "10"})
        assert "Une analyse est en cours" in r.text and r.url.endswith("/analyse")
        assert "distance_m = 10.0" not in (web.root / slug / "etude.toml").read_text()
        r = client.post_form(f"/etudes/{slug}/annuler")
        assert "analyse annulée" in r.text
        assert client.wait(slug)["etat"] == "annule"
        assert not (web.root / slug / "resultats" / "rapport.xlsx").exists()
        assert not list((web.root / slug).rglob(".*-*.csv"))  # no half-written file
    finally:
        relay.stop()


def wait_pid(folder: Path) -> int:
    """The run's process id, once the run has written it."""
    import time

    for _ in range(200):
        pid = json.loads((folder / ".ess-qpv" / "etat.json").read_text())["pid"]
        if pid:
            return pid
        time.sleep(0.05)
    raise AssertionError("the run never started")


def test_a_crashed_run_never_takes_the_server_down(web):
    client = web.session()
    slug, _ = new_study(client, "plantage", TABLE.encode())
    other, _ = new_study(client, "voisine", TABLE.encode())
    relay = Server()  # a geocoder that never answers in time
    relay.set("/search/csv/", {"status": 200, "body": b"", "delay": 60})
    try:
        launch(client, slug, relay.url)
        os.kill(wait_pid(web.root / slug), 9)
        state = client.wait(slug)
    finally:
        relay.stop()
    assert state["etat"] == "erreur" and "de façon inattendue" in state["message"]
    # the server and the other study carry on
    client.page(f"/etudes/{other}/parametres")
    client.post_form(f"/etudes/{other}/parametres", {
        "source": "bundled-2024", "distance": "300", "score": "0.6", "format": "A4",
        "action": "lancer"})
    assert client.wait(other)["etat"] == "termine"


def test_a_run_resumes_after_a_server_restart(tmp_path, isolated_cache, addok):
    relay = slow_geocoder(addok, 3)
    root = tmp_path / "etudes"
    server = WebServer(root, isolated_cache)
    try:
        client = server.session()
        slug, _ = new_study(client, "reprise", TABLE.encode())
        launch(client, slug, relay.url)
    finally:
        server.stop_server_only()
    assert json.loads((root / slug / ".ess-qpv" / "etat.json").read_text())["etat"] == \
        "en_cours"
    server = WebServer(root, isolated_cache)
    try:
        assert "Analyse reprise : reprise" in server.log.read_text(encoding="utf-8")
        state = server.session().wait(slug, timeout=120)
        assert state["etat"] == "termine", state
        assert (root / slug / "resultats" / "rapport.xlsx").is_file()
    finally:
        server.stop()


def test_two_browsers_two_studies(web, addok):
    a, b = web.session(), web.session()
    sa, _ = new_study(a, "Étude A", TABLE.encode())
    sb, _ = new_study(b, "Étude B", TABLE.replace("Recyclerie du Canal", "Autre nom")
                      .encode())
    launch(a, sa, addok.url)
    launch(b, sb, addok.url)
    assert a.wait(sa)["etat"] == "termine" and b.wait(sb)["etat"] == "termine"
    names = [set(pd.read_excel(web.root / s / "resultats" / "rapport.xlsx",
                               sheet_name="Initiatives", dtype=str)["nom"]) for s in (sa, sb)]
    assert "Recyclerie du Canal" in names[0] and "Autre nom" in names[1]
    assert "Autre nom" not in names[0]


def test_hostile_review_decisions_stay_text(browser, web, addok):
    client = web.session()
    slug, _ = new_study(client, "relecture hostile", TABLE.encode())
    launch(client, slug, addok.url)
    assert client.wait(slug)["etat"] == "termine"
    client.page(f"/etudes/{slug}/relecture")
    payload = "<script>alert(4)</script> {{ 7*7 }} =1+1 ../../etc/passwd"
    r = client.post_form(f"/etudes/{slug}/relecture", {"cle": "R4", "action": "corriger",
                                                        "adresse_corrigee": payload})
    assert r.status_code == 200 and "<script>alert(4)" not in r.text
    assert "&lt;script&gt;alert(4)" in r.text and "{{ 7*7 }}" in r.text
    r = client.post_form(f"/etudes/{slug}/relecture", {"cle": "R7", "action": "placer",
                                                        "latitude": "=1+1", "longitude": "2"})
    assert "la latitude doit être un nombre" in r.text
    r = client.post_form(f"/etudes/{slug}/relecture", {"cle": "../../x", "action": "accepter"})
    assert r.status_code == 404
    corrections = pd.read_csv(web.root / slug / "corrections.csv", sep=";", dtype=str,
                              keep_default_na=False, encoding="utf-8-sig")
    assert list(corrections["adresse_corrigee"]) == [payload]
    context = browser.new_context()
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.route("https://**", lambda route: route.abort())
    page.goto(web.url + f"/etudes/{slug}/relecture")
    page.wait_for_load_state("load")
    assert payload in page.locator("section.relecture").filter(
        has_text="5 Rue du Doublon Fictif").inner_text()
    assert dialogs == []
    context.close()


def test_login_and_error_pages_are_accessible(browser, tmp_path, isolated_cache):
    server = WebServer(tmp_path / "etudes", isolated_cache, "--host", "127.0.0.2",
                       env={"ESS_QPV_MOT_DE_PASSE": "un mot de passe"},
                       url_host="127.0.0.2")
    try:
        flow = Flow(browser, server.url)
        flow.page.goto(server.url + "/")
        flow.check("connexion")
        flow.page.get_by_label("Mot de passe").fill("faux")
        flow.page.get_by_role("button", name="Se connecter").click()
        assert "Mot de passe incorrect" in flow.page.content()
        flow.check("connexion-refusee")
        flow.page.get_by_label("Mot de passe").fill("un mot de passe")
        flow.page.get_by_role("button", name="Se connecter").click()
        flow.page.goto(server.url + "/etudes/inconnue/import")
        assert "Page introuvable" in flow.page.content()
        flow.check("introuvable")
        assert {k: v for k, v in flow.violations.items() if v} == {}
        flow.context.close()
    finally:
        server.stop()
