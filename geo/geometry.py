"""Geometry helpers shared by the boundaries, the linker and the maps."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal parts of a geometry (lines and points dropped), as one geometry."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polygons = [q for p in parts for q in shapely.get_parts(p)]
    if len(polygons) == 1:
        return polygons[0]
    return shapely.MultiPolygon(polygons)


def repair(geoms: np.ndarray) -> tuple[np.ndarray, int]:
    """Make invalid polygons valid (``make_valid``, linework method, which keeps the area;
    polygonal parts kept). Returns the geometries and how many were repaired."""
    geoms = np.asarray(geoms, dtype=object).copy()
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if invalid.any():
        geoms[invalid] = [polygonal(g) for g in shapely.make_valid(geoms[invalid])]
    return geoms, int(invalid.sum())


def to_metric(series: gpd.GeoSeries, crs: str) -> np.ndarray:
    """Project to a metric CRS; a ring that projection made self-touching is repaired."""
    return repair(series.to_crs(crs).values._data)[0]
