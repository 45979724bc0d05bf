"""The tables a person opens — CSV, Excel and the web page alike — in French: headers,
statuses and yes/no in words, distances in metres as numbers, the quartiers that hold or
serve sites first. The Python API keeps its English names (:mod:`geo.link`); this module is
the one place that turns them into what a study team reads, and back when one of our own
tables is read again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .columns import parse_numbers
from .vocabulary import (
    LONG_HEADERS,
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
    file)."""
    renamed = {c: _BACK[c] for c in table.columns if c in _BACK and _BACK[c] not in table}
    if not renamed:
        return table
    out = table.rename(columns=renamed)
    for column, labels in VALUE_LABELS.items():
        if column in renamed.values():
            back = {fr: code for code, fr in labels.items()}
            out[column] = out[column].map(lambda v, back=back: back.get(v, v)
                                          if isinstance(v, str) else v)
    return out
