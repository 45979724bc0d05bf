"""The words of a study, in one place: column roles and their aliases, how the columns of a
user's table are recognised (by name, then by content), statuses with their French labels,
the output columns with their French headers, and the defaults.

Every other module imports these; none keeps its own list.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING

from ._errors import InputError

if TYPE_CHECKING:  # numpy and pandas are imported where used: the CLI's help stays fast
    import numpy as np
    import pandas as pd

#: Width of the proximity band, in metres (the usual band of national programmes).
DEFAULT_DISTANCE = 300.0
#: QPV boundaries used when none are named (offline, bundled).
DEFAULT_SOURCE = "bundled-2024"
#: Named QPV sources (:data:`geo.sources.SOURCES` holds where each comes from).
QPV_SOURCE_KEYS = ("bundled-2024", "bundled-2015-occitanie", "2024", "2015")
#: The national address API (Base Adresse Nationale); the same API is served by the IGN
#: Géoplateforme at https://data.geopf.fr/geocodage.
DEFAULT_GEOCODER_URL = "https://api-adresse.data.gouv.fr"
#: Below this score a geocoding match is sent for review (the BAN scores a full, exact
#: address around 0.9 and more; under 0.6 the match usually lost words of the query).
DEFAULT_MIN_SCORE = 0.6
#: Addresses per batch request.
DEFAULT_CHUNK = 1000
#: Title of a study's maps and report when none is given.
DEFAULT_TITLE = "Initiatives de l'ESS et quartiers prioritaires"
#: Paper sizes of the print map.
PAPER_FORMATS = ("A3", "A4", "A5")


class _Labelled(StrEnum):
    """A status stored in English in tables, shown in French (:attr:`label`)."""

    @property
    def label(self) -> str:
        return LABELS[self]


class Relation(_Labelled):
    """How a site relates to the quartiers."""

    IMPLANTED = "implanted"
    NEARBY = "nearby"
    NONE = "none"
    NOT_LOCATED = "not_located"
    SERVED = "served"


class Evolution(_Labelled):
    """A site's status between two QPV generations."""

    ENTERED = "entered"
    LEFT = "left"
    UNCHANGED = "unchanged"
    CHANGED_QPV = "changed_qpv"
    NOT_COVERED = "not_covered"
    NOT_LOCATED = "not_located"


class TerritoryStatus(_Labelled):
    """Whether a site lies in the territory studied (empty when none is set)."""

    INSIDE = "inside"
    OUTSIDE = "outside"


class GeocodeStatus(_Labelled):
    """What geocoding did to a row."""

    OK = "ok"
    REVIEW = "a_verifier"
    NOT_FOUND = "non_trouve"
    GIVEN = "fourni"
    CORRECTED = "corrige"
    NO_ADDRESS = "sans_adresse"
    OFFLINE = "non_geocode"


#: French labels of every status.
LABELS: dict[_Labelled, str] = {
    Relation.IMPLANTED: "implantée", Relation.NEARBY: "à proximité",
    Relation.NONE: "hors QPV", Relation.NOT_LOCATED: "non localisée",
    Relation.SERVED: "intervient",
    Evolution.ENTERED: "entrée en QPV", Evolution.LEFT: "sortie des QPV",
    Evolution.UNCHANGED: "inchangée", Evolution.CHANGED_QPV: "changement de quartier",
    Evolution.NOT_COVERED: "hors couverture", Evolution.NOT_LOCATED: "non localisée",
    TerritoryStatus.INSIDE: "dans le territoire étudié",
    TerritoryStatus.OUTSIDE: "hors du territoire étudié",
    GeocodeStatus.OK: "géocodées (ok)", GeocodeStatus.REVIEW: "à vérifier",
    GeocodeStatus.NOT_FOUND: "non trouvées", GeocodeStatus.GIVEN: "coordonnées déjà fournies",
    GeocodeStatus.CORRECTED: "corrigées", GeocodeStatus.NO_ADDRESS: "sans adresse",
    GeocodeStatus.OFFLINE: "non géocodées (hors ligne)",
}


# --------------------------------------------------------------------------- columns


#: Usual names of each column role, compared after :func:`normal_name`.
ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("longitude", "lon", "lng", "long", "x", "longitude_wgs84", "lon_wgs84",
            "coord_lon", "coord_lng", "coord_long", "coord_longitude", "coord_x", "gps_lon",
            "gps_lng", "gps_longitude", "longitude_gps", "geo_lon", "geo_lng", "x_longitude",
            "longitud", "xlong", "x_l93", "x_lambert93", "coordonnee_x", "coordonnees_x"),
    "lat": ("latitude", "lat", "lattitude", "latitud", "y", "latitude_wgs84", "lat_wgs84",
            "coord_lat", "coord_latitude", "coord_y", "gps_lat", "gps_latitude",
            "latitude_gps", "geo_lat", "y_latitude", "ylat", "y_l93", "y_lambert93",
            "coordonnee_y", "coordonnees_y"),
    "id": ("id_initiative", "identifiant", "initiative_id", "id", "identifiant_initiative"),
    "theme": ("theme", "thematique", "secteur", "categorie", "activite", "domaine"),
    "served": ("qpv_servis", "quartiers_servis", "qpv_desservis", "quartiers_desservis",
               "qpv_declares", "served_qpv"),
    "radius": ("rayon_m", "rayon", "rayon_intervention_m", "rayon_intervention"),
    "name": ("nom", "nom_initiative", "name", "raison_sociale", "denomination", "nom_site",
             "nom_structure", "structure"),
    "address": ("adresse", "address", "adresse_postale", "voie", "rue", "adresse_1"),
    "postcode": ("code_postal", "cp", "postcode", "codepostal"),
    "city": ("commune", "ville", "city", "nom_commune"),
    "citycode": ("code_insee", "citycode", "insee", "code_commune", "insee_com"),
    "website": ("site_web", "site", "url", "web", "site_internet"),
    "site_id": ("id_site", "identifiant_site", "site_id", "code_site"),
}

#: French names of the roles, for messages and the detection report.
ROLE_FR = {"lon": "longitude", "lat": "latitude", "id": "identifiant d'initiative",
           "theme": "thème", "served": "quartiers servis", "radius": "rayon (m)",
           "name": "nom", "address": "adresse", "postcode": "code postal",
           "city": "commune", "citycode": "code commune (INSEE)", "website": "site web",
           "site_id": "identifiant de site"}


def normal_name(name: object) -> str:
    """A column name as compared with the aliases: accents and case folded, every run of
    other characters turned into ``_``.

    >>> normal_name(" Coord.Lat "), normal_name("Thème"), normal_name("Code postal")
    ('coord_lat', 'theme', 'code_postal')
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


@dataclass
class Columns:
    """Which columns of the user's table hold what (``None``: found by name or content).

    ``crs`` is the CRS of the coordinate columns (default EPSG:4326, degrees).
    """

    lon: str | None = None
    lat: str | None = None
    crs: str | None = None
    id: str | None = None
    theme: str | None = None
    served: str | None = None
    radius: str | None = None
    name: str | None = None
    address: list[str] | None = None
    postcode: str | None = None
    citycode: str | None = None
    website: str | None = None


@dataclass
class Detection:
    """The columns found in a table, and how: ``report`` is one French line per decision."""

    columns: Columns
    report: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The detected columns, for the provenance."""
        return {f.name: getattr(self.columns, f.name) for f in fields(self.columns)
                if getattr(self.columns, f.name)}


def find_column(columns: list[str], role: str) -> str | None:
    """The first column whose name is an alias of ``role``, in the order of the aliases."""
    by_name: dict[str, str] = {}
    for c in columns:
        by_name.setdefault(normal_name(c), c)
    return next((by_name[a] for a in ALIASES[role] if a in by_name), None)


_LAT_TOKENS = {"lat", "latitude", "lattitude", "latitud"}
_LON_TOKENS = {"lon", "lng", "long", "longitude", "longitud"}


def _by_token(columns: list[str], tokens: set[str]) -> list[str]:
    return [c for c in columns if tokens & set(normal_name(c).split("_"))]


def parse_numbers(values: pd.Series) -> np.ndarray:
    """Numbers from text cells (decimal commas and spaces accepted); NaN where unreadable."""
    import pandas as pd

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
    import numpy as np

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
    Other roles are found by their usual names (:data:`ALIASES`, compared after
    :func:`normal_name`). Coordinates are found by name (``lat``/``lng``/``coord.lat``/
    ``GPS latitude``/``x``/``y``…), else by content: the one pair of mostly numeric columns
    whose values are degrees in France or Lambert-93 metres; several such pairs are an
    error naming them. Metres read from columns without a stated CRS are taken as
    Lambert-93 (EPSG:2154) when every value fits it.
    """
    given = given or Columns()
    columns = [str(c) for c in table.columns if str(c) != "geometry"]
    report: list[str] = []

    def named(role: str, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value not in columns:
            raise InputError(
                f"la colonne de {ROLE_FR[role]} « {value} » n'existe pas ; colonnes "
                f"présentes : {', '.join(columns)}.", path=path, parameters=(role,))
        return value

    out = Columns(crs=given.crs)
    for role in ("id", "theme", "served", "radius", "name", "postcode", "citycode",
                 "website"):
        setattr(out, role, named(role, getattr(given, role)))
    if given.address:
        out.address = [named("address", c) for c in given.address]
    for role in ("id", "theme", "served", "radius", "name", "website"):
        if getattr(out, role) is None:
            setattr(out, role, find_column(columns, role))
    if not out.address:
        found = [find_column(columns, r) for r in ("address", "postcode", "city")]
        out.address = [c for c in found if c] or None

    lon, lat = named("lon", given.lon), named("lat", given.lat)
    how = "indiquées"
    if lon is None or lat is None:
        lon = lon or find_column(columns, "lon") or _single(_by_token(columns, _LON_TOKENS))
        lat = lat or find_column(columns, "lat") or _single(_by_token(columns, _LAT_TOKENS))
        how = "reconnues à leur nom"
    from geopandas import GeoDataFrame

    if (lon is None or lat is None) and not isinstance(table, GeoDataFrame):
        taken = {c for c in (out.id, out.radius, out.postcode, out.citycode) if c}
        pairs = _pairs_by_content(table, [c for c in columns if c not in taken])
        if len(pairs) == 1:
            lon, lat = pairs[0]
            how = "reconnues à leur contenu"
        elif len(pairs) > 1:
            raise InputError(
                "plusieurs paires de colonnes peuvent être des coordonnées : "
                + " ; ".join(f"« {a} » / « {b} »" for a, b in pairs)
                + ". Indiquez les colonnes de longitude et de latitude.",
                path=path, parameters=("lon", "lat"))
    if lon is not None and lat is not None and lon != lat:
        out.lon, out.lat = lon, lat
        kind = _coordinate_kind(parse_numbers(table[lon]), parse_numbers(table[lat]))
        if out.crs is None and kind == "2154":
            out.crs = "EPSG:2154"
            report.append(f"coordonnées « {lon} » / « {lat} » {how}, en mètres : lues en "
                          "Lambert-93 (EPSG:2154)")
        else:
            report.append(f"coordonnées « {lon} » (longitude) / « {lat} » (latitude) {how}"
                          + (f", système {out.crs}" if out.crs else ""))
    for role in ("id", "name", "theme", "served", "radius", "website"):
        if getattr(out, role):
            report.append(f"{ROLE_FR[role]} : « {getattr(out, role)} »")
    if out.address:
        report.append("adresse : " + ", ".join(f"« {c} »" for c in out.address))
    return Detection(out, report)


def _single(found: list[str]) -> str | None:
    return found[0] if len(found) == 1 else None


def _pairs_by_content(table: pd.DataFrame, columns: list[str]) -> list[tuple[str, str]]:
    """Pairs (x, y) of mostly numeric columns that read as coordinates in France."""
    import numpy as np

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


# --------------------------------------------------------------------------- outputs


#: Columns this tool adds to a table; dropped from an input that already has them, so running
#: again on an enriched file gives the same file.
OUTPUT_COLUMNS = [
    "code_qp", "nom_qp", "relation", "distance_m", "nearest_code_qp", "qpv_nearby",
    "qpv_served", "territory_status", "note_localisation",
    "code_qp_compare", "relation_compare", "evolution",
    "latitude_geocode", "longitude_geocode",
]

#: French headers of the per-site table in Excel (the report's first sheet and ``link -o
#: x.xlsx`` alike).
SITE_HEADERS = {
    "code_qp": "QPV d'implantation (code)", "nom_qp": "QPV d'implantation",
    "relation": "Relation aux QPV", "distance_m": "Distance au QPV le plus proche (m)",
    "nearest_code_qp": "QPV le plus proche (code)", "qpv_nearby": "QPV à proximité (codes)",
    "qpv_served": "QPV où elle intervient (codes)",
    "territory_status": "Territoire étudié", "note_localisation": "Remarque",
    "code_qp_compare": "QPV d'implantation, génération comparée",
    "relation_compare": "Relation, génération comparée", "evolution": "Évolution",
    "geocode_status": "Géocodage : statut", "geocode_score": "Géocodage : score",
    "geocode_label": "Géocodage : adresse trouvée", "geocode_type": "Géocodage : précision",
    "geocode_citycode": "Géocodage : code commune", "geocode_note": "Géocodage : motif",
}
QPV_HEADERS = {
    "code_qp": "Code QPV", "nom_qp": "Quartier", "communes": "Commune(s)",
    "insee_com": "Code(s) commune", "insee_dep": "Département",
    "n_implanted": "Initiatives implantées", "n_nearby": "Initiatives à proximité",
    "n_served": "Initiatives y intervenant", "n_initiatives": "Initiatives (toutes relations)",
}
TERRITORY_HEADERS = {
    "niveau": "Niveau", "code": "Code", "nom": "Nom", "n_qpv": "Quartiers prioritaires",
    "n_qpv_avec_initiative": "Quartiers avec au moins une initiative",
    "n_implanted": "Initiatives implantées", "n_nearby": "Initiatives à proximité",
    "n_served": "Initiatives y intervenant", "n_initiatives": "Initiatives (toutes relations)",
}
