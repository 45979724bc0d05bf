"""A writer run in a forked child (geo.write.alongside): its files join the run's stage, its
warnings and errors come back, a child not waited for is stopped without leftovers."""

from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path

import pytest

from geo._errors import InputError
from geo.io import atomic_path, staged
from geo.write.alongside import Alongside, may_fork

pytestmark = pytest.mark.skipif(not may_fork(), reason="no fork here")


def _write_pid(path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(str(os.getpid()), encoding="utf-8")


def test_the_childs_file_appears_with_the_stage(tmp_path):
    target = tmp_path / "carte.pdf"
    target.write_text("previous", encoding="utf-8")
    with staged():
        with Alongside(lambda: _write_pid(target), what="carte") as child:
            child.wait()
        assert target.read_text(encoding="utf-8") == "previous"  # not before the others
    written = int(target.read_text(encoding="utf-8"))
    assert written != os.getpid()  # drawn by another process
    assert sorted(p.name for p in tmp_path.iterdir()) == ["carte.pdf"]


def _fails(path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text("half", encoding="utf-8")
        warnings.warn("une remarque", UserWarning, stacklevel=1)
        raise InputError("papier inconnu.", path="etude.toml", row=3, column="papier")


def test_the_childs_warning_and_error_are_raised_here(tmp_path):
    target = tmp_path / "carte.pdf"
    target.write_text("previous", encoding="utf-8")
    with (pytest.raises(InputError) as raised, pytest.warns(UserWarning, match="une remarque"),
          staged(), Alongside(lambda: _fails(target), what="carte") as child):
        child.wait()
    assert str(raised.value) == ("fichier etude.toml, ligne 3, colonne « papier » : "
                                 "papier inconnu.")
    assert (raised.value.row, raised.value.column) == (3, "papier")
    assert target.read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["carte.pdf"]


def _slow(path: Path, started: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text("half", encoding="utf-8")
        started.touch()
        time.sleep(60)


def test_a_child_not_waited_for_is_stopped_without_leftovers(tmp_path):
    target, started = tmp_path / "carte.pdf", tmp_path / "started"
    begin = time.monotonic()
    with (pytest.raises(RuntimeError, match="the other outputs failed"), staged(),
          Alongside(lambda: _slow(target, started), what="carte")):
        while not started.exists():  # the child has begun its file
            assert time.monotonic() - begin < 30, "no child started"
            time.sleep(0.05)
        raise RuntimeError("the other outputs failed")
    assert time.monotonic() - begin < 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["started"]


def test_from_another_thread_the_call_is_made_here_at_wait(tmp_path):
    target, seen = tmp_path / "carte.pdf", []

    def run():
        with staged(), Alongside(lambda: _write_pid(target), what="carte") as child:
            seen.append(target.exists())
            child.wait()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [False]  # not started before wait
    assert int(target.read_text(encoding="utf-8")) == os.getpid()


_PREPARED: list[str] = []


def _prepare(given: Path | None = None) -> None:
    """Prepare until ``given`` exists (the parent has given the arguments), 30 s at most."""
    begin = time.monotonic()
    while given is not None and not given.exists() and time.monotonic() - begin < 30:
        time.sleep(0.05)
    _PREPARED.append("ready" if given is None or given.exists() else "parent blocked")


def _write_given(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(f"{text} {_PREPARED} {os.getpid()}", encoding="utf-8")


def test_a_child_forked_ahead_prepares_then_draws_what_it_is_given(tmp_path):
    target, given = tmp_path / "carte.pdf", tmp_path / "given"
    with staged(), Alongside(_write_given, what="carte",
                             prepare=lambda: _prepare(given)) as child:
        # more than a pipe holds: the child reads it while it prepares, the parent goes on
        child.give(target, "x" * 300_000)
        given.touch()
        child.wait()
    text, prepared, pid = target.read_text(encoding="utf-8").rsplit(" ", 2)
    assert text == "x" * 300_000
    assert prepared == "['ready']"  # prepared in the child, before it drew
    assert int(pid) != os.getpid() and _PREPARED == []


def _failing_prepare() -> None:
    raise ImportError("no module named matplotlib")


def test_a_failed_warm_up_leaves_the_call_to_meet_it(tmp_path):
    target = tmp_path / "carte.pdf"
    with (pytest.raises(InputError, match="papier inconnu"), pytest.warns(UserWarning),
          staged(), Alongside(lambda path: _fails(path), what="carte",
                              prepare=_failing_prepare) as child):
        child.give(target)
        child.wait()
    assert not target.exists()


def _children() -> set[int]:
    """This process's children, zombies (not reaped) included."""
    import psutil

    return {p.pid for p in psutil.Process().children()}


def _prepare_slowly(started: Path) -> None:
    started.write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(60)


def test_a_child_never_given_is_stopped_and_reaped(tmp_path):
    started, before = tmp_path / "started", _children()
    begin = time.monotonic()
    with (pytest.raises(InputError, match="tableau illisible"), staged(),
          Alongside(_write_given, what="carte", prepare=lambda: _prepare_slowly(started))):
        while not started.exists():
            assert time.monotonic() - begin < 30, "no child started"
            time.sleep(0.05)
        raise InputError("tableau illisible.", path="initiatives.csv", row=2)
    assert time.monotonic() - begin < 30
    assert _children() == before  # ended and reaped: no zombie left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["started"]


def test_what_cannot_be_pickled_is_called_here(tmp_path):
    target, before = tmp_path / "carte.pdf", _children()
    with staged(), Alongside(lambda path, write: write(path), what="carte",
                             prepare=_prepare) as child:
        child.give(target, lambda path: _write_pid(path))  # a lambda does not pickle
        assert _children() == before  # the child was stopped
        child.wait()
    assert int(target.read_text(encoding="utf-8")) == os.getpid()


def test_a_study_failing_after_the_print_was_forked_says_why_and_leaves_nothing(
        tmp_path, monkeypatch):
    """The print's process is forked before the table is read (geo.study.run_study): a
    table refused then gets its French message, and the process is ended and reaped."""
    from geo.study import run_study
    from geo.studyfile import demo_study

    study = demo_study(tmp_path / "demo")
    table = tmp_path / "initiatives.csv"
    table.write_text("nom;latitude;longitude\nA;45,1;4,8;x\n", encoding="utf-8")
    study.initiatives = str(table)
    before, forked = _children(), []
    original = Alongside._start

    def start(self, prepare):
        original(self, prepare)
        forked.append(self._process.pid)

    monkeypatch.setattr(Alongside, "_start", start)
    with pytest.raises(InputError, match="ligne 2") as raised:
        run_study(study)
    assert "initiatives.csv" in str(raised.value)
    assert len(forked) == 1  # forked ahead, before the table was read
    assert _children() == before
    assert not (tmp_path / "demo").exists() or not any((tmp_path / "demo").iterdir())


def test_from_another_thread_what_is_given_is_drawn_here_at_wait(tmp_path):
    target, seen = tmp_path / "carte.pdf", []

    def run():
        with staged(), Alongside(_write_given, what="carte", prepare=_prepare) as child:
            child.give(target, "given")
            seen.append(target.exists())
            child.wait()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [False]  # not drawn before wait
    assert target.read_text(encoding="utf-8") == f"given [] {os.getpid()}"  # no warm-up



_WARMED: list[object] = []


def _warm_up() -> None:
    _WARMED.append([object() for _ in range(1000)])  # a cache the warm-up reads


def _write_collected(path: Path) -> None:
    import gc

    with atomic_path(path) as tmp:
        tmp.write_text(f"{gc.get_freeze_count()} {gc.get_threshold()[0]} {len(_WARMED)}",
                       encoding="utf-8")


def test_the_child_leaves_what_it_inherited_and_warmed_out_of_its_collections(tmp_path):
    import gc

    target, before = tmp_path / "counts", gc.get_freeze_count()
    with staged(), Alongside(_write_collected, what="carte", prepare=_warm_up) as child:
        child.give(target)
        child.wait()
    frozen, young, warmed = map(int, target.read_text(encoding="utf-8").split())
    # every object alive at the fork, and the warm-up's thousand, left out of collections
    assert warmed == 1 and frozen > len(gc.get_objects()) // 2 + 1000
    assert young >= 10_000  # a drawing's objects collected by the thousands, not 700
    assert gc.get_freeze_count() == before and _WARMED == []  # the parent's unchanged
