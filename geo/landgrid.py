"""Whether points are in France, for millions of points: :func:`geo.outlines.in_france`
settled by a grid.

France's outline (with its coast tolerance) is cut into cells of :data:`CELL` degrees
(about 5 km): a point whose cell lies wholly inside the outline is in France, one whose
cell does not meet it is not, as the outline would say; only the points of the cells the
outline's boundary crosses (coasts, borders: a few in a hundred) are tested against it.
"""

from __future__ import annotations

import threading

import numpy as np

#: Side of a cell, in degrees.
CELL = 0.05
_ROW = int(round(360 / CELL)) + 2
#: The grid is built from cells :data:`_SPLIT` times bigger, cut where the outline crosses.
_SPLIT = 8
#: How much a cell's box is widened before it is tested (degrees): a point on a cell's edge
#: may be given to its neighbour by rounding.
_EPSILON = 1e-9
#: Up to this many points, when the grid is not built yet, the outline alone answers
#: (building the grid takes about a second).
_GRID_FROM = 20_000
#: What a cell says: the point is in France, is not, or the outline decides.
_IN, _OUT, _EDGE = 1, 0, 2

_GRID: list = []
_LOCK = threading.Lock()


def in_france(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each lon/lat point (EPSG:4326) is in France, overseas included (NaN:
    ``False``): the answers of :func:`geo.outlines.in_france`, most from the grid."""
    import shapely

    from . import outlines

    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    out = np.zeros(len(lon), dtype=bool)
    known = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    if not len(known):
        return out
    if not _GRID and len(known) < _GRID_FROM:
        return outlines.in_france(lon, lat)
    first, table = grid()
    row = np.floor((lat[known] + 90) / CELL).astype(np.int64) - first
    column = np.floor((np.clip(lon[known], -180, 180) + 180) / CELL).astype(np.int64)
    inside = (row >= 0) & (row < len(table))  # a latitude beyond ±90° too
    verdict = np.where(inside, table[row.clip(0, len(table) - 1), column], _OUT)
    out[known] = verdict == _IN
    edge = known[verdict == _EDGE]
    if len(edge):
        out[edge] = shapely.contains_xy(outlines.land_outline(), lon[edge], lat[edge])
    return out


def grid() -> tuple[int, np.ndarray]:
    """What each cell says, in a table of the rows of cells from the southernmost that
    meets France's outline (the first) to the northernmost (built once per process;
    threads wait for the first build)."""
    with _LOCK:
        if not _GRID:
            _GRID.append(_build())
        return _GRID[0]


def _build() -> tuple[int, np.ndarray]:
    """Cells of :data:`_SPLIT` × :data:`_SPLIT` cells first; only those the outline
    crosses are cut into cells (a tenth of the boxes to test)."""
    import shapely

    from .outlines import land_outline

    land = land_outline()
    big = CELL * _SPLIT
    width = int(round(360 / big)) + 2
    ids = []
    # the big cells of each part's box (France's box would span the oceans)
    for west, south, east, north in shapely.bounds(shapely.get_parts(land)):
        (r0, r1), (c0, c1) = _rows_columns(np.array([south, north]),
                                           np.array([west, east]), big)
        ids.append((np.arange(r0, r1 + 1)[:, None] * width
                    + np.arange(c0, c1 + 1)[None, :]).ravel())
    row, column = np.divmod(np.unique(np.concatenate(ids)), width)
    verdict = _verdicts(land, row, column, big)
    # the cells of the big ones: all alike when the big one is inside, tested when crossed
    split = np.arange(_SPLIT)
    keep = verdict != _OUT
    row = (row[keep, None, None] * _SPLIT + split[None, :, None]
           + np.zeros(_SPLIT, dtype=np.int64)[None, None, :]).ravel()
    column = (column[keep, None, None] * _SPLIT + split[None, None, :]
              + np.zeros(_SPLIT, dtype=np.int64)[None, :, None]).ravel()
    verdict = np.repeat(verdict[keep], _SPLIT * _SPLIT)
    crossed = verdict == _EDGE
    verdict[crossed] = _verdicts(land, row[crossed], column[crossed], CELL)
    row, column, verdict = row[verdict != _OUT], column[verdict != _OUT], \
        verdict[verdict != _OUT]
    table = np.full((row.max() - row.min() + 1, _ROW), _OUT, dtype=np.int8)
    table[row - row.min(), column] = verdict
    return int(row.min()), table


def _rows_columns(lat: np.ndarray, lon: np.ndarray, cell: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    return (np.floor((np.clip(lat, -90, 90) + 90) / cell).astype(np.int64),
            np.floor((np.clip(lon, -180, 180) + 180) / cell).astype(np.int64))


def _verdicts(land, row: np.ndarray, column: np.ndarray, cell: float) -> np.ndarray:
    """What the cells of side ``cell`` at ``row``, ``column`` say of their points."""
    import shapely

    west, south = column * cell - 180 - _EPSILON, row * cell - 90 - _EPSILON
    boxes = shapely.box(west, south, west + cell + 2 * _EPSILON, south + cell + 2 * _EPSILON)
    meets = shapely.intersects(land, boxes)
    verdict = np.full(len(boxes), _OUT, dtype=np.int8)
    # strictly inside: a point on the outline itself is not contained (contains_xy)
    inside = meets.copy()
    inside[meets] = shapely.contains_properly(land, boxes[meets])
    verdict[meets] = np.where(inside[meets], _IN, _EDGE)
    return verdict
