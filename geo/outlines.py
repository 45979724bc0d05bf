"""Administrative outlines bundled with the tool: départements (all of France with the five
overseas départements) and the communes that hold a QPV (IGN ADMIN EXPRESS COG 2018,
simplified). They decide whether a point is in France and in which département or commune
it lies; maps use them as a background.

Saint-Pierre-et-Miquelon, Saint-Barthélemy, Saint-Martin, Wallis-et-Futuna, French Polynesia
and New Caledonia have no outline in that publication: their box stands in for them.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely

from .settings import bundled_path
from .territories import TERRITORIES, territory_of_departement, territory_of_points

#: Credit of the outlines.
CREDIT = "IGN – ADMIN EXPRESS COG 2018"
#: A point this close to a département (metres) is in France: the outlines are simplified
#: (about 100 m) and a site on a quay or a beach must not be refused.
COAST_TOLERANCE = 1000.0
#: Up to this many points, :func:`in_france` tests the outlines themselves before building
#: the coast tolerance (half a second, once per process; then each point costs far less).
_OUTLINES_UP_TO = 20_000
#: Territories without an outline in ADMIN EXPRESS: their box decides.
_BOXED = ("975", "977", "978", "986", "987", "988")


@lru_cache(maxsize=1)
def departements() -> gpd.GeoDataFrame:
    """Département outlines (``code``, ``nom``), EPSG:4326, simplified to about 100 m."""
    return gpd.read_file(f"/vsigzip/{bundled_path('departements.geojson.gz')}")


@lru_cache(maxsize=1)
def communes() -> gpd.GeoDataFrame:
    """Outlines (``code``, ``nom``) of the communes that hold a QPV 2024 or 2015, EPSG:4326."""
    return gpd.read_file(f"/vsigzip/{bundled_path('communes_qpv.geojson.gz')}")


@lru_cache(maxsize=1)
def land_outline() -> shapely.Geometry:
    """France within :data:`COAST_TOLERANCE` of a département (EPSG:4326), prepared."""
    from .geometry import to_metric

    deps = departements()
    parts = []
    territory = deps["code"].map(territory_of_departement)
    for key in territory.unique():
        crs = TERRITORIES[key].crs
        metric = shapely.simplify(to_metric(deps.geometry[territory == key], crs), 250)
        grown = shapely.union_all(shapely.buffer(metric, COAST_TOLERANCE, quad_segs=2))
        parts.append(gpd.GeoSeries([grown], crs=crs).to_crs(4326).iloc[0])
    for key in _BOXED:
        parts.append(shapely.box(*TERRITORIES[key].bbox))
    land = shapely.union_all(parts)
    shapely.prepare(land)
    return land


def in_france(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each lon/lat point (EPSG:4326) is in France, overseas included (NaN: False)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    known = ~(np.isnan(lon) | np.isnan(lat))
    if land_outline.cache_info().currsize or known.sum() > _OUTLINES_UP_TO:
        out = np.zeros(len(lon), dtype=bool)
        out[known] = shapely.contains_xy(land_outline(), lon[known], lat[known])
        return out
    # a few points: inside an outline is in France, the coast tolerance is built only if
    # some are not (a quay, a beach, abroad)
    out = _area_of_points(departements(), lon, lat, 0.0) != ""
    rest = np.flatnonzero(~out & known)
    if len(rest):
        out[rest] = shapely.contains_xy(land_outline(), lon[rest], lat[rest])
    return out


def _area_of_points(frame: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray,
                    max_distance: float) -> np.ndarray:
    """The ``code`` of the outline holding each point, else of the nearest one within
    ``max_distance`` degrees; ``""`` for none."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    out = np.full(len(lon), "", dtype=object)
    known = np.flatnonzero(~(np.isnan(lon) | np.isnan(lat)))
    if not len(known):
        return out
    points = shapely.points(lon[known], lat[known])
    tree = shapely.STRtree(frame.geometry.values)
    codes = frame["code"].to_numpy()
    # Outlines as the query side: GEOS prepares them, points are only indexed.
    index, found = shapely.STRtree(points).query(frame.geometry.values, predicate="intersects")
    out[known[found]] = codes[index]
    rest = np.flatnonzero(out[known] == "")
    if max_distance > 0 and len(rest):
        found, index = tree.query_nearest(points[rest], max_distance=max_distance,
                                          all_matches=False)
        out[known[rest[found]]] = codes[index]
    return out


def departement_of_points(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The département code of each point (``""`` outside every outline and its coast
    tolerance; a territory without outline gets its own key, e.g. ``"978"``)."""
    out = _area_of_points(departements(), lon, lat, 0.015)
    territory = territory_of_points(np.asarray(lon, float), np.asarray(lat, float)).to_numpy()
    boxed = np.isin(territory.astype(str), _BOXED) & (out == "")
    out[boxed] = territory[boxed]
    return out


def commune_of_points(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The code of the commune holding a QPV that contains each point (``""`` elsewhere)."""
    return _area_of_points(communes(), lon, lat, 0.0)


def context(bounds: tuple[float, float, float, float], *, margin: float = 0.5
            ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The départements and the communes (holding a QPV) around ``bounds`` (min lon, min lat,
    max lon, max lat, EPSG:4326, widened by ``margin`` degrees), simplified for the extent:
    what a map draws under the quartiers so that it says where it is without tiles."""
    x0, y0, x1, y1 = bounds
    box = shapely.box(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    # About a thousandth of the view's width: invisible at the scale drawn.
    tolerance = min(max(x1 - x0, y1 - y0, 0.05) / 1500, 0.01)
    out = []
    for frame in (departements(), communes()):
        near = frame[frame.geometry.intersects(box)].copy()
        near.geometry = shapely.simplify(near.geometry.values, tolerance,
                                         preserve_topology=True)
        near["label_x"] = shapely.get_x(shapely.point_on_surface(near.geometry.values))
        near["label_y"] = shapely.get_y(shapely.point_on_surface(near.geometry.values))
        out.append(near.reset_index(drop=True))
    return out[0], out[1]
