"""What each site brings and when it was there, read from the user's table.

Indicators (jobs, volunteers, people reached…) are numbers written the French way
(``1 234,5``, ``12``, ``3,5 €``); a cell that says the value is not known (``n.c.``, ``?``,
``-``) or is empty stays blank — never 0. A cell that is no plain number (``12 k€``,
``10-15``, ``env. 5``) is refused, naming its file, row and column: a sum built on a guess is
worse than no sum. Years (``2015``, ``2015-03-01``, ``01/03/2015``) say when a site opened and,
optionally, when it closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._errors import InputError
from .vocabulary import INDICATORS, ROLE_FR, Detection, normal_name

#: Cells that say « not known »: blank in every sum.
UNKNOWN = {"", "nc", "n.c", "n.c.", "nd", "n.d", "n.d.", "n/c", "n/d", "na", "n/a", "?", "-",
           "–", "—", "inconnu", "non connu", "non renseigne", "non renseigné", "ns", "s.o."}
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
#: ``1.234,5``: dots are thousands when a comma is the decimal mark.
_DOTTED = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d+)?$")
_CURRENCY = re.compile(r"(?:€|eur|euros?)$", re.IGNORECASE)
#: Years a site may open or close in.
YEARS = (1800, 2100)
_YEAR = re.compile(r"^(\d{4})(?:\.0+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-\d{1,2}(?:-\d{1,2})?(?:[ T].*)?$")
_FR_DATE = re.compile(r"^(?:\d{1,2}[/.-])?\d{1,2}[/.-](\d{4})$")
#: A column recognised by its name only is taken as an indicator (or a year) when at least
#: this share of its filled cells reads; below, it is left as text and the report says why.
_BY_NAME_SHARE = 0.5
#: Bad cells named in the message.
_SHOWN = 5


@dataclass
class Measures:
    """The indicators and years of every site (positions as in the table).

    ``values`` has one float column per indicator, named as in the user's table (NaN:
    blank); ``labels`` gives each its French label; ``start`` and ``end`` are the years each
    site opened and closed (NaN: not known or still open).
    """

    values: pd.DataFrame
    labels: dict[str, str] = field(default_factory=dict)
    start: np.ndarray | None = None
    end: np.ndarray | None = None
    #: One French line per column set aside (recognised by name, but not numbers).
    report: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return list(self.values.columns)

    @property
    def has_years(self) -> bool:
        return self.start is not None and bool(np.isfinite(self.start).any())

    def years_shown(self) -> list[int]:
        """Every year from the first opening to the last year named (opening or closing)."""
        if not self.has_years:
            return []
        known = [self.start[np.isfinite(self.start)]]
        if self.end is not None:
            known.append(self.end[np.isfinite(self.end)])
        every = np.concatenate(known)
        return list(range(int(np.nanmin(self.start)), int(every.max()) + 1))

    @classmethod
    def empty(cls, n: int) -> Measures:
        return cls(pd.DataFrame(index=pd.RangeIndex(n)))


def _text(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def parse_amounts(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers written the French way; return (values, unreadable): NaN where blank or
    unknown, ``unreadable`` True where the cell is no plain number.

    >>> v, bad = parse_amounts(pd.Series(["1 234,5", "", "n.c.", "12 k€", "3 €", "-2"]))
    >>> v.tolist()[:3], float(v[4]), bad.tolist()
    ([1234.5, nan, nan], 3.0, [False, False, False, True, False, True])
    """
    text = _text(values)
    squeezed = text.str.replace(r"[\s\u00a0\u202f]", "", regex=True)
    squeezed = squeezed.str.replace(_CURRENCY, "", regex=True)
    dotted = squeezed.str.fullmatch(_DOTTED.pattern)
    squeezed = squeezed.where(~dotted, squeezed.str.replace(".", "", regex=False))
    plain = squeezed.str.fullmatch(_NUMBER.pattern)
    unknown = text.str.lower().isin(UNKNOWN)
    numbers = pd.to_numeric(squeezed.where(plain).str.replace(",", ".", regex=False),
                            errors="coerce").to_numpy(dtype=float)
    return numbers, (~plain & ~unknown).to_numpy()


def parse_years(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The year of each cell (``2015``, ``2015-03-01``, ``01/03/2015``, ``03/2015``, a
    date); return (years, unreadable), NaN where blank or unknown.

    >>> y, bad = parse_years(pd.Series(["2015", "2016-03-01 00:00:00", "1/3/2017", "", "x"]))
    >>> y.tolist()[:3], bad.tolist()
    ([2015.0, 2016.0, 2017.0], [False, False, False, False, True])
    """
    text = _text(values)
    year = pd.Series(np.nan, index=text.index)
    for pattern in (_YEAR, _ISO_DATE, _FR_DATE):
        found = text.str.extract(pattern, expand=False)
        year = year.fillna(pd.to_numeric(found, errors="coerce"))
    unknown = text.str.lower().isin(UNKNOWN)
    out_of_range = (year < YEARS[0]) | (year > YEARS[1])
    years = year.where(~out_of_range).to_numpy(dtype=float)
    return years, ((year.isna() | out_of_range) & ~unknown).to_numpy()


def read_measures(table: pd.DataFrame, detection: Detection, *, path: str = "",
                  first_row: int = 2) -> Measures:
    """The indicators and years of ``table`` as :class:`Measures`.

    Declared indicators (``detection.columns.indicators``) must read entirely; a column
    recognised by its name only is set aside (and said so) when most of its cells are no
    numbers, and must otherwise read entirely. Raises :class:`InputError` naming the first
    cells that do not read.
    """
    n = len(table)
    measures = Measures.empty(n)
    declared = list(detection.columns.indicators or [])
    labels = {detection.found[r.key]: r.label for r in INDICATORS if r.key in detection.found}
    for column in declared:
        if column not in table.columns:
            raise InputError(f"l'indicateur « {column} » n'est pas une colonne du tableau ; "
                             f"colonnes présentes : {', '.join(map(str, table.columns))}.",
                             path=path, parameters=("indicators",))
        labels.setdefault(column, column)
    for column, label in labels.items():
        values, bad = parse_amounts(table[column])
        if column not in declared and _set_aside(bad, table[column]):
            measures.report.append(f"colonne « {column} » non retenue comme indicateur "
                                   f"({label}) : ses valeurs ne sont pas des nombres")
            continue
        _refuse(table[column], bad, column, path, first_row,
                "n'est pas un nombre lisible : écrivez un nombre seul (1 234,5 ou 1234.5, "
                "sans unité ni « k »), ou laissez la cellule vide si la valeur n'est pas "
                "connue")
        measures.values[column] = values
        measures.labels[column] = label
    found = detection.found
    for role, attr in (("year", "start"), ("end_year", "end")):
        column = getattr(detection.columns, role) or found.get(role)
        if not column or column not in table.columns:
            continue
        years, bad = parse_years(table[column])
        if not getattr(detection.columns, role) and _set_aside(bad, table[column]):
            measures.report.append(f"colonne « {column} » non retenue comme "
                                   f"{ROLE_FR[role]} : ses valeurs ne sont pas des années")
            continue
        _refuse(table[column], bad, column, path, first_row,
                f"n'est pas une année lisible entre {YEARS[0]} et {YEARS[1]} (2015, "
                "2015-03-01 ou 01/03/2015)")
        setattr(measures, attr, years)
    if measures.start is not None and measures.end is not None:
        before = measures.end < measures.start
        if before.any():
            k = int(np.flatnonzero(before)[0])
            raise InputError(f"l'année de fin ({measures.end[k]:.0f}) précède l'année "
                             f"d'ouverture ({measures.start[k]:.0f}).", path=path,
                             row=k + first_row, column=_name(detection, "end_year"))
    elif measures.end is not None:
        measures.start = np.full(n, np.nan)
    return measures


def _name(detection: Detection, role: str) -> str | None:
    return getattr(detection.columns, role) or detection.found.get(role)


def _set_aside(bad: np.ndarray, values: pd.Series) -> bool:
    filled = (_text(values) != "").to_numpy()
    return bool(filled.any() and bad[filled].mean() > 1 - _BY_NAME_SHARE)


def _refuse(values: pd.Series, bad: np.ndarray, column: str, path: str, first_row: int,
            what: str) -> None:
    rows = np.flatnonzero(bad)
    if not len(rows):
        return
    text = _text(values).to_numpy()
    first = int(rows[0])
    others = "".join(f" ; ligne {int(k) + first_row} : « {text[k]} »"
                     for k in rows[1:_SHOWN])
    more = f" (et {len(rows) - _SHOWN} autre(s))" if len(rows) > _SHOWN else ""
    raise InputError(f"« {text[first]} » {what}." + (f" À corriger aussi{others}{more}."
                                                     if others else ""),
                     path=path, row=first + first_row, column=column,
                     parameters=("indicators",))


def indicator_label(column: str) -> str:
    """The French label of an indicator column (its role's, else its own name)."""
    key = normal_name(column)
    for role in INDICATORS:
        if key in role.aliases:
            return role.label
    return column
