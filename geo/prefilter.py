"""Which points may be near a quartier at all, without any geometry.

A national file has tens of millions of points, most of them kilometres from every quartier.
Before points are built and projected for the engine (:func:`geo.link.link_points`), a grid
of 0.0025° cells (about 280 m by 180 m in metropolitan France) marks the cells that a
quartier's bounding box, widened by a margin in metres, covers; a point whose cell is not
marked is farther than the margin from every quartier. The test is a superset: every point
within the margin passes, and the engine decides for those exactly.

A finer grid (0.001°, its cells on a boundary cut in four) settles the points whose cell lies
inside a single quartier, at least a metre from its boundary and met by no other quartier
(overlaps, shared boundaries): they are in that quartier and no other, as the engine would
say; and those whose cell meets no quartier (widened by a metre): they are in none. The
points of the other cells (on a boundary) are settled one by one the same way, against the
quartiers' outlines grown and shrunk (prepared): only those within a couple of metres of a
boundary, or in an overlap, are left to the engine.
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
    cells = _cells(qpv, _margin(metres))
    located = np.isfinite(lon) & np.isfinite(lat)
    out = np.zeros(len(lon), dtype=bool)
    if not len(cells) or not located.any():
        return out
    out[located] = _hashed(cells).get_indexer(_ids(lon[located], lat[located])) >= 0
    return out


def prepare(qpv, metres: float, *, fine: bool = True) -> None:
    """Build the grids of ``qpv`` for ``metres`` now (before worker processes are forked:
    they share them instead of each building its own); ``fine``: the fine cells too."""
    _hashed(_cells(qpv, _margin(metres)))
    _hashed(_cells(qpv, _margin(0.0)))
    if fine:
        _hashed(_fine_cells(qpv)[0])
        _hashed(_CACHE[(id(qpv), "finer")][1][0])


def settled_ready(qpv) -> bool:
    """Whether the fine cells of ``qpv`` are built (:func:`settle` is then cheap)."""
    cached = _CACHE.get((id(qpv), "fine"))
    return cached is not None and cached[0] is qpv


_HASHED: dict[int, tuple] = {}


def _hashed(cells: np.ndarray):
    """A hash index of sorted cell ids: a lookup six times quicker than a binary search
    over them (built once per array, before the workers fork when :func:`prepare` asks)."""
    cached = _HASHED.get(id(cells))
    if cached is not None and cached[0] is cells:
        return cached[1]
    import pandas as pd

    index = pd.Index(cells)
    index.get_indexer(cells[:1])  # the hash table is built now
    if len(_HASHED) >= 8:
        _HASHED.clear()
    _HASHED[id(cells)] = (cells, index)
    return index


def _margin(metres: float) -> float:
    """The grid's margin around the quartiers' boxes for points within ``metres``."""
    return 1.1 * metres + 50.0


def _ids(lon: np.ndarray, lat: np.ndarray, cell: float = CELL, width: int = _ROW
         ) -> np.ndarray:
    column = np.floor((np.clip(lon, -180, 180) + 180) / cell).astype(np.int64)
    row = np.floor((np.clip(lat, -90, 90) + 90) / cell).astype(np.int64)
    return row * width + column


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


#: Side of the finer cells that settle points inside or outside the quartiers, in degrees
#: (about 110 m by 70 m in metropolitan France).
FINE = 0.001
#: Cells a quartier's boundary crosses are cut in four cells of this side (about 55 m by
#: 38 m): at 0.001° a third of the points near a quartier were left to be tested against
#: the outlines, one by one (a fifth of a national run's time); half as many are.
FINER = FINE / 2
_FINER_ROW = int(round(360 / FINER)) + 2
_FINE_ROW = int(round(360 / FINE)) + 2
#: Fine cells' boxes made and tested at a time.
_BATCH = 200_000
#: How far (metres) a fine cell must lie from a quartier's boundary to settle its points:
#: far more than the distance between an edge drawn straight in degrees and the same edge
#: straight in metres.
_DEEP = 1.0
#: What :func:`settle` says of a point that no quartier holds, and of one left to the engine.
OUTSIDE, UNDECIDED = -2, -1


def settle(lon: np.ndarray, lat: np.ndarray, qpv) -> np.ndarray:
    """What the fine cells, then the outlines, say of each point (degrees): the position in
    ``qpv`` of the single quartier it is in, :data:`OUTSIDE` (in none) or
    :data:`UNDECIDED` (for the engine).

    A point whose cell lies inside a single quartier and meets no other is in it; one
    whose cell meets no quartier is in none. The others (cells on a boundary) are tested
    themselves against the quartiers' outlines grown and shrunk by the same depth as the
    cells (prepared, in degrees): a point inside one shrunk outline and no other grown one
    is in that quartier alone, a point outside every grown outline is in none; only the
    points within that depth of a boundary, or in overlaps, are left to the engine."""
    keys, values = _fine_cells(qpv)
    out = np.full(len(lon), UNDECIDED, dtype=np.int64)
    located = np.isfinite(lon) & np.isfinite(lat)
    if not located.any():
        return out
    at = _hashed(keys).get_indexer(_ids(lon[located], lat[located], FINE, _FINE_ROW))
    out[located] = np.where(at >= 0, values[at] if len(keys) else UNDECIDED, OUTSIDE)
    finer = np.flatnonzero(located & (out == UNDECIDED))
    cached = _CACHE.get((id(qpv), "finer"))
    if len(finer) and cached is not None and cached[0] is qpv and len(cached[1][0]):
        # the points of boundary cells: their quarter cell settles half of them
        sub_keys, sub_values = cached[1]
        at = _hashed(sub_keys).get_indexer(_ids(lon[finer], lat[finer], FINER, _FINER_ROW))
        out[finer] = np.where(at >= 0, sub_values[at], UNDECIDED)
    todo = np.flatnonzero(located & (out == UNDECIDED))
    if len(todo):
        out[todo] = _settle_points(lon[todo], lat[todo], _CACHE[(id(qpv), "bands")][1])
    return out


def _settle_points(lon: np.ndarray, lat: np.ndarray, bands: tuple) -> np.ndarray:
    """:func:`settle`'s verdict for points on boundary cells, from the grown and shrunk
    outlines."""
    import shapely

    present, valid, grown, shrunk, tree = bands
    n = len(lon)
    point, near = tree.query(shapely.points(lon, lat))
    x, y = lon[point], lat[point]
    in_grown = shapely.intersects_xy(grown[near], x, y)
    # an invalid outline (taken as its box) settles no point: the engine decides
    in_shrunk = in_grown & valid[near]
    in_shrunk[in_shrunk] = shapely.contains_xy(shrunk[near[in_shrunk]], x[in_shrunk],
                                               y[in_shrunk])
    grown_count = np.bincount(point[in_grown], minlength=n)
    alone = (grown_count == 1) & (np.bincount(point[in_shrunk], minlength=n) == 1)
    owner = np.full(n, UNDECIDED, dtype=np.int64)
    owner[point[in_shrunk]] = present[near[in_shrunk]]
    return np.where(grown_count == 0, OUTSIDE, np.where(alone, owner, UNDECIDED))


def _fine_cells(qpv) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ids of the fine cells that meet a quartier, with the quartier each lies
    inside alone (else :data:`UNDECIDED`)."""
    cached = _CACHE.get((id(qpv), "fine"))
    if cached is not None and cached[0] is qpv:
        return cached[1]
    import shapely

    polys = np.asarray(qpv.geometry.values, dtype=object)
    present = np.flatnonzero(~shapely.is_missing(polys) & ~shapely.is_empty(polys))
    valid = shapely.is_valid(polys[present])
    # an invalid outline is taken as its box: its cells go to the engine
    shapes = np.where(valid, polys[present], shapely.envelope(polys[present]))
    bounds = shapely.bounds(shapes)
    far = np.minimum(np.maximum(np.abs(bounds[:, 1]), np.abs(bounds[:, 3])), 89.0)
    margin = 2 * _DEEP / (_METRES_PER_DEGREE * np.cos(np.radians(far)))
    ids, owner = [], []
    for k, (lo, hi) in enumerate(zip(
            _ids(bounds[:, 0] - margin, bounds[:, 1] - margin, FINE, _FINE_ROW),
            _ids(bounds[:, 2] + margin, bounds[:, 3] + margin, FINE, _FINE_ROW),
            strict=True)):
        r0, c0 = divmod(int(lo), _FINE_ROW)
        r1, c1 = divmod(int(hi), _FINE_ROW)
        cells = (np.arange(r0, r1 + 1)[:, None] * _FINE_ROW
                 + np.arange(c0, c1 + 1)[None, :]).ravel()
        ids.append(cells)
        owner.append(np.full(len(cells), k))
    # few segments per quarter circle: a chord of the rounded corners stays within 2 % of
    # the margin, twice the depth asked
    grown = shapely.buffer(shapes, margin, quad_segs=4)
    shrunk = shapely.buffer(shapes, -margin, quad_segs=4)
    shapely.prepare(grown)
    shapely.prepare(shrunk)
    bands = (present, valid, grown, shrunk, shapely.STRtree(grown))
    if not ids:
        result = finer = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    else:
        ids, owner = np.concatenate(ids), np.concatenate(owner)
        # the cells' boxes made and tested a batch at a time (all at once, they took
        # hundreds of MB); only those inside a quartier are kept
        kept, inside_boxes = [], []
        for start in range(0, len(ids), _BATCH):
            part_ids, part_owner = ids[start:start + _BATCH], owner[start:start + _BATCH]
            row, column = np.divmod(part_ids, _FINE_ROW)
            west, south = column * FINE - 180, row * FINE - 90
            boxes = shapely.box(west, south, west + FINE, south + FINE)
            meets = shapely.intersects(grown[part_owner], boxes)
            inside = np.zeros(len(boxes), dtype=bool)
            inside[meets] = valid[part_owner[meets]] & shapely.contains_properly(
                shrunk[part_owner[meets]], boxes[meets])
            kept.append((part_ids[meets], part_owner[meets], inside[meets]))
            inside_boxes.append(boxes[inside])
        ids, owner, inside = (np.concatenate(k) for k in zip(*kept, strict=True))
        boxes = np.concatenate(inside_boxes)
        pairs = (ids, owner)
        # a cell inside one quartier that another meets too (overlaps, shared boundaries)
        # is the engine's
        # (boxes against the index, then the prepared outlines: a query with a predicate
        # would test every box against unprepared outlines, seconds longer)
        hits = bands[4].query(boxes)
        hits = hits[:, shapely.intersects(grown[hits[1]], boxes[hits[0]])]
        alone = np.zeros(len(ids), dtype=bool)
        alone[np.flatnonzero(inside)] = np.bincount(hits[0], minlength=inside.sum()) == 1
        value = np.where(alone, present[owner], UNDECIDED)
        # one value per cell: a cell met by several quartiers is the engine's
        order = np.lexsort((value, ids))
        ids, value = ids[order], value[order]
        first = np.r_[True, ids[1:] != ids[:-1]]
        several = np.add.reduceat(np.ones(len(ids), dtype=np.int64),
                                  np.flatnonzero(first)) > 1
        result = (ids[first], np.where(several, UNDECIDED, value[first]))
        undecided = _hashed(result[0][result[1] == UNDECIDED]).get_indexer(pairs[0]) >= 0
        finer = _finer_cells(pairs[0][undecided], pairs[1][undecided], bands)
    if len(_CACHE) >= 8:
        _CACHE.clear()
    _CACHE[(id(qpv), "fine")] = (qpv, result)
    _CACHE[(id(qpv), "bands")] = (qpv, bands)
    _CACHE[(id(qpv), "finer")] = (qpv, finer)
    return result


def _finer_cells(ids: np.ndarray, owner: np.ndarray, bands: tuple
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The four quarter cells (:data:`FINER`) of the fine cells left to the outlines, from
    their pairs of cell and quartier (every quartier whose grown outline meets the cell):
    sorted ids, each with the quartier it lies inside alone, :data:`OUTSIDE` when none
    meets it, else :data:`UNDECIDED`."""
    import shapely

    present, valid, grown, shrunk, _ = bands
    row, column = np.divmod(ids, _FINE_ROW)
    row = (2 * row[:, None] + np.array([0, 0, 1, 1])).ravel()
    column = (2 * column[:, None] + np.array([0, 1, 0, 1])).ravel()
    owner = np.repeat(owner, 4)
    meets = np.zeros(len(row), dtype=bool)
    inside = np.zeros(len(row), dtype=bool)
    for start in range(0, len(row), _BATCH):
        part = slice(start, start + _BATCH)
        west, south = column[part] * FINER - 180, row[part] * FINER - 90
        boxes = shapely.box(west, south, west + FINER, south + FINER)
        m = shapely.intersects(grown[owner[part]], boxes)
        i = np.zeros(len(boxes), dtype=bool)
        i[m] = valid[owner[part][m]] & shapely.contains_properly(shrunk[owner[part][m]],
                                                                 boxes[m])
        meets[part], inside[part] = m, i
    ids = row * _FINER_ROW + column
    order = np.argsort(ids, kind="stable")
    ids, meets, inside, owner = ids[order], meets[order], inside[order], owner[order]
    if not len(ids):
        return ids, np.empty(0, dtype=np.int64)
    first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    met = np.add.reduceat(meets.astype(np.int64), first)
    within = np.add.reduceat(inside.astype(np.int64), first)
    which = np.maximum.reduceat(np.where(inside, present[owner], -1), first)
    # in one quartier alone when it is the only one met and holds the cell
    return ids[first], np.where(met == 0, OUTSIDE, np.where((met == 1) & (within == 1),
                                                             which, UNDECIDED))
