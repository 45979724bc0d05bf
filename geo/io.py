"""Write tables and layers to disk, the format chosen from the file extension.

Every writer goes through a temporary file in the target folder, moved into place only once
complete: an interrupted run never leaves a half-written output. Inside :func:`staged`, the
files of a whole run appear together at its end, or none of them (a failed or cancelled run
leaves the previous set untouched; one killed while they appear is completed from its
journal by the next run or reader, :func:`recover`). CSV files meant for spreadsheets are
inert: a cell that a spreadsheet would read as a formula is written as text (:func:`inert`).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import secrets
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import EssQpvError, InputError
from .confine import inside
from .vocabulary import TABLE_FORMATS

try:
    import fcntl
except ImportError:  # Windows: a journal's writer is known by its process number
    fcntl = None

logger = logging.getLogger(__name__)

#: Extensions the writers know, with the name shown to users.


def output_format(path: str | Path) -> str:
    """Return the extension of ``path`` if it is a known output format, else raise."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise InputError(
            f"format de sortie inconnu « {suffix or '(aucune extension)'} » ; "
            f"extensions possibles : {', '.join(TABLE_FORMATS)}.", path=str(path))
    return suffix


def check_outputs(outputs: dict[str, str | Path | None], *, inputs=(),
                  folder: str | Path | None = None) -> None:
    """Refuse, before any work, outputs that would overwrite an input or each other, that
    are folders, or that leave ``folder``; ``outputs`` maps a description to a path."""
    resolved = {Path(p).expanduser().resolve() for p in inputs if p}
    root = Path(folder).expanduser().resolve() if folder else None
    seen: dict[Path, str] = {}
    for what, path in outputs.items():
        if not path:
            continue
        target = Path(path).expanduser().resolve()
        if target in resolved:
            raise InputError(f"cette sortie ({what}) écraserait un fichier lu ; choisissez un "
                             "autre nom ; rien n'a été écrit.", path=Path(path).name)
        if target in seen:
            raise InputError(f"deux sorties sur le même fichier ({seen[target]} et {what}) ; "
                             "rien n'a été écrit.", path=Path(path).name)
        if target.is_dir():
            raise InputError(f"cette sortie ({what}) est un dossier existant ; indiquez un "
                             "nom de fichier.", path=Path(path).name)
        inside(path, root, what=f"cette sortie ({what})")  # says which link leads out
        _check_writable(target)
        seen[target] = what


def _check_writable(target: Path) -> None:
    """Try a file in the nearest existing folder of ``target``: a read-only or special
    folder is refused before any work rather than after the first outputs."""
    folder = target.parent
    while not folder.exists():
        folder = folder.parent
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise EssQpvError(f"impossible d'écrire {target} : {exc.strerror or exc} (dossier en "
                          "lecture seule ou protégé ?) ; rien n'a été écrit.") from exc


#: Temporary files are named ``.ess-qpv-<pid>-…``: those of a killed process are recognised
#: and removed by the next run (:func:`remove_stale`).
_TMP_PREFIX = ".ess-qpv-"
_TMP_NAME = re.compile(r"^\.ess-qpv-(\d+)-")
#: The files waiting to appear together (inside :func:`staged`): (temporary, target), or
#: (``None``, target) for a file to remove then.
_STAGE: contextvars.ContextVar[list[tuple[Path | None, Path]] | None] = contextvars.ContextVar(
    "ess_qpv_stage", default=None)


def temporary_beside(path: Path) -> Path:
    """A new, unused temporary path beside ``path`` (the file itself is not kept)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{_TMP_PREFIX}{os.getpid()}-"
                                   f"{path.stem[:40]}-", suffix=path.suffix)
    except OSError as exc:
        raise EssQpvError(f"impossible d'écrire {path} : {exc.strerror or exc} (dossier en "
                          "lecture seule, inexistant ou protégé ?) ; rien n'a été écrit.") \
            from exc
    os.close(fd)
    os.unlink(tmp)  # some drivers (GPKG) refuse to write over an existing empty file
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, defer: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds.

    Inside :func:`staged` (and unless ``defer`` is false) the move waits for the end of the
    stage, with every other file of the run.
    """
    path = Path(path)
    tmp = temporary_beside(path)
    try:
        yield tmp
        publish(tmp, path, defer=defer)
    finally:
        tmp.unlink(missing_ok=True)


def publish(tmp: Path, path: Path, *, defer: bool = True) -> None:
    """Move the complete file ``tmp`` onto ``path``, now, or with the rest of the stage
    when inside :func:`staged` (the temporary is then kept under another name until the
    stage ends)."""
    stage = _STAGE.get() if defer else None
    if stage is None:
        _replace(tmp, path)
        return
    keep = temporary_beside(path)
    os.replace(tmp, keep)
    stage.append((keep, path))


def _replace(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except OSError as exc:
        raise EssQpvError(f"impossible d'écrire {path} : {exc.strerror or exc}.") from exc


@contextlib.contextmanager
def staged() -> Iterator[list[tuple[Path | None, Path]]]:
    """Make the files written inside the block (through :func:`atomic_path`) appear
    together when it ends, and the files it retires (:func:`retire`) go then; if it fails
    or is interrupted, none of this happens and the previous files stay as they were.

    The switch is all or nothing even for a process killed outright (``kill -9``): before
    the first rename a journal listing every rename and removal is written beside the
    outputs (:func:`_commit`); a run killed among the renames is completed by the next
    one, or by any reader that calls :func:`recover`, from the complete temporaries."""
    with collected() as pending:
        yield pending
    with _signals_held():
        try:
            _commit(pending)
        finally:  # what could not be moved is not left behind
            for tmp, _ in pending:
                if tmp is not None:
                    tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def collected() -> Iterator[list[tuple[Path | None, Path]]]:
    """Collect the files written inside the block (through :func:`atomic_path`) and those
    it retires, without publishing them: a stage's work done in another process, handed
    to the stage of this run by :func:`adopt`. If the block fails, its temporaries go."""
    pending: list[tuple[Path | None, Path]] = []
    token = _STAGE.set(pending)
    try:
        yield pending
    except BaseException:
        for tmp, _ in pending:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        raise
    finally:
        _STAGE.reset(token)


def adopt(pending: list[tuple[Path | None, Path]]) -> None:
    """Publish, with the rest of this process's stage (:func:`publish`), the files another
    process collected (:func:`collected`); each temporary is renamed first for this process
    (a temporary named for a finished process would be another run's to remove)."""
    for tmp, path in pending:
        if tmp is None:
            retire(path)
            continue
        mine = temporary_beside(path)
        os.replace(tmp, mine)
        publish(mine, path)


def retire(path: Path) -> None:
    """Remove ``path``, a file an earlier run wrote and this one does not write again: now,
    or when the stage's files appear (inside :func:`staged`)."""
    stage = _STAGE.get()
    if stage is None:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
    else:
        stage.append((None, path))


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGTERM and SIGINT for the few renames that publish a run's files (a cancel
    arriving then takes effect right after)."""
    held = (signal.SIGTERM, signal.SIGINT)
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# --------------------------------------------------------------------------- the journal
#
# One stage's switch: in each folder it touches, a journal named
# ``.ess-qpv-<pid>-journal-<token>.json`` lists the renames (temporary → target, plain
# names of that folder) and the removals there. The journal of the shallowest folder, the
# *home*, lists the other folders and is written last: its appearance (an atomic rename,
# fsync'd) is the moment the new set is decided. A journal found without its writer:
# its home exists → every rename and removal is done again (those done already are
# skipped); no home → the run died before deciding, its temporaries are removed and the
# old set stays. A single rename of a whole results folder is not portable (a folder
# cannot replace a non-empty one, Linux alone can exchange two), and outputs may lie in
# several folders, some holding the user's own files: hence the journal.

_JOURNAL_NAME = re.compile(r"^\.ess-qpv-(\d+)-journal-[0-9a-f]{8}\.json$")


def _commit(pending: list[tuple[Path | None, Path]]) -> None:
    """Publish a stage: journals, renames, removals, journals removed."""
    folders: dict[Path, dict[str, list]] = {}
    for tmp, path in pending:
        entry = folders.setdefault(path.parent, {"moves": [], "retire": []})
        if tmp is None:
            entry["retire"].append(path.name)
        else:
            entry["moves"].append([tmp.name, path.name])
    if not folders:
        return
    name = f"{_TMP_PREFIX}{os.getpid()}-journal-{secrets.token_hex(4)}.json"
    home = min(folders, key=lambda f: (len(f.parts), str(f)))
    others = [f for f in folders if f != home]
    locks: list[int] = []
    try:
        try:
            for tmp, _ in pending:
                if tmp is not None:
                    _fsync(tmp)  # the journal promises complete temporaries
            for folder in others:
                locks.append(_write_journal(folder / name, {
                    **folders[folder], "commit": _relative(home, folder)}))
            locks.append(_write_journal(home / name, {
                **folders[home], "folders": [_relative(f, home) for f in others]}))
        except OSError as exc:  # a failing disk: nothing decided, nothing changed
            for folder in folders:
                (folder / name).unlink(missing_ok=True)
            raise EssQpvError(f"impossible de publier les résultats dans {home} : "
                              f"{exc.strerror or exc} ; les fichiers précédents sont restés "
                              "tels quels.") from exc
        failure = None
        for folder in [home, *others]:
            done = _apply(folder, folders[folder])
            failure = failure or done
        for folder in [*others, home]:
            (folder / name).unlink(missing_ok=True)
    finally:
        for lock in locks:
            if lock >= 0:
                os.close(lock)
    if failure is not None:
        target, exc = failure
        raise EssQpvError(f"impossible d'écrire {target} : {exc.strerror or exc}.") from exc


def _relative(folder: Path, start: Path) -> str:
    try:
        return os.path.relpath(folder, start)
    except ValueError:  # another drive
        return str(folder.absolute())


def _fsync(path: Path) -> None:
    with open(path, "rb+") as file:
        os.fsync(file.fileno())


def _fsync_folder(folder: Path) -> None:
    if os.name == "posix":
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_journal(path: Path, data: dict) -> int:
    """Write ``data`` to ``path`` atomically and durably; return the descriptor that holds
    its lock while the writer lives (see :func:`_journal_alive`), or -1 where there are no
    such locks (Windows, where an open file cannot be renamed either)."""
    tmp = path.with_name(f"{path.name}.tmp")
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if fcntl is not None:
            with contextlib.suppress(OSError):  # a file system without locks: pid alone
                fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, json.dumps(data, ensure_ascii=False).encode("utf-8"))
        os.fsync(fd)
        if fcntl is None:
            os.close(fd)
            fd = -1
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    return fd


def _read_journal(path: Path) -> dict | None:
    """The journal at ``path`` if it is one of ours and well formed (plain names of its
    folder only, temporaries of its own process), else ``None``."""
    match = _JOURNAL_NAME.match(path.name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not match or not isinstance(data, dict):
        return None
    moves, gone = data.get("moves"), data.get("retire")
    if not isinstance(moves, list) or not isinstance(gone, list):
        return None
    temporary = re.compile(rf"^\.ess-qpv-{match[1]}-")
    for move in moves:
        if not (isinstance(move, list) and len(move) == 2 and _plain_name(move[0])
                and temporary.match(move[0]) and _plain_name(move[1])
                and not _TMP_NAME.match(move[1])):
            return None
    if not all(_plain_name(n) and not _TMP_NAME.match(n) for n in gone):
        return None
    if not (isinstance(data.get("commit"), str) or (
            isinstance(data.get("folders"), list)
            and all(isinstance(f, str) for f in data["folders"]))):
        return None
    return data


def _plain_name(name) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name \
        and "\\" not in name and "\0" not in name


def _apply(folder: Path, data: dict) -> tuple[Path, OSError] | None:
    """Do a journal's renames and removals in ``folder`` (those done already are skipped);
    return the first failure (its target and error), after trying them all."""
    failure = None
    for tmp, target in data["moves"]:
        try:
            os.replace(folder / tmp, folder / target)
        except FileNotFoundError:
            pass  # moved already
        except OSError as exc:
            failure = failure or (folder / target, exc)
    for target in data["retire"]:
        with contextlib.suppress(OSError):
            (folder / target).unlink(missing_ok=True)
    return failure


def _journal_alive(path: Path) -> bool:
    """Whether the process that wrote the journal at ``path`` still runs: it holds a lock
    on it (a process number alone may have been given to another process since)."""
    match = _JOURNAL_NAME.match(path.name)
    if not match or not _process_alive(int(match[1])):
        return False
    if fcntl is None:
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # gone: finished
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def recover(*folders: str | Path) -> None:
    """Complete the switches that killed runs left half done in ``folders`` (and the other
    folders of those runs), so that they hold the new set whole: any reader of outputs
    calls it first."""
    for folder in folders:
        try:
            entries = sorted(Path(folder).iterdir())
        except OSError:
            continue
        for entry in entries:
            if _JOURNAL_NAME.match(entry.name) and not _journal_alive(entry):
                _recover(entry)


def _recover(journal: Path) -> None:
    data = _read_journal(journal)
    if data is None:
        if journal.is_file():
            logger.warning("journal illisible ignoré : %s", journal)
        return
    if "commit" in data:  # one of several folders: its home decides
        home = journal.parent / data["commit"] / journal.name
        if not home.is_file():  # never decided (the old set stays), or completed
            journal.unlink(missing_ok=True)
        elif not _journal_alive(home):
            _recover(home)  # completes this folder too
        return
    for rel in data["folders"]:
        member = journal.parent / rel / journal.name
        part = _read_journal(member)
        if part is not None and _apply(member.parent, part) is None:
            member.unlink(missing_ok=True)
    if _apply(journal.parent, data) is None:
        journal.unlink(missing_ok=True)
    else:
        logger.warning("publication inachevée, reprise au prochain passage : %s", journal)


def remove_stale(folders) -> None:
    """Complete the switches of killed runs in ``folders`` (:func:`recover`), then remove
    the temporary files those runs left (their process has ended); those of running
    processes, and those a journal still lists, stay."""
    for folder in {Path(f) for f in folders}:
        recover(folder)
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        listed = set()
        for entry in entries:
            if _JOURNAL_NAME.match(entry.name):
                listed.add(entry.name)
                data = _read_journal(entry) or {"moves": []}
                listed.update(tmp for tmp, _ in data["moves"])
        for entry in entries:
            match = _TMP_NAME.match(entry.name)
            if match and entry.name not in listed and not _process_alive(int(match[1])) \
                    and entry.is_file():
                entry.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or no way to ask: assume it runs
        return True
    return True


#: The CSV convention of every output: French Excel opens it as is (accents intact, one
#: column per field); the readers accept it back.
CSV_SEPARATOR, CSV_ENCODING = ";", "utf-8-sig"


def write_table(frame: pd.DataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """Write a table or GeoDataFrame to CSV, XLSX, GeoJSON or GeoPackage (by extension).

    CSV files are UTF-8 with a byte-order mark and ``;``-separated (:data:`CSV_SEPARATOR`),
    numbers written as French Excel reads them (:func:`french_numbers`). A GeoDataFrame
    written to CSV or XLSX carries its geometry as WKT in a ``geometry`` column; a plain
    table written to GeoJSON or GeoPackage must be a GeoDataFrame.
    """
    suffix = output_format(path)
    is_geo = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns
    if suffix in (".geojson", ".gpkg") and not is_geo:
        raise InputError("ce tableau n'a pas de géométrie : choisissez .csv ou .xlsx.",
                         path=str(path))
    with atomic_path(path) as tmp:
        if suffix in (".geojson", ".gpkg"):
            driver = "GeoJSON" if suffix == ".geojson" else "GPKG"
            frame.to_file(tmp, driver=driver, layer=layer if suffix == ".gpkg" else None)
        else:
            table = pd.DataFrame(frame)
            if is_geo:
                table[frame.geometry.name] = frame.geometry.to_wkt()
            if suffix == ".csv":
                write_csv(table, tmp)
            else:
                _write_xlsx({layer or "Feuille1": table}, tmp)
    return Path(path)


#: What a spreadsheet takes for the start of a formula (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: The mark that keeps such a cell text; readers of our CSVs remove it again.
TEXT_MARK = "'"
#: Characters nobody sees that may stand before a formula's sign: zero-width spaces and
#: joiners, direction marks, word joiner, byte order mark, soft hyphen, fillers, variation
#: selectors.
_INVISIBLE = re.compile("^[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
                        "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f"
                        "\ufeff\uffa0\U000e0000-\U000e007f]+")


def _formula_like(text: str) -> bool:
    """Whether ``text`` starts like a formula once what nobody sees is left out and its
    first character read as its plain form (NFKC: full-width ``＝``, small ``﹦`` are
    ``=``)."""
    import unicodedata

    first = _INVISIBLE.sub("", text, count=1)[:1]
    return bool(first) and (first in _FORMULA_START or
                            unicodedata.normalize("NFKC", first)[:1] in _FORMULA_START)


def _plain_number(text: str) -> bool:
    """Whether ``text`` is a number as a spreadsheet reads it (``-3.5``, ``-3,5``, ``+1e5``)."""
    return _NUMBER.fullmatch(text) is not None


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")


def inert(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell and header that a spreadsheet would take for a formula
    (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, also in their
    full-width forms ``＝ ＋ － ＠`` or behind a zero-width space) written as text, behind an
    apostrophe; numbers (``-3.5``) stay numbers.

    >>> inert(pd.DataFrame({"=x": ["=1+1", "-3.5", "-x", "@a", "ok", "＝1"]})).to_dict("list")
    {"'=x": ["'=1+1", '-3.5', "'-x", "'@a", 'ok', "'＝1"]}
    """
    out = frame.copy()
    out.columns = [_inert_text(str(c)) for c in frame.columns]
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if column.dtype != object and not pd.api.types.is_string_dtype(column.dtype):
            continue
        text = column.astype(str)
        first = text.str[:1]  # numbers and blanks never start a formula
        risky = first.isin(_FORMULA_START).to_numpy(dtype=bool, copy=True)
        unusual = (first >= "\x80").to_numpy(dtype=bool)  # full-width, invisible: slowly
        if unusual.any():
            risky[unusual] = [_formula_like(t) for t in text[unusual]]
        if not risky.any():
            continue
        at = np.flatnonzero(risky)
        values = pd.Series(column.to_numpy(dtype=object)[at], dtype=object).astype(str)
        words = ~values.map(_plain_number).to_numpy(dtype=bool)
        if words.any():
            out.iloc[at[words], i] = (TEXT_MARK + values[words]).to_numpy()
    return out


def _inert_text(text: str) -> str:
    if _formula_like(text) and not _plain_number(text):
        return TEXT_MARK + text
    return text


def uninert(text: str) -> str:
    """A cell as it was before :func:`inert` (read back from one of our CSVs)."""
    if text.startswith(TEXT_MARK) and _formula_like(text[1:]):
        return text[1:]
    return text


def french_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its numbers as French Excel reads them in a ``;``-separated file: a
    whole number without ``.0`` (``4``, ``350``), a decimal with a comma (``2,5``,
    ``-0,5442``), nothing for a missing one. Text cells are left as they are (a code
    ``01004`` or a typed ``2.5`` stays text); numbers held in a text column (a user's column
    read as numbers, with the cells that were no number kept) are written the same way.

    >>> french_numbers(pd.DataFrame({"n": [4.0, 2.5, None], "t": ["2.5", 1234.0, -0.25]})
    ...                ).to_dict("list")
    {'n': ['4', '2,5', ''], 't': ['2.5', '1234', '-0,25']}
    """
    out = frame.copy()
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        kind = column.dtype
        if pd.api.types.is_bool_dtype(kind) or pd.api.types.is_integer_dtype(kind):
            continue  # integers (nullable ones too) are written as integers already
        if pd.api.types.is_float_dtype(kind):
            values = column.to_numpy(dtype=float, na_value=np.nan)
            out.isetitem(i, pd.Series(_number_texts(values), index=column.index,
                                      dtype=object))
            continue
        if kind is not np.dtype(object) or pd.api.types.infer_dtype(column, skipna=True) not in (
                "floating", "mixed-integer-float", "mixed"):
            continue
        cells = column.to_numpy(dtype=object)
        floats = np.fromiter((isinstance(v, float | np.floating) for v in cells), bool,
                             count=len(cells))
        if floats.any():
            cells = cells.copy()
            cells[floats] = _number_texts(cells[floats].astype(float))
            out.isetitem(i, pd.Series(cells, index=column.index, dtype=object))
    return out


#: Beyond this size a whole float is written in its exponent form (as Python writes it).
_WHOLE_LIMIT = 1e15


def _number_texts(values: np.ndarray) -> np.ndarray:
    """Each float as French Excel reads it: ``4``, ``2,5``, ``''`` for NaN."""
    out = np.full(len(values), "", dtype=object)
    finite = np.isfinite(values)
    whole = finite & (np.abs(values) < _WHOLE_LIMIT)
    whole[whole] = values[whole] == np.trunc(values[whole])
    out[whole] = values[whole].astype(np.int64).astype(str)
    rest = finite & ~whole
    out[rest] = [repr(float(v)).replace(".", ",") for v in values[rest]]
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, *, header: bool = True,
              append: bool = False) -> None:
    """The one CSV writer: :data:`CSV_SEPARATOR`, :data:`CSV_ENCODING` (the BOM only at
    the start of the file), text cells made :func:`inert`, numbers the French way
    (:func:`french_numbers`)."""
    french_numbers(inert(frame)).to_csv(path, index=False, sep=CSV_SEPARATOR, header=header,
                        mode="a" if append else "w",
                        encoding="utf-8" if append else CSV_ENCODING)


def write_workbook(sheets: dict[str, pd.DataFrame], path: str | Path, *,
                   text_columns: tuple[str, ...] = (),
                   widths: dict[str, int] | None = None) -> Path:
    """Write several tables as the sheets of one Excel workbook (names cut to 31 characters).

    ``text_columns``: headers of columns whose cells are formatted as text, for the rows a
    person will type (a postcode ``01000`` keeps its zero); ``widths``: the width of some
    columns (by header), in characters, for the text to be typed there.
    """
    if Path(path).suffix.lower() != ".xlsx":
        raise InputError("un classeur Excel doit avoir l'extension .xlsx.", path=str(path))
    with atomic_path(path) as tmp:
        _write_xlsx(sheets, tmp, text_columns=text_columns, widths=widths or {})
    return Path(path)


#: Rows of a template prepared for typing (text formats).
_TYPED_ROWS = 1000


def _write_xlsx(sheets: dict[str, pd.DataFrame], path: Path, *,
                text_columns: tuple[str, ...] = (), widths: dict[str, int] | None = None
                ) -> None:
    """Write sheets with a frozen header, filters and fitted widths, streamed row by row
    (openpyxl's write-only mode: a national table is not held twice in memory).

    Text is always stored as text: a cell such as ``=HYPERLINK(...)`` coming from user input
    is never turned into a formula (spreadsheet formula injection).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=name[:31])
        headers = [str(c) for c in frame.columns]
        typed = {i for i, col in enumerate(headers) if col in text_columns}

        # widths and panes go before the rows in a streamed sheet
        sheet.freeze_panes = "A2"
        for i, col in enumerate(headers, start=1):
            width = max([len(col)] + [len(str(v)) for v in frame.iloc[:500, i - 1]])
            letter = get_column_letter(i)
            sheet.column_dimensions[letter].width = (widths or {}).get(
                col, min(max(width + 2, 8), 60))
            if i - 1 in typed:
                sheet.column_dimensions[letter].number_format = "@"
        sheet.append([_xlsx_cell(sheet, c, font=bold) for c in headers])
        for row in frame.itertuples(index=False, name=None):
            sheet.append([_xlsx_cell(sheet, v, text=i in typed) for i, v in enumerate(row)])
        if typed:  # empty rows ready for typing, formatted as text
            for _ in range(len(frame) + 2, _TYPED_ROWS + 1):
                sheet.append([_xlsx_cell(sheet, None, text=i in typed)
                              for i in range(len(headers))])
        if headers:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(frame) + 1}"
    try:
        book.save(path)
    except BaseException:
        _close_streams(book)
        raise


def _close_streams(book) -> None:
    """Close the row streams that a failed save (a full disk) left open: otherwise the
    garbage collector closes each one later, onto the closed file, and prints an
    « Exception ignored … Traceback » block per sheet under the French message."""
    for sheet in book.worksheets:
        rows = getattr(sheet, "_rows", None)
        if rows is not None:
            with contextlib.suppress(Exception):
                rows.close()


def _xlsx_cell(sheet, value, *, text: bool = False, font=None):
    """A value for a streamed sheet: plain when it needs nothing, else a cell that is text
    (never a formula), in ``font``, or formatted as text (``text``)."""
    value = _cell_value(value)
    formula_like = isinstance(value, str) and value.startswith("=")
    if not (text or font or formula_like):
        return value
    from openpyxl.cell import WriteOnlyCell  # here: most values never need a cell

    cell = WriteOnlyCell(sheet, value=value)
    if formula_like:
        cell.data_type = "s"  # user text, never a formula
    if font is not None:
        cell.font = font
    if text:
        cell.number_format = "@"
    return cell


def _cell_value(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, str):
        # Control characters (NUL…) cannot be stored in a workbook: shown as "�".
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value
