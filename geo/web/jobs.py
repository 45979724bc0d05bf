"""A study run in a process of its own, with its state on disk.

The web page starts a run with :func:`start`, follows it with :func:`state`, stops it with
:func:`cancel`, and on start-up resumes with :func:`resume` the runs that a stopped server
or machine left unfinished (the geocoding cache keeps every answer already received). A run
is ``python -m geo.web.jobs FOLDER``: it loads the folder's ``etude.toml`` and calls
:func:`geo.study.run_study`, exactly as ``ess-qpv run`` does, so a crash in one run never
takes the server down and two studies never share anything but the geocoding cache.

The state file (``.ess-qpv/etat.json``) holds ``etat`` (:data:`LABELS`), the step, the
geocoding counts, the writing counts (``ecrits`` of ``a_ecrire``: files and the fiches'
pages, all done once the run is over), the times, the summary or the French error
message, and the mark of the server that started the run: only runs it started itself
are resumed by a server.

A study folder is data, never code: the run's Python starts with ``-P`` (nothing from the
working directory or the script's folder on the import path) in a working directory of its
own, so a ``json.py`` or a ``geo/`` package in a received folder is never imported.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path

from ..io import atomic_path

STATE_FILE = "etat.json"
LOG_FILE = "journal.txt"
RUNNING, DONE, FAILED, CANCELLED = "en_cours", "termine", "erreur", "annule"
#: French label of each state.
LABELS = {RUNNING: "analyse en cours", DONE: "analyse terminée", FAILED: "analyse en échec",
          CANCELLED: "analyse annulée"}
_MODULE = "geo.web.jobs"
#: Processes started by this server, so that they are reaped when they end.
_CHILDREN: dict[str, subprocess.Popen] = {}
#: Held while this server reads or changes a state, so that a run starting is never taken
#: for a run that died.
_LOCK = threading.RLock()


def _state_dir(folder: Path) -> Path:
    """The page's own folder in the study (never a link out of it: a received folder's
    ``.ess-qpv`` could lead to another folder)."""
    from ..confine import inside
    from .workspace import STATE_DIR

    return inside(folder / STATE_DIR, folder, what="le dossier « .ess-qpv » de l'étude")


def write_state(folder: Path, **state) -> dict:
    """Replace the state file atomically (a reader never sees half a file)."""
    path = _state_dir(folder) / STATE_FILE
    with atomic_path(path, defer=False) as tmp:
        tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    return state


def read_state(folder: Path) -> dict:
    """The state as last written, ``{}`` when no run was ever started."""
    from .._errors import EssQpvError

    try:
        return json.loads((_state_dir(folder) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, EssQpvError):  # none, damaged, or out of the folder
        return {}


def alive(pid: int | None, folder: Path) -> bool:
    """Whether ``pid`` is a run of this study that has not ended."""
    child = _CHILDREN.get(str(folder.resolve()))
    if child is not None and (pid is None or child.pid == pid):
        return child.poll() is None
    if not pid:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.parent.parent.exists() and sys.platform.startswith("linux"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            return False
        return _MODULE.encode() in args and str(folder.resolve()).encode() in args
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def state(folder: Path) -> dict:
    """The run's state; a run whose process died without a word is reported as failed."""
    with _LOCK:
        return _checked_state(folder)


def _checked_state(folder: Path) -> dict:
    current = read_state(folder)
    if current.get("etat") == RUNNING and not alive(current.get("pid"), folder):
        time.sleep(0.2)  # it may have written its last state just now
        current = read_state(folder)
        if current.get("etat") == RUNNING and not alive(current.get("pid"), folder):
            current = write_state(folder, **{
                **current, "etat": FAILED, "fin": time.time(),
                "message": "l'analyse s'est arrêtée de façon inattendue. "
                           f"{log_advice(folder)}"})
    return current


def log_advice(folder: Path) -> str:
    """Where a run's technical details are and what to do with them, in French (the log
    is in the study's hidden folder, which a file browser does not show)."""
    log = _state_dir(folder) / LOG_FILE
    return (f"Relancez l'analyse ; si l'erreur revient, le détail technique est dans le "
            f"fichier {log} (le dossier « {log.parent.name} » du dossier de l'étude est "
            "caché : affichez les fichiers cachés pour le voir) : envoyez ce fichier à la "
            "personne qui s'occupe d'ess-qpv.")


def running(folder: Path) -> bool:
    return state(folder).get("etat") == RUNNING


def start(folder: Path, *, mark: str | None = None, geocoder: str | None = None) -> dict:
    """Start a run of ``folder``'s study in a new process (nothing if one runs already);
    ``mark`` is recorded in its state (see :func:`resume`), and ``geocoder``, the address
    of a geocoder other than the national one that the person accepted for this study."""
    from .. import _isolated

    with _LOCK:
        current = _checked_state(folder)
        if current.get("etat") == RUNNING:
            return current
        folder = folder.resolve()
        log = _state_dir(folder) / LOG_FILE
        log.parent.mkdir(parents=True, exist_ok=True)
        # written before the process starts: the process then writes its own states
        current = write_state(folder, etat=RUNNING, etape="", pid=None, debut=time.time(),
                              serveur=mark, geocodeur=geocoder)
        with open(log, "ab") as out:
            _CHILDREN[str(folder)] = subprocess.Popen(
                command(folder), stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True, cwd=_isolated.workdir(), env=_isolated.environment())
        return current


def command(folder: Path) -> list[str]:
    """The run's command line (isolated: :mod:`geo._isolated`)."""
    from .._isolated import command as isolated

    return isolated(_MODULE, str(folder))


def cancel(folder: Path) -> dict:
    """Stop the run; what it already wrote stays (outputs are replaced whole or not at
    all; the geocoding answers received are in the cache)."""
    with _LOCK:
        return _cancel(folder)


def _cancel(folder: Path) -> dict:
    current = read_state(folder)
    pid = current.get("pid")
    child = _CHILDREN.get(str(folder.resolve()))
    if pid is None and child is not None:
        pid = child.pid
    if current.get("etat") != RUNNING:
        return current
    if alive(pid, folder):
        _terminate(pid)
        deadline = time.time() + 10
        while alive(pid, folder) and time.time() < deadline:
            if child is not None:
                child.poll()
            time.sleep(0.05)
    return write_state(folder, **{**read_state(folder), "etat": CANCELLED, "fin": time.time(),
                                  "message": "analyse annulée à votre demande."})


def suspend() -> None:
    """Stop the runs this server started, leaving their state « running »: the next
    server start resumes them (:func:`resume`)."""
    with _LOCK:
        for child in _CHILDREN.values():
            if child.poll() is None:
                _terminate(child.pid)
        for child in _CHILDREN.values():
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _terminate(pid: int) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGTERM)
        else:  # pragma: no cover - Windows
            os.kill(pid, signal.SIGTERM)
    except OSError:
        pass


def resume(root: Path, mark_of) -> list[Path]:
    """Restart the runs of ``root``'s studies that this server (``mark_of(folder)``: its
    mark) started and a stop of the server or the machine left unfinished; return their
    folders. Any other unfinished run (a received folder) is only reported as interrupted."""
    from .workspace import studies

    restarted = []
    for name, _ in studies(root):
        folder = root / name
        current = read_state(folder)
        if current.get("etat") != RUNNING or alive(current.get("pid"), folder):
            continue
        mark = mark_of(folder)
        if current.get("serveur") == mark:
            write_state(folder, **{**current, "etat": CANCELLED})
            start(folder, mark=mark, geocoder=current.get("geocodeur"))
            restarted.append(folder)
        else:
            write_state(folder, **{**current, "etat": CANCELLED, "serveur": None,
                                   "message": "analyse interrompue ailleurs (dossier reçu "
                                              "ou copié) ; relancez-la si besoin."})
    return restarted


# --------------------------------------------------------------------------- the run


def run(folder: Path) -> int:
    """Run ``folder``'s study, writing the state as it goes (the job process's body)."""
    from .._errors import EssQpvError
    from ..progress import Count, listening
    from ..study import STEPS, run_study
    from ..studyfile import load_study
    from .workspace import STUDY_FILE

    began = time.time()
    started = read_state(folder)  # written by the server that started this run
    base = {"etat": RUNNING, "pid": os.getpid(), "debut": began,
            "serveur": started.get("serveur"), "geocodeur": started.get("geocodeur")}
    last = [0.0]

    def progress(step: str, stats) -> None:
        now = time.time()
        if isinstance(stats, Count):
            if now - last[0] < 0.3 and 0 < stats.done < stats.total:
                return  # at most a few writes a second, but always the first and the last
            counts = {"ecrits": stats.done, "a_ecrire": stats.total}
        elif step == "geocodage" and stats is not None:
            if now - last[0] < 0.3 and 0 < stats.sent < stats.pending:
                return
            counts = {"a_envoyer": stats.pending, "envoyees": stats.sent,
                      "cache": stats.from_cache, "requetes": stats.requests}
        else:
            counts = {}
        last[0] = now
        base.update(etape=step, etape_libelle=STEPS.get(step, step), **counts)
        write_state(folder, **base)

    # a cancel (SIGTERM) unwinds like an error, so unfinished files are removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    heard: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            study = load_study(folder / STUDY_FILE)
            if study.geocoding.url == base["geocodeur"]:
                study.geocoding.confirmed = True
            with listening(progress):
                result = run_study(study, progress=progress)
        # our own warnings (French, for the user) reach the page; others only the log
        ours = Path(__file__).resolve().parents[1]  # the geo package
        for w in caught:
            if w.filename and Path(w.filename).resolve().is_relative_to(ours):
                heard.append(str(w.message))
            else:
                print(f"warning: {w.message}")
    except EssQpvError as exc:
        write_state(folder, **{**base, "etat": FAILED, "fin": time.time(), "message": str(exc)})
        return 2
    except Exception as exc:  # noqa: BLE001 - reported to the page, detailed in the log
        traceback.print_exc()
        write_state(folder, **{**base, "etat": FAILED, "fin": time.time(),
                               "message": f"erreur inattendue ({type(exc).__name__}) : "
                                          f"l'analyse s'est arrêtée. {log_advice(folder)}"})
        return 1
    summary = result.result.summary()
    review = len(result.review)
    base["ecrits"] = base.get("a_ecrire", 0)  # done: every count complete
    write_state(folder, **{**base, "etat": DONE, "fin": time.time(), "resume": summary,
                           "a_verifier": review, "message": " ".join(
                               m[:1].upper() + m[1:] for m in dict.fromkeys(heard)),
                           "fichiers": [p.name for p, _ in result.written]})
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage : python -m geo.web.jobs DOSSIER_D_ETUDE", file=sys.stderr)
        return 2
    return run(Path(argv[0]).resolve())


if __name__ == "__main__":
    sys.exit(main())
