"""All-or-nothing publication: a run killed outright (``kill -9``) at any moment of the
switch leaves the previous set of outputs or the new one, whole, once the next run or a
reader has looked (:func:`geo.io.recover`, :func:`geo.io.remove_stale`)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from geo.io import recover, remove_stale
from tests.test_print import EXAMPLE

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kill -9 of a POSIX process")

#: Run in a subprocess: ``os.replace`` and ``os.unlink`` wrapped so that the process kills
#: itself (SIGKILL: nothing runs after it) at the chosen step of the switch: ``jN``, the
#: N-th journal about to appear (0 first); ``rN``, the N-th output about to be renamed into
#: place in the folder ``sys.argv[2]`` (or below); ``end``, the journal about to be removed
#: (after every rename).
KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    kill_at, root = sys.argv[1], Path(sys.argv[2]).resolve()
    real_replace, real_unlink, count = os.replace, os.unlink, {"j": 0, "r": 0}

    def step(kind):
        if kill_at == f"{kind}{count[kind]}":
            os.kill(os.getpid(), signal.SIGKILL)
        count[kind] += 1

    def replace(src, dst, *args, **kwargs):
        dst = Path(dst)
        if "-journal-" in dst.name:
            step("j")
        elif not dst.name.startswith(".ess-qpv-") and dst.resolve().is_relative_to(root):
            step("r")
        return real_replace(src, dst, *args, **kwargs)

    def unlink(path, *args, **kwargs):
        name = Path(path).name
        if kill_at == "end" and "-journal-" in name and not name.endswith(".tmp"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real_unlink(path, *args, **kwargs)

    os.replace, os.unlink = replace, unlink
    sys.argv = sys.argv[2:]
""")

#: Six files in two folders, and one removed: the smallest stage of two folders.
SMALL = KILLER + textwrap.dedent("""
    from pathlib import Path
    from geo.io import atomic_path, retire, staged

    root = Path(sys.argv[1])
    with staged():
        for folder in (root, root / "sub"):
            for i in range(3):
                with atomic_path(folder / f"f{i}.txt") as tmp:
                    tmp.write_text("new", encoding="utf-8")
        retire(root / "sub" / "gone.txt")
    print("done")
""")


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", "-c", script, *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=Path(args[-1]))


def _files(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``root`` (but the test's cache): its inode and content digest."""
    return {p.relative_to(root).as_posix(): (p.stat().st_ino,
                                             hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*"))
            if p.is_file() and not p.relative_to(root).as_posix().startswith("cache/")}


def _old_set(root: Path) -> None:
    for folder in (root, root / "sub"):
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(3):
            (folder / f"f{i}.txt").write_text("old", encoding="utf-8")
    (root / "sub" / "gone.txt").write_text("old", encoding="utf-8")


@pytest.mark.parametrize("kill_at", ["j0", "j1", *(f"r{k}" for k in range(6)), "end"])
def test_a_stage_killed_at_any_step_is_wholly_old_or_wholly_new(tmp_path, kill_at):
    """Two journals (the member folder's, then the home's), six renames, one removal: a
    kill before the home journal leaves the old set; at any later step the next look at
    either folder completes the new one."""
    root = tmp_path / "out"
    _old_set(root)
    old = _files(root)
    done = _run(SMALL, kill_at, root, root)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert any(n.startswith(".ess-qpv-") for n in os.listdir(root / "sub"))  # half done
    remove_stale([root / "sub"])  # the member folder first: it finds its home
    remove_stale([root])
    now = _files(root)
    texts = {n: (root / n).read_text(encoding="utf-8") for n in now}
    if kill_at.startswith("j"):  # killed before the home journal: nothing was decided
        assert now == old
    else:
        assert set(now) == {f"{d}f{i}.txt" for d in ("", "sub/") for i in range(3)}, now
        assert set(texts.values()) == {"new"}, texts


def test_a_stage_that_ends_leaves_no_journal(tmp_path):
    root = tmp_path / "out"
    _old_set(root)
    done = _run(SMALL, "never", root, root)
    assert done.returncode == 0 and "done" in done.stdout, done.stderr
    assert sorted(_files(root)) == sorted(f"{d}f{i}.txt" for d in ("", "sub/")
                                          for i in range(3))


def _dead_pid() -> int:
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True, check=True)
    return int(process.stdout)


def test_a_hostile_journal_touches_nothing(tmp_path):
    """A journal of a received folder that names files outside it, or files that are not
    temporaries of its own process, is ignored: nothing moved, nothing removed."""
    pid = _dead_pid()
    folder = tmp_path / "resultats"
    folder.mkdir()
    keep = tmp_path / "garder.txt"
    keep.write_text("mine", encoding="utf-8")
    (folder / "rapport.xlsx").write_text("mine", encoding="utf-8")
    (folder / "autre.txt").write_text("mine", encoding="utf-8")
    for data in ({"moves": [], "retire": ["../garder.txt"], "folders": []},
                 {"moves": [["autre.txt", "rapport.xlsx"]], "retire": [], "folders": []},
                 {"moves": [[f".ess-qpv-{pid}-x", "../garder.txt"]], "retire": [],
                  "folders": []},
                 {"moves": [], "retire": ["/etc/hostname"], "folders": []}):
        journal = folder / f".ess-qpv-{pid}-journal-0123abcd.json"
        journal.write_text(json.dumps(data), encoding="utf-8")
        remove_stale([folder])
        assert keep.read_text(encoding="utf-8") == "mine"
        assert (folder / "rapport.xlsx").read_text(encoding="utf-8") == "mine"
        assert (folder / "autre.txt").read_text(encoding="utf-8") == "mine"
        journal.unlink(missing_ok=True)


def test_a_temporary_a_journal_still_lists_is_kept(tmp_path):
    """A switch that cannot be completed now (its target is a folder) keeps its journal and
    its temporary for a later attempt; other dead temporaries go."""
    pid = _dead_pid()
    folder = tmp_path / "resultats"
    (folder / "carte.html").mkdir(parents=True)
    tmp = folder / f".ess-qpv-{pid}-carte-abc.html"
    tmp.write_text("new", encoding="utf-8")
    other = folder / f".ess-qpv-{pid}-rapport-def.xlsx"
    other.write_text("half", encoding="utf-8")
    journal = folder / f".ess-qpv-{pid}-journal-0123abcd.json"
    journal.write_text(json.dumps({"moves": [[tmp.name, "carte.html"]], "retire": [],
                                   "folders": []}), encoding="utf-8")
    remove_stale([folder])
    assert tmp.is_file() and journal.is_file() and not other.exists()
    (folder / "carte.html").rmdir()
    recover(folder)
    assert (folder / "carte.html").read_text(encoding="utf-8") == "new"
    assert sorted(os.listdir(folder)) == ["carte.html"]


# --------------------------------------------------------------------------- a real study

STUDY = KILLER + textwrap.dedent("""
    from pathlib import Path
    from geo.study import Study, run_study

    folder = Path(sys.argv[1])
    out = folder / "resultats"
    run_study(Study(initiatives=folder / "initiatives.csv", folder=folder,
                    title=sys.argv[2], outputs={
                        "tableau": out / "sites.csv", "rapport": out / "rapport.xlsx",
                        "carte": out / "carte.html", "fiches": out / "fiches.pdf",
                        "provenance": out / "provenance.json"}))
    print("done")
""")


@pytest.fixture(scope="module")
def old_study(tmp_path_factory):
    """A study folder with its results: three initiatives, titled « Avant »."""
    folder = tmp_path_factory.mktemp("etude")
    table = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    table[table["id_initiative"].isin(["ESS-001", "ESS-002", "ESS-003"])].to_csv(
        folder / "initiatives.csv", sep=";", index=False)
    done = _run(STUDY, "never", folder, folder, "Avant", folder)
    assert done.returncode == 0 and "done" in done.stdout, done.stderr
    return folder


@pytest.mark.parametrize("kill_at", ["j0", "j1", "r0", "r4", "end"])
def test_a_study_killed_during_its_switch(old_study, tmp_path, kill_at):
    """The study is run again without ESS-002 and titled « Après », killed with SIGKILL
    before the journals, between them, at the first rename, among the renames and after
    them; the web page's recovery then finds the old set whole, or the new one whole (the
    maps of ESS-002 gone, every file replaced)."""
    import shutil

    folder = tmp_path / "etude"
    shutil.copytree(old_study, folder, ignore=shutil.ignore_patterns("cache"))
    old = _files(folder / "resultats")
    table = pd.read_csv(folder / "initiatives.csv", sep=";", dtype=str,
                        keep_default_na=False)
    table[table["id_initiative"] != "ESS-002"].to_csv(folder / "initiatives.csv", sep=";",
                                                      index=False)
    done = _run(STUDY, kill_at, folder / "resultats", folder, "Après", folder)
    assert done.returncode == -signal.SIGKILL, done.stderr
    results = folder / "resultats"
    recover(results)  # what the web page does before showing results
    remove_stale([results, results / "fiches"])  # what the next run does first
    now = _files(results)
    title = json.loads((results / "provenance.json").read_text(encoding="utf-8"))
    if kill_at.startswith("j"):
        assert now == old
        assert "Avant" in (results / "carte.html").read_text(encoding="utf-8")
    else:
        expected = {n for n in old if "ess-002" not in n}
        assert set(now) == expected and len(expected) == len(old) - 2, sorted(now)
        assert not {ino for ino, _ in now.values()} & {ino for ino, _ in old.values()}
        assert "Après" in (results / "carte.html").read_text(encoding="utf-8")
        listed = json.loads((results / "fiches" / ".ess-qpv-cartes.json").read_text(
            encoding="utf-8"))
        assert sorted(f"fiches/{n}" for n in listed) == sorted(
            n for n in now if n.startswith("fiches/") and n.endswith((".png", ".svg")))
    assert title["fichiers"]


def test_a_journal_that_cannot_be_written_changes_nothing(tmp_path, monkeypatch):
    """A disk that fails while the journals are written: a French message, the old set
    untouched, no temporary and no journal left."""
    import errno

    import geo.io
    from geo._errors import EssQpvError
    from geo.io import atomic_path, retire, staged

    root = tmp_path / "out"
    _old_set(root)
    old = _files(root)
    written = []

    def full(path, data):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(path)
        return real(path, data)

    real = geo.io._write_journal
    monkeypatch.setattr(geo.io, "_write_journal", full)
    with pytest.raises(EssQpvError, match="précédents sont restés tels quels"), staged():
        for folder in (root, root / "sub"):
            with atomic_path(folder / "f0.txt") as tmp:
                tmp.write_text("new", encoding="utf-8")
        retire(root / "sub" / "gone.txt")
    assert written and _files(root) == old
