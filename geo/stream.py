"""Tables too big for memory, linked piece by piece.

Inputs are read in chunks with pyarrow (CSV, CSV inside a zip without unpacking it, Parquet
or GeoParquet); each chunk's points are placed, row by row in the CRS its ``epsg`` column
names when it has one, judged as a whole table's rows are (:mod:`geo.streamchecks`: a
point unreadable, abroad or against its own address is not located, and its remark says
why), then linked by the engine's :func:`geo.link.link_points`, on every core, and the
results are written as they come (CSV or Parquet). Memory stays bounded by the chunk size,
whatever the size of the input. A CSV in UTF-16 or Windows-1252 is recoded as it is read.
"""

from __future__ import annotations

import gc
import io
import os
import re
import threading
import weakref
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from ._errors import InputError
from .typography import plural, plural_form

#: Rows per chunk: a few hundred MB at most in flight per worker.
CHUNK_ROWS = 500_000
#: The projections the national files use, and degrees.
KNOWN_EPSG = {2154: "Lambert-93", 5490: "RGAF09 / UTM 20N (Antilles)",
              2972: "RGFG95 / UTM 22N (Guyane)", 2975: "RGR92 / UTM 40S (La Réunion)",
              4471: "RGM04 / UTM 38S (Mayotte)", 4467: "RGSPM06 / UTM 21N",
              3163: "RGNC91-93 / Lambert Nouvelle-Calédonie", 3297: "RGPF / UTM 6S",
              4326: "WGS 84 (degrés)"}
#: Seconds to wait for Arrow's threads to let go of a Python stream (a block read or parsed).
_LET_GO = 10.0
#: What a streamed file may be besides Parquet: a CSV, or a zip holding one.
_CSV = (".csv", ".txt", ".tsv")
#: Arrow's words for a row with too few or too many fields, and the row (cut at 100 characters).
_WRONG_FIELDS = re.compile(r"Expected (\d+) columns, got (\d+): (.*)", re.DOTALL)
#: Arrow's words for a cell that is no UTF-8, and its column's position.
_NOT_UTF8 = re.compile(r"CSV column #(\d+): CSV conversion error to string: invalid UTF8")
#: Cells INSEE writes in place of a value it does not publish.
MASKED = "[ND]"


# --------------------------------------------------------------------------- reading


def read_chunks(path: str | Path, *, columns: list[str] | None = None,
                chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Yield ``path`` as DataFrames of text cells, ``chunk_rows`` rows at most each.

    ``columns``: the columns to read (all when ``None``); a missing one is an error that names
    it. CSV separators ``;``, ``,`` and tab are recognised; a ``.zip`` is read from its CSV
    member without being unpacked.
    """
    for table in read_tables(path, columns=columns, chunk_rows=chunk_rows):
        yield text_frame(table)


def read_tables(path: str | Path, *, columns: list[str] | None = None,
                chunk_rows: int = CHUNK_ROWS) -> Iterator:
    """Yield ``path`` as pyarrow Tables as read (a CSV's cells as text), ``chunk_rows`` rows
    at most each: what :func:`read_chunks` reads, before any conversion (cheap to send to
    another process, converted there by :func:`text_frame`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("fichier introuvable.", path=str(path))
    suffix = path.suffix.lower()
    # named before reading: a generator left open is closed at the interpreter's exit, when
    # nothing can be imported any more (« Exception ignored … ImportError »)
    arrow_errors = _arrow_errors()
    try:
        if suffix in (".parquet", ".geoparquet", ".pq"):
            yield from _parquet_chunks(path, columns, chunk_rows)
        elif suffix in (*_CSV, ".zip"):
            with _csv_handle(path) as handle:
                on_disk = path if suffix in _CSV and not isinstance(handle, _Recoded) \
                    else None
                yield from _csv_chunks(handle, columns, chunk_rows, path.name, on_disk)
        else:
            raise InputError(f"format « {suffix} » impossible à lire par morceaux ; formats "
                             "acceptés : .csv, .zip (d'un CSV), .parquet.", path=path.name)
    except UnicodeDecodeError as exc:
        raise InputError("encodage non reconnu (UTF-16 abîmé) ; enregistrez le fichier en "
                         "UTF-8.", path=path.name) from exc
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise InputError(f"archive zip tronquée ou abîmée ({exc}) ; téléchargez-la de "
                         "nouveau.", path=path.name) from exc
    except arrow_errors as exc:
        first = str(exc).splitlines()[0]
        fields = _WRONG_FIELDS.search(first)
        if fields:
            expected, got, text = fields.groups()
            raise InputError(f"{plural(int(got), 'champ')} au lieu des {expected} de "
                             "l'en-tête ; chaque "
                             "ligne doit avoir autant de champs que l'en-tête (un séparateur "
                             "de trop dans une cellule ? mettez-la entre guillemets).",
                             path=path.name, row=_line_starting(path, text)) from exc
        column = _NOT_UTF8.search(first)
        if column:
            row, names = _first_not_utf8(path)
            index = int(column.group(1))
            raise InputError("texte qui n'est pas en UTF-8 (le début du fichier l'est : "
                             "des lignes collées d'un fichier Windows-1252 ?) ; enregistrez "
                             "le fichier entier en UTF-8.", path=path.name, row=row,
                             column=names[index] if index < len(names) else None) from exc
        raise InputError(f"fichier illisible ({first[:200]}) ; un CSV en UTF-8 (les fichiers "
                         "de l'INSEE le sont), avec autant de champs sur chaque ligne que "
                         "dans l'en-tête, est attendu.", path=path.name) from exc
    except OSError as exc:
        if "zlib" in str(exc).lower() or "compressed" in str(exc).lower():
            raise InputError(f"archive zip tronquée ou abîmée ({exc}) ; téléchargez-la de "
                             "nouveau.", path=path.name) from exc
        raise


@contextmanager
def _csv_handle(path: Path) -> Iterator[BinaryIO]:
    """The bytes of the CSV ``path``, or of the first CSV of the zip ``path``, in UTF-8:
    a file in UTF-16 (with its byte-order mark: Excel's « Texte Unicode ») or in
    Windows-1252 is recoded as it is read, as a whole table is (:func:`geo.initiatives.
    decode_text`)."""
    with _raw_handle(path) as raw:
        head = raw.read(1 << 16)
        rest = io.BufferedReader(_Prefixed(head, raw), 1 << 20)
        encoding = _encoding(head)
        yield rest if encoding == "utf-8" else _Recoded(rest, encoding)


@contextmanager
def _raw_handle(path: Path) -> Iterator[BinaryIO]:
    """The bytes of the CSV ``path``, or of the first CSV of the zip ``path``, as stored."""
    if path.suffix.lower() != ".zip":
        with open(path, "rb") as handle:
            yield handle
        return
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.namelist()
                   if m.lower().endswith((".csv", ".txt")) and not m.endswith("/")]
        if not members:
            raise InputError("l'archive ne contient aucun fichier CSV.", path=path.name)
        with archive.open(members[0]) as member:
            yield member


def _encoding(head: bytes) -> str:
    """``"utf-16"`` for a byte-order mark, ``"utf-8"`` when the first bytes are UTF-8,
    else ``"mixed"`` (each line in UTF-8, else in Windows-1252)."""
    from .uploads import UTF16_BOMS

    if head.startswith(UTF16_BOMS):
        return "utf-16"
    whole = head if len(head) < 1 << 16 else head[:head.rfind(b"\n") + 1]
    try:
        whole.decode("utf-8")
    except UnicodeDecodeError:
        return "mixed"
    return "utf-8"


class _Recoded(io.RawIOBase):
    """A binary stream recoded to UTF-8 as it is read: from UTF-16, or line by line from
    UTF-8 or else Windows-1252 (``"mixed"``)."""

    def __init__(self, raw: io.BufferedReader, encoding: str) -> None:
        self.raw = raw
        self.text = io.TextIOWrapper(raw, encoding="utf-16", newline="") \
            if encoding == "utf-16" else None
        self.pending = b""

    def readable(self) -> bool:
        return True

    def _more(self) -> bytes:
        if self.text is not None:
            return self.text.read(1 << 16).encode("utf-8")
        return b"".join(_utf8_line(line) for line in self.raw.readlines(1 << 16))

    def readinto(self, b) -> int:
        while len(self.pending) < len(b):
            more = self._more()
            if not more:
                break
            self.pending += more
        n = min(len(b), len(self.pending))
        b[:n], self.pending = self.pending[:n], self.pending[n:]
        return n


def _utf8_line(line: bytes) -> bytes:
    try:
        line.decode("utf-8")
        return line
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace").encode("utf-8")


def _line_starting(path: Path, text: str) -> int | None:
    """The number of the first line of ``path``'s CSV that starts with ``text`` (Arrow
    names an unreadable row by its text alone, cut after 100 characters)."""
    start = text.removesuffix(" ...").split("\n")[0].encode("utf-8")
    if not start:
        return None
    try:
        with _csv_handle(path) as handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith(start):
                    return number
    except (OSError, EOFError, zipfile.BadZipFile):
        pass  # the message goes without its line
    return None


def _first_not_utf8(path: Path) -> tuple[int | None, list[str]]:
    """The number of the first line of ``path``'s CSV that is no UTF-8, and the header's
    names (Arrow names neither)."""
    names: list[str] = []
    try:
        with _raw_handle(path) as handle:
            for number, line in enumerate(handle, start=1):
                if number == 1:
                    first = line.decode("utf-8-sig", errors="replace").rstrip("\r\n")
                    names = [c.strip().strip('"') for c in first.split(_delimiter(first))]
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    return number, names
    except (OSError, EOFError, zipfile.BadZipFile):
        pass  # the message goes without its line
    return None, names


def _delimiter(header: str) -> str:
    """The separator of a CSV header line: the most frequent of ``;``, ``,`` and tab."""
    return max((";", ",", "\t"), key=header.count)


def _arrow_errors() -> tuple[type[Exception], ...]:
    import pyarrow as pa

    return (pa.ArrowInvalid, pa.ArrowNotImplementedError)


def _missing(found: list[str], wanted: list[str] | None, name: str) -> None:
    absent = [c for c in (wanted or []) if c not in found]
    if absent:
        raise InputError(f"{plural_form(len(absent), 'colonne absente')} : "
                         f"{', '.join(absent)} ; colonnes présentes : "
                         f"{', '.join(found[:30])}.", path=name)


def _csv_chunks(handle, columns, chunk_rows, name, on_disk: Path | None = None
                ) -> Iterator:
    """The CSV of ``handle`` in chunks; a file ``on_disk`` is read by Arrow itself."""
    import pyarrow as pa
    from pyarrow import csv

    head = handle.read(65536)
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    delimiter = _delimiter(first)
    names = [c.strip().strip('"') for c in first.split(delimiter)]
    _missing(names, columns, name)
    options = csv.ConvertOptions(
        column_types={c: pa.string() for c in names}, include_columns=columns,
        strings_can_be_null=False, quoted_strings_can_be_null=False)
    # Arrow reads ahead in threads of its own. What they took from a Python stream (a zip's
    # member: the stream and its blocks) is released from those threads, and a release
    # that comes while the interpreter exits aborts the process ("terminate called…",
    # status -6, after the right message of an unreadable row). A file on disk is read by
    # Arrow natively (it cannot open a pipe); a Python stream's reading ends only once
    # Arrow has let go of everything it was handed.
    holds = None if on_disk is not None else _Holds()
    source = pa.OSFile(str(on_disk)) if holds is None else \
        _Handed(_Prefixed(head, handle), holds)
    # Arrow's batches are as long as a block holds (16 MB: ~200 000 rows); they are cut
    # and joined so that every chunk holds ``chunk_rows`` rows, the last one fewer.
    buffer: list = []
    size = 0
    try:
        with source, csv.open_csv(source, read_options=csv.ReadOptions(block_size=1 << 24),
                                  parse_options=csv.ParseOptions(delimiter=delimiter),
                                  convert_options=options) as reader:
            for batch in reader:
                while batch.num_rows:
                    take = min(batch.num_rows, chunk_rows - size)
                    buffer.append(batch.slice(0, take))
                    batch, size = batch.slice(take), size + take
                    if size == chunk_rows:
                        yield pa.Table.from_batches(buffer)
                        buffer, size = [], 0
    finally:
        if holds is not None:
            source.raw.done = True  # stopped early: the read-ahead meets the end at once
            source = reader = batch = None
            holds.wait(_LET_GO)
    if buffer:
        yield pa.Table.from_batches(buffer)


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read (to find the header)."""

    def __init__(self, prefix: bytes, rest) -> None:
        self.prefix, self.rest = prefix, rest
        #: Set when nobody reads the rows any more: the stream then reads as ended.
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.done:
            return 0
        if self.prefix:
            n = min(len(b), len(self.prefix))
            b[:n], self.prefix = self.prefix[:n], self.prefix[n:]
            return n
        data = self.rest.read(len(b))
        b[:len(data)] = data
        return len(data)


class _Holds:
    """What Arrow's threads still hold of a Python stream (releasing each takes the GIL)."""

    def __init__(self) -> None:
        self.count = 0
        # re-entrant: a release may come from the garbage collector inside wait()
        self.changed = threading.Condition(threading.RLock())

    def track(self, obj):
        with self.changed:
            self.count += 1
        weakref.finalize(obj, self._released)
        return obj

    def _released(self) -> None:
        with self.changed:
            self.count -= 1
            self.changed.notify_all()

    def wait(self, timeout: float) -> bool:
        """Wait until everything is released (``False`` after ``timeout`` seconds)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.count == 0, timeout)


class _Handed(io.BufferedReader):
    """A buffered Python stream tracked, with its blocks, until Arrow lets go of them."""

    def __init__(self, raw: _Prefixed, holds: _Holds) -> None:
        super().__init__(raw, 1 << 20)
        self.holds = holds
        holds.track(self)

    def read(self, size: int | None = -1) -> memoryview:
        # A view, not bytes: bytes cannot be watched for their release.
        return self.holds.track(memoryview(super().read(size)))


def pack(table):
    """A pyarrow Table as one compact buffer (Arrow's IPC stream), to send to another
    process: a table cut from Arrow's read blocks pickles their whole buffers (twice to
    three times its own size), its IPC stream only its rows."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def unpack(buffer):
    """The table :func:`pack` packed."""
    import pyarrow as pa

    return pa.ipc.open_stream(buffer).read_all()


def _parquet_chunks(path: Path, columns, chunk_rows) -> Iterator:
    import pyarrow as pa
    from pyarrow import parquet

    with parquet.ParquetFile(path) as source:
        _missing(source.schema_arrow.names, columns, path.name)
        for batch in source.iter_batches(batch_size=chunk_rows, columns=columns):
            yield pa.Table.from_batches([batch])


def text_frame(batch) -> pd.DataFrame:
    """A pyarrow batch as a DataFrame of text (``""`` where empty), whatever the format's
    own types; the columns stay in Arrow memory (fast string operations)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            # a GeoParquet geometry (WKB points): its coordinates, as two text columns
            import shapely

            points = shapely.from_wkb(column.to_numpy(zero_copy_only=False))
            points[shapely.is_empty(points)] = None
            for axis, values in (("x", shapely.get_x(points)), ("y", shapely.get_y(points))):
                columns[f"{name}_{axis}"] = pd.Series(values).map(
                    lambda v: "" if v != v else repr(v)).astype("str")
            continue
        if column.type != pa.string():
            column = column.cast(pa.string())
        columns[name] = pd.Series(pc.fill_null(column, ""), dtype=pd.ArrowDtype(pa.string())
                                  ).astype("str")
    return pd.DataFrame(columns)


# --------------------------------------------------------------------------- points


def _text(values):
    """Text cells as a pyarrow string array: a pandas Series, or an Arrow (chunked) array
    as read (left in Arrow memory, never a Python object per cell)."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if values.type == pa.string() else values.cast(pa.string())
    return pa.array(values.astype("str"), type=pa.string(), from_pandas=True)


def numbers(values) -> np.ndarray:
    """Numbers from text cells (a pandas Series or an Arrow array), read as a whole table
    reads them (:func:`geo.columns.parse_numbers`: decimal commas, no-break spaces); NaN
    where empty, masked or unreadable."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .columns import parse_numbers

    text = pc.utf8_trim_whitespace(_text(values))
    text = pc.if_else(pc.is_in(text, value_set=pa.array(["", MASKED])),
                      pa.scalar(None, pa.string()), text)
    try:
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # commas, stray text: slow path
        return parse_numbers(pd.Series(text.to_pandas(), dtype=object))


def identifiers(values, width: int, *, what: str, path: str = "",
                first_row: int = 2, lines: np.ndarray | None = None) -> np.ndarray:
    """Identifiers of exactly ``width`` digits (SIREN 9, SIRET 14) as integers, from text
    cells (a pandas Series or an Arrow array); the first other value is an error naming
    its row (``lines``: each value's line in the file, else they follow ``first_row``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = _text(values)
    # ASCII digits only (full-width or other scripts' digits are no identifier)
    ok = pc.and_(pc.ascii_is_decimal(text), pc.equal(pc.binary_length(text), width))
    ok = pc.fill_null(ok, False).to_numpy(zero_copy_only=False)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise InputError(f"{what} invalide : « {str(text[row].as_py() or '').strip()[:40]} » "
                         f"({width} chiffres attendus).", path=path,
                         row=int(lines[row]) if lines is not None else row + first_row,
                         column=what)
    return pc.cast(text, pa.int64()).to_numpy(zero_copy_only=False)


def lonlat(x: np.ndarray, y: np.ndarray, epsg: np.ndarray | int, *, path: str = "",
           first_row: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of points given in per-row projections (``epsg`` codes)."""
    n = len(x)
    codes = np.full(n, epsg, dtype=np.int64) if np.isscalar(epsg) else np.asarray(epsg)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    located = np.isfinite(x) & np.isfinite(y)
    # each row's code among the known ones (no sort of the rows' codes)
    known = np.array(sorted(KNOWN_EPSG), dtype=np.int64)
    at = np.searchsorted(known, codes).clip(0, len(known) - 1)
    unknown = located & (known[at] != codes)
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        values = sorted({str(v) for v in codes[unknown]})[:5]
        raise InputError(f"code epsg inconnu : {', '.join(values)} (attendus : "
                         f"{', '.join(map(str, KNOWN_EPSG))}).", path=path,
                         row=row + first_row, column="epsg")
    for k in np.flatnonzero(np.bincount(at[located], minlength=len(known))):
        rows = located & (at == k)
        if known[k] == 4326:
            lon[rows], lat[rows] = x[rows], y[rows]
        else:
            lon[rows], lat[rows] = _to_degrees(int(known[k])).transform(x[rows], y[rows])
    return lon, lat


@lru_cache(maxsize=16)
def _to_degrees(code: int):
    """EPSG ``code`` to degrees, made once per process (~10 ms each time otherwise)."""
    from pyproj import Transformer

    return Transformer.from_crs(code, 4326, always_xy=True)


def within_area_of_use(lon: np.ndarray, lat: np.ndarray, epsg: np.ndarray | int,
                       margin: float = 1.0) -> np.ndarray:
    """Whether each point (degrees) lies in the area of use of the projection its row names
    (``margin`` degrees around it): a point given in the Antilles' projection that lands
    in the Indian Ocean was given in the wrong one."""
    n = len(lon)
    codes = np.full(n, epsg, dtype=np.int64) if np.isscalar(epsg) else np.asarray(epsg)
    located = np.isfinite(lon) & np.isfinite(lat)
    # each row's area from a table of the known codes (one pass, not one per code; a
    # sort of the codes would cost more than the test)
    known = np.array(sorted(KNOWN_EPSG), dtype=np.int64)
    at = np.searchsorted(known, codes).clip(0, len(known) - 1)
    box = np.array([_area_of_use(int(code)) or (-np.inf, -np.inf, np.inf, np.inf)
                    for code in known], dtype=float)[at]
    with np.errstate(invalid="ignore"):
        inside = ((lon >= box[:, 0] - margin) & (lon <= box[:, 2] + margin)
                  & (lat >= box[:, 1] - margin) & (lat <= box[:, 3] + margin))
    inside |= ~located
    other = located & (known[at] != codes)
    for code in np.unique(codes[other]):  # codes from elsewhere, if any
        rows = other & (codes == code)
        west, south, east, north = _area_of_use(int(code)) or (-np.inf, -np.inf, np.inf,
                                                               np.inf)
        inside[rows] = ((lon[rows] >= west - margin) & (lon[rows] <= east + margin)
                        & (lat[rows] >= south - margin) & (lat[rows] <= north + margin))
    return inside


_AREAS: dict[int, tuple | None] = {}


def _area_of_use(code: int) -> tuple | None:
    if code not in _AREAS:
        from pyproj import CRS

        area = CRS.from_epsg(code).area_of_use if code and code != 4326 else None
        _AREAS[code] = None if area is None else (area.west, area.south, area.east,
                                                  area.north)
    return _AREAS[code]


def epsg_codes(values, *, path: str = "", first_row: int = 2) -> np.ndarray:
    """The ``epsg`` column (a pandas Series or an Arrow array of text) as integers (0
    where empty)."""
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(_text(values))
    codes = numbers(text)
    bad = np.isnan(codes) & pc.not_equal(text, "").to_numpy(zero_copy_only=False)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"code epsg illisible : « {text[row].as_py()[:20]} ».",
                         path=path, row=row + first_row, column="epsg")
    return np.nan_to_num(codes).astype(np.int64)


# --------------------------------------------------------------------------- linking


@dataclass
class Placed:
    """Where the points of one chunk stand: the first QPV they are in (position, -1 if
    none) and every one (pairs of row and QPV positions, on shared boundaries and in
    overlaps), the QPV within the distance outside which they stand (pairs, by distance),
    and the distance to the nearest QPV (metres, NaN when not located). Pairs come in the
    order of :func:`geo.link.link_points`."""

    implanted: np.ndarray
    near_rows: np.ndarray
    near_qpv: np.ndarray
    nearest: np.ndarray
    nearest_distance: np.ndarray
    inside_rows: np.ndarray
    inside_qpv: np.ndarray
    #: Points closer to a quartier's boundary than the outlines' rounding (with
    #: ``nearest`` and an ``uncertainty`` only; ``None`` otherwise).
    uncertain: np.ndarray | None = None


#: From how many points a chunk's are settled by the fine cells (building them takes a few
#: seconds; the engine is quicker for fewer points).
SETTLE_FROM = 20_000


def place(lon: np.ndarray, lat: np.ndarray, qpv=None, distance: float = 300.0,
          nearest: bool = False, near: np.ndarray | None = None, *,
          uncertainty: float = 0.0) -> Placed:
    """Link lon/lat points to the QPV with the engine (:func:`geo.link.link_points`);
    ``nearest``: also the nearest QPV and its distance (NaN otherwise), and with an
    ``uncertainty`` (metres, the outlines' rounding) the points closer than it to a
    quartier's boundary.

    ``near``: the rows whose nearby quartiers are wanted (default: every row); the others
    only get the quartiers they are in. Without ``nearest``, points that
    :func:`geo.prefilter.near_quartiers` puts far from every quartier skip the engine, and
    so do, with ``near``, those :func:`geo.prefilter.settle` settles.
    """
    import shapely

    from .link import link_points, nearby_points
    from .prefilter import UNDECIDED, near_quartiers, settle, settled_ready

    n = len(lon)
    located = np.isfinite(lon) & np.isfinite(lat)
    wanted = np.ones(n, dtype=bool) if near is None else np.asarray(near, dtype=bool)
    if nearest:  # every located point has a nearest quartier
        rows = inside_rows = np.flatnonzero(located)
    else:
        rows = np.flatnonzero(located & wanted)
        rows = rows[near_quartiers(lon[rows], lat[rows], qpv, distance)]
        inside_rows = rows if near is None else \
            np.flatnonzero(located & near_quartiers(lon, lat, qpv, 0))
    if inside_rows is rows:
        links = link_points(shapely.points(lon[rows], lat[rows]), qpv, distance=distance,
                            nearest=nearest, uncertainty=uncertainty if nearest else 0.0)
        nearby = links.nearby
        in_rows = rows[links.implanted["site"].to_numpy(np.int64)]
        in_qpv = links.implanted["qpv"].to_numpy(np.int64)
    else:
        # where the rows asked for their nearby quartiers are is settled below, with all
        nearby = nearby_points(lon[rows], lat[rows], qpv, distance=distance)
        # points whose cell lies inside a single quartier, or meets none, are settled by
        # it, the others by the engine; pairs ordered by row, then quartier, as the
        # engine orders them
        verdict = settle(lon[inside_rows], lat[inside_rows], qpv) if \
            len(inside_rows) >= SETTLE_FROM or settled_ready(qpv) else \
            np.full(len(inside_rows), UNDECIDED)
        engine = inside_rows[verdict == UNDECIDED]
        inside = link_points(shapely.points(lon[engine], lat[engine]), qpv, distance=0,
                             nearest=False).implanted
        in_rows = np.concatenate([engine[inside["site"].to_numpy(np.int64)],
                                  inside_rows[verdict >= 0]])
        in_qpv = np.concatenate([inside["qpv"].to_numpy(np.int64), verdict[verdict >= 0]])
        order = np.lexsort((in_qpv, in_rows))
        in_rows, in_qpv = in_rows[order], in_qpv[order]
    implanted = np.full(n, -1, dtype=np.int32)
    first = np.r_[True, in_rows[1:] != in_rows[:-1]] if len(in_rows) else np.empty(0, bool)
    implanted[in_rows[first]] = in_qpv[first]
    nearest_qpv = np.full(n, -1, dtype=np.int32)
    nearest_distance = np.full(n, np.nan)
    uncertain = None
    if nearest:
        nearest_qpv[rows], nearest_distance[rows] = links.nearest_qpv, links.nearest_distance
        if uncertainty > 0:
            uncertain = np.zeros(n, dtype=bool)
            uncertain[rows] = links.uncertain
    return Placed(implanted, rows[nearby["site"].to_numpy(np.int64)],
                  nearby["qpv"].to_numpy(np.int32), nearest_qpv, nearest_distance,
                  in_rows, in_qpv.astype(np.int32), uncertain)


#: What every chunk's function shares in a worker process of :func:`map_chunks`.
_SHARED = None


def map_chunks(func: Callable, chunks: Iterable[tuple], shared, *,
               workers: int | None = None,
               ready: Callable[[tuple], None] | None = None) -> Iterator:
    """``func(shared, *chunk)`` for every chunk (a tuple of arguments), in order, on
    ``workers`` processes (default: every core); one chunk per worker, and one more, in
    flight at a time. ``shared`` reaches each worker once (inherited by forked processes,
    never pickled per chunk); ``ready(first chunk)`` runs before the workers start (to
    build once what they then share). The first chunk is handled here, before the workers
    are forked: whatever it builds on the way (grids, outlines, projections, indexes) is
    built once and inherited. ``func`` must be importable (a module's function)."""
    global _SHARED
    workers = workers or os.cpu_count() or 1
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        return
    if ready is not None:
        ready(first)
    yield func(shared, *first)
    if workers == 1:
        for chunk in chunks:
            yield func(shared, *chunk)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork" if "fork" in
                                          multiprocessing.get_all_start_methods() else "spawn")
    forked = context.get_start_method() == "fork"
    _SHARED = shared if forked else None
    # what the workers inherit is moved out of the collector's sight: its passes would
    # touch every inherited object and copy their pages into each worker
    gc.freeze()
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_shared,
                                 initargs=(None if forked else shared,)) as pool:
            pending: list = []
            for chunk in chunks:
                pending.append(pool.submit(_shared_job, func, chunk))
                while len(pending) > workers:
                    yield pending.pop(0).result()
            for future in pending:
                yield future.result()
    finally:
        _SHARED = None
        gc.unfreeze()


def _init_shared(shared) -> None:
    global _SHARED
    import pyarrow as pa

    # one worker per core already: Arrow's own threads would only fight over them
    pa.set_cpu_count(1)
    if shared is not None:
        _SHARED = shared


def _shared_job(func: Callable, chunk: tuple):
    return func(_SHARED, *chunk)


# --------------------------------------------------------------------------- writing


class ChunkWriter:
    """Write a table chunk by chunk to CSV (UTF-8 with BOM, ``;``) or Parquet; the file
    appears, whole, when :meth:`close` is called (never half-written)."""

    def __init__(self, path: str | Path) -> None:
        from .io import temporary_beside

        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise InputError(f"extension « {suffix} » impossible ici ; possibles : .csv, "
                             ".parquet.", path=self.path.name)
        self.tmp = temporary_beside(self.path)
        self.kind = suffix
        self._parquet = None
        self._first = True
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if self.kind == ".csv":
            from .io import write_csv

            write_csv(frame, self.tmp, header=self._first, append=not self._first)
        else:
            import pyarrow as pa
            from pyarrow import parquet

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = parquet.ParquetWriter(self.tmp, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        self._first = False
        self.rows += len(frame)

    def close(self) -> Path:
        from .io import publish

        if self._parquet is not None:
            self._parquet.close()
        if self._first:  # nothing written: an empty table still has its file
            self.tmp.touch()
        publish(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def total_rows(path: str | Path) -> int | None:
    """Rows of a Parquet file (from its metadata); ``None`` for other formats."""
    if Path(path).suffix.lower() in (".parquet", ".geoparquet", ".pq"):
        from pyarrow import parquet

        try:
            return parquet.ParquetFile(path).metadata.num_rows
        except (OSError, ValueError):
            return None
    return None


def progress_bar(total: int | None, what: str) -> Callable[[int], None]:
    """A tqdm bar that shows rows per second, and the remaining time when ``total`` is
    known."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit=" lignes", unit_scale=True, desc=what, leave=False,
               disable=None, smoothing=0.1)
    return bar.update


# --------------------------------------------------------------------------- link, streamed


#: Columns a streamed link adds to every row (as ``ess-qpv link`` names them), and
#: ``boundary_uncertain`` before the remark when the outlines are rounded.
STREAM_COLUMNS = ["code_qp", "nom_qp", "relation", "distance_m", "nearest_code_qp",
                  "qpv_nearby", "note_localisation"]
#: How many rows' remarks a streamed link keeps to show (the others are only counted).
SHOWN_NOTES = 20


@dataclass
class Linked:
    """What a streamed link found: rows per relation, and the rows whose point it did not
    use (each with its remark in the table's ``note_localisation``)."""

    rows: int = 0
    #: Rows per :class:`geo.vocabulary.Relation` value.
    relations: dict[str, int] = field(default_factory=dict)
    #: Typed points against their own address, or doubted by an earlier geocoder.
    set_aside: int = 0
    #: Points outside France and its overseas (swapped, a lost minus sign…).
    abroad: int = 0
    #: Rows without readable coordinates.
    unreadable: int = 0
    #: Rows closer to a quartier's boundary than the outlines' rounding, and that rounding
    #: (metres; 0 for exact outlines).
    uncertain: int = 0
    rounding: float = 0.0
    #: Rows with a remark, and the first :data:`SHOWN_NOTES` of them (line, column or
    #: ``""``, remark).
    noted: int = 0
    notes: list[tuple[int, str, str]] = field(default_factory=list)
    #: What was said of the header: input columns named like ours kept under another
    #: name, repeated headers made unique (:func:`geo.tables.internal`).
    headers: list[str] = field(default_factory=list)


def stream_link(source: str | Path, output: str | Path, qpv, *, distance: float = 300.0,
                lon_column: str | None = None, lat_column: str | None = None,
                crs: str | None = None, crs_column: str | None = None,
                workers: int | None = None, chunk_rows: int = CHUNK_ROWS,
                progress: Callable[[int], None] | None = None) -> Linked:
    """Link every row of a big table to ``qpv`` and write it, with :data:`STREAM_COLUMNS`,
    to ``output`` (CSV or Parquet), chunk by chunk; return what was found.

    Coordinates are found as by ``ess-qpv link`` (names, else content; Lambert-93 metres
    recognised) in the first chunk; ``crs_column`` names a column of EPSG codes, one per
    row (as INSEE's ``epsg``); else ``crs`` applies to every row (default: degrees). Every
    row is judged as a whole-table study judges it (:mod:`geo.streamchecks`): a point that
    is unreadable, outside France, against its own address or doubted by an earlier
    geocoder is not located, and its remark says why.
    """
    from collections import deque

    from .columns import detect_columns
    from .link import check_distance, generation_of, uncertain_note
    from .streamchecks import check_columns
    from .tables import french, internal
    from .vocabulary import HEADER_NOTES, Columns, Relation

    check_distance(distance)
    name = Path(source).name
    codes, names = qpv["code_qp"].to_numpy(), qpv["nom_qp"].to_numpy()
    pending: deque = deque()
    found: dict = {}
    fixed_epsg = _epsg_of(crs) if crs else None

    def chunks():
        row = 2
        for chunk in read_chunks(source, chunk_rows=chunk_rows):
            # the input's columns named like ours are kept aside, never taken for ours
            chunk = internal(chunk)
            if not found:
                found["headers"] = chunk.attrs.get(HEADER_NOTES, [])
                if crs_column and crs_column not in chunk.columns:
                    raise InputError(f"la colonne « {crs_column} » n'existe pas.", path=name,
                                     parameters=("crs_column",))
                detection = detect_columns(chunk.head(10_000).astype(object), Columns(
                    lon=lon_column, lat=lat_column, crs=crs), path=name)
                if crs_column:  # codes of projections, whatever their look, no address
                    detection = replace(detection, found={
                        role: c for role, c in detection.found.items() if c != crs_column})
                d = detection.columns
                if not d.lon or not d.lat:
                    raise InputError("colonnes de coordonnées introuvables ; indiquez-les.",
                                     path=name, parameters=("lon", "lat"))
                found.update(lon=d.lon, lat=d.lat, detection=detection,
                             # written as numbers, as the whole-table path writes them
                             numeric=[d.lon, d.lat, *detection.indicators],
                             checked=check_columns(detection, list(chunk.columns)),
                             epsg=fixed_epsg or (_epsg_of(d.crs) if d.crs else 4326))
                found["as_typed"] = found["epsg"] == 4326 and not crs_column
            x, y = numbers(chunk[found["lon"]]), numbers(chunk[found["lat"]])
            epsg = epsg_codes(chunk[crs_column], path=name, first_row=row) if crs_column \
                else found["epsg"]
            lon, lat = lonlat(x, y, epsg, path=name, first_row=row)
            pending.append(chunk)
            yield lon, lat, chunk[found["checked"]], row
            row += len(chunk)

    rounding = float(qpv.attrs.get("precision_m") or 0.0)
    linked = Linked(relations={r.value: 0 for r in Relation if r is not Relation.SERVED},
                    rounding=rounding)
    note = uncertain_note(rounding, generation_of(qpv)) if rounding else ""
    row = 2
    with ChunkWriter(output) as out:
        for checked, placed in map_chunks(_check_and_place, chunks(),
                                          (qpv, distance, found, rounding), workers=workers):
            chunk = pending.popleft()
            n = len(chunk)
            implanted = placed.implanted
            nearby = _joined(codes[placed.near_qpv], placed.near_rows, n)
            # located: a point the study uses, even where no quartier is near (overseas
            # territories without one have no nearest quartier)
            located = np.isfinite(checked.lon) & np.isfinite(checked.lat)
            relation = np.where(implanted >= 0, Relation.IMPLANTED.value, np.where(
                nearby != "", Relation.NEARBY.value, np.where(
                    located, Relation.NONE.value, Relation.NOT_LOCATED.value)))
            nearest = placed.nearest
            # the column a remark is about: the coordinates, but for a boundary alone
            about = np.where(checked.notes != "", f"{found['lon']}/{found['lat']}", "")
            if rounding:  # said as the whole-table path says it (geo.link.link)
                uncertain = placed.uncertain
                checked.notes[uncertain] = np.where(checked.notes[uncertain] != "",
                                                    checked.notes[uncertain] + " ; " + note,
                                                    note)
                linked.uncertain += int(uncertain.sum())
            extra = {"boundary_uncertain": np.where(placed.uncertain, "oui", "")} \
                if rounding else {}
            chunk = chunk.assign(
                # every quartier that contains the point, as the whole-table path says
                code_qp=_joined(codes[placed.inside_qpv], placed.inside_rows, n),
                nom_qp=_joined(names[placed.inside_qpv], placed.inside_rows, n),
                relation=relation,
                distance_m=np.where(np.isfinite(placed.nearest_distance),
                                    np.round(placed.nearest_distance), np.nan),
                nearest_code_qp=np.where(nearest >= 0, codes[np.maximum(nearest, 0)], ""),
                qpv_nearby=nearby, **extra, note_localisation=checked.notes)
            # a CSV is for people (French headers and values), Parquet for programs
            out.write(french(chunk, "sites", numeric=found["numeric"]) if out.kind == ".csv"
                      else chunk)
            _count(linked, relation, checked, row, about)
            row += n
            if progress:
                progress(n)
    linked.headers = found.get("headers", [])
    return linked


def _count(linked: Linked, relation: np.ndarray, checked, first_row: int,
           about: np.ndarray) -> None:
    """Add one chunk's relations and remarks to ``linked``."""
    kinds, counts = np.unique(relation, return_counts=True)
    for kind, count in zip(kinds, counts, strict=True):
        linked.relations[str(kind)] += int(count)
    linked.rows += len(relation)
    linked.set_aside += checked.set_aside
    linked.abroad += checked.abroad
    linked.unreadable += checked.unreadable
    noted = np.flatnonzero(checked.notes != "")
    linked.noted += len(noted)
    for i in noted[:SHOWN_NOTES - len(linked.notes)]:
        linked.notes.append((first_row + int(i), str(about[i]), str(checked.notes[i])))


def _check_and_place(shared, lon: np.ndarray, lat: np.ndarray, cells: pd.DataFrame,
                     first_row: int):
    """One chunk of :func:`stream_link`, in a worker: its points judged as a whole-table
    study judges them (:func:`geo.streamchecks.check_chunk`), then placed."""
    from .streamchecks import check_chunk

    qpv, distance, found, rounding = shared
    checked = check_chunk(lon, lat, cells, found["detection"], first_row=first_row,
                          as_typed=found["as_typed"])
    return checked, place(checked.lon, checked.lat, qpv, distance, True,
                          uncertainty=rounding)


def _joined(values: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """``values`` joined with ``;`` per row (in their order), ``""`` for rows with none."""
    from .link import join_by

    out = np.full(n, "", dtype=object)
    if len(rows):
        joined = join_by(rows, values)
        out[joined.index.to_numpy(dtype=np.int64)] = joined.to_numpy()
    return out


def _epsg_of(crs: str) -> int:
    from pyproj import CRS

    try:
        return int(CRS.from_user_input(crs).to_epsg())
    except Exception as exc:  # noqa: BLE001 - pyproj raises several types
        raise InputError(f"système de coordonnées « {crs} » inconnu.",
                         parameters=("crs",)) from exc
