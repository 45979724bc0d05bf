"""Progress you can see: the writing step moves the web job's counts and the command line's
bar (files, and each page of the fiches), and a finished run reports them complete."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pandas as pd

from geo.settings import bundled_path
from geo.study import EXAMPLE
from geo.web import jobs

#: The first rows of the bundled example: a few initiatives, a few seconds of fiches.
ROWS = 12


def _study(folder: Path, rows: int | None = ROWS) -> Path:
    """A study folder writing its table and its fiches (the first ``rows`` of the example,
    ``None``: all of it)."""
    folder.mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(bundled_path(EXAMPLE), sep=";", dtype=str, keep_default_na=False)
    table.head(rows or len(table)).to_csv(folder / "initiatives.csv", sep=";", index=False)
    (folder / "etude.toml").write_text(
        '[entrees]\ninitiatives = "initiatives.csv"\n[sorties]\ndossier = "resultats"\n'
        'tableau = "initiatives.csv"\nfiches = "fiches.pdf"\ncarte = ""\n'
        'carte_autonome = ""\nintegration = ""\ncarte_impression = ""\nrapport = ""\n'
        'relecture = ""\nprovenance = ""\n', encoding="utf-8")
    return folder


def test_the_web_job_counts_move_while_writing_and_are_complete_at_the_end(
        tmp_path, monkeypatch):
    folder = _study(tmp_path / "etude")
    states = []
    write = jobs.write_state

    def recorded(where, **state):  # our own state writer, heard as the page reads it
        states.append(dict(state))
        return write(where, **state)

    monkeypatch.setattr(jobs, "write_state", recorded)
    handler = signal.getsignal(signal.SIGTERM)
    try:
        assert jobs.run(folder.resolve()) == 0
    finally:
        signal.signal(signal.SIGTERM, handler)
    writing = [s for s in states if s.get("etape") == "ecriture" and s["etat"] == jobs.RUNNING]
    counts = [s["ecrits"] for s in writing if "ecrits" in s]
    total = writing[-1]["a_ecrire"]
    fiches = len(pd.unique(pd.read_csv(folder / "initiatives.csv", sep=";",
                                       dtype=str)["id_initiative"]))
    assert total == 2 + fiches  # the table, the PDF and each of its pages
    assert counts[0] == 0 and counts == sorted(counts) and len(set(counts)) >= 3, counts
    final = jobs.read_state(folder)
    assert final["etat"] == jobs.DONE and final["ecrits"] == final["a_ecrire"] == total


def test_the_command_line_shows_a_writing_bar_on_a_terminal(tmp_path):
    folder = _study(tmp_path / "etude")
    main, other = pty.openpty()  # standard error is a terminal, as when typed
    fcntl.ioctl(other, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    child = subprocess.Popen(
        [sys.executable, "-m", "geo.cli", "run", str(folder / "etude.toml")],
        stdout=subprocess.PIPE, stderr=other, stdin=subprocess.DEVNULL, cwd=tmp_path)
    os.close(other)
    err = b""
    while True:  # read as it comes: a full terminal would block the run
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the run closed its terminal
            break
        if not chunk:
            break
        err += chunk
    os.close(main)
    with child.stdout:
        out = child.stdout.read().decode("utf-8")
    assert child.wait(timeout=600) == 0, err.decode(errors="replace")
    text = err.decode("utf-8", errors="replace")
    assert "Écriture" in text and "élément" in text, text[-500:]
    assert "Écriture" not in out  # the summary on standard output stays clean


def test_the_page_bar_moves_while_writing_and_is_full_at_the_end(browser, tmp_path,
                                                                  isolated_cache):
    """In Chromium: during « écriture des résultats » the bar follows the files and pages
    written, and it is full once the analysis is over."""
    from playwright.sync_api import expect

    from tests.web import WebServer

    _study(tmp_path / "etudes" / "essai", rows=None)
    server = WebServer(tmp_path / "etudes", isolated_cache)
    try:
        page = browser.new_page()
        page.goto(server.url + "/etudes/essai/analyse")
        page.get_by_role("button", name="Lancer l’analyse").click()
        bar, seen = page.locator("#barre"), set()
        while page.locator("#etat-libelle").inner_text() == "analyse en cours":
            if bar.get_attribute("aria-label") == "Écriture des résultats":
                seen.add((int(bar.get_attribute("value")), int(bar.get_attribute("max"))))
            page.wait_for_timeout(150)
        expect(page.locator("#etat-libelle")).to_have_text("analyse terminée")
        total = int(bar.get_attribute("max"))
        assert total > 10 and bar.get_attribute("value") == str(total)
        assert any(0 < value < total for value, _ in seen), seen  # it moved on the way
        assert page.locator("#n-ecrits").inner_text() == f"{total} sur {total}"
        page.close()
    finally:
        server.stop()
