"""Files uploaded to the web page: their type read from their content, their size checked
before anything expands them, and their parsing done in a process of its own.

An upload is hostile until proven a table. A few hundred bytes of spreadsheet can describe
billions of cells (OpenDocument's repeated rows and columns, a single ``.xlsx`` cell in column
XFD) and JSON can nest deep enough to exhaust the parser: :func:`check_expansion` reads the
file's structure as a stream and refuses, within a bounded memory and time, what would expand
beyond :class:`Limits`; :func:`parse_in_worker` then reads the table in a separate process with
a memory and time ceiling, so that nothing an upload holds can stall or exhaust the server.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from ._errors import InputError

_ODS = b"application/vnd.oasis.opendocument.spreadsheet"
#: A zipped workbook may expand at most this many times its upload limit (zip bombs).
_MAX_EXPANSION = 20
#: Seconds and bytes of memory the worker that reads an upload may use.
WORKER_SECONDS = 120
WORKER_MEMORY = 3 * 1024 ** 3


@dataclass
class Limits:
    """What an upload may weigh and hold."""

    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 100_000
    max_columns: int = 1_000
    #: Cells of the table once read (rows × columns, blanks included).
    max_cells: int = 10_000_000


def sniff(data: bytes) -> str:
    """The extension a file's content calls for (``.xlsx``, ``.ods``, ``.gpkg``,
    ``.geojson`` or ``.csv``), whatever its name; :class:`InputError` otherwise."""
    if not data.strip():
        raise InputError("le fichier est vide.")
    if data.startswith(b"PK\x03\x04"):
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            names = set(archive.namelist())
            expanded = sum(i.file_size for i in archive.infolist())
            kind = ".xlsx" if "xl/workbook.xml" in names else \
                ".ods" if "mimetype" in names and archive.read("mimetype").strip() == _ODS \
                else None
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise InputError("archive zip abîmée : ce n'est pas un classeur lisible.") from exc
        if kind is None:
            raise InputError("archive zip qui n'est ni un classeur Excel (.xlsx) ni un "
                             "classeur OpenDocument (.ods).")
        if expanded > _MAX_EXPANSION * max(len(data), 1024 * 1024):
            raise InputError("classeur anormalement compressé : refusé.")
        return kind
    if data.startswith(b"SQLite format 3\x00"):
        if data[68:72] == b"GPKG":
            return ".gpkg"
        raise InputError("base SQLite qui n'est pas un GeoPackage (.gpkg).")
    if b"\x00" in data[:1 << 16]:
        raise InputError("fichier binaire non reconnu : ni classeur (.xlsx, .ods), ni CSV, ni "
                         "GeoJSON, ni GeoPackage (un fichier renommé ?).")
    text = data[:1 << 16].decode("utf-8", errors="replace").lstrip("\ufeff \r\n\t")
    if text.startswith(("{", "[")):
        try:
            parsed = json.loads(data.decode("utf-8-sig"))
        except RecursionError:
            raise InputError("fichier JSON imbriqué trop profondément : refusé.") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError("fichier JSON illisible (ce n'est pas du GeoJSON valide).") \
                from exc
        if not (isinstance(parsed, dict) and parsed.get("type") in ("FeatureCollection",
                                                                    "Feature")):
            raise InputError("fichier JSON qui n'est pas du GeoJSON (une FeatureCollection "
                             "est attendue).")
        return ".geojson"
    return ".csv"


# --------------------------------------------------------------------------- expansion


def check_expansion(data: bytes, kind: str, limits: Limits) -> None:
    """Refuse, before it is read, a table that would hold more rows, columns or cells than
    ``limits`` (counted from the file's structure, without expanding it)."""
    if kind == ".csv":  # lines, not rows (a quoted cell may hold line breaks)
        lines, columns = _csv_shape(data)
        _check_shape(min(lines, limits.max_rows + 1), columns, limits)
        return
    if kind == ".xlsx":
        rows, columns = _xlsx_shape(data)
    elif kind == ".ods":
        rows, columns = _ods_shape(data)
    else:
        return  # GeoJSON and GeoPackage hold one feature per row: bounded by the bytes
    _check_shape(rows, columns, limits)


def _check_shape(rows: int, columns: int, limits: Limits) -> None:
    if columns > limits.max_columns:
        raise InputError(f"{columns} colonnes : la limite est de {limits.max_columns} (un "
                         "tableau d'initiatives en a quelques dizaines).")
    if rows > limits.max_rows + 1:  # the header line
        raise InputError(f"{rows - 1} lignes : la limite est de {limits.max_rows} (option "
                         "--lignes-max).")
    if rows * columns > limits.max_cells:
        raise InputError(f"tableau de {rows} lignes sur {columns} colonnes une fois lu : la "
                         f"limite est de {limits.max_cells} cellules (des lignes ou colonnes "
                         "vides mais mises en forme jusqu'au bout de la feuille ? supprimez-"
                         "les).")


def _csv_shape(data: bytes) -> tuple[int, int]:
    import csv

    first = data[:1 << 20].split(b"\n", 1)[0].decode("utf-8", errors="replace")
    widths = [len(next(csv.reader([first], delimiter=sep), [])) for sep in ";,\t|"]
    return data.rstrip(b"\r\n").count(b"\n") + 1, max(widths)


_CELL = re.compile(r"([A-Z]{1,3})(\d+)$")


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _xlsx_shape(data: bytes) -> tuple[int, int]:
    """The rows and columns each worksheet spans up to its last filled cell (the largest)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    rows = columns = 0
    for name in archive.namelist():
        if not re.fullmatch(r"xl/worksheets/[^/]+\.xml", name):
            continue
        last_row = last_col = row = 0
        with archive.open(name) as stream:
            for _, element in ElementTree.iterparse(stream):
                tag = element.tag.rsplit("}", 1)[-1]
                if tag == "row":
                    row = int(element.get("r") or row + 1)
                    col = 0
                    for cell in element:
                        if cell.tag.rsplit("}", 1)[-1] != "c":
                            continue
                        at = _CELL.match(cell.get("r") or "")
                        col = _column_number(at[1]) if at else col + 1
                        if len(cell):  # a value (<v>, <is>, <f>), not just a style
                            last_col, last_row = max(last_col, col), max(last_row, row)
                    element.clear()
        rows, columns = max(rows, last_row), max(columns, last_col)
    return rows, columns


_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"


def _ods_shape(data: bytes) -> tuple[int, int]:
    """The rows and columns of the largest sheet once its repeated rows and cells are
    expanded, up to its last filled cell (as the reader expands them)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    repeat_rows, repeat_cols = f"{{{_TABLE}}}number-rows-repeated", \
        f"{{{_TABLE}}}number-columns-repeated"
    rows = columns = 0
    sheet_rows = sheet_cols = 0
    with archive.open("content.xml") as stream:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == f"{{{_TABLE}}}table":
                    sheet_rows = sheet_cols = 0
                    current = 0
                continue
            if tag == f"{{{_TABLE}}}table-row":
                width = position = 0
                for cell in element:
                    if not cell.tag.endswith(("}table-cell", "}covered-table-cell")):
                        continue
                    span = _count(cell.get(repeat_cols))
                    position += span
                    if len(cell) or cell.attrib.keys() - {repeat_cols, f"{{{_TABLE}}}style-name"}:
                        width = position
                repeat = _count(element.get(repeat_rows))
                current += repeat
                if width:
                    sheet_rows, sheet_cols = current, max(sheet_cols, width)
                element.clear()
            elif tag == f"{{{_TABLE}}}table":
                rows, columns = max(rows, sheet_rows), max(columns, sheet_cols)
                element.clear()
    return rows, columns


def _count(value: str | None) -> int:
    try:
        return max(1, int(value)) if value else 1
    except ValueError:
        return 1


# --------------------------------------------------------------------------- the worker


def parse_in_worker(path: Path, shown: str, limits: Limits) -> None:
    """Read the table at ``path`` in a process of its own (memory and time bounded) and
    check its rows; :class:`InputError` naming ``shown`` when it is not a usable table."""
    from . import _isolated

    # like a run: nothing from the study folder on the import path, nor as working folder
    command = _isolated.command("geo.uploads", str(path.resolve()), str(limits.max_rows))
    try:
        done = subprocess.run(command, capture_output=True, timeout=WORKER_SECONDS,
                              env=_isolated.environment(OPENBLAS_NUM_THREADS="1",
                                                        OMP_NUM_THREADS="1"),
                              cwd=_isolated.workdir())
    except subprocess.TimeoutExpired:
        raise InputError(f"lecture trop longue (plus de {WORKER_SECONDS} s) : fichier "
                         "refusé.", path=shown) from None
    try:
        answer = json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError):
        answer = {"erreur": "fichier trop lourd à lire (mémoire épuisée) ou illisible : "
                            "refusé."}
    if answer.get("erreur"):
        message = answer["erreur"].replace(str(path), shown).replace(path.name, shown)
        if message.startswith("fichier "):  # already says which file
            raise InputError(message)
        raise InputError(message, path=shown)


def _bounded() -> None:
    """Cap this process's memory (the worker sets it on itself: a ``preexec_fn`` is not
    safe in the server's threads)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))


def _read(path: str, max_rows: int) -> dict:
    from ._errors import EssQpvError
    from .initiatives import read_table

    try:
        table, _, _ = read_table(path)
    except EssQpvError as exc:
        return {"erreur": str(exc)}
    except (MemoryError, RecursionError):
        return {"erreur": "fichier trop lourd à lire : refusé."}
    if len(table) > max_rows:
        return {"erreur": f"{len(table)} lignes : la limite est de {max_rows} (option "
                          "--lignes-max)."}
    if len(table) == 0:
        return {"erreur": "le tableau n'a aucune ligne de données."}
    return {"lignes": len(table)}


if __name__ == "__main__":
    import warnings

    _bounded()
    warnings.simplefilter("ignore")
    print(json.dumps(_read(sys.argv[1], int(sys.argv[2])), ensure_ascii=False))
