"""The tables a person opens — CSV, Excel and the web page alike — in French: headers,
statuses and yes/no in words, distances in metres as numbers, the quartiers that hold or
serve sites first. The Python API keeps its English names (:mod:`geo.link`); this module is
the one place that turns them into what a study team reads, and back when one of our own
tables is read again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .columns import parse_numbers
from .vocabulary import (
    CORE_OUTPUT_COLUMNS,
    HEADER_NOTES,
    LONG_HEADERS,
    ORIGINAL_SUFFIX,
    OUTPUT_COLUMNS,
    PER_INITIATIVE_HEADERS,
    QPV_HEADERS,
    SITE_HEADERS,
    TERRITORY_HEADERS,
    VALUE_LABELS,
    Relation,
)

#: Columns of a table held as text in memory that are written as numbers (the review's
#: score and proposed point come as the geocoder wrote them, « 48.8566 »).
NUMERIC = {"relecture": ("score", "latitude_proposee", "longitude_proposee")}
#: The headers of each table an output holds (the review's are French already).
HEADERS = {"sites": SITE_HEADERS, "detail": LONG_HEADERS,
           "par_initiative": PER_INITIATIVE_HEADERS, "par_quartier": QPV_HEADERS,
           "par_territoire": TERRITORY_HEADERS, "relecture": {}}
_COUNT = {Relation.IMPLANTED: "Implantées", Relation.NEARBY: Relation.NEARBY.label.capitalize(),
          Relation.SERVED: "Y intervenant"}
#: The French headers of the per-site table, back to their internal names (phrases no
#: user's own table holds, unlike « Quartier » or « Code »).
_BACK = {fr: en for en, fr in SITE_HEADERS.items()}


def french(table: pd.DataFrame, kind: str, *, numeric: Sequence[str] = ()) -> pd.DataFrame:
    """``table`` (one of :data:`HEADERS`) as a person reads it; the columns of ``numeric``
    (and :data:`NUMERIC`), held as text, become numbers where they read as one
    (:func:`numbers_where_readable`), so that a spreadsheet gets numbers."""
    out = pd.DataFrame(table).copy()
    if "geometry" in out and kind != "sites":
        out = out.drop(columns="geometry")
    for column in (*numeric, *NUMERIC.get(kind, ())):
        if column in out:
            out[column] = numbers_where_readable(out[column])
    for column, labels in VALUE_LABELS.items():
        if column in out:
            values = out[column].astype(object)
            out[column] = values.map(lambda v, labels=labels: labels.get(v, v)
                                     if isinstance(v, str) else v)
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = out[column].map({True: "oui", False: "non"})
    if "distance_m" in out:  # whole metres, as numbers
        out["distance_m"] = pd.to_numeric(out["distance_m"], errors="coerce").round().astype(
            "Int64")
    if kind in ("par_quartier", "par_territoire"):
        out = quartiers_with_sites_first(out)
    headers = HEADERS[kind]
    return out.rename(columns=lambda c: headers.get(c, _by_theme(c)))


def numbers_where_readable(values: pd.Series) -> pd.Series:
    """Cells read as coordinates are (:func:`geo.columns.parse_numbers`: a point or a
    comma) become numbers; the others keep their text, an empty one stays empty.

    >>> numbers_where_readable(pd.Series(["48.85", "2,35", "", "n.c.", 3.5])).tolist()
    [48.85, 2.35, '', 'n.c.', 3.5]
    """
    numbers = parse_numbers(values)
    out = pd.Series(values.to_numpy(dtype=object), index=values.index, dtype=object)
    readable = ~np.isnan(numbers)
    out[readable] = numbers[readable]
    return out


def quartiers_with_sites_first(table: pd.DataFrame) -> pd.DataFrame:
    """The rows that hold or serve initiatives first (most first), the others after, each
    group in its own order."""
    if "n_initiatives" not in table:
        return table
    if "niveau" in table:  # per territory: the levels stay together
        key = table["niveau"].map({v: i for i, v in enumerate(dict.fromkeys(
            table["niveau"]))})
        order = pd.DataFrame({"k": key, "n": -table["n_initiatives"]}).sort_values(
            ["k", "n"], kind="stable").index
    else:
        order = (-table["n_initiatives"]).sort_values(kind="stable").index
    return table.loc[order].reset_index(drop=True)


def _by_theme(column: str) -> str:
    """``n_implanted:recyclerie`` → ``Implantées – recyclerie``; other names unchanged."""
    if column.startswith("n_") and ":" in column:
        relation, _, theme = column[2:].partition(":")
        return f"{_COUNT.get(relation, relation)} – {theme}"
    return column


def internal(table: pd.DataFrame) -> pd.DataFrame:
    """One of our own tables read again: its French headers and statuses back to the
    internal names and codes (so that running again on an enriched file gives the same
    file).

    A table that is not one of ours (it lacks some of :data:`~geo.vocabulary.
    CORE_OUTPUT_COLUMNS`) keeps its columns named like our output columns (or their French
    headers) under another name, « relation (fichier d'origine) », so that they are never
    taken for ours; that, and headers made unique (« nom.1 »), is said in
    ``attrs[HEADER_NOTES]`` (:func:`geo.columns.detect_columns` reports it).
    """
    names = [str(c) for c in table.columns]
    ours = {c: _BACK.get(c, c) for c in names if _BACK.get(c, c) in OUTPUT_COLUMNS}
    own = set(CORE_OUTPUT_COLUMNS) <= set(ours.values())
    renamed, aside = {}, {}
    for c in names:
        back = _BACK.get(c, c)
        if c in ours and not (own and (c == back or back not in names)):
            aside[c] = _free_name(c + ORIGINAL_SUFFIX, names, aside.values())
        elif c != back and back not in names:
            renamed[c] = back
    notes = _header_notes(names, aside)
    if not renamed and not aside and not notes:
        return table
    out = table.rename(columns={**renamed, **aside})
    for column, labels in VALUE_LABELS.items():
        if column in renamed.values():
            back = {fr: code for code, fr in labels.items()}
            out[column] = out[column].map(lambda v, back=back: back.get(v, v)
                                          if isinstance(v, str) else v)
    out.attrs[HEADER_NOTES] = [*table.attrs.get(HEADER_NOTES, []), *notes]
    return out


def _free_name(name: str, names: list[str], taken) -> str:
    """``name``, or ``name`` with a number, that no column holds."""
    out, k = name, 2
    while out in names or out in taken:
        out, k = f"{name} {k}", k + 1
    return out


#: A header made unique by the reader (« nom.1 » for the second « nom »).
_REPEATED = re.compile(r"^(.*)\.(\d+)$")


def _header_notes(names: list[str], aside: dict[str, str]) -> list[str]:
    """What reading did to the headers, in French: columns named like ours set aside,
    headers found twice."""
    notes = []
    if aside:
        notes.append("colonnes du tableau nommées comme les résultats de l’outil, gardées sous "
                     "un autre nom pour ne pas être confondues avec eux\u00a0: " + ", ".join(
                         f"«\u00a0{c}\u00a0» devient «\u00a0{new}\u00a0»"
                         for c, new in aside.items()))
    present = set(names)
    for c in names:
        found = _REPEATED.match(c)
        if found and found[1] in present:
            notes.append(f"en-tête «\u00a0{found[1]}\u00a0» en double\u00a0: l’une des "
                         f"colonnes est lue sous le nom «\u00a0{c}\u00a0»")
    return notes
