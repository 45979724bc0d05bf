"""Which column of a user's table holds what: the column roles of
:mod:`geo.vocabulary` recognised by name, then by content, once for every path of a study.

:func:`detect_columns` runs named phases over one :class:`_Scan`: the columns the user
named are checked, the others found by their usual names, the coordinates by name or by
content, the other roles by content, the site identifier, then the address; the report says
each decision and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._errors import InputError
from .vocabulary import (
    ADDRESS_PARTS,
    ALIASES,
    HEADER_NOTES,
    INDICATORS,
    NAMED_ROLES,
    OUTPUT_COLUMNS,
    ROLE_FR,
    Columns,
    Detection,
    find_column,
    normal_name,
)

_LAT_TOKENS = {"lat", "latitude", "lattitude", "latitud"}
_LON_TOKENS = {"lon", "lng", "long", "longitude", "longitud"}


def _by_token(columns: list[str], tokens: set[str]) -> list[str]:
    return [c for c in columns if tokens & set(normal_name(c).split("_"))]


def parse_numbers(values: pd.Series) -> np.ndarray:
    """Numbers from text cells (decimal commas and spaces accepted); NaN where unreadable."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    text = text.str.replace("\u00a0", "", regex=False).str.replace("\u202f", "", regex=False)
    text = text.where(text.str.contains(".", regex=False),
                      text.str.replace(",", ".", regex=False))
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


#: Lambert-93 (EPSG:2154) coordinates of metropolitan France, in metres.
_L93 = ((50_000, 1_300_000), (6_000_000, 7_200_000))


def _coordinate_kind(lon: np.ndarray, lat: np.ndarray) -> str | None:
    """``"4326"`` if the filled values look like degrees in France, ``"2154"`` like
    Lambert-93 metres, else ``None``."""
    from .territories import territory_of_points

    filled = ~(np.isnan(lon) | np.isnan(lat))
    if not filled.any():
        return None
    x, y = lon[filled], lat[filled]
    if (np.abs(x) <= 180).all() and (np.abs(y) <= 90).all():
        inside = territory_of_points(x, y).notna().mean()
        return "4326" if inside >= 0.5 else None
    (x0, x1), (y0, y1) = _L93
    if ((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).mean() >= 0.9:
        return "2154"
    return None


def detect_columns(table: pd.DataFrame, given: Columns | None = None, *,
                   path: str = "") -> Detection:
    """Decide which column holds what, once for every path of a study.

    Given names are checked (a missing one is an error that lists the columns present).
    Other roles are found by their usual names (:data:`geo.vocabulary.ROLES`, compared after
    :func:`geo.vocabulary.normal_name`), else by their content: postcodes (five digits),
    INSEE codes and commune names (checked against the bundled communes), street lines (a
    number and a street type), a name (text whose values are nearly all different), a theme
    (a few repeated words). The address is the parts found, in the registries' order
    (number, repetition, street type, street, postcode, commune). Coordinates are found by
    name (``lat``/``lng``/``coord.lat``/``GPS latitude``/``x``/``y``…), else by content: the
    one pair of mostly numeric columns whose values are degrees in France or Lambert-93
    metres; several such pairs are an error naming them. Metres read from columns without a
    stated CRS are taken as Lambert-93 (EPSG:2154) when every value fits it.

    ``report`` says, for each role, the column taken and why; ``found`` maps every role
    found (address parts included) to its column.
    """
    scan = _Scan(table, given or Columns(), path)
    _check_given(scan)
    _by_name(scan)
    lon, lat, how = _coordinates(scan)
    _by_content(table, scan.columns, scan.found, scan.why, taken={lon, lat} - {None})
    for role in NAMED_ROLES:
        if getattr(scan.out, role) is None and role in scan.found:
            setattr(scan.out, role, scan.found[role])
    _identify_sites(scan, taken={lon, lat})
    _join_address(scan)
    _report_coordinates(scan, lon, lat, how)
    _report_roles(scan)
    scan.report[:0] = table.attrs.get(HEADER_NOTES, [])
    return Detection(scan.out, scan.report, scan.found,
                     find_column(scan.columns, "site_id"))


@dataclass
class _Scan:
    """One detection under way: the table, what the user named, and what is decided
    (``out``), found (role → column) and why (role → French reason)."""

    table: pd.DataFrame
    given: Columns
    path: str
    out: Columns = field(default_factory=Columns)
    found: dict[str, str] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # our own columns of an earlier run (an enriched table read again) hold no role
        self.columns = [str(c) for c in self.table.columns if str(c) != "geometry"
                        and str(c) not in OUTPUT_COLUMNS]

    def named(self, role: str, value: str | None) -> str | None:
        """A column the user named for ``role``, checked to exist."""
        if value is None or value == "":
            return None
        if value not in self.columns:
            raise InputError(
                f"la colonne de {ROLE_FR[role]} « {value} » n'existe pas ; colonnes "
                f"présentes : {', '.join(self.columns)}.", path=self.path, parameters=(role,))
        return value


def _check_given(scan: _Scan) -> None:
    """Phase 1: the columns the user named, checked to exist (coordinates last)."""
    given, out = scan.given, scan.out
    out.crs = given.crs
    out.indicators = [scan.named("indicators", c) for c in given.indicators or []] or None
    for role in (*NAMED_ROLES, "postcode", "citycode"):
        setattr(out, role, scan.named(role, getattr(given, role)))
        if getattr(out, role):
            scan.found[role], scan.why[role] = getattr(out, role), "indiquée"
    if given.address:
        out.address = [scan.named("address", c) for c in given.address]
    scan.named("lon", given.lon)
    scan.named("lat", given.lat)


def _by_name(scan: _Scan) -> None:
    """Phase 2: the roles still unknown, recognised by their usual names."""
    found = scan.found
    for role in (*NAMED_ROLES, *ADDRESS_PARTS, "citycode", *(r.key for r in INDICATORS)):
        if role not in found and (column := find_column(scan.columns, role)) \
                and column not in found.values() and column not in (scan.out.indicators or ()):
            found[role], scan.why[role] = column, "reconnue à son nom"


def _coordinates(scan: _Scan) -> tuple[str | None, str | None, str]:
    """Phase 3: the coordinate columns, named, else by name, else the one pair of numeric
    columns that falls in France; with how they were found (French)."""
    columns = scan.columns
    lon, lat = scan.given.lon or None, scan.given.lat or None
    if lon is not None and lat is not None:
        return lon, lat, "indiquées"
    lon = lon or find_column(columns, "lon") or _single(_by_token(columns, _LON_TOKENS))
    lat = lat or find_column(columns, "lat") or _single(_by_token(columns, _LAT_TOKENS))
    how = "reconnues à leur nom"
    from geopandas import GeoDataFrame

    if (lon is None or lat is None) and not isinstance(scan.table, GeoDataFrame):
        taken = {c for r, c in scan.found.items() if r in ("id", "radius", "postcode",
                                                            "citycode", "housenumber")}
        pairs = _pairs_by_content(scan.table, [c for c in columns if c not in taken])
        if len(pairs) == 1:
            (lon, lat), how = pairs[0], "reconnues à leur contenu"
        elif len(pairs) > 1:
            raise InputError(
                "plusieurs paires de colonnes peuvent être des coordonnées : "
                + " ; ".join(f"« {a} » / « {b} »" for a, b in pairs)
                + ". Indiquez les colonnes de longitude et de latitude.",
                path=scan.path, parameters=("lon", "lat"))
    return lon, lat, how


def _identify_sites(scan: _Scan, *, taken: set) -> None:
    """Phase 5: the column that identifies each site; without an initiative identifier,
    it makes one initiative per row."""
    site_id = _site_identifier(scan.table, scan.columns, scan.found, scan.why, scan.report,
                               taken=taken, initiative=scan.out.id)
    if scan.out.id is None and site_id is not None:  # one initiative per row, so named
        scan.out.id = site_id
        scan.why["id"] = "identifiant de site, propre à chaque ligne : une initiative par ligne"


def _join_address(scan: _Scan) -> None:
    """Phase 6: the address, when not named: the parts found, in the registries' order."""
    if scan.out.address:
        return
    found = scan.found
    parts = [found[p] for p in ADDRESS_PARTS if p in found]
    if "street" not in found and "housenumber" not in found and "citycode" in found:
        parts.append(found["citycode"])  # no street: the commune's code places it
    scan.out.address = list(dict.fromkeys(parts)) or None


def _report_coordinates(scan: _Scan, lon: str | None, lat: str | None, how: str) -> None:
    """Phase 7: the coordinates kept, and their system (metres read as Lambert-93)."""
    out = scan.out
    if lon is None or lat is None or lon == lat:
        return
    out.lon, out.lat = lon, lat
    kind = _coordinate_kind(parse_numbers(scan.table[lon]), parse_numbers(scan.table[lat]))
    if out.crs is None and kind == "2154":
        out.crs = "EPSG:2154"
        scan.report.append(f"coordonnées « {lon} » / « {lat} » {how}, en mètres : lues en "
                           "Lambert-93 (EPSG:2154)")
    else:
        scan.report.append(f"coordonnées « {lon} » (longitude) / « {lat} » (latitude) {how}"
                           + (f", système {out.crs}" if out.crs else ""))


def _report_roles(scan: _Scan) -> None:
    """Phase 8: one report line per named role, the address and the indicators."""
    out, found, why, report = scan.out, scan.found, scan.why, scan.report
    for role in NAMED_ROLES:
        if getattr(out, role):
            report.append(f"{ROLE_FR[role]} : « {getattr(out, role)} »"
                          + (f" ({why[role]})" if role in why else ""))
    if out.address:
        if scan.given.address:
            report.append("adresse : " + ", ".join(f"« {c} »" for c in out.address)
                          + " (indiquée)")
        else:
            role_of = {c: r for r, c in found.items() if r in (*ADDRESS_PARTS, "citycode")}
            report.append("adresse : " + ", ".join(
                f"« {c} » ({ROLE_FR[role_of[c]]}, {why[role_of[c]].split(' ', 1)[1]})"
                if c in role_of else f"« {c} »" for c in out.address))
    shown = [f"« {c} » (indiqué)" for c in out.indicators or []] + [
        f"« {found[r.key]} » ({r.label})" for r in INDICATORS if r.key in found]
    if shown:
        report.append("indicateurs : " + ", ".join(shown))


#: Codes that may identify a site, in the order they are preferred: a site's own
#: identifier (SIRET…), then a « Code … » column, an RNA number, a SIREN (the legal unit's:
#: its establishments share it). Each by its names (normalised) and by its values.
_SITE_CODES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("site", ALIASES["site_id"], r"\d{14}"),
    ("code", (), None),
    ("rna", ("rna", "id_rna", "numero_rna", "num_rna", "n_rna", "no_rna", "code_rna",
             "numero_waldec", "waldec", "id_association"), r"W\d{9}"),
    ("siren", ("siren", "numero_siren", "num_siren", "n_siren", "no_siren", "code_siren",
               "siren_unite_legale"), r"\d{9}"),
)


#: « Code … » columns that name a place or a category, shared by many rows: no site's own.
_NOT_SITE_CODES = {"postal", "post", "insee", "commune", "com", "departement", "dep", "region",
                   "reg", "epci", "iris", "qp", "qpv", "quartier", "pays", "ape", "naf",
                   "nace", "activite", "juridique", "categorie", "type", "theme", "couleur"}


def _site_identifier(table: pd.DataFrame, columns: list[str], found: dict[str, str],
                     why: dict[str, str], report: list[str], *, taken: set,
                     initiative: str | None) -> str | None:
    """The column that identifies each site: the first of :data:`_SITE_CODES` (by name,
    else by its values) filled and different on every row. A code column that repeats a
    value or leaves a row empty is no site identifier (a SIREN repeats across an
    organisation's sites): said in ``report`` when the table has no initiative identifier
    either (its sites are then named by their row number)."""
    used = {c for r, c in found.items() if r != "id"} | taken
    free = [c for c in columns if c not in used]
    normal = {c: normal_name(c) for c in free}
    candidates: list[tuple[str, str]] = []
    for kind, names, pattern in _SITE_CODES:
        if kind == "code":
            named = [c for c in free if normal[c].split("_")[0] == "code"
                     and not set(normal[c].split("_")[1:2]) & _NOT_SITE_CODES]
        else:
            named = [c for a in names for c in free if normal[c] == a]
        candidates += [(c, "reconnue à son nom") for c in named]
        if pattern:
            for c in free:
                values = _filled(table[c])
                if len(values) and values.str.fullmatch(pattern).mean() >= 0.9:
                    candidates.append((c, "reconnue à son contenu"))
    from .typography import plural

    first_how: dict[str, str] = {}
    for column, how in candidates:
        first_how.setdefault(column, how)
    refused: list[str] = []
    for column, how in first_how.items():
        values = _filled(table[column])
        twice = values[values.duplicated()]
        if len(values) == len(table) and not len(twice):
            found["site_id"], why["site_id"] = column, how
            report.append(f"identifiant de site : « {column} » ({how}, propre à chaque "
                          f"ligne{_rounded_by_spreadsheet(values)})")
            return column
        if how == "reconnue à son nom" and initiative is None:
            refused.append(f"« {column} » ({plural(len(twice), 'valeur répétée')}, dont "
                           f"« {twice.iloc[0]} »{_rounded_by_spreadsheet(values)})"
                           if len(twice) else
                           f"« {column} » ({plural(len(table) - len(values), 'ligne vide')})")
    if refused:
        report.append("pas d'identifiant de site : " + ", ".join(refused) + " ne distingue "
                      "pas chaque ligne ; les sites sont désignés par leur numéro de ligne")
    return None


#: A number as a spreadsheet shows a long one, and saves it so (« 1,23457E+13 »).
_EXPONENT_FORM = r"\d[.,]\d+[eE][+-]?\d+"


def _rounded_by_spreadsheet(values: pd.Series) -> str:
    """What to say of codes a spreadsheet saved in exponent form (their digits lost)."""
    if not values.str.fullmatch(_EXPONENT_FORM).any():
        return ""
    return (" : codes arrondis par un tableur, qui les a enregistrés en notation "
            "scientifique ; reprenez l'export d'origine, ou mettez la colonne au format Texte "
            "avant de l'enregistrer")


def _filled(values: pd.Series) -> pd.Series:
    """The non-empty cells of a column, as stripped text."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return text[text != ""]


#: The first words of a street line (after its number), normalised.
_STREET_WORDS = ("rue", "r", "avenue", "av", "ave", "bd", "boulevard", "bld", "allee",
                 "allees", "all", "place", "pl", "chemin", "che", "ch", "impasse", "imp",
                 "route", "rte", "quai", "cours", "crs", "square", "sq", "passage", "pas",
                 "cite", "residence", "res", "lotissement", "lot", "hameau", "ham", "lieu",
                 "voie", "esplanade", "parvis", "promenade", "prom", "sente", "sentier",
                 "villa", "za", "zi", "zac", "rond", "rpt", "faubourg", "fg", "mail",
                 "montee", "traverse", "tra", "ruelle", "chaussee", "quartier", "domaine")
_STREET = re.compile(r"^(\d+\s*(bis|ter|quater|[a-z])?\s+)?(" + "|".join(_STREET_WORDS)
                     + r")\b")
_POSTCODE = re.compile(r"^(0[1-9]|[1-8]\d|9[0-8])\d{3}$")
_IDENTIFIER = re.compile(r"^[A-Z0-9_.\-/#]+$")


#: The columns of an earlier geocoder's answer (the national address service's CSV:
#: ``result_label``, ``result_type``, ``result_citycode``…): its guesses, never the row's own
#: name, theme or address, so never recognised as one by their content.
_EARLIER_ANSWER = re.compile(r"^result_")


def _by_content(table: pd.DataFrame, columns: list[str], found: dict[str, str],
                why: dict[str, str], taken: set[str]) -> None:
    """Roles still unknown, recognised from the values of the columns left (in ``found``,
    with why in ``why``)."""
    from . import communes

    used = set(found.values()) | taken
    head = table.head(2000)
    cells: dict[str, pd.Series] = {}
    for c in columns:
        if c in used or _EARLIER_ANSWER.match(normal_name(c)):
            continue
        text = head[c].astype(object).where(head[c].notna(), "").astype(str).str.strip()
        cells[c] = text[text != ""]

    def take(role: str, test, reason: str) -> None:
        if role in found:
            return
        fits = [c for c, values in cells.items() if c not in used and len(values)
                and test(values)]
        if fits:
            found[role], why[role] = fits[0], f"reconnue à son contenu : {reason}"
            if len(fits) > 1:  # the first from the left; the others are said
                why[role] += " ; autres possibles : " + ", ".join(f"« {c} »"
                                                                  for c in fits[1:4])
            used.add(fits[0])

    def share(values: pd.Series, mask) -> float:
        return float(mask.mean()) if len(values) else 0.0

    def digits5(values: pd.Series) -> pd.Series:
        return values.where(~values.str.fullmatch(r"\d{4}"), "0" + values)

    def known(values: pd.Series, pool: frozenset[str]) -> pd.Series:
        # by the set itself: ``isin`` would first copy its 35 000 entries
        return values.map(pool.__contains__)

    take("citycode", lambda v: share(v, known(digits5(v).str.upper(), communes.codes()))
         >= 0.8, "des codes INSEE de communes")
    take("postcode", lambda v: share(v, digits5(v).str.fullmatch(_POSTCODE.pattern)) >= 0.8,
         "des codes postaux à cinq chiffres")
    take("city", lambda v: share(v, known(v.map(communes.name_key), communes.name_keys()))
         >= 0.6, "des noms de communes")
    if "street" not in found and "housenumber" not in found:
        take("street", lambda v: share(v, v.map(normal_name).str.replace("_", " ")
                                       .str.match(_STREET.pattern)) >= 0.5,
             "des lignes d'adresse (numéro et voie)")
    take("name", _looks_like_names, "des textes presque tous différents")
    take("theme", _looks_like_themes, "quelques valeurs répétées")


def _wordy(values: pd.Series) -> bool:
    """Text that people write: letters, not numbers, codes, links or e-mail addresses."""
    if not len(values):
        return False
    letters = values.str.contains(r"[^\W\d_]", regex=True)
    digits = values.str.contains(r"\d", regex=True)
    links = values.str.contains(r"^(?:https?:|www\.)|@", regex=True)
    codes = values.str.fullmatch(_IDENTIFIER.pattern)
    return bool(letters.mean() >= 0.9 and digits.mean() < 0.5 and links.mean() < 0.2
                and codes.mean() < 0.5)


def _looks_like_names(values: pd.Series) -> bool:
    length = values.str.len().mean()
    return bool(_wordy(values) and values.nunique() >= 0.8 * len(values) and 3 <= length <= 80
                and not values.str.len().gt(200).any())


def _looks_like_themes(values: pd.Series) -> bool:
    distinct = values.nunique()
    return bool(_wordy(values) and len(values) >= 3 and distinct < len(values)
                and 2 <= distinct <= min(30, max(2, int(0.6 * len(values))))
                and values.str.len().mean() <= 60)


def _single(found: list[str]) -> str | None:
    return found[0] if len(found) == 1 else None


def _pairs_by_content(table: pd.DataFrame, columns: list[str]) -> list[tuple[str, str]]:
    """Pairs (x, y) of mostly numeric columns that read as coordinates in France."""
    head = table.head(2000)
    numeric = {}
    for c in columns:
        values = parse_numbers(head[c])
        text = head[c].astype(object).where(head[c].notna(), "").astype(str).str.strip()
        filled = (text != "").to_numpy()
        if filled.sum() and np.isfinite(values[filled]).mean() >= 0.9:
            numeric[c] = values
    pairs = []
    for a in numeric:
        for b in numeric:
            if a != b and _coordinate_kind(numeric[a], numeric[b]) is not None:
                pairs.append((a, b))
    return pairs


