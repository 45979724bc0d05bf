from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod, Transformer

from geo import territories as t


@pytest.mark.parametrize(("dep", "crs"), [("33", "EPSG:2154"), ("2A", "EPSG:2154"),
                                          ("971", "EPSG:5490"), ("972", "EPSG:5490"),
                                          ("973", "EPSG:2972"), ("974", "EPSG:2975"),
                                          ("976", "EPSG:4471"), ("978", "EPSG:5490"),
                                          ("987", "EPSG:3297")])
def test_metric_crs(dep, crs):
    assert t.metric_crs(dep) == crs


@pytest.mark.parametrize(("lon", "lat", "key"), [(2.35, 48.85, "metropole"), (9.45, 42.70,
                         "metropole"), (55.45, -20.88, "974"), (-61.53, 16.24, "971"),
                         (-52.33, 4.93, "973"), (45.23, -12.78, "976"), (-149.57, -17.53, "987"),
                         (-61.07, 14.61, "972"), (-63.08, 18.07, "978"), (13.4, 52.5, None)])
def test_territory_of_points(lon, lat, key):
    assert t.territory_of_points(np.array([lon]), np.array([lat]))[0] == key


@pytest.mark.parametrize("key", ["metropole", "971", "972", "973", "974", "976", "978", "987"])
def test_projection_distances_are_metres(key):
    """100 m on the ellipsoid is 100 m (±0.5 %) in the territory's projection."""
    x0, y0, x1, y1 = t.TERRITORIES[key].bbox
    lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
    lon2, lat2, _ = Geod(ellps="WGS84").fwd(lon, lat, 45, 100)
    tr = Transformer.from_crs(4326, t.TERRITORIES[key].crs, always_xy=True)
    (ax, bx), (ay, by) = tr.transform([lon, lon2], [lat, lat2])
    assert np.hypot(bx - ax, by - ay) == pytest.approx(100, rel=5e-3)


def test_commune_of_insee():
    assert [t.commune_of_insee(c) for c in ("75101", "75120", "69389", "13216", "33063")] == [
        "75056", "75056", "69123", "13055", "33063"]


def _off_the_coast(distance: float) -> tuple[float, float]:
    """A point at sea ``distance`` metres (±20 %) from the nearest département outline,
    found from the outlines themselves (Gironde's Atlantic coast)."""
    import shapely

    from geo.outlines import departements

    deps = departements().to_crs(2154)
    land = shapely.union_all(deps.geometry.values)
    gironde = deps.set_index("code").geometry["33"]
    to_lonlat = Transformer.from_crs(2154, 4326, always_xy=True)
    for x, y in shapely.get_coordinates(gironde.exterior if gironde.geom_type == "Polygon"
                                        else max(gironde.geoms, key=lambda g: g.area)
                                        .exterior)[::25]:
        p = shapely.Point(x - distance, y)  # westward: the ocean, on that coast
        if not land.contains(p) and 0.8 * distance <= land.distance(p) <= 1.2 * distance:
            return to_lonlat.transform(p.x, p.y)
    raise AssertionError("no point found off the Gironde coast")


@pytest.mark.parametrize("land_built", [False, True], ids=["outlines first", "tolerance"])
def test_in_france_inside_on_the_coast_at_sea_and_overseas(land_built):
    from geo.outlines import COAST_TOLERANCE, in_france, land_outline

    quay = _off_the_coast(COAST_TOLERANCE / 2)  # a quay, a beach: the outlines are simplified
    sea = _off_the_coast(COAST_TOLERANCE * 5)
    points = {"Paris": (2.35, 48.85), "quai": quay, "large": sea, "Berlin": (13.4, 52.5),
              "Saint-Pierre": (-56.18, 46.78), "Nouméa": (166.45, -22.27),
              "inconnu": (np.nan, np.nan)}
    lon, lat = np.array(list(points.values())).T
    land_outline.cache_clear()
    if land_built:  # as after a first call that needed it, or for many points
        land_outline()
    assert dict(zip(points, in_france(lon, lat).tolist(), strict=True)) == {
        "Paris": True, "quai": True, "large": False, "Berlin": False, "Saint-Pierre": True,
        "Nouméa": True, "inconnu": False}
