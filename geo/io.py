"""Write tables and layers to disk, the format chosen from the file extension.

Every writer goes through a temporary file in the target folder, moved into place only once
complete: an interrupted run never leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ._errors import EssQpvError, InputError

#: Extensions the writers know, with the name shown to users.
FORMATS = {".csv": "CSV", ".xlsx": "Excel", ".geojson": "GeoJSON", ".gpkg": "GeoPackage"}


def output_format(path: str | Path) -> str:
    """Return the extension of ``path`` if it is a known output format, else raise."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"format de sortie inconnu « {suffix or '(aucune extension)'} » ; "
            f"extensions possibles : {', '.join(FORMATS)}.", path=str(path))
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


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    except OSError as exc:
        raise EssQpvError(f"impossible d'écrire {path} : {exc.strerror or exc} (dossier en "
                          "lecture seule, inexistant ou protégé ?) ; rien n'a été écrit.") \
            from exc
    os.close(fd)
    os.unlink(tmp)  # some drivers (GPKG) refuse to write over an existing empty file
    try:
        yield Path(tmp)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise EssQpvError(f"impossible d'écrire {path} : {exc.strerror or exc}.") from exc
    finally:
        Path(tmp).unlink(missing_ok=True)


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
                table.to_csv(tmp, index=False, encoding=CSV_ENCODING, sep=CSV_SEPARATOR)
            else:
                _write_xlsx({layer or "Feuille1": table}, tmp)
    return Path(path)


def write_workbook(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write several tables as the sheets of one Excel workbook (names cut to 31 characters)."""
    if Path(path).suffix.lower() != ".xlsx":
        raise InputError("un classeur Excel doit avoir l'extension .xlsx.", path=str(path))
    with atomic_path(path) as tmp:
        _write_xlsx(sheets, tmp)
    return Path(path)




def _write_xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """Write sheets with a frozen header, filters and fitted widths.

    Text is always stored as text: a cell such as ``=HYPERLINK(...)`` coming from user input
    is never turned into a formula (spreadsheet formula injection).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=name[:31])
        sheet.append([_cell_value(str(c)) for c in frame.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            sheet.append([_cell_value(v) for v in row])
        for cells in sheet.iter_rows(min_row=1):  # headers are user text too
            for cell in cells:
                if isinstance(cell.value, str) and cell.data_type == "f":
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
        if len(frame.columns):
            sheet.auto_filter.ref = sheet.dimensions
        for i, col in enumerate(frame.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(500)])
            sheet.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
    book.save(path)


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
