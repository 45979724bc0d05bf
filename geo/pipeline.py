"""The study's steps chained: read → geocode (if needed) → link → outputs.

The command line and the study file both go through these functions, so one initiative follows
the same path from input row to map marker whichever way it is run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from . import __version__
from . import geocode as gc
from .initiatives import Initiatives, find_id_column, initiatives_from_table, read_table

_LAT = ("latitude", "lat")
_LON = ("longitude", "lon", "lng")


@dataclass
class Columns:
    """Which columns of the user's table hold what (``None``: found by usual names)."""

    lon: str | None = None
    lat: str | None = None
    crs: str | None = None
    id: str | None = None
    theme: str | None = None
    served: str | None = None
    radius: str | None = None
    address: list[str] | None = None
    postcode: str | None = None
    citycode: str | None = None


@dataclass
class Geocoding:
    """How rows without coordinates are geocoded."""

    online: bool = False
    url: str = gc.DEFAULT_URL
    min_score: float = gc.DEFAULT_MIN_SCORE
    chunk_size: int = gc.DEFAULT_CHUNK
    corrections: str | None = None
    force: bool = False


@dataclass
class Sites:
    """The sites read, and what geocoding did to them (``None`` when it was not needed)."""

    initiatives: Initiatives
    geocoded: gc.GeocodeResult | None = None


def needs_geocoding(table: pd.DataFrame, columns: Columns) -> bool:
    """Whether some row has an address and no coordinates."""
    if columns.crs or isinstance(table, gpd.GeoDataFrame):
        return False
    names = [str(c) for c in table.columns]
    if not (columns.address or gc.default_address_columns(names)):
        return False
    lat = columns.lat or gc.find_column(names, _LAT)
    lon = columns.lon or gc.find_column(names, _LON)
    if lat is None or lon is None:
        return True
    text = table[[lat, lon]].astype(object).where(table[[lat, lon]].notna(), "").astype(str)
    return bool(((text[lat].str.strip() == "") | (text[lon].str.strip() == "")).any())


def read_sites(path: str | Path, *, columns: Columns | None = None,
               geocoding: Geocoding | None = None, sheet: str | int | None = None,
               progress=None) -> Sites:
    """Read the sites; rows with an address and no coordinates are geocoded first, from the
    cache only unless ``geocoding.online``."""
    columns = columns or Columns()
    geocoding = geocoding or Geocoding()
    table, first_row, separator = read_table(path, sheet=sheet)
    geocoded = None
    if needs_geocoding(table, columns) or (geocoding.force and geocoding.online):
        corrections = read_table(geocoding.corrections)[0] if geocoding.corrections else None
        geocoded = gc.geocode(
            table, address_columns=columns.address, postcode_column=columns.postcode,
            citycode_column=columns.citycode, lat_column=columns.lat, lon_column=columns.lon,
            id_column=columns.id or find_id_column(table),
            geocoder=gc.Geocoder(geocoding.url, chunk_size=geocoding.chunk_size),
            corrections=corrections, min_score=geocoding.min_score, force=geocoding.force,
            offline=not geocoding.online, first_row=first_row, progress=progress,
            path=str(path))
        table = geocoded.table
    initiatives = initiatives_from_table(
        table, path=str(path), first_row=first_row, separator=separator,
        lon_column=geocoded.lon_column if geocoded else columns.lon,
        lat_column=geocoded.lat_column if geocoded else columns.lat, crs=columns.crs,
        id_column=columns.id, theme_column=columns.theme, served_column=columns.served,
        radius_column=columns.radius)
    if geocoded is not None:
        notes = geocoded.table["geocode_note"].to_numpy()
        for issue in initiatives.issues:
            i = issue.row - first_row
            if 0 <= i < len(notes) and notes[i] and "manquantes" in issue.message:
                issue.message = f"{notes[i]} : site non localisé"
    return Sites(initiatives, geocoded)


def provenance(qpv: gpd.GeoDataFrame, parameters: dict) -> dict:
    """What an output records about how it was made: tool, QPV source and date, parameters."""
    from datetime import datetime

    return {
        "outil": f"ess-qpv {__version__}",
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "qpv_source": qpv.attrs.get("label") or qpv.attrs.get("source"),
        "qpv_origine": qpv.attrs.get("origin"),
        "qpv_date": qpv.attrs.get("date") or "données fournies avec l'outil",
        "qpv_credit": qpv.attrs.get("credit"),
        "parametres": parameters,
    }


@dataclass
class MapParts:
    """What a map draws: the linked sites, the quartiers shown, the other generation, and
    the initial view (``None``: fit the sites)."""

    result: object
    shown: gpd.GeoDataFrame
    previous: gpd.GeoDataFrame | None
    bounds: tuple[float, float, float, float] | None


def map_parts(initiatives: Initiatives, qpv: gpd.GeoDataFrame, studied: gpd.GeoDataFrame,
              result, previous: gpd.GeoDataFrame | None, *, focused: bool) -> MapParts:
    """Choose the quartiers to draw: the territory studied, or those around the sites."""
    from ._errors import InputError
    from .maps import focus_qpv

    if not focused and not initiatives.sites.geometry.notna().any():
        raise InputError("aucun site localisé : rien à cartographier (vérifiez les colonnes "
                         "de coordonnées, ou géocodez les adresses avec --geocode).",
                         path=initiatives.path)
    shown = studied if focused else focus_qpv(qpv, initiatives.sites)
    if previous is not None:
        previous = (previous.cx[slice(*studied.total_bounds[[0, 2]]),
                                slice(*studied.total_bounds[[1, 3]])]
                    if focused else focus_qpv(previous, initiatives.sites))
    bounds = tuple(shown.total_bounds) if focused and len(shown) else None
    return MapParts(result, shown, previous, bounds)


_ADDRESS = ("adresse", "address", "numero_voie", "voie", "code_postal", "commune", "ville")
_WEBSITE = ("site_web", "site", "url", "web", "site_internet")


def render_map(parts: MapParts, initiatives: Initiatives, *, title: str, distance: float,
               cluster: bool = True, key_figures=None, provenance: dict | None = None):
    """The interactive map of :class:`MapParts` (a ``folium.Map``)."""
    from .maps import make_map

    columns = list(initiatives.sites.columns)
    return make_map(
        parts.result, parts.shown, previous=parts.previous,
        theme_column=initiatives.theme_column, name_column=initiatives.name_column,
        id_column=initiatives.id_column,
        address_columns=[c for c in columns if c.lower() in _ADDRESS],
        website_column=next((c for c in columns if c.lower() in _WEBSITE), None),
        title=title, cluster=cluster, distance=distance, key_figures=key_figures,
        bounds=parts.bounds, provenance=provenance)
