"""What each site brings and when it was there, read from the user's table.

Indicators (jobs, volunteers, people reached…) are read as typed: a cell the file holds as a
number (a workbook's numeric cell, a GeoJSON number) is that number, never its text read
again. A text cell is read the French way where that is unambiguous (``1 234,5``, ``12``,
``3,5 €``, ``1.234,5``, ``1.234.567``); ``2.125`` or ``1,234`` (one mark, then three digits)
is read as a decimal and said, since it may have meant thousands. A cell that says the value
is not known (``n.c.``, ``?``, ``-``) or is empty stays blank — never 0. A cell that is no
plain number (``12 k€``, ``10-15``, ``env. 5``) or an absurdly large one is refused, naming its
file, row and column: a sum built on a guess is worse than no sum. Years (``2015``,
``2015-03-01``, ``01/03/2015``) say when a site opened and, optionally, when it closed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._errors import InputError
from .vocabulary import INDICATORS, ROLE_FR, Detection, normal_name

#: Cells that say « not known »: blank in every sum.
UNKNOWN = {"", "nc", "n.c", "n.c.", "nd", "n.d", "n.d.", "n/c", "n/d", "na", "n/a", "?", "-",
           "–", "—", "inconnu", "non connu", "non renseigne", "non renseigné", "ns", "s.o."}
#: ``12``, ``3,5``, ``0.5``: digits, at most one decimal mark.
_PLAIN = re.compile(r"(?P<whole>[0-9]+)(?:[.,](?P<decimals>[0-9]+))?")
#: ``1 234``, ``1.234,5``, ``1.234.567``: groups of three digits behind a first group of
#: one to three, then maybe a decimal part behind the other mark.
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?P<mark>[ .,])[0-9]{3}(?:(?P=mark)[0-9]{3})*"
                      r"(?:(?P<decimal>[.,])[0-9]+)?")
#: A decimal part that a thousands reading could claim (``2.125``: 2,125 or 2 125?).
_THOUSANDS_LIKE = re.compile(r"[1-9][0-9]{0,2}")
_CURRENCY = re.compile(r"\s*(?:€|eur|euros?)$", re.IGNORECASE)
#: Larger than this in absolute value, a cell is no indicator (a pasted identifier, a typo).
LARGEST = 1e15
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
#: Longer cell texts are cut in messages.
_SHOWN_CHARS = 40
#: Key of :class:`TypedNumbers` in a table's ``attrs``.
TYPED_NUMBERS = "ess_qpv_typed_numbers"


class TypedNumbers(Mapping):
    """The cells a file holds as numbers (a workbook's numeric cells), by column: for each,
    a frame of their ``value`` (float) and the ``text`` the table shows in their place,
    indexed as the table.

    Travels in the table's ``attrs`` (:data:`TYPED_NUMBERS`), so the table itself stays text
    (``01004`` keeps its zero) and every reader of it is unchanged. Read-only: pandas copies
    ``attrs`` at every step, this is shared instead; a cell whose text has changed since
    (another value written in the column) is no longer taken from it.
    """

    def __init__(self, columns: Mapping[str, pd.DataFrame]) -> None:
        self._columns = dict(columns)

    def __getitem__(self, column: str) -> pd.DataFrame:
        return self._columns[column]

    def __iter__(self):
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def __deepcopy__(self, memo) -> TypedNumbers:
        return self

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @classmethod
    def of(cls, cells: pd.DataFrame, text: pd.DataFrame) -> TypedNumbers:
        """The numeric cells of ``cells`` (Python objects as a workbook reader returns them;
        booleans and dates are no numbers), shown as ``text`` (same shape and index; its
        column names are the ones kept)."""
        columns = {}
        for i, name in enumerate(text.columns):
            values = cells.iloc[:, i]
            kind = values.map(type)
            number = kind.map(_is_number_type).to_numpy(dtype=bool)
            if number.any():
                columns[name] = pd.DataFrame(
                    {"value": values[number].astype(float),
                     "text": text.iloc[:, i][number].astype(object).str.strip()})
        return cls(columns)


def _is_number_type(kind: type) -> bool:
    return issubclass(kind, (int, float, np.integer, np.floating)) and not issubclass(
        kind, (bool, np.bool_))


@dataclass(frozen=True)
class Amounts:
    """A column of indicator cells, read (positions as in the column)."""

    #: The numbers; NaN where blank, unknown or refused.
    values: np.ndarray
    #: Cells that are no plain number.
    unreadable: np.ndarray
    #: Cells beyond :data:`LARGEST` in absolute value, or not finite.
    too_large: np.ndarray
    #: Text cells read as decimals that may have meant thousands (``2.125``, ``1,234``).
    odd: np.ndarray


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
    #: One French line per column set aside (recognised by name, but not numbers) and per
    #: column whose text cells were read as decimals when they may have meant thousands.
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
    """Numbers as typed (see :func:`read_amounts`); return (values, refused): NaN where
    blank or unknown, ``refused`` True where the cell is no plain number or is too large.

    >>> v, bad = parse_amounts(pd.Series(["1 234,5", "", "n.c.", "12 k€", "3 €", "-2"]))
    >>> v.tolist()[:3], float(v[4]), bad.tolist()
    ([1234.5, nan, nan], 3.0, [False, False, False, True, False, True])
    """
    amounts = read_amounts(values)
    return amounts.values, amounts.unreadable | amounts.too_large


def read_amounts(values: pd.Series) -> Amounts:
    """Indicator cells read as typed.

    A numeric column (a GeoJSON number) or a cell the file typed as a number
    (:class:`TypedNumbers` in ``values.attrs``) is taken as it is. Text is normalised
    (NFKC: ``１２`` is 12) and read the French way where unambiguous: a thousands mark needs
    groups of three digits and either the other mark as decimal (``1.234,5``, ``1,234.5``),
    several groups (``1.234.567``) or a space (``1 234``); otherwise one mark is a decimal
    (``0.500`` is 0.5), and ``2.125`` or ``1,234`` — three digits behind a mark that could
    be thousands — is a decimal marked ``odd``.

    >>> a = read_amounts(pd.Series(["2.125", "0.500", "1.234.567", "１２", "1" * 400]))
    >>> a.values.tolist()[:4], a.odd.tolist(), a.too_large.tolist()
    ([2.125, 0.5, 1234567.0, 12.0], [True, False, False, False, False], \
[False, False, False, False, True])
    """
    n = len(values)
    if pd.api.types.is_numeric_dtype(values.dtype) and \
            not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        unreadable, odd = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    else:
        text = _text(values)
        where, uniques = pd.factorize(text.to_numpy(dtype=object))
        read = [_amount(cell) for cell in uniques] or [(np.nan, False, False)]
        numbers = np.array([r[0] for r in read], dtype=float)[where]
        unreadable = np.array([r[1] for r in read], dtype=bool)[where]
        odd = np.array([r[2] for r in read], dtype=bool)[where]
        typed = _typed(values, text)
        if typed is not None:
            known = ~np.isnan(typed)
            numbers = np.where(known, typed, numbers)
            unreadable &= ~known
            odd &= ~known
    with np.errstate(invalid="ignore"):
        too_large = ~np.isnan(numbers) & ~(np.abs(numbers) <= LARGEST)
    return Amounts(np.where(too_large, np.nan, numbers), unreadable, too_large, odd)


def _amount(cell: str) -> tuple[float, bool, bool]:
    """(value, unreadable, odd) of one stripped text cell."""
    if cell.lower() in UNKNOWN:
        return np.nan, False, False
    text = unicodedata.normalize("NFKC", cell).strip()
    if text.lower() in UNKNOWN:
        return np.nan, False, False
    text = " ".join(_CURRENCY.sub("", text).split())
    plain = _PLAIN.fullmatch(text)
    if plain:
        odd = plain["decimals"] is not None and len(plain["decimals"]) == 3 and \
            _THOUSANDS_LIKE.fullmatch(plain["whole"]) is not None
        return float(text.replace(",", ".")), False, odd
    grouped = _GROUPED.fullmatch(text)
    if grouped and grouped["decimal"] != grouped["mark"] and (
            grouped["mark"] == " " or grouped["decimal"] or text.count(grouped["mark"]) > 1):
        whole = text.replace(grouped["mark"], "")
        return float(whole.replace(",", ".")), False, False
    return np.nan, True, False


def _typed(values: pd.Series, text: pd.Series) -> np.ndarray | None:
    """The numbers the file typed in ``values`` (NaN elsewhere), when its table said so."""
    found = values.attrs.get(TYPED_NUMBERS)
    cells = found.get(values.name) if isinstance(found, TypedNumbers) else None
    if cells is None or not values.index.is_unique:
        return None
    cells = cells.reindex(values.index)
    same = (cells["text"] == text).to_numpy(dtype=bool)
    return np.where(same, cells["value"].to_numpy(dtype=float), np.nan)


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
        amounts = read_amounts(table[column])
        if column not in declared and _set_aside(amounts.unreadable | amounts.too_large,
                                                 table[column]):
            measures.report.append(f"colonne « {column} » non retenue comme indicateur "
                                   f"({label}) : ses valeurs ne sont pas des nombres")
            continue
        _refuse(table[column], amounts.unreadable, column, path, first_row,
                "n'est pas un nombre lisible : écrivez un nombre seul (1 234,5 ou 1234.5, "
                "sans unité ni « k »), ou laissez la cellule vide si la valeur n'est pas "
                "connue")
        _refuse(table[column], amounts.too_large, column, path, first_row,
                f"est hors d'échelle pour un indicateur (au-delà de {LARGEST:.0e} en valeur "
                "absolue) : un identifiant ou une faute de frappe ?")
        measures.report.extend(_odd_line(table[column], amounts, column, first_row))
        measures.values[column] = amounts.values
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
    others = "".join(f" ; ligne {int(k) + first_row} : « {_cut(text[k])} »"
                     for k in rows[1:_SHOWN])
    left = len(rows) - _SHOWN
    more = f" (et {_count(left, 'autre', 'autres')})" if left > 0 else ""
    raise InputError(f"« {_cut(text[first])} » {what}." + (
        f" À corriger aussi{others}{more}." if others else ""),
        path=path, row=first + first_row, column=column, parameters=("indicators",))


def _odd_line(values: pd.Series, amounts: Amounts, column: str, first_row: int
              ) -> list[str]:
    """The French line naming a column's cells read as decimals that may be thousands."""
    rows = np.flatnonzero(amounts.odd)
    if not len(rows):
        return []
    text = _text(values).to_numpy()
    shown = " ; ".join(f"« {text[k]} » ligne {int(k) + first_row} lu "
                       f"{_french(amounts.values[k])}" for k in rows[:_SHOWN])
    if len(rows) > _SHOWN:
        shown += f" ; … et {_count(len(rows) - _SHOWN, 'autre', 'autres')}"
    read = "lue comme une décimale" if len(rows) == 1 else "lues comme des décimales"
    return [f"colonne « {column} » : {_count(len(rows), 'valeur', 'valeurs')} {read} "
            f"({shown}) : vérifiez s'il s'agissait de milliers"]


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _french(value: float) -> str:
    """A decimal with three places at most, the French way (2,125)."""
    return f"{value:.3f}".rstrip("0").rstrip(".").replace(".", ",")


def _cut(text: str) -> str:
    """A cell's text short enough for a message."""
    if len(text) <= _SHOWN_CHARS:
        return text
    return f"{text[:_SHOWN_CHARS - 10]}… ({len(text)} caractères)"


def indicator_label(column: str) -> str:
    """The French label of an indicator column (its role's, else its own name)."""
    key = normal_name(column)
    for role in INDICATORS:
        if key in role.aliases:
            return role.label
    return column
