"""Read the user's table of initiatives (one row per site) into a GeoDataFrame of points.

Every input row is kept, in order, with its columns untouched (identifiers and codes stay text,
so ``01004`` keeps its zero). Rows whose coordinates are missing, unreadable, swapped or outside
France are kept too, without geometry, and each problem is reported with its row and column.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ._errors import EMPTY_FILE, NO_ROWS, NOT_A_TABLE, InputError
from .columns import detect_columns, parse_numbers
from .confine import check_format, regular_file, with_sidecars
from .formulas import check_computed
from .indicators import TYPED_NUMBERS, Measures, TypedNumbers, read_measures
from .io import uninert
from .tables import internal
from .typography import degrees, french_spacing, plural, plural_form
from .vocabulary import (
    DEFAULT_MIN_SCORE,
    OUTPUT_COLUMNS,
    Columns,
    Detection,
    normal_name,
)


@dataclass
class Issue:
    """A problem found in one row of the input (1-based row as the user sees it)."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"ligne {self.row}" + (f", colonne « {self.column} »" if self.column else "")
        return f"{where} : {self.message}"


@dataclass
class Initiatives:
    """The sites read from a file, with what was found about its columns."""

    sites: gpd.GeoDataFrame
    path: str
    #: What holds what, as detection decided it (:func:`geo.columns.detect_columns`).
    columns: Columns = field(default_factory=Columns)
    #: The column named like a site identifier (checked for values used twice).
    site_column: str | None = None
    coordinate_columns: tuple[str, str] | None = None
    #: How the columns were recognised (one French line per decision).
    detection: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    #: Number of the first data row as the user counts it (2 under a header line).
    first_row: int = 2
    #: Field separator of a CSV input, reused for CSV outputs.
    separator: str = ","
    #: Every role the detection found, to its column (the address parts and the INSEE
    #: code too: a page shows an address without the INSEE code sent to the geocoder).
    roles: dict[str, str] = field(default_factory=dict)
    #: Indicators and years of each site (:func:`geo.indicators.read_measures`).
    measures: Measures | None = None
    #: Sites whose typed point contradicts their own address (position → lon, lat): not
    #: placed, proposed at the review (:mod:`geo.placecheck`).
    contradicted: dict[int, tuple[float, float]] = field(default_factory=dict)
    #: The cells a workbook held as numbers (:class:`geo.indicators.TypedNumbers`), by
    #: column: written as numbers again (:func:`geo.write.report.report_tables`).
    typed_numbers: TypedNumbers | None = None

    def row_number(self, index: int) -> int:
        """Return the row number the user sees for a position in :attr:`sites`."""
        return index + self.first_row

    # the roles as the writers read them, from the one ``columns``
    id_column = property(lambda self: self.columns.id, doc="The initiative identifier.")
    theme_column = property(lambda self: self.columns.theme, doc="The theme.")
    served_column = property(lambda self: self.columns.served, doc="The quartiers served.")
    radius_column = property(lambda self: self.columns.radius, doc="The service radius.")
    name_column = property(lambda self: self.columns.name, doc="The name.")
    website_column = property(lambda self: self.columns.website, doc="The website.")

    @property
    def address_columns(self) -> list[str]:
        """The columns joined into each site's address."""
        return list(self.columns.address or [])


#: The extensions of a table read by its content (a CSV saved as ``.xlsx`` is read as the
#: CSV it is, like the web page reads an upload); geographic files are read by extension
#: only once their content is checked to be that format (:func:`geo.confine.check_format`).
_TABLES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".ods", ".xls")
#: What the initiatives' table is called in messages about the file itself.
SITES_TABLE = "le tableau des initiatives"


def read_table(path: str | Path, *, sheet: str | int | None = None, what: str = SITES_TABLE
               ) -> tuple[pd.DataFrame, int, str]:
    """Read a CSV, XLSX, ODS, GeoJSON or GeoPackage file with every column as text (one of
    our own enriched tables gets back the internal names of our columns: :func:`geo.tables.
    internal`); a workbook's numeric cells are also kept as numbers in the table's ``attrs``
    (:class:`geo.indicators.TypedNumbers`), a GeoJSON's number columns stay numbers.

    A CSV or workbook is read as its content says (:func:`geo.uploads.sniff`, as the web page
    does), whatever its extension among those; ``what`` names the file in the messages.

    Returns the table, the number of the first data row as the user sees it, and the CSV
    field separator (``","`` for other formats).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("fichier introuvable.", path=str(path))
    for part in with_sidecars(path):
        regular_file(part, what=what)
    suffix = path.suffix.lower()
    if suffix in _TABLES:
        kind = _content_kind(path)
        if kind == ".csv":
            table, sep = _read_csv(path)
            return internal(table), 2, sep
        if kind in (".xlsx", ".ods"):
            return _read_workbook(path, sheet, kind), 2, ","
        raise InputError(f"son contenu est un fichier {kind} : renommez-le en « {path.stem}"
                         f"{kind} » pour le lire.", path=str(path))
    if suffix in (".geojson", ".json", ".gpkg", ".shp"):
        check_format(path, what=what)
        try:
            frame = gpd.read_file(path)
        except Exception as exc:
            raise InputError(f"fichier géographique illisible ({exc}).", path=str(path)) from exc
        return internal(frame), 1, ","
    _content_kind(path)  # a PDF or an old .xls is named as such, as on the web page
    raise InputError(f"format d'entrée inconnu « {suffix} » ; formats acceptés : .csv, .xlsx, "
                     ".ods, .geojson, .gpkg.", path=str(path))


def read_sites_table(path: str | Path, *, sheet: str | int | None = None
                     ) -> tuple[pd.DataFrame, int, str]:
    """:func:`read_table` for the initiatives' table, which must hold at least one row: the
    one reader every door (command line, study file, web page) calls, so that one mistake
    gets one answer."""
    table, first_row, separator = read_table(path, sheet=sheet)
    if len(table) == 0:
        raise InputError(NO_ROWS, path=str(path))
    return table, first_row, separator


def check_streamed_table(path: str | Path) -> None:
    """Say of a CSV read chunk by chunk what :func:`read_sites_table` says of it, before
    any chunk is read: missing, a folder, no table by its content, empty, a header alone."""
    path = Path(path)
    if not path.exists():
        raise InputError("fichier introuvable.", path=str(path))
    regular_file(path, what=SITES_TABLE)
    if path.suffix.lower() not in _TABLES or _content_kind(path) != ".csv":
        return
    with path.open("rb") as raw:
        head = raw.read(1 << 16)
    if len(head) < 1 << 16 and len([line for line in head.splitlines() if line.strip()]) < 2:
        raise InputError(NO_ROWS, path=str(path))


def _content_kind(path: Path) -> str:
    """The format of a table file from its content (:func:`geo.uploads.sniff`): only its
    first bytes are read, or the whole file for a zip (its directory)."""
    from .uploads import sniff

    with path.open("rb") as raw:
        head = raw.read(1 << 16)
    try:
        if head.startswith(b"PK\x03\x04"):
            return sniff(path.read_bytes(), bounded=False)  # the user's own file
        return sniff(head)
    except InputError as exc:
        raise InputError(str(exc), path=str(path)) from None


def _read_workbook(path: Path, sheet: str | int | None, kind: str) -> pd.DataFrame:
    """A workbook's sheet as text, as the file shows it (``01004``, ``12345678901234``),
    with the cells it holds as numbers kept aside in ``attrs`` (:class:`geo.indicators.
    TypedNumbers`): an indicator is then read as typed, never from its text again."""
    what = "classeur OpenDocument" if kind == ".ods" else "classeur Excel"
    try:
        with path.open("rb") as raw, pd.ExcelFile(
                raw, engine="odf" if kind == ".ods" else "openpyxl") as book:
            if isinstance(sheet, str) and sheet not in book.sheet_names:
                raise InputError(f"feuille « {sheet} » introuvable ; feuilles du classeur : "
                                 f"{', '.join(map(str, book.sheet_names))}.", path=str(path),
                                 parameters=("sheet",))
            cells = pd.read_excel(book, sheet_name=sheet or 0, dtype=object,
                                  keep_default_na=False)
    except InputError:
        raise
    except Exception as exc:  # openpyxl and odfpy raise many types for broken files
        raise InputError(f"{what} illisible ({exc}).", path=str(path)) from exc
    if kind == ".xlsx":
        check_computed(path, sheet)
    table = internal(cells.astype(str))
    filled = np.flatnonzero((table.apply(lambda c: c.str.strip()) != "").any(axis=1))
    # blank rows at the end are no sites; those between keep the numbering of the rows
    table, cells = (table.iloc[:filled[-1] + 1], cells.iloc[:filled[-1] + 1]) if len(filled) \
        else (table.iloc[:0], cells.iloc[:0])
    table.attrs[TYPED_NUMBERS] = TypedNumbers.of(cells, table)
    return table


def _read_csv(path: Path) -> tuple[pd.DataFrame, str]:
    text = decode_text(path.read_bytes(), str(path))
    if not text.strip():
        raise InputError(EMPTY_FILE, path=str(path))
    if "\x00" in text:
        raise InputError(NOT_A_TABLE, path=str(path))
    sep = _separator(text)
    return _csv_rows(text, sep, str(path)), sep


def decode_text(raw: bytes, path: str) -> str:
    """The text of a CSV file in UTF-8 or Windows-1252, decided line by line (or in UTF-16
    with its byte-order mark, as Excel saves « Texte Unicode »): a file saved
    in UTF-8 with a few lines pasted from a Windows-1252 file keeps every accent (the mixed
    lines are named in a warning)."""
    import warnings

    from .uploads import UTF16_BOMS

    if raw.startswith(UTF16_BOMS):  # Excel's « Texte Unicode »
        try:
            return raw.decode("utf-16").lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            raise InputError("encodage non reconnu (UTF-16 abîmé).", path=path) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    if lines and lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]
    out, utf8, windows = [], [], []
    for number, line in enumerate(lines, start=1):
        try:
            out.append(line.decode("utf-8"))
            if not line.isascii():
                utf8.append(number)
        except UnicodeDecodeError:
            try:
                out.append(line.decode("cp1252"))
            except UnicodeDecodeError as exc:
                raise InputError("encodage non reconnu (ni UTF-8 ni Windows-1252).",
                                 path=path, row=number) from exc
            windows.append(number)
    if utf8:
        shown = ", ".join(map(str, windows[:10])) + (" …" if len(windows) > 10 else "")
        warnings.warn(french_spacing(
            f"fichier {path} : encodages mélangés ; la plupart des lignes sont en UTF-8, mais "
            f"{plural(len(windows), 'ligne')} en Windows-1252 ({plural_form(len(windows), 'ligne')}"
            f" {shown}) {'a' if len(windows) < 2 else 'ont'} été "
            f"{plural_form(len(windows), 'lue')} comme telles : vérifiez leurs accents."),
            stacklevel=3)
    return "\n".join(out)


def _csv_rows(text: str, sep: str, path: str) -> pd.DataFrame:
    """Every row as text, aligned on the header: never shifted.

    Empty fields beyond the header (a trailing separator) are dropped; a row with more
    filled fields than the header is refused with its line number; a short row is padded.
    """
    reader = csv.reader(StringIO(text), delimiter=sep, strict=True)
    try:
        return _aligned(reader, sep, path)
    except csv.Error as exc:
        raise InputError(f"ligne mal formée ({exc} ; guillemet non fermé ?).", path=path,
                         row=reader.line_num) from exc


def _aligned(reader, sep: str, path: str) -> pd.DataFrame:
    header = [uninert(h.strip()) for h in next(reader)]
    while header and header[-1] == "":  # a trailing separator on the header line
        header.pop()
    width = len(header)
    rows: list[list[str]] = []
    for row in reader:
        if not row:  # a blank line is a row too: the rows after it keep their number
            row = [""]
        if len(row) > width:
            if any(v.strip() for v in row[width:]):
                raise InputError(
                    f"{len(row)} champs pour {width} colonnes d'en-tête (séparateur « {sep} » "
                    "en trop dans une cellule ? mettez la cellule entre guillemets) ; rien n'a "
                    "été lu, pour ne décaler aucune valeur.", path=path, row=reader.line_num)
            row = row[:width]
        elif len(row) < width:
            row = row + [""] * (width - len(row))
        rows.append([uninert(v.strip()) for v in row])
    while rows and not any(rows[-1]):  # blank rows at the end (spreadsheets save them)
        rows.pop()
    names = _unique_names(header)
    return pd.DataFrame(rows, columns=names, dtype=object) if rows else \
        pd.DataFrame(columns=names, dtype=object)


def _unique_names(header: list[str]) -> list[str]:
    """Header names made unique (``nom``, ``nom.1``) and never empty (``colonne_3``), in
    time linear in the number of columns."""
    out: list[str] = []
    taken: set[str] = set()
    following: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        name = name or f"colonne_{i}"
        base, k = name, following.get(name, 1)
        while name in taken:
            name, k = f"{base}.{k}", k + 1
        following[base] = k
        taken.add(name)
        out.append(name)
    return out


def _separator(text: str) -> str:
    """The field separator among ``; , tab |``: the one that splits the header into the most
    columns while every one of the first rows has that many fields (quotes respected)."""
    lines = text.splitlines()[:50]
    best, best_score = ",", (-1, 0)
    for sep in (";", ",", "\t", "|"):
        if sep not in lines[0]:
            continue
        rows = [r for r in csv.reader(lines, delimiter=sep) if r]
        width = len(rows[0])
        consistent = sum(len(r) == width for r in rows) / len(rows)
        score = (consistent, width)
        if score > best_score:
            best, best_score = sep, score
    return best


def read_initiatives(path: str | Path, *, sheet: str | int | None = None,
                     columns: Columns | None = None) -> Initiatives:
    """Read a table of initiative sites from a file; see :func:`initiatives_from_table`."""
    table, first_row, separator = read_sites_table(path, sheet=sheet)
    return initiatives_from_table(table, path=str(path), first_row=first_row,
                                  separator=separator, columns=columns)


def initiatives_from_table(
    table: pd.DataFrame,
    *,
    path: str = "",
    first_row: int = 2,
    separator: str = ",",
    columns: Columns | None = None,
    detection: Detection | None = None,
    measures: Measures | None = None,
    unplaced: Sequence[str] | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
) -> Initiatives:
    """Turn a table of initiative sites into points (EPSG:4326), keeping every row.

    Parameters
    ----------
    table
        As read by :func:`read_table` from a CSV (``;``, ``,`` or tab; UTF-8, UTF-8 with BOM
        or Windows-1252), XLSX, GeoJSON or GeoPackage. One row is one site; several rows may
        share an initiative identifier.
    path, first_row, separator
        The file it came from, the number of its first data row and its CSV separator,
        for messages and outputs.
    columns
        Columns named by the user (the others are recognised by
        :func:`geo.columns.detect_columns`); ``columns.crs`` is the CRS of the
        coordinate columns (default EPSG:4326 degrees, e.g. ``2154`` for Lambert-93 metres).
    detection
        A detection already made on this table (the study passes the one it reported).
    measures
        The indicators and years already read from this table (else read here; a cell that
        is no number or year is an :class:`InputError`).
    unplaced
        Per row, why a row has no coordinates when it is known (the geocoder's note): its
        message says it instead of « coordonnées manquantes ».
    min_score
        The study's minimum geocoding score, applied to the answers of a geocoder that
        placed the table earlier (its ``result_score``… columns).
    """
    path_s = str(path)
    table = table.drop(columns=[c for c in OUTPUT_COLUMNS if c in table.columns])
    detection = detection or detect_columns(table, columns, path=path_s)
    if measures is None:
        measures = read_measures(table, detection, path=Path(path_s).name,
                                 first_row=first_row)
    found = detection.columns
    result = Initiatives(
        sites=None, path=path_s, first_row=first_row,  # type: ignore[arg-type]
        separator=separator, columns=found, site_column=detection.site_column,
        detection=list(detection.report), measures=measures, roles=dict(detection.found),
        typed_numbers=table.attrs.get(TYPED_NUMBERS))
    if isinstance(table, gpd.GeoDataFrame) and table.geometry.notna().any():
        lon, lat = _points_of_geometry(table, result)
        attributes = pd.DataFrame(table.drop(columns=table.geometry.name))
        for col in attributes.columns:
            attributes[col] = attributes[col].astype("string").fillna("").astype(object)
    else:
        attributes = pd.DataFrame(table).astype(object)
        if found.lon is None or found.lat is None:
            raise InputError(
                "aucune colonne de coordonnées (longitude/latitude, lon/lat, x/y, ni paire de "
                "colonnes de nombres lisibles comme des coordonnées en France) ni d'adresse à "
                f"géocoder (adresse, code_postal, commune) ; colonnes présentes : "
                f"{', '.join(map(str, table.columns))}. Indiquez les colonnes de coordonnées "
                "ou d'adresse.", path=path_s, parameters=("lon", "lat", "address"))
        lon_col, lat_col = found.lon, found.lat
        result.coordinate_columns = (lon_col, lat_col)
        lon, lon_text = _numbers(table[lon_col])
        lat, lat_text = _numbers(table[lat_col])
        _report_unreadable(lon_text, lat_text, lon, lat, (lon_col, lat_col), result,
                           unplaced)
        crs = found.crs
        if crs is not None and _epsg(crs, path_s) != 4326:
            lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(lon, lat)
        elif crs is None and np.nanmax(np.abs(np.r_[lon, lat, 0])) > 360:
            raise InputError(
                f"les coordonnées de « {lon_col} »/« {lat_col} » ne sont pas en degrés ; "
                "indiquez leur système, par exemple 2154 pour du Lambert-93.",
                path=path_s, parameters=("crs",))
    lon, lat = _check_france(np.asarray(lon, float), np.asarray(lat, float), result)
    typed = _typed_points(table)
    lon, lat = _check_address(lon, lat, table, detection, result, typed)
    lon, lat = _check_earlier_geocoder(lon, lat, table, detection, result, typed, min_score)
    geometry = shapely.points(lon, lat)
    geometry[np.isnan(lon) | np.isnan(lat)] = None
    result.sites = gpd.GeoDataFrame(attributes.reset_index(drop=True), geometry=geometry,
                                    crs=4326)
    _check_duplicates(result)
    result.issues.sort(key=lambda issue: issue.row)
    return result


def typed_point_doubts(table: pd.DataFrame, detection: Detection, *, rows: np.ndarray,
                       first_row: int = 2, min_score: float = DEFAULT_MIN_SCORE
                       ) -> dict[int, tuple[str, tuple[float, float] | None]]:
    """The positions of ``rows`` whose typed coordinates (degrees, EPSG:4326) a study
    would not use, as :func:`initiatives_from_table` judges them: outside France, against
    the row's own address (:mod:`geo.placecheck`), doubted by an earlier geocoder. Each
    with its French cause and the point to propose at the review (``None`` for a point
    outside France). The geocode command's review lists them as ``link`` does.
    """
    found = detection.columns
    if found.lon is None or found.lat is None or found.crs is not None or not len(rows):
        return {}
    result = Initiatives(sites=None, path="", first_row=first_row,  # type: ignore[arg-type]
                         coordinate_columns=(found.lon, found.lat))
    chosen = np.zeros(len(table), dtype=bool)
    chosen[rows] = True
    lon = np.where(chosen, parse_numbers(table[found.lon]), np.nan)
    lat = np.where(chosen, parse_numbers(table[found.lat]), np.nan)
    if np.nanmax(np.abs(np.r_[lon, lat, 0])) > 360:
        return {}  # not degrees: nothing to judge here
    kept_lon, kept_lat = _check_france(lon, lat, result)
    kept_lon, kept_lat = _check_address(kept_lon, kept_lat, table, detection, result, rows)
    _check_earlier_geocoder(kept_lon, kept_lat, table, detection, result, rows, min_score)
    out: dict[int, tuple[str, tuple[float, float] | None]] = {}
    for issue in result.issues:
        pos = issue.row - first_row
        out.setdefault(pos, (issue.message, result.contradicted.get(pos)))
    return out


def _epsg(crs: str | int, path: str) -> int | None:
    """The EPSG code of ``crs``; an unknown CRS is the user's mistake, said in French."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(crs).to_epsg()
    except CRSError as exc:
        raise InputError(f"système de coordonnées « {crs} » inconnu (par exemple 4326 pour "
                         "des degrés, 2154 pour du Lambert-93).", path=path,
                         parameters=("crs",)) from exc


def _numbers(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Parse coordinates (decimal commas accepted); return numbers and the cleaned text."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return parse_numbers(values), text


def _report_unreadable(lon_text: pd.Series, lat_text: pd.Series, lon: np.ndarray,
                       lat: np.ndarray, columns: tuple[str, str], result: Initiatives,
                       unplaced: Sequence[str] | None = None) -> None:
    for i in np.flatnonzero(np.isnan(lon) | np.isnan(lat)):
        if lon_text.iloc[i] == "" and lat_text.iloc[i] == "":
            why = unplaced[i] if unplaced is not None else ""
            # the geocoder's reason is about the address, not the columns it writes
            result.issues.append(Issue(result.row_number(i), None if why else "/".join(columns),
                                       f"{why or 'coordonnées manquantes'} : site non localisé"))
            continue
        for column, text, value in ((columns[0], lon_text, lon), (columns[1], lat_text, lat)):
            if np.isnan(value[i]):
                shown = f"« {text.iloc[i]} » n'est pas un nombre" if text.iloc[i] else "vide"
                result.issues.append(Issue(result.row_number(i), column,
                                           f"coordonnée {shown} : site non localisé"))


def _points_of_geometry(frame: gpd.GeoDataFrame, result: Initiatives):
    frame = frame.to_crs(4326) if frame.crs is not None and frame.crs.to_epsg() != 4326 else frame
    geoms = frame.geometry.values
    not_points = ~np.isin(shapely.get_type_id(geoms), [0, -1]) & ~shapely.is_missing(geoms)
    for i in np.flatnonzero(not_points):
        result.issues.append(Issue(result.row_number(i), "geometry",
                                   "géométrie non ponctuelle : son point intérieur est utilisé"))
    points = np.where(not_points, shapely.point_on_surface(geoms), geoms)
    missing = shapely.is_missing(points) | shapely.is_empty(points)
    for i in np.flatnonzero(missing):
        result.issues.append(Issue(result.row_number(i), "geometry",
                                   "géométrie absente : site non localisé"))
    lon = np.where(missing, np.nan, shapely.get_x(points))
    lat = np.where(missing, np.nan, shapely.get_y(points))
    return lon, lat


def _check_france(lon: np.ndarray, lat: np.ndarray, result: Initiatives):
    from .outlines import in_france

    known = ~(np.isnan(lon) | np.isnan(lat))
    outside = known & ~in_france(lon, lat)
    if outside.any():
        swapped = np.zeros(len(lon), dtype=bool)
        swapped[outside] = in_france(lat[outside], lon[outside])
        # a lost minus sign (the Antilles' and Guyane's longitudes, La Réunion's latitudes)
        lost = np.full(len(lon), "", dtype=object)
        lost[outside] = np.where(
            (lon[outside] > 0) & in_france(-lon[outside], lat[outside]), "longitude",
            np.where((lat[outside] > 0) & in_france(lon[outside], -lat[outside]), "latitude",
                     ""))
        columns = result.coordinate_columns or ("geometry", "geometry")
        for i in np.flatnonzero(outside):
            if swapped[i]:
                message = (f"latitude et longitude semblent inversées (longitude "
                           f"{degrees(lon[i])}, latitude {degrees(lat[i])})\u00a0: site non "
                           "localisé\u202f; échangez-les sur cette ligne")
            elif lost[i]:
                message = (f"point hors de France et des outre-mer (lon {degrees(lon[i])}, "
                           f"lat {degrees(lat[i])})\u00a0: signe moins perdu sur la "
                           f"{lost[i]}\u202f? (avec lui, le point tombe en France)\u00a0: site "
                           f"non localisé\u202f; ajoutez le signe moins à la {lost[i]}")
            else:
                message = (f"point hors de France et des outre-mer (lon {degrees(lon[i])}, "
                           f"lat {degrees(lat[i])})\u00a0: site non localisé")
            result.issues.append(Issue(result.row_number(i), f"{columns[0]}/{columns[1]}"
                                       if columns[0] != "geometry" else "geometry", message))
        lon, lat = lon.copy(), lat.copy()
        lon[outside] = lat[outside] = np.nan
    return lon, lat


def _typed_points(table: pd.DataFrame) -> np.ndarray | None:
    """The rows whose point was typed in the table (``None``: all), not found by our
    geocoder from the address nor placed by a person: the ones to check."""
    from .vocabulary import GeocodeStatus

    if "geocode_status" not in table:
        return None
    status = table["geocode_status"].astype(str).to_numpy()
    return np.flatnonzero(~np.isin(status, [GeocodeStatus.OK, GeocodeStatus.CORRECTED]))


def _set_aside(lon: np.ndarray, lat: np.ndarray, found: dict[int, str],
               result: Initiatives):
    """Take the points of ``found`` (position → why) out of the study: each site goes to
    the review with its cause, its typed point kept in :attr:`Initiatives.contradicted` to
    be accepted there."""
    if not found:
        return lon, lat
    columns = result.coordinate_columns
    where = f"{columns[0]}/{columns[1]}" if columns else "geometry"
    lon, lat = lon.copy(), lat.copy()
    for i, message in found.items():
        result.issues.append(Issue(result.row_number(i), where, message))
        result.contradicted[i] = (float(lon[i]), float(lat[i]))
        lon[i] = lat[i] = np.nan
    return lon, lat


def _check_address(lon: np.ndarray, lat: np.ndarray, table: pd.DataFrame,
                   detection: Detection, result: Initiatives, rows: np.ndarray | None):
    """Typed coordinates that contradict the row's own postcode, INSEE code or commune
    are not used (:mod:`geo.placecheck`)."""
    from .placecheck import contradictions

    def column(role: str):
        name = detection.found.get(role)
        return table.get(name) if name else None

    return _set_aside(lon, lat, contradictions(
        lon, lat, rows=rows, postcode=column("postcode"), citycode=column("citycode"),
        city=column("city")), result)


#: The columns of the national address service's CSV answer that say how sure it was.
_EARLIER = ("result_score", "result_type", "result_citycode", "result_postcode",
            "result_label", "result_score_next")


def _check_earlier_geocoder(lon: np.ndarray, lat: np.ndarray, table: pd.DataFrame,
                            detection: Detection, result: Initiatives,
                            rows: np.ndarray | None, min_score: float):
    """A table geocoded earlier (the national service's ``result_score``, ``result_type``,
    ``result_citycode``… columns) keeps its doubts: a row whose earlier answer the tool's
    own rule (:func:`geo.geocode.assess`) would send to the review goes there, its point
    not used until a person accepts or corrects it."""
    from .geocode import STATUS_REVIEW, assess

    names = {normal_name(c): c for c in map(str, table.columns)}
    earlier = {key: names[key] for key in _EARLIER if key in names}
    if not {"result_score", "result_type", "result_citycode"} & set(earlier):
        return lon, lat

    def text(column: str | None) -> list[str]:
        if not column or column not in table:
            return [""] * len(table)
        values = table[column].astype(object)
        return values.where(values.notna(), "").astype(str).str.strip().tolist()

    answers = {key: text(column) for key, column in earlier.items()}
    address = text((detection.columns.address or [None])[0])
    citycode = text(detection.found.get("citycode"))
    # rows whose point already contradicts their address are judged too: both causes said
    aside = dict(result.contradicted)
    check = np.union1d(np.flatnonzero(~np.isnan(lon) & ~np.isnan(lat)),
                       np.array(sorted(aside), dtype=int))
    if rows is not None:
        check = np.intersect1d(check, rows)
    found: dict[int, str] = {}
    for i in check:
        answer = {key: values[i] for key, values in answers.items()}
        if not (answer.get("result_score") or answer.get("result_type")):
            continue  # a row the earlier geocoder did not answer: nothing to doubt
        for key in ("result_score", "result_score_next"):  # saved by French Excel
            answer[key] = answer.get(key, "").replace(",", ".")
        answer.update(latitude=str(aside[i][1] if i in aside else lat[i]),
                      result_label=answer.get("result_label") or "?")
        # no postcode comparison: a CEDEX code differs from the street's own and says
        # nothing of the place (the département is checked by geo.placecheck)
        row = {"address": address[i], "q": address[i], "postcode": "",
               "citycode": citycode[i]}
        status, reason = assess(row, answer, min_score=min_score)
        if status != STATUS_REVIEW:
            continue
        doubt = f"géocodage antérieur douteux ({reason})"
        said = next((x for x in reversed(result.issues)
                     if x.row == result.row_number(int(i))), None) if i in aside else None
        if said is not None:
            said.message = f"{doubt}\u00a0; {said.message}"
        else:
            found[int(i)] = (f"{doubt}\u00a0: à vérifier\u00a0; site non compté dans les "
                             "quartiers tant que ses coordonnées ne sont pas corrigées ou "
                             "acceptées à la relecture")
    return _set_aside(lon, lat, found, result)


def _check_duplicates(result: Initiatives) -> None:
    """Report identical rows, and site identifiers used twice (an initiative identifier may
    repeat: one row per site)."""
    sites = result.sites
    if not len(sites):
        return
    site_column = result.site_column
    if site_column is not None:
        ids = sites[site_column].astype(object).where(sites[site_column].notna(), "")
        ids = ids.astype(str).str.strip()
        first_row: dict[str, int] = {}
        for i, value in enumerate(ids):
            if value and value in first_row:
                result.issues.append(Issue(
                    result.row_number(i), site_column, f"identifiant de site « {value} » en "
                    f"double (déjà ligne {result.row_number(first_row[value])})"))
            first_row.setdefault(value, i)
    # identical rows, found by hashing each row (no string built per row)
    key_columns = [c for c in sites.columns if c != "geometry"]
    values = sites[key_columns].astype(object)
    frame = values.where(values.notna(), "").astype(str)
    frame["\u241f"] = shapely.to_wkb(sites.geometry.values, hex=True)
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    twice = pd.Series(hashes).duplicated(keep="first").to_numpy()
    if not twice.any():
        return
    first_of = {}
    for i, h in enumerate(hashes):
        first_of.setdefault(h, i)
    for i in np.flatnonzero(twice):
        first = first_of[hashes[i]]
        if frame.iloc[i].equals(frame.iloc[first]):  # a hash collision is no duplicate
            result.issues.append(Issue(
                result.row_number(i), result.id_column,
                f"ligne identique à la ligne {result.row_number(first)} (doublon ?)"))


def initiative_ids(initiatives: Initiatives) -> pd.Series:
    """Return the initiative identifier of each site (its row number when there is none)."""
    sites = initiatives.sites
    rows = pd.Series([f"ligne {initiatives.row_number(i)}" for i in range(len(sites))])
    if initiatives.id_column is None:
        return rows
    ids = sites[initiatives.id_column].astype(str).str.strip().reset_index(drop=True)
    return ids.where(ids != "", rows)
