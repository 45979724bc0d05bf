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
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.browser import axe_violations
from tests.web import WebServer

#: A real-looking table: two sites with coordinates, five with addresses (fictional streets
#: placed in real QPV by the test geocoder, one street name found in two cities, one
#: address that does not exist).
TABLE = """id_initiative;nom;theme;adresse;code_postal;commune;latitude;longitude;qpv_servis
R1;Régie de quartier Franc-Moisin;régie de quartier;;93200;Saint-Denis;48.9205;2.3601;
R2;Recyclerie du Canal;recyclerie;3 Allée de l'Exemple Fictif;93200;Saint-Denis;;;
R3;Épicerie solidaire de la Bastide;épicerie solidaire;12 Rue Imaginaire des Essais;33000;Bordeaux;;;
R4;Café associatif Le Doublon;café associatif;5 Rue du Doublon Fictif;;;;;
R5;Garage solidaire du Mirail;garage solidaire;7 Impasse du Jeu de Données;31400;Toulouse;;;
R6;Conciergerie de la Goutte d'Or;conciergerie solidaire;7 Rue Fictive de la Goutte;75018;Paris;;;
R7;Atelier vélo Nulle Part;atelier vélo;999 zzz qqq;;;;;
R8;Jardin partagé Villeurbanne;jardin partagé;;69100;Villeurbanne;45.7676;4.8812;
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
        self.violations[name] = axe_violations(self.page)
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
    page.get_by_label("Nom de l'étude").fill("ESS et QPV – essai")
    flow.check("nouvelle-etude")
    page.get_by_role("button", name="Créer").click()
    page.get_by_label("Tableau des initiatives").set_input_files(str(table))
    flow.check("import")
    page.get_by_role("button", name="Importer").click()
    # preview and the engine's detection, as editable choices
    assert page.get_by_role("cell", name="Recyclerie du Canal").count() == 1
    assert page.get_by_label("Identifiant de l'initiative").input_value() == "id_initiative"
    assert page.get_by_label("Latitude (ou Y)").input_value() == "latitude"
    assert page.get_by_label("adresse", exact=True).is_checked()
    flow.check("colonnes")
    page.get_by_role("button", name="Enregistrer les colonnes").click()
    page.get_by_label("Géocoder en ligne").check()
    page.get_by_label("Adresse du géocodeur").fill(addok.url)
    flow.check("parametres")
    page.get_by_role("button", name="Lancer l'analyse").click()
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
    double.get_by_role("button", name="Corriger l'adresse").click()
    # the third is placed by clicking on its small map (the fields take the point)
    nowhere = page.locator("section.relecture").filter(has_text="999 zzz qqq")
    nowhere.locator(".mini-carte").click(position={"x": 100, "y": 60})
    assert nowhere.get_by_label("Latitude").input_value() != ""
    corrections = pd.read_csv(web.root / "ess-et-qpv-essai" / "corrections.csv", sep=";",
                              encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert set(corrections["cle"]) == {"R3", "R4"}
    assert corrections.set_index("cle").loc["R3", "accepter"] == "oui"
    page.get_by_role("button", name="Relancer l'analyse").click()
    assert flow.wait_done() == "analyse terminée"
    page.get_by_role("link", name="voir les résultats").click()
    flow.check("resultats")
    # the map is the page the command line writes, drawn in its frame
    frame = page.frame_locator("iframe.carte")
    frame.locator(".essqpv-divicon, .essqpv-cluster").first.wait_for(timeout=30_000)
    assert frame.locator(".leaflet-overlay-pane path").count() > 0  # the quartiers
    sites = page.get_by_role("table", name=re.compile("^Initiatives"))
    assert sites.get_by_role("row").count() == 1 + 8
    sites.get_by_role("button", name="Relation aux QPV").click()
    assert sites.locator("th[aria-sort=ascending]").count() == 1
    assert "<iframe" in page.get_by_label("Code d'intégration").input_value()
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le rapport (Excel)").click()
    report = tmp_path / "rapport-page.xlsx"
    download.value.save_as(report)
    assert not flow.errors and not flow.dialogs
    assert {k: v for k, v in flow.violations.items() if v} == {}
    flow.context.close()

    # the page's report after the corrections
    sites = pd.read_excel(report, sheet_name="Initiatives", dtype=str).set_index(
        "id_initiative")
    assert sites.loc["R3", "Géocodage : statut"] == "corrige"
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
