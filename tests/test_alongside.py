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
