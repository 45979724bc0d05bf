"""Formulas in a workbook that no spreadsheet program has computed.

A workbook written by a script (openpyxl, a database export) may hold formulas without the
value a spreadsheet program stores beside them when it saves; a reader then finds these
cells empty. :func:`check_computed` says so instead, with the cell and the fix.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ._errors import InputError
from .typography import plural

#: A formula element in a worksheet's XML (``<f>…</f>``, ``<f t="shared" …/>``, ``<x:f>``)
#: that ends its cell with no value or an empty one (``<v/>``): a formula maybe never
#: computed (a spreadsheet program writes its value after it).
_UNCOMPUTED = re.compile(rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>)\s*"
                         rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*"
                         rb"</(?:\w+:)?c>")


def check_computed(path: str | Path, sheet: str | int | None = None) -> None:
    """Raise an :class:`InputError` naming the first cell of ``sheet`` (a name, an index
    from 0, or the first sheet) of the ``.xlsx`` workbook ``path`` that holds a formula
    without a computed value, with how many such cells there are and how to fix it (open
    and save the file in a spreadsheet program). A workbook whose formulas all hold a value
    is only scanned for them, not read again."""
    path = Path(path)
    if not _maybe_uncomputed(path):
        return
    import openpyxl

    with path.open("rb") as raw, path.open("rb") as raw_values:  # whatever its extension
        _check(openpyxl.load_workbook(raw, read_only=True, data_only=False),
               openpyxl.load_workbook(raw_values, read_only=True, data_only=True), path, sheet)


def _check(formulas, values, path: Path, sheet: str | int | None) -> None:
    try:
        name = sheet if isinstance(sheet, str) else formulas.sheetnames[sheet or 0]
        rows = zip(formulas[name].iter_rows(), values[name].iter_rows(values_only=True),
                   strict=False)
        header: list = []
        missing: list[tuple[int, int, str]] = []
        for number, (cells, computed) in enumerate(rows, start=1):
            if number == 1:
                header = list(computed)
            for i, cell in enumerate(cells):
                text = cell.value
                if isinstance(text, str) and text.startswith("=") and \
                        (i >= len(computed) or computed[i] is None):
                    missing.append((number, i, text))
    finally:
        formulas.close()
        values.close()
    if not missing:
        return
    row, i, text = missing[0]
    column = str(header[i]) if i < len(header) and header[i] is not None else f"n° {i + 1}"
    more = f" (et {plural(len(missing) - 1, 'autre cellule')} de même)" if len(missing) > 1 else ""
    raise InputError(
        f"la cellule contient une formule ({text[:40]}) sans valeur calculée{more}\u00a0: le "
        "classeur a été écrit par un programme qui ne calcule pas les formules. Ouvrez-le dans "
        "votre tableur (Excel, LibreOffice Calc) et enregistrez-le, puis relancez.",
        path=str(path), row=row, column=column)


def _maybe_uncomputed(path: Path) -> bool:
    """Whether a worksheet of the workbook holds a formula without a value (a scan of its
    XML; an empty value may be a computed empty text, which the workbook's reading tells)."""
    try:
        with zipfile.ZipFile(path) as book:
            for info in book.infolist():
                if info.filename.startswith("xl/worksheets/") and \
                        info.filename.endswith(".xml"):
                    with book.open(info) as part:
                        tail = b""
                        while chunk := part.read(1 << 20):
                            if _UNCOMPUTED.search(tail + chunk):
                                return True
                            tail = chunk[-256:]
    except (zipfile.BadZipFile, OSError):
        return False  # the reader says what is wrong with the file
    return False
