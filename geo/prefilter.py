"""Which points may be near a quartier at all, without any geometry.

A national file has tens of millions of points, most of them kilometres from every quartier.
Before points are built and projected for the engine (:func:`geo.link.link_points`), a grid
of 0.0025° cells (about 280 m by 180 m in metropolitan France) marks the cells that a
quartier's bounding box, widened by a margin in metres, covers; a point whose cell is not
marked is farther than the margin from every quartier. The test is a superset: every point
within the margin passes, and the engine decides for those exactly.
"""

from __future__ import annotations

import numpy as np

#: Side of a cell, in degrees.
CELL = 0.0025
#: Metres per degree of latitude, rounded down (a wider margin in degrees).
_METRES_PER_DEGREE = 110_000.0
#: Cells per row of the grid (360° of longitude).
_ROW = int(round(360 / CELL)) + 2

_CACHE: dict[tuple[int, float], tuple] = {}


def near_quartiers(lon: np.ndarray, lat: np.ndarray, qpv, metres: float) -> np.ndarray:
    """Whether each point (degrees, EPSG:4326; NaN when not located) may lie within
    ``metres`` of a quartier of ``qpv``: ``False`` is certain, ``True`` is for the engine to
    decide; ``metres`` 0 for the points that may be inside one. The engine measures in each
    territory's projection: its scale error (a few per thousand) and the curvature of
    straight edges between degrees and metres are covered by a margin of 10 % and 50 m."""
    cells = _cells(qpv, 1.1 * metres + 50.0)
    located = np.isfinite(lon) & np.isfinite(lat)
    out = np.zeros(len(lon), dtype=bool)
    if not len(cells) or not located.any():
        return out
    ids = _ids(lon[located], lat[located])
    at = np.searchsorted(cells, ids).clip(0, len(cells) - 1)
    out[located] = cells[at] == ids
    return out


def _ids(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    column = np.floor((np.clip(lon, -180, 180) + 180) / CELL).astype(np.int64)
    row = np.floor((np.clip(lat, -90, 90) + 90) / CELL).astype(np.int64)
    return row * _ROW + column


def _cells(qpv, metres: float) -> np.ndarray:
    """Sorted ids of the cells that the quartiers' boxes widened by ``metres`` cover."""
    cached = _CACHE.get((id(qpv), metres))
    if cached is not None and cached[0] is qpv:
        return cached[1]
    import shapely

    bounds = shapely.bounds(np.asarray(qpv.geometry.values, dtype=object))
    bounds = bounds[np.isfinite(bounds).all(axis=1)]
    dlat = metres / _METRES_PER_DEGREE
    # a degree of longitude is shortest at the box's edge farthest from the equator
    far = np.minimum(np.maximum(np.abs(bounds[:, 1]), np.abs(bounds[:, 3])) + dlat, 89.0)
    dlon = metres / (_METRES_PER_DEGREE * np.cos(np.radians(far)))
    low = _ids(bounds[:, 0] - dlon, bounds[:, 1] - dlat)
    high = _ids(bounds[:, 2] + dlon, bounds[:, 3] + dlat)
    ids = []
    for lo, hi in zip(low, high, strict=True):
        r0, c0 = divmod(int(lo), _ROW)
        r1, c1 = divmod(int(hi), _ROW)
        rows = np.arange(r0, r1 + 1)[:, None] * _ROW
        ids.append((rows + np.arange(c0, c1 + 1)[None, :]).ravel())
    cells = np.unique(np.concatenate(ids)) if ids else np.empty(0, dtype=np.int64)
    if len(_CACHE) >= 8:
        _CACHE.clear()
    _CACHE[(id(qpv), metres)] = (qpv, cells)
    return cells
