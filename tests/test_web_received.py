"""A received study folder served by ``ess-qpv serve`` never shows, sends nor copies a file
outside it: a symbolic link or a ``..`` in its study file is refused with a French message,
as ``ess-qpv run`` refuses it (:func:`geo.confine.inside`)."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from geo.geocode import REVIEW_COLUMNS
from tests.web import WebServer

#: What must never reach a page, a download or the study folder.
SECRET = "SECRET-BENEFICIAIRE-4242"
REFUSED = "hors du dossier de l'étude"
RESULTS = {"tableau": "initiatives_enrichies.csv", "relecture": "a_verifier.csv",
           "provenance": "provenance.json", "integration": "carte-iframe.html"}


def received(root: Path, name: str, initiatives: str = "initiatives.csv") -> Path:
    """A study folder as a colleague's zip brings it: its study file and its table."""
    folder = root / name
    (folder / "resultats").mkdir(parents=True)
    (folder / "etude.toml").write_text(
        f'[etude]\ntitre = "{name}"\n[entrees]\ninitiatives = "{initiatives}"\n',
        encoding="utf-8")
    (folder / "initiatives.csv").write_text("nom;latitude;longitude\nRégie;48.92;2.36\n",
                                            encoding="utf-8")
    return folder


def review_file(path: Path) -> None:
    row = {c: "" for c in REVIEW_COLUMNS} | {"cle": "K1", "ligne": "2", "nom": "Régie",
                                              "adresse_saisie": "1 rue X 93200 Saint-Denis"}
    pd.DataFrame([row]).to_csv(path, sep=";", index=False)


@pytest.fixture
def secret(tmp_path) -> Path:
    private = tmp_path / "prive"
    private.mkdir()
    path = private / "secret.csv"
    path.write_text(f"nom;latitude;longitude\n{SECRET};48.85;2.35\n", encoding="utf-8")
    return path


@pytest.fixture
def served(tmp_path, isolated_cache, secret):
    """The studies folder with the received folders, served by the real command."""
    root = tmp_path / "etudes"
    # outputs that are links out of the study, beside a real report
    links = received(root, "liens")
    pd.DataFrame({"nom": ["Régie"]}).to_excel(links / "resultats" / "rapport.xlsx",
                                              sheet_name="Initiatives", index=False)
    for file in RESULTS.values():
        os.symlink(secret, links / "resultats" / file)
    # a study file naming a table out of the folder, or a table that is a link out
    received(root, "dehors", initiatives="../../prive/secret.csv")
    linked = received(root, "tableau-lien")
    (linked / "initiatives.csv").unlink()
    os.symlink(secret, linked / "initiatives.csv")
    # a review file that is a link out
    os.symlink(secret, received(root, "relecture-lien") / "resultats" / "a_verifier.csv")
    # a corrections file that is a link out, beside a real review file
    decided = received(root, "corrections-lien")
    review_file(decided / "resultats" / "a_verifier.csv")
    os.symlink(secret, decided / "corrections.csv")
    # a study file that does not read (a section written twice)
    (received(root, "toml-abime") / "etude.toml").write_text(
        '[entrees]\ninitiatives = "initiatives.csv"\n[entrees]\n', encoding="utf-8")
    # the page's own folder a link to another folder
    elsewhere = root.parent / "ailleurs"
    elsewhere.mkdir()
    os.symlink(elsewhere, received(root, "etat-lien") / ".ess-qpv")
    server = WebServer(root, isolated_cache)
    yield server
    server.stop()


def refused(response) -> bool:
    return SECRET not in response.text and REFUSED in alert(response)


def alert(response) -> str:
    """The page's message, as read (entities decoded)."""
    found = re.search(r'<p[^>]* role="alert"[^>]*>(.*?)</p>', response.text, re.S)
    return html.unescape(found.group(1)) if found else ""


def test_downloads_and_results_never_follow_a_link_out(served):
    client = served.session()
    for key, file in RESULTS.items():
        r = client.page(f"/etudes/liens/fichiers/{key}")
        assert r.status_code == 400 and refused(r), (key, alert(r) or r.text[-800:])
        assert file in r.text  # the message names the link
    page = client.page("/etudes/liens/resultats")
    assert page.status_code == 400 and refused(page), page.text[-800:]


def test_columns_page_never_reads_a_table_out_of_the_folder(served):
    client = served.session()
    for name in ("dehors", "tableau-lien"):
        r = client.page(f"/etudes/{name}/colonnes")
        assert r.status_code == 400 and refused(r), (name, r.text[-800:])
        # the import page says it too, and lets a new table replace it
        r = client.page(f"/etudes/{name}/import")
        assert r.status_code == 200 and refused(r) and 'name="tableau"' in r.text


def test_review_page_never_reads_a_review_file_out_of_the_folder(served):
    r = served.session().page("/etudes/relecture-lien/relecture")
    assert r.status_code == 400 and refused(r), r.text[-800:]


def test_a_decision_never_copies_a_corrections_file_out_of_the_folder(served, secret):
    client = served.session()
    assert refused(client.page("/etudes/corrections-lien/relecture"))
    client.page("/nouvelle")  # a form's token (the refusal has no form)
    r = client.post_form("/etudes/corrections-lien/relecture", {"cle": "K1",
                                                                "action": "accepter"})
    assert refused(r) and "corrections.csv" in alert(r), r.text[-800:]
    folder = served.root / "corrections-lien"
    assert (folder / "corrections.csv").is_symlink()
    assert not [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                and SECRET in p.read_text(encoding="utf-8", errors="replace")]
    assert SECRET in secret.read_text(encoding="utf-8")  # untouched


def test_a_title_is_capped_as_declared(tmp_path, isolated_cache):
    from geo.parameters import PARAMETER
    from tests.test_web import TABLE, new_study

    server = WebServer(tmp_path / "etudes", isolated_cache)
    try:
        client = server.session()
        slug, _ = new_study(client, "titre", TABLE.encode())
        study_file = server.root / slug / "etude.toml"
        before = study_file.read_text(encoding="utf-8")
        client.page(f"/etudes/{slug}/parametres")
        longest = PARAMETER["title"].web.max_length
        r = client.post_form(f"/etudes/{slug}/parametres", {
            "titre": "T" * 100_000, "source": "bundled-2024", "distance": "300",
            "score": "0.6", "format": "A4", "action": "enregistrer"})
        assert r.status_code == 400 and f"{longest} caractères au plus" in r.text
        assert "100\u202f000" in r.text and "T" * (longest + 1) not in r.text
        assert study_file.read_text(encoding="utf-8") == before
        r = client.post_form(f"/etudes/{slug}/parametres", {
            "titre": "T" * longest, "source": "bundled-2024", "distance": "300",
            "score": "0.6", "format": "A4", "action": "enregistrer"})
        assert "T" * longest in study_file.read_text(encoding="utf-8")
    finally:
        server.stop()


def test_an_unexpected_error_says_where_its_details_are(tmp_path, monkeypatch):
    """The job's body (as its process runs it): the message names the log's full path and
    its hidden folder, and what to do."""
    import signal

    from geo import study
    from geo.web import jobs

    folder = received(tmp_path, "plante")

    def broken(*args, **kwargs):
        raise ValueError("embedded null byte")

    monkeypatch.setattr(study, "run_study", broken)
    handler = signal.getsignal(signal.SIGTERM)
    try:
        assert jobs.run(folder) == 1
    finally:
        signal.signal(signal.SIGTERM, handler)
    message = json.loads((folder / ".ess-qpv" / "etat.json").read_text())["message"]
    log = folder / ".ess-qpv" / "journal.txt"
    assert "ValueError" in message and str(log) in message, message
    assert "caché" in message and "Relancez" in message


def test_a_study_file_that_does_not_read_is_said_in_french(served):
    r = served.session().page("/etudes/toml-abime/parametres")
    assert r.status_code == 400 and alert(r) == (
        "Fichier etude.toml, ligne 3 : fichier d'étude illisible : une section ou une table "
        "est déclarée deux fois (colonne 9)."), r.text[-800:]


def test_a_run_never_writes_its_state_through_a_link_out(served):
    client = served.session()
    assert client.page("/").status_code == 200  # the list still shows every study
    client.page("/nouvelle")
    r = client.post_form("/etudes/etat-lien/lancer")
    assert r.status_code == 400 and REFUSED in alert(r) and ".ess-qpv" in alert(r), r.text[-800:]
    assert not list((served.root.parent / "ailleurs").iterdir())
