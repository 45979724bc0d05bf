"""Files uploaded to the web page: their type read from their content, their size checked
before anything expands them, and their parsing done in a process of its own.

An upload is hostile until proven a table. A few hundred bytes of spreadsheet can describe
billions of cells (OpenDocument's repeated rows and columns, a single ``.xlsx`` cell in column
XFD), a zip member can inflate a thousand times and JSON can nest deep enough to exhaust the
parser. :func:`sniff` decides the type from a few bytes (at most a few dozen of a zip member);
:func:`check_expansion` reads, within a bounded memory and time, what the server can check
without parsing: the zip's directory, every member inflated as a stream (its bytes and its
``<`` counted, never kept) and the CSV header. :func:`parse_in_worker` then parses in a
separate process with a memory and time ceiling: the workbook's structure as a stream
(:func:`check_structure`: rows, columns and cells of the sheets its relations name, every XML
element counted), the GeoJSON's and GeoPackage's columns, and only then the table itself.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import sqlite3
import subprocess
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from ._errors import EMPTY_FILE, NOT_A_TABLE, InputError

_ODS = b"application/vnd.oasis.opendocument.spreadsheet"
#: A zipped workbook may inflate at most this many times its size (or 1 MiB; zip bombs).
_MAX_EXPANSION = 20
#: Start elements (``<`` of the inflated members) a workbook may hold per cell of the table.
_ELEMENTS_PER_CELL = 3
#: Members a workbook may hold (a real one holds a few dozen).
_MAX_MEMBERS = 10_000
#: Bytes of a zip member read at a time.
_CHUNK = 1 << 16
#: Bytes of the first line of a CSV (its header) read to count its columns.
_HEADER_BYTES = 1 << 20
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

    @property
    def max_elements(self) -> int:
        """XML elements a workbook may hold (a few per cell)."""
        return _ELEMENTS_PER_CELL * self.max_cells


def count(value: int) -> str:
    """A count in French (« 131 072 »)."""
    return f"{value:,}".replace(",", "\u202f")


def _inflation_bound(size: int) -> int:
    """Bytes a zip of ``size`` bytes may inflate to, all members together."""
    return _MAX_EXPANSION * max(size, 1 << 20)


#: Files often taken for a table, named by their first bytes.
_NOT_TABLES = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "classeur Excel de l'ancien format (.xls) : "
     "enregistrez-le au format .xlsx ou .csv (Fichier > Enregistrer sous)."),
    (b"%PDF-", "document PDF, pas un tableau : exportez le tableau au format .xlsx ou .csv."),
)


#: The byte-order marks of a UTF-16 text file (little-, then big-endian).
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def sniff(data: bytes, *, bounded: bool = True) -> str:
    """The extension a file's content calls for (``.xlsx``, ``.ods``, ``.gpkg``,
    ``.geojson`` or ``.csv``), whatever its name; :class:`InputError` otherwise.

    Only a few bytes are read: of a zip, its directory and at most a few dozen bytes of its
    ``mimetype``; of a JSON, its first character (the worker checks it is GeoJSON).
    ``bounded=False`` (a file the user gave on the command line, not an upload): a zip is
    not held to an upload's limits (its members, how much it inflates).
    """
    if not data.strip():
        raise InputError(EMPTY_FILE)
    if data.startswith(b"PK\x03\x04"):
        archive = _archive(data) if bounded else _zip(data)
        names = set(archive.namelist())
        if "xl/workbook.xml" in names:
            return ".xlsx"
        if "mimetype" in names and _head(archive, "mimetype", len(_ODS) + 8).strip() == _ODS:
            return ".ods"
        raise InputError("archive zip qui n'est ni un classeur Excel (.xlsx) ni un "
                         "classeur OpenDocument (.ods).")
    if data.startswith(b"SQLite format 3\x00"):
        if data[68:72] == b"GPKG":
            return ".gpkg"
        raise InputError("base SQLite qui n'est pas un GeoPackage (.gpkg).")
    for magic, what in _NOT_TABLES:
        if data.startswith(magic):
            raise InputError(what)
    if data.startswith(UTF16_BOMS):  # Excel's « Texte Unicode » (UTF-16, tabs)
        text = data[:1 << 16].decode("utf-16", errors="replace").lstrip("\ufeff \r\n\t")
        return ".geojson" if text.startswith(("{", "[")) else ".csv"
    if b"\x00" in data[:1 << 16]:
        raise InputError(NOT_A_TABLE)
    text = data[:1 << 16].decode("utf-8", errors="replace").lstrip("\ufeff \r\n\t")
    if text.startswith(("{", "[")):
        return ".geojson"
    return ".csv"


# --------------------------------------------------------------------------- zip archives


def _broken() -> InputError:
    return InputError("archive zip abîmée : ce n'est pas un classeur lisible.")


def _zip(data: bytes) -> zipfile.ZipFile:
    """The zip's directory, whatever it declares."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            NotImplementedError):
        raise _broken() from None


def _archive(data: bytes | IO[bytes], size: int | None = None) -> zipfile.ZipFile:
    """The zip's directory, refused when it declares what no workbook holds: too many
    members, a compression other than deflate, or more bytes than the upload may inflate to."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    size = len(data) if isinstance(data, bytes) else size or 0
    try:
        archive = zipfile.ZipFile(stream)
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            NotImplementedError):
        raise _broken() from None
    if len(members) > _MAX_MEMBERS:
        raise InputError(f"archive de {count(len(members))} fichiers : un classeur en a quelques "
                         "dizaines ; refusée.")
    if any(m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
           for m in members):
        raise InputError("archive zip compressée autrement qu'un classeur (ni « deflate » ni "
                         "sans compression) : refusée.")
    if sum(m.file_size for m in members) > _inflation_bound(size):
        raise _bomb()
    return archive


def _bomb() -> InputError:
    return InputError("classeur anormalement compressé (il se décompresse en beaucoup plus "
                      "que sa taille) : refusé.")


def _head(archive: zipfile.ZipFile, name: str, size: int) -> bytes:
    """The first ``size`` bytes of a member, inflating no more than that."""
    try:
        with archive.open(name) as member:
            return member.read(size)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        raise _broken() from None


class _Bounded(io.RawIOBase):
    """A zip member read in chunks whose inflated bytes, over all the members read through
    the same ``budget``, stop at its bound (never more than a chunk past it in memory)."""

    def __init__(self, member: IO[bytes], budget: list[int]) -> None:
        self._member, self._budget = member, budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._member.read(min(len(buffer), _CHUNK))
        self._budget[0] -= len(data)
        if self._budget[0] < 0:
            raise _bomb()
        buffer[:len(data)] = data
        return len(data)


def _inflate(archive: zipfile.ZipFile, size: int, limits: Limits) -> None:
    """Inflate every member as a stream, keeping nothing: refuse past the bound on the
    inflated bytes (whatever the sizes the directory declares) or on the XML elements."""
    budget, elements = [_inflation_bound(size)], 0
    for info in archive.infolist():
        try:
            with archive.open(info) as member:
                stream = _Bounded(member, budget)
                while chunk := stream.read(_CHUNK):
                    elements += chunk.count(b"<")  # every start element has one
                    if elements > limits.max_elements:
                        raise _too_many_elements(limits)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
            raise _broken() from None


def _too_many_elements(limits: Limits) -> InputError:
    return InputError(f"classeur de plus de {count(limits.max_elements)} éléments XML : un "
                      f"tableau de {count(limits.max_cells)} cellules au plus n'en a pas tant "
                      "(un classeur piégé ?) ; refusé.")


# --------------------------------------------------------------------------- expansion


def check_expansion(data: bytes, kind: str, limits: Limits) -> None:
    """Refuse, before anything parses it, an upload that would expand beyond ``limits``: a
    CSV's lines and header columns, every zip member inflated as a stream (bytes and XML
    elements bounded, nothing kept); the rest is for :func:`check_structure`, in the
    worker."""
    if kind == ".csv":  # lines, not rows (a quoted cell may hold line breaks)
        lines, columns = _csv_shape(data)
        _check_shape(min(lines, limits.max_rows + 1), columns, limits)
    elif kind in (".xlsx", ".ods"):
        _inflate(_archive(data), len(data), limits)


def _check_shape(rows: int, columns: int, limits: Limits) -> None:
    if columns > limits.max_columns:
        raise InputError(f"{count(columns)} colonnes : la limite est de "
                         f"{count(limits.max_columns)} (un tableau d'initiatives en a quelques "
                         "dizaines).")
    if rows > limits.max_rows + 1:  # the header line
        raise InputError(f"{count(rows - 1)} lignes : la limite est de {count(limits.max_rows)} "
                         "(option --lignes-max).")
    if rows * columns > limits.max_cells:
        raise InputError(f"tableau de {count(rows)} lignes sur {count(columns)} colonnes une fois "
                         f"lu : la limite est de {count(limits.max_cells)} cellules (des lignes "
                         "ou colonnes vides mais mises en forme jusqu'au bout de la feuille ? "
                         "supprimez-les).")


def _csv_shape(data: bytes) -> tuple[int, int]:
    """The lines of a CSV and the columns of its header (the most any separator gives); a
    header cell too long for a column name is refused, named by its column."""
    end = data.find(b"\n", 0, _HEADER_BYTES)
    if end < 0 and len(data) > _HEADER_BYTES:
        raise InputError(f"ligne 1 : plus de {count(_HEADER_BYTES)} octets sans fin de ligne ; "
                         "la première ligne d'un tableau porte les noms de ses colonnes.")
    if data.startswith(UTF16_BOMS):  # « Texte Unicode »: the header decoded as UTF-16
        first = data[:_HEADER_BYTES].decode("utf-16", errors="replace").split("\n", 1)[0]
    else:
        first = data[:end if end >= 0 else len(data)].decode("utf-8", errors="replace")
    first = first.rstrip("\r")
    longest = csv.field_size_limit()
    widths = []
    for sep in ";,\t|":
        try:
            widths.append(len(next(csv.reader([first], delimiter=sep), [])))
        except csv.Error:  # a cell longer than the csv module reads
            cells = first.split(sep)
            index, cell = max(enumerate(cells, 1), key=lambda c: len(c[1]))
            raise InputError(f"ligne 1, colonne {index} : un nom de colonne de "
                             f"{count(len(cell))} caractères (la limite est de {count(longest)}) ; "
                             "la première ligne d'un tableau porte les noms de ses "
                             "colonnes.") from None
    return data.rstrip(b"\r\n").count(b"\n") + 1, max(widths)


# --------------------------------------------------------------------------- structure

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
#: The content types of a workbook's main part, in the order openpyxl looks for them.
_WORKBOOK_TYPES = ("application/vnd.ms-excel.template.macroEnabled.main+xml",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.template."
                   "main+xml",
                   "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet."
                   "main+xml")


def check_structure(path: Path, kind: str, limits: Limits) -> None:
    """Refuse, by parsing it as a stream, a table whose rows, columns or cells exceed
    ``limits``: the sheets a workbook's relations name (every XML element counted), the
    properties of a GeoJSON's features, the fields of a GeoPackage's tables. Meant for the
    worker (:func:`parse_in_worker`): it parses what the upload holds."""
    if kind == ".csv":
        data = path.read_bytes()
        lines, columns = _csv_shape(data)
        _check_shape(min(lines, limits.max_rows + 1), columns, limits)
    elif kind in (".xlsx", ".ods"):
        with open(path, "rb") as stream:
            archive = _archive(stream, path.stat().st_size)
            budget = [_inflation_bound(path.stat().st_size)]
            if kind == ".xlsx":
                shapes = [_xlsx_shape(_member(archive, name, budget), limits)
                          for name in _xlsx_sheets(archive, budget)]
            else:
                shapes = [_ods_shape(_member(archive, "content.xml", budget), limits)]
        _check_shape(max(r for r, _ in shapes), max(c for _, c in shapes), limits)
    elif kind == ".geojson":
        _check_shape(*_geojson_shape(path), limits)
    elif kind == ".gpkg":
        for rows, columns in _gpkg_shapes(path):
            _check_shape(rows + 1, columns, limits)


def _member(archive: zipfile.ZipFile, name: str, budget: list[int]) -> IO[bytes]:
    try:
        return io.BufferedReader(_Bounded(archive.open(name), budget), _CHUNK)
    except KeyError:
        raise InputError(f"classeur incomplet : la partie « {name[:80]} » que nomment ses "
                         "relations manque.") from None


def _elements(stream: IO[bytes], limits: Limits):
    """``(event, element, parent)`` of an XML stream, entities and DTDs refused, every start
    counted (refused past ``limits.max_elements``); an element is dropped from its parent
    once its end has been seen (memory stays that of the open elements)."""
    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
    from defusedxml.ElementTree import ParseError, iterparse

    open_, seen = [], 0
    try:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                seen += 1
                if seen > limits.max_elements:
                    raise _too_many_elements(limits)
                yield event, element, open_[-1] if open_ else None
                open_.append(element)
                continue
            open_.pop()
            parent = open_[-1] if open_ else None
            yield event, element, parent
            if parent is not None:
                del parent[-1]  # at its end, an element is its parent's last child
    except (ParseError, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden,
            zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InputError("classeur abîmé (sa structure ne se lit pas) : refusé.") from exc


def _xml(archive: zipfile.ZipFile, name: str, budget: list[int], limits: Limits):
    """The elements of a small part (``[Content_Types].xml``, the workbook, its relations),
    as ``(local tag, attributes)``."""
    for event, element, _ in _elements(_member(archive, name, budget), limits):
        if event == "start":
            yield element.tag.rsplit("}", 1)[-1], dict(element.attrib)


def _xlsx_sheets(archive: zipfile.ZipFile, budget: list[int]) -> list[str]:
    """The members holding the workbook's sheets, found as openpyxl finds them: the workbook
    part named by ``[Content_Types].xml``, its sheets' ids, the targets its relations give
    to these ids (wherever they sit)."""
    small = Limits(max_cells=100_000)  # these parts are a few kilobytes
    workbook = "xl/workbook.xml"
    if "[Content_Types].xml" in archive.namelist():
        types = {attrs.get("ContentType"): attrs.get("PartName", "")
                 for tag, attrs in _xml(archive, "[Content_Types].xml", budget, small)
                 if tag == "Override" and attrs.get("ContentType") in _WORKBOOK_TYPES}
        found = next((types[t] for t in _WORKBOOK_TYPES if t in types), None)
        workbook = found.lstrip("/") if found else workbook
    folder, stem = posixpath.split(workbook)
    ids = [attrs.get(f"{{{_REL_NS}}}id") for tag, attrs in
           _xml(archive, workbook, budget, small) if tag == "sheet"]
    rels = posixpath.join(folder, "_rels", f"{stem}.rels")
    targets = {attrs.get("Id"): attrs for tag, attrs in _xml(archive, rels, budget, small)
               if tag == "Relationship"} if rels in archive.namelist() else {}
    sheets = []
    for sheet in ids:
        rel = targets.get(sheet)
        if rel is None or rel.get("TargetMode") == "External" or not rel.get("Target"):
            continue
        target = rel["Target"]
        sheets.append(target[1:] if target.startswith("/") else
                      posixpath.normpath(posixpath.join(folder, target)))
    if not sheets:
        raise InputError("classeur Excel sans feuille (ses relations n'en nomment aucune) : "
                         "refusé.")
    return sheets


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _xlsx_shape(stream: IO[bytes], limits: Limits) -> tuple[int, int]:
    """The rows and columns a worksheet spans up to its last filled cell."""
    import re

    cell_ref = re.compile(r"([A-Z]{1,3})(\d+)$")
    row_tag, cell_tag = f"{{{_SHEET_NS}}}row", f"{{{_SHEET_NS}}}c"
    last_row = last_col = row = col = 0
    filled = False
    for event, element, parent in _elements(stream, limits):
        tag = element.tag
        if event == "start":
            if tag == row_tag:
                row, col = _count(element.get("r"), row + 1), 0
            elif tag == cell_tag:
                at = cell_ref.match(element.get("r") or "")
                col, filled = (_column_number(at[1]) if at else col + 1), False
            elif parent is not None and parent.tag == cell_tag:
                filled = True  # a value (<v>, <is>, <f>), not just a style
        elif tag == cell_tag and filled:
            last_col, last_row = max(last_col, col), max(last_row, row)
    return last_row, last_col


def _ods_shape(stream: IO[bytes], limits: Limits) -> tuple[int, int]:
    """The rows and columns of the largest sheet once its repeated rows and cells are
    expanded, up to its last filled cell (as the reader expands them)."""
    table, row_tag = f"{{{_TABLE}}}table", f"{{{_TABLE}}}table-row"
    cells = (f"{{{_TABLE}}}table-cell", f"{{{_TABLE}}}covered-table-cell")
    repeat_rows, repeat_cols = f"{{{_TABLE}}}number-rows-repeated", \
        f"{{{_TABLE}}}number-columns-repeated"
    plain = {repeat_cols, f"{{{_TABLE}}}style-name"}
    rows = columns = sheet_rows = sheet_cols = current = width = position = 0
    filled = False
    for event, element, parent in _elements(stream, limits):
        tag = element.tag
        if event == "start":
            if tag == table:
                sheet_rows = sheet_cols = current = 0
            elif tag == row_tag:
                width = position = 0
            elif tag in cells:
                filled = bool(element.attrib.keys() - plain)
            elif parent is not None and parent.tag in cells:
                filled = True
            continue
        if tag in cells:
            position += _count(element.get(repeat_cols))
            if filled:
                width = position
        elif tag == row_tag:
            current += _count(element.get(repeat_rows))
            if width:
                sheet_rows, sheet_cols = current, max(sheet_cols, width)
        elif tag == table:
            rows, columns = max(rows, sheet_rows), max(columns, sheet_cols)
    return rows, columns


def _count(value: str | None, default: int = 1) -> int:
    try:
        return max(1, int(value)) if value else default
    except ValueError:
        return default


def _geojson_shape(path: Path) -> tuple[int, int]:
    """The rows (features, with the header) and columns (distinct properties) of a
    GeoJSON."""
    try:
        parsed = json.loads(path.read_bytes().decode("utf-8-sig"))
    except RecursionError:
        raise InputError("fichier JSON imbriqué trop profondément : refusé.") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("JSON illisible (ce n'est pas du GeoJSON valide).") from None
    if not (isinstance(parsed, dict) and parsed.get("type") in ("FeatureCollection",
                                                                "Feature")):
        raise InputError("JSON qui n'est pas du GeoJSON (une FeatureCollection est "
                         "attendue).")
    features = parsed.get("features") if parsed["type"] == "FeatureCollection" else [parsed]
    names: set[str] = set()
    for feature in features if isinstance(features, list) else []:
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if isinstance(properties, dict):
            names.update(properties)
    return len(features if isinstance(features, list) else []) + 1, len(names)


def _gpkg_shapes(path: Path) -> list[tuple[int, int]]:
    """The rows and columns of each table a GeoPackage declares."""
    try:
        base = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        raise InputError("GeoPackage illisible : refusé.") from None
    try:
        tables = [name for (name,) in base.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type IN "
            "('features', 'attributes') LIMIT 1000")]
        shapes = []
        for name in tables:
            quoted = '"' + str(name).replace('"', '""') + '"'
            columns = len(base.execute(f"PRAGMA table_info({quoted})").fetchall())
            rows = base.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
            shapes.append((rows, columns))
    except sqlite3.Error:
        raise InputError("GeoPackage illisible (sa table des contenus ne se lit pas) : "
                         "refusé.") from None
    finally:
        base.close()
    return shapes


# --------------------------------------------------------------------------- the worker


def parse_in_worker(path: Path, shown: str, limits: Limits) -> None:
    """Check the structure of the table at ``path`` (:func:`check_structure`), then read it,
    in a process of its own (memory and time bounded), and check its rows;
    :class:`InputError` naming ``shown`` when it is not a usable table."""
    from . import _isolated

    # like a run: nothing from the study folder on the import path, nor as working folder
    command = _isolated.command("geo.upload_worker", str(path.resolve()),
                                json.dumps(asdict(limits)))
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
        if answer.get("nomme"):  # already says which file
            raise InputError(message)
        raise InputError(message, path=shown)
