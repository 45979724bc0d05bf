"""Write tables and layers to disk, the format chosen from the file extension.

Every writer goes through a temporary file in the target folder, moved into place only once
complete: an interrupted run never leaves a half-written output. Inside :func:`staged`, the
files of a whole run appear together at its end, or none of them (a failed or cancelled run
leaves the previous set untouched). CSV files meant for spreadsheets are inert: a cell that a
spreadsheet would read as a formula is written as text (:func:`inert`).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import EssQpvError, InputError
from .vocabulary import TABLE_FORMATS

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
        if root is not None and not target.is_relative_to(root):
            raise InputError(f"la sortie {what} sortirait du dossier de l'étude ; gardez des "
                             "chemins relatifs, sans « .. ».", path=str(path))
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
    or is interrupted, none of this happens and the previous files stay as they were."""
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
    with _signals_held():
        try:
            for tmp, path in pending:
                if tmp is not None:
                    _replace(tmp, path)
            for tmp, path in pending:
                if tmp is None:  # a file left by an earlier run that this one replaces
                    with contextlib.suppress(OSError):
                        path.unlink(missing_ok=True)
        finally:  # what could not be moved is not left behind
            for tmp, _ in pending:
                if tmp is not None:
                    tmp.unlink(missing_ok=True)


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


def remove_stale(folders) -> None:
    """Remove the temporary files that killed runs left in ``folders`` (their process has
    ended); those of running processes stay."""
    for folder in {Path(f) for f in folders}:
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            match = _TMP_NAME.match(entry.name)
            if match and not _process_alive(int(match[1])) and entry.is_file():
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
    decimal points. A GeoDataFrame written to CSV or XLSX carries its geometry as WKT in a
    ``geometry`` column; a plain table written to GeoJSON or GeoPackage must be a
    GeoDataFrame.
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


def inert(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell and header that a spreadsheet would take for a formula
    (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) written as text,
    behind an apostrophe; numbers (``-3.5``) stay numbers.

    >>> inert(pd.DataFrame({"=x": ["=1+1", "-3.5", "-x", "@a", "ok"]})).to_dict("list")
    {"'=x": ["'=1+1", '-3.5', "'-x", "'@a", 'ok']}
    """
    out = frame.copy()
    out.columns = [_inert_text(str(c)) for c in frame.columns]
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if column.dtype != object and not pd.api.types.is_string_dtype(column.dtype):
            continue
        first = column.astype(str).str[:1]  # numbers and blanks never start a formula
        risky = first.isin(_FORMULA_START)
        if not risky.any():
            continue
        at = np.flatnonzero(risky.to_numpy())
        values = pd.Series(column.to_numpy(dtype=object)[at], dtype=object).astype(str)
        numeric = pd.to_numeric(values.str.replace(",", ".", regex=False), errors="coerce")
        text = numeric.isna().to_numpy()
        if text.any():
            out.iloc[at[text], i] = (TEXT_MARK + values[text]).to_numpy()
    return out


def _inert_text(text: str) -> str:
    if text.startswith(_FORMULA_START):
        try:
            float(text.replace(",", "."))
        except ValueError:
            return TEXT_MARK + text
    return text


def uninert(text: str) -> str:
    """A cell as it was before :func:`inert` (read back from one of our CSVs)."""
    if text.startswith(TEXT_MARK) and text[1:2] and text[1:2] in "=+-@\t\r":
        return text[1:]
    return text


def write_csv(frame: pd.DataFrame, path: str | Path, *, header: bool = True,
              append: bool = False) -> None:
    """The one CSV writer: :data:`CSV_SEPARATOR`, :data:`CSV_ENCODING` (the BOM only at
    the start of the file), cells made :func:`inert`."""
    inert(frame).to_csv(path, index=False, sep=CSV_SEPARATOR, header=header,
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
    book.save(path)


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
