"""Every declared output (:data:`geo.vocabulary.OUTPUTS`) is written by every door: the CLI
(``link`` and ``map``), the study file (``ess-qpv run``) and the web page; and every door's
hints and help name it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from geo import cli
from geo.cli.study import STUDY_KEYS
from geo.studyfile import SCHEMA, template_outputs
from geo.vocabulary import OUTPUTS
from geo.web.workspace import OUTPUT_FILES
from tests.test_print import EXAMPLE
from tests.web import WebServer


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """The example's first sites (three initiatives, several quartiers): quick to print."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    path = tmp_path_factory.mktemp("table") / "initiatives.csv"
    path.write_text("\n".join(lines[:7]) + "\n", encoding="utf-8")
    return path


def written(folder: Path, outputs) -> dict[str, bool]:
    return {o.key: (folder / o.file).is_file() and (folder / o.file).stat().st_size > 0
            for o in outputs}


@pytest.mark.parametrize("command", ["link", "map"])
def test_the_cli_writes_each_output_of_its_command(command, table, tmp_path, capsys):
    mine = [o for o in OUTPUTS if o.command == command]
    assert any(o.flag == "-o" for o in mine)
    args = [command, str(table)]
    for o in mine:
        args += [o.flag, str(tmp_path / o.file)]
    assert cli.main(args) == 0, capsys.readouterr().err
    assert all(written(tmp_path, mine).values()), written(tmp_path, mine)
    said = capsys.readouterr().out
    assert all(o.what in said for o in mine)


def test_every_output_has_a_command_and_a_hint_at_each_door():
    assert {o.command for o in OUTPUTS} == {"link", "map"}
    for command in ("link", "map"):
        assert sum(o.flag == "-o" for o in OUTPUTS if o.command == command) == 1
    for o in OUTPUTS:
        assert cli.FLAGS[o.key] == o.flag
        assert STUDY_KEYS[o.key] == f"[sorties] {o.key}"
        assert o.key in SCHEMA["sorties"] and OUTPUT_FILES[o.key] == o.file
        assert f'\n{o.key} = "' in "\n" + template_outputs()
        assert Path(o.file).suffix in o.extensions


def test_a_study_file_writes_every_output(table, tmp_path, capsys):
    lines = "\n".join(f'{o.key} = "{o.file}"' for o in OUTPUTS)
    shutil.copy(table, tmp_path / "initiatives.csv")  # a study reads inside its folder
    (tmp_path / "etude.toml").write_text(
        '[entrees]\ninitiatives = "initiatives.csv"\n'
        f'[sorties]\ndossier = "resultats"\n{lines}\n', encoding="utf-8")
    assert cli.main(["run", str(tmp_path / "etude.toml")]) == 0, capsys.readouterr().err
    out = tmp_path / "resultats"
    assert all(written(out, OUTPUTS).values()), written(out, OUTPUTS)
    listed = json.loads((out / "provenance.json").read_text(encoding="utf-8"))["fichiers"]
    assert {o.file for o in OUTPUTS} - {"provenance.json"} <= set(listed)


def test_the_web_page_writes_and_offers_every_output(table, tmp_path, isolated_cache):
    from tests.test_web import new_study

    server = WebServer(tmp_path / "etudes", isolated_cache)
    try:
        client = server.session()
        slug, r = new_study(client, "toutes les sorties", table.read_bytes(),
                            "initiatives.csv")
        assert r.status_code == 200
        client.page(f"/etudes/{slug}/parametres")
        r = client.post_form(f"/etudes/{slug}/parametres", {
            "source": "bundled-2024", "distance": "300", "score": "0.6", "format": "A4",
            "fiches": "oui", "action": "lancer"})  # (the box is ticked for a small table)
        assert r.status_code == 200, r.text
        assert client.wait(slug, timeout=240)["etat"] == "termine"
        out = server.root / slug / "resultats"
        assert all(written(out, OUTPUTS).values()), written(out, OUTPUTS)
        page = client.page(f"/etudes/{slug}/resultats").text
        for o in OUTPUTS:
            if o.download:
                assert o.download in page
            got = client.get(f"{client.base}/etudes/{slug}/fichiers/{o.key}", timeout=30)
            assert got.status_code == 200 and got.content == (out / o.file).read_bytes(), o.key
        assert client.get(f"{client.base}/etudes/{slug}/fichiers/dossier",
                          timeout=30).status_code == 404
    finally:
        server.stop()


def test_each_declared_output_has_one_writer_and_the_provenance_comes_last():
    """Adding an output is its declaration and its writer: the runner loops over them."""
    from geo.write.outputs import DRAWN, WRITERS

    assert set(WRITERS) == {o.key for o in OUTPUTS}
    assert list(WRITERS)[-1] == "provenance"  # it lists the files written before it
    assert {"carte", "carte_autonome", "integration", "carte_impression", "fiches"} == DRAWN
