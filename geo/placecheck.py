"""Coordinates checked against their own row's address.

Directories arrive with coordinates that somebody else computed, sometimes for a homonym
(Saint-Denis in La Réunion for Saint-Denis 93200), another row's or a lost minus sign. When a
row has both coordinates and a postcode, an INSEE code or a commune, a point outside the
département that address names (or, where the bundled outlines have the commune, far from
it) contradicts it: the site is not counted until a person corrects or accepts it, and the
cause is said in words (« coordonnées en Isère (38), adresse à Vénissieux (69) »).
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd
import shapely

from . import communes as commune_names
from .addresses import five_digits
from .outlines import commune_of_points, departement_of_points, departements
from .outlines import communes as commune_outlines
from .territories import commune_of_insee, normalise_departement

#: A point this far (metres) outside the département its address names contradicts it; the
#: outlines are simplified (about 100 m) and an address on a border may be placed across it.
DEPARTEMENT_TOLERANCE = 2_000.0
#: A point this far (metres) outside the commune its address names, or this deep inside
#: another commune, contradicts it (only where the outlines are bundled: the communes that
#: hold a quartier; simplified to about 30 m).
COMMUNE_TOLERANCE = 1_000.0
_METRES_PER_DEGREE = 111_320.0
_POSTCODE = re.compile(r"^\d{5}$")


def departement_of_insee(code: str) -> str:
    """The département of an INSEE commune code (``"69259"`` → ``"69"``, ``"97411"`` →
    ``"974"``, ``"2A004"`` → ``"2A"``).

    >>> departement_of_insee("69259"), departement_of_insee("97411"), departement_of_insee("2a004")
    ('69', '974', '2A')
    """
    code = str(code).strip().upper()
    return code[:3] if code.startswith("97") else code[:2]


def departements_of_postcode(code: str) -> frozenset[str]:
    """The départements a postcode may belong to (Corsica's ``20`` is either of two).

    >>> sorted(departements_of_postcode("20000")), sorted(departements_of_postcode("97400"))
    (['2A', '2B'], ['974'])
    >>> sorted(departements_of_postcode("97150"))
    ['978']
    """
    code = str(code).strip()
    if not _POSTCODE.match(code):
        return frozenset()
    if code.startswith("20"):
        return frozenset({"2A", "2B"})
    if code in _COLLECTIVITY_POSTCODES:
        return frozenset({_COLLECTIVITY_POSTCODES[code]})
    return frozenset({code[:3] if code.startswith(("97", "98")) else code[:2]})


#: Saint-Barthélemy and Saint-Martin keep Guadeloupe's postcodes (971…).
_COLLECTIVITY_POSTCODES = {"97133": "977", "97150": "978"}
#: Territories whose communes the bundled 2018 table and outlines do not hold: a name
#: there cannot be checked.
_UNLISTED = ("975", "977", "978", "986", "987", "988")


def contradictions(lon: np.ndarray, lat: np.ndarray, *, rows: np.ndarray | None = None,
                   postcode: pd.Series | None = None, citycode: pd.Series | None = None,
                   city: pd.Series | None = None) -> dict[int, str]:
    """The positions whose point (lon/lat degrees, EPSG:4326) contradicts the row's own
    postcode, INSEE code or commune name, each with its cause in French.

    ``rows``: the positions to check (default: every point known); a row whose address
    says nothing checkable (no code, an unknown name) is never contradicted.
    """
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    n = len(lon)
    if postcode is None and citycode is None and city is None:
        return {}
    known = ~(np.isnan(lon) | np.isnan(lat))
    if rows is not None:
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        known &= mask
    # each distinct address is read once (a directory names the same communes again and
    # again), then every point is compared at once; only the doubtful ones are measured
    key, expected, postcode_given = _expected_per_row(n, postcode, citycode, city)
    checkable = np.array([e is not None for e in expected], dtype=bool)
    check = np.flatnonzero(known & checkable[key])
    if not len(check):
        return {}
    point_dep = _departement_of(lon[check], lat[check], key[check], expected)
    near_commune = commune_of_points(lon[check], lat[check]).astype(str)
    check, point_dep, near_commune = _doubtful(check, key[check], point_dep, near_commune,
                                               expected)
    out: dict[int, str] = {}
    deps, communes = _departement_outlines(), _commune_outlines()
    for k, i in enumerate(check):
        allowed, commune, label = expected[key[i]]
        where, holder = str(point_dep[k]), str(near_commune[k])
        if where in _UNLISTED and not allowed & set(_UNLISTED) and not postcode_given[key[i]]:
            continue  # a name alone (« Saint-Martin ») cannot be checked there
        if where not in allowed and _distance_m(lon[i], lat[i], [deps.get(d) for d in allowed]
                                                ) > DEPARTEMENT_TOLERANCE:
            out[int(i)] = _said(lon[i], lat[i], f"coordonnées {_in(where)}", label, allowed)
        elif commune and holder != commune:
            # far from the commune named, or well inside another one (where outlines are)
            far = _distance_m(lon[i], lat[i], [communes.get(commune)]) \
                if commune in communes else 0.0
            deep = _distance_m(lon[i], lat[i], [shapely.boundary(communes[holder])]) \
                if holder in communes else 0.0
            if deep > COMMUNE_TOLERANCE:
                out[int(i)] = _said(lon[i], lat[i], f"coordonnées dans la commune "
                                    f"{_name_of(holder) or holder}", label, allowed)
            elif far > COMMUNE_TOLERANCE:
                out[int(i)] = _said(lon[i], lat[i], f"coordonnées à {_km(far)} de la "
                                    "commune", label, allowed)
    return out


def _expected_per_row(n: int, postcode, citycode, city
                      ) -> tuple[np.ndarray, list[tuple | None], list[bool]]:
    """Per row, the position of its address among the distinct ones, and per distinct
    address what :func:`_expected` says of it and whether it gives a postcode."""
    texts = pd.DataFrame({"citycode": _texts(citycode, n), "postcode": _texts(postcode, n),
                          "city": _texts(city, n)})
    key, distinct = pd.factorize(pd.MultiIndex.from_frame(texts)) if n else \
        (np.zeros(0, dtype=np.int64), [])
    distinct = pd.DataFrame(list(distinct), columns=texts.columns)
    m = len(distinct)
    expected = _expected(m, distinct["postcode"], distinct["citycode"], distinct["city"])
    given = [bool(departements_of_postcode(v)) for v in _codes(distinct["postcode"], m)]
    return np.asarray(key, dtype=np.int64), expected, given


def _departement_of(lon: np.ndarray, lat: np.ndarray, key: np.ndarray,
                    expected: list[tuple | None]) -> np.ndarray:
    """The département of each point (:func:`geo.outlines.departement_of_points`), found
    first among those its address allows (a prepared outline answers for thousands of
    points at once): the others, few, are looked for among all."""
    outlines = _departement_outlines()
    out = np.full(len(lon), "", dtype=object)
    by_dep: dict[str, list[int]] = {}
    for u, e in enumerate(expected):
        for d in e[0] if e else ():
            by_dep.setdefault(d, []).append(u)
    for d, keys in by_dep.items():
        if d not in outlines:
            continue
        rows = np.flatnonzero((out == "") & np.isin(key, keys))
        if len(rows):
            shapely.prepare(outlines[d])
            out[rows[shapely.contains_xy(outlines[d], lon[rows], lat[rows])]] = d
    rest = np.flatnonzero(out == "")
    if len(rest):
        out[rest] = departement_of_points(lon[rest], lat[rest])
    return out.astype(str)


def _doubtful(check: np.ndarray, key: np.ndarray, point_dep: np.ndarray,
              near_commune: np.ndarray, expected: list[tuple | None]):
    """The rows of ``check`` that may contradict their address: a point outside every
    département the address allows, or in another commune than the one it names where
    the outlines hold either; the others are in their place (no distance to measure)."""
    deps = pd.Index(sorted({*point_dep, *(d for e in expected if e for d in e[0])}))
    column = {d: j for j, d in enumerate(deps)}
    outlines = _commune_outlines()
    allowed = np.zeros((len(expected), len(deps)), dtype=bool)
    commune = np.full(len(expected), "", dtype=object)
    for u, e in enumerate(expected):
        if e is not None:
            allowed[u, [column[d] for d in e[0]]] = True
            commune[u] = e[1]
    outside = ~allowed[key, deps.get_indexer(point_dep)]
    named = commune[key]
    outlined = np.array([c in outlines for c in commune], dtype=bool)[key] | \
        pd.Series(near_commune).isin(outlines.keys()).to_numpy()
    elsewhere = (named != "") & (near_commune != named) & outlined
    keep = outside | elsewhere
    return check[keep], point_dep[keep], near_commune[keep]


def address_area(*, postcode: str = "", citycode: str = "", city: str = ""
                 ) -> shapely.Geometry | None:
    """The outline (EPSG:4326) of the place an address names: its commune where the bundled
    outlines hold it, else its département(s); ``None`` when it names nothing known.

    >>> address_area(postcode="69200", city="Vénissieux").bounds[0] > 4.8
    True
    """
    expected = _expected(1, pd.Series([postcode]), pd.Series([citycode]), pd.Series([city]))[0]
    if expected is None:
        return None
    allowed, commune, _ = expected
    if commune and commune in _commune_outlines():
        return _commune_outlines()[commune]
    shapes = [_departement_outlines()[d] for d in sorted(allowed)
              if d in _departement_outlines()]
    return shapely.union_all(shapes) if shapes else None


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f}".replace(".", ",").replace(",0", "") + "\u00a0km"


def _texts(series, n: int) -> list[str]:
    if series is None:
        return [""] * n
    values = pd.Series(series).astype(object)
    return values.where(values.notna(), "").astype(str).str.strip().tolist()


def _codes(series, n: int) -> list[str]:
    """Postcodes or INSEE codes, with the leading zero a spreadsheet dropped."""
    return [five_digits(v) for v in _texts(series, n)]


def _expected(n: int, postcode, citycode, city) -> list[tuple | None]:
    """Per row: (départements allowed, commune code or ``""``, label of the address), or
    ``None`` when the row names nothing checkable."""
    codes, posts, names = _codes(citycode, n), _codes(postcode, n), _texts(city, n)
    known_codes = commune_names.codes()
    by_name = _communes_by_name()
    out: list[tuple | None] = []
    for code, post, name in zip(codes, posts, names, strict=True):
        key = commune_names.name_key(name) if name else ""
        if code.upper().startswith(_UNLISTED) and len(code) == 5:
            dep = code[:3]
            out.append((frozenset({dep}), "", _label(name, dep)))
        elif code.upper() in known_codes:
            commune = commune_of_insee(code.upper())
            dep = departement_of_insee(commune)
            out.append((frozenset({dep}), commune, _label(_name_of(commune) or name, dep)))
        elif departements_of_postcode(post):
            allowed = departements_of_postcode(post)
            found = [c for c in by_name.get(key, ()) if departement_of_insee(c) in allowed]
            out.append((allowed, found[0] if len(found) == 1 else "",
                        _label(name or _name_of(found[0]) if found else name, None, post)))
        elif key in by_name:
            found = by_name[key]
            allowed = frozenset(departement_of_insee(c) for c in found)
            out.append((allowed, found[0] if len(found) == 1 else "",
                        _label(name, next(iter(allowed)) if len(allowed) == 1 else None)))
        else:
            out.append(None)
    return out


def _label(name: str, dep: str | None, post: str = "") -> str:
    where = post or dep
    return f"{name} ({where})" if name and where else name or where or "?"


def _in(dep: str) -> str:
    if not dep:
        return "hors de tout département (en mer\u00a0?)"
    name = _departement_names().get(dep)
    return f"dans le département {dep}" + (f" ({name})" if name else "")


def _said(lon: float, lat: float, where: str, label: str, allowed: frozenset[str]) -> str:
    """The cause in words, and what a swap or a lost sign would give when it lands on the
    address."""
    hint = ""
    for x, y, what in ((lat, lon, "latitude et longitude inversées"),
                       (-lon, lat, "signe moins perdu sur la longitude"),
                       (lon, -lat, "signe moins perdu sur la latitude")):
        if str(departement_of_points(np.array([x]), np.array([y]))[0]) in allowed:
            hint = f"\u00a0; {what}\u00a0? (corrigées, elles tombent bien dans le bon département)"
            break
    return (f"{where}, adresse à {label}{hint}\u00a0: à vérifier\u00a0; site non compté dans "
            "les quartiers tant que ses coordonnées ne sont pas corrigées ou acceptées à la "
            "relecture")


def _distance_m(lon: float, lat: float, shapes) -> float:
    """Distance in metres (approximate, degrees scaled at the point's latitude) from the
    point to the nearest of ``shapes`` (``inf`` for none)."""
    shapes = [s for s in shapes if s is not None]
    if not shapes:
        return float("inf")
    point = shapely.points(lon, lat)
    scale = np.cos(np.radians(lat))
    best = float("inf")
    for shape in shapes:
        a, b = shapely.shortest_line(point, shape).coords
        dx, dy = (b[0] - a[0]) * scale, b[1] - a[1]
        best = min(best, float(np.hypot(dx, dy)) * _METRES_PER_DEGREE)
    return best


@functools.cache
def _departement_outlines() -> dict[str, shapely.Geometry]:
    frame = departements()
    return dict(zip(frame["code"].map(normalise_departement), frame.geometry.values,
                    strict=True))


@functools.cache
def _departement_names() -> dict[str, str]:
    frame = departements()
    return dict(zip(frame["code"], frame["nom"], strict=True))


@functools.cache
def _commune_outlines() -> dict[str, shapely.Geometry]:
    frame = commune_outlines()
    return dict(zip(frame["code"], frame.geometry.values, strict=True))


@functools.cache
def _communes_by_name() -> dict[str, list[str]]:
    table = commune_names.communes()
    grouped: dict[str, list[str]] = {}
    for code, name in zip(table["code"], table["nom"], strict=True):
        grouped.setdefault(commune_names.name_key(name), []).append(code)
    return grouped


@functools.cache
def _commune_names() -> dict[str, str]:
    table = commune_names.communes()
    return dict(zip(table["code"], table["nom"], strict=True))


def _name_of(code: str) -> str:
    return _commune_names().get(code, "")
