"""Rows settled in the projection they are given in, before any conversion to degrees.

INSEE gives each establishment in its territory's official projection (Lambert-93, EPSG
2154, in metropolitan France; the local UTM overseas), the very projection the engine
(:func:`geo.link.link_points`) measures in. Most rows of a national file are kilometres
from every quartier, or deep inside one, or at sea: for them, converting to degrees (PROJ,
about a third of a second per million rows) and the grids in degrees are wasted work.

Two grids per projection answer for those rows, as the engine would:

- cells of :data:`LAND` metres, each wholly in France (as :func:`geo.outlines.in_france`
  would say of every point in it, and within its projection's area of use), wholly out of
  it, or on the coast or a border (undecided);
- cells of :data:`CELL` metres near the quartiers (their boxes widened by the distance):
  a cell lies inside one quartier alone, at least :data:`MARGIN` from its boundary and
  farther than the distance plus :data:`MARGIN` from every other quartier, or is
  undecided. A cell that is not listed is farther than the distance from every quartier.

The margin of :data:`MARGIN` metres covers the rounding of a point's way to degrees and back
(nanometres) and the chords of the outlines' rounded buffers (a third of a metre). Rows
of undecided cells, and of projections without a grid, go the usual way (degrees, then the
grids of :mod:`geo.prefilter` and the engine).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

#: Side of a land cell, in metres.
LAND = 4000.0
#: Side of a cell near the quartiers, in metres.
CELL = 100.0
#: How far (metres) a cell must stay from a boundary, or beyond the distance, to settle.
MARGIN = 2.0
#: What a row's cell says: go the usual way, abroad (not located), located far from every
#: quartier, located inside the one quartier given.
UNDECIDED, ABROAD, FAR, INSIDE = 0, 1, 2, 3
#: A fine cell's quartier when it is in none, and when unsure.
NONE, UNSURE = -2, -1
#: What a cell is to one quartier: beyond the distance, unsure, deep inside, surely in
#: its band (outside, within the distance), surely outside it (the band unsure).
_BEYOND, _UNSURE, _DEEP, _BAND, _OUT_ONLY = 0, 1, 2, 3, 4
_IN, _OUT, _EDGE = 1, 0, 2
#: The projections of INSEE's geolocation file (metropolitan France, the Antilles,
#: Guyane, La Réunion, Mayotte): rows in others go the usual way.
SIRENE_EPSG = (2154, 5490, 2972, 2975, 4471)
#: Cells per row of the fine grid's ids.
_WIDTH = 1 << 24
#: Boxes made and tested at a time.
_BATCH = 200_000

_GRIDS: dict[tuple[int, float], tuple] = {}
_LOCK = threading.Lock()


@dataclass
class SourceGrid:
    """The grids of one projection: land cells from ``(x0, y0)``; the sorted ids of the
    fine cells near quartiers, with the quartier (position) each lies inside alone
    (:data:`NONE` when in none, :data:`UNSURE`), whether its nearby
    quartiers are certain, and those quartiers (``near[start[k]:start[k + 1]]``)."""

    x0: float
    y0: float
    land: np.ndarray
    keys: np.ndarray
    inside: np.ndarray
    near_known: np.ndarray
    start: np.ndarray
    near: np.ndarray
    index: object = None


def prepare(qpv, distance: float) -> dict[int, SourceGrid]:
    """Build the grids of every projection a territory of ``qpv`` uses, for ``distance``
    metres (once per process; threads wait for the first build)."""
    with _LOCK:
        cached = _GRIDS.get((id(qpv), distance))
        if cached is not None and cached[0] is qpv:
            return cached[1]
        grids = _build(qpv, distance)
        _GRIDS.clear()
        _GRIDS[(id(qpv), distance)] = (qpv, grids)
        return grids


def ready(qpv, distance: float) -> dict[int, SourceGrid] | None:
    """The grids of ``qpv`` if :func:`prepare` built them, else ``None``."""
    cached = _GRIDS.get((id(qpv), distance))
    return cached[1] if cached is not None and cached[0] is qpv else None


def settle(x: np.ndarray, y: np.ndarray, epsg: np.ndarray, near: np.ndarray,
           grids: dict[int, SourceGrid]) -> tuple[np.ndarray, ...]:
    """What the grids say of each row (coordinates ``x``, ``y`` in the projection its
    ``epsg`` code names; NaN when not given; ``near``: the rows whose nearby quartiers are
    wanted): :data:`UNDECIDED`, :data:`ABROAD`, :data:`FAR` (in no quartier) or
    :data:`INSIDE`, and for the last the quartier's position (else -1); and the pairs of
    row and nearby quartier of the rows settled that ``near`` names."""
    state = np.full(len(x), UNDECIDED, dtype=np.int8)
    quartier = np.full(len(x), -1, dtype=np.int64)
    near_rows, near_qpv = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    given = np.isfinite(x) & np.isfinite(y)
    for code, grid in grids.items():
        rows = np.flatnonzero(given & (epsg == code))
        if not len(rows):
            continue
        column = np.floor((x[rows] - grid.x0) / LAND)
        row = np.floor((y[rows] - grid.y0) / LAND)
        inside = (column >= 0) & (column < grid.land.shape[1]) & (row >= 0) & \
            (row < grid.land.shape[0])
        land = np.full(len(rows), _EDGE, dtype=np.int8)
        land[inside] = grid.land[row[inside].astype(np.int64), column[inside].astype(np.int64)]
        state[rows[land == _OUT]] = ABROAD
        at = rows[land == _IN]
        if not len(at):
            continue
        if grid.index is None:
            import pandas as pd

            grid.index = pd.Index(grid.keys)
        found = grid.index.get_indexer(_ids(x[at], y[at], grid.x0, grid.y0))
        cell = np.maximum(found, 0)
        listed = found >= 0
        value = np.where(listed, grid.inside[cell], NONE)
        # a row whose nearby quartiers are wanted needs its cell to know them
        value[listed & near[at] & ~grid.near_known[cell]] = UNSURE
        state[at[value == NONE]] = FAR
        state[at[value >= 0]] = INSIDE
        quartier[at[value >= 0]] = value[value >= 0]
        pairs = np.flatnonzero(listed & (value != UNSURE) & near[at])
        if len(pairs):
            first, last = grid.start[cell[pairs]], grid.start[cell[pairs] + 1]
            counts = last - first
            near_rows.append(np.repeat(at[pairs], counts))
            offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            near_qpv.append(grid.near[np.repeat(first, counts) + offsets])
    return state, quartier, np.concatenate(near_rows), np.concatenate(near_qpv)


def _ids(x: np.ndarray, y: np.ndarray, x0: float, y0: float) -> np.ndarray:
    return (np.floor((y - y0) / CELL).astype(np.int64) * _WIDTH
            + np.floor((x - x0) / CELL).astype(np.int64))


def _build(qpv, distance: float) -> dict[int, SourceGrid]:
    from .link import _territories_of
    from .territories import TERRITORIES

    territory = _territories_of(qpv)
    grids = {}
    for code in SIRENE_EPSG:
        keys = [k for k, t in TERRITORIES.items() if t.crs == f"EPSG:{code}"]
        if not keys or not np.isin(territory, keys).any():
            continue
        grids[code] = _grid(qpv, distance, code, keys, territory)
    return grids


def _grid(qpv, distance: float, code: int, keys: list[str], territory: np.ndarray
          ) -> SourceGrid:
    """The grids of projection ``code``, for the quartiers of territories ``keys``."""
    import shapely
    from pyproj import Transformer

    from .outlines import land_outline
    from .stream import _area_of_use
    from .territories import TERRITORIES

    forward = Transformer.from_crs(4326, code, always_xy=True)
    backward = Transformer.from_crs(code, 4326, always_xy=True)
    # the land cells cover the territories' boxes
    boxes = [shapely.segmentize(shapely.box(*TERRITORIES[k].bbox), 0.05) for k in keys]
    bounds = shapely.bounds(shapely.transform(np.array(boxes, dtype=object), lambda xy:
                                              np.column_stack(forward.transform(*xy.T))))
    x0, y0 = np.floor(bounds[:, :2].min(axis=0) / LAND) * LAND
    x1, y1 = np.ceil(bounds[:, 2:].max(axis=0) / LAND) * LAND
    shape = (int(round((y1 - y0) / LAND)), int(round((x1 - x0) / LAND)))
    row, column = np.divmod(np.arange(shape[0] * shape[1]), shape[1])
    west, south = x0 + column * LAND, y0 + row * LAND
    # each cell widened by the margin, its edges followed every kilometre (a straight
    # kilometre in metres bends by millimetres in degrees), in degrees
    cells = shapely.segmentize(shapely.box(west - MARGIN, south - MARGIN,
                                           west + LAND + MARGIN, south + LAND + MARGIN), 1000.0)
    cells = shapely.transform(cells, lambda xy: np.column_stack(backward.transform(*xy.T)))
    land = land_outline()
    meets = shapely.intersects(land, cells)
    verdict = np.full(len(cells), _OUT, dtype=np.int8)
    within = meets.copy()
    within[meets] = shapely.contains_properly(land, cells[meets])
    # in France, and well within the projection's area of use (else a row is counted
    # as given in a wrong projection: the usual way decides)
    area = _area_of_use(code)
    if area is not None:
        west_, south_, east_, north_ = area
        cb = shapely.bounds(cells)
        within &= (cb[:, 0] > west_ - 0.9) & (cb[:, 2] < east_ + 0.9) & \
            (cb[:, 1] > south_ - 0.9) & (cb[:, 3] < north_ + 0.9)
    verdict[meets] = np.where(within[meets], _IN, _EDGE)
    # a cell that PROJ could not bring back (beyond the projection's reach) is undecided
    verdict[~shapely.is_valid(cells) | np.isnan(shapely.bounds(cells)).any(axis=1)] = _EDGE
    return SourceGrid(float(x0), float(y0), verdict.reshape(shape),
                      *_fine(qpv, distance, keys, territory, x0, y0, land))



def _fine(qpv, distance: float, keys: list[str], territory: np.ndarray, x0: float,
          y0: float, land) -> tuple[np.ndarray, ...]:
    """The fine cells near the quartiers of territories ``keys``: :class:`SourceGrid`'s
    ``keys``, ``inside``, ``near_known``, ``start`` and ``near``."""
    import shapely

    from .geometry import to_metric
    from .territories import TERRITORIES

    positions, polys, safe, safe_near = [], [], [], []
    for key in keys:
        at = np.flatnonzero(territory == key)
        if not len(at):
            continue
        # the outlines exactly as the engine projects them (geo.link._metric_index)
        positions.append(at)
        polys.append(to_metric(qpv.geometry.iloc[at], TERRITORIES[key].crs))
        # its points are in France and the territory's (the engine searches its
        # quartiers), and so are those within the distance of it (a degree is 110 km)
        degrees = np.asarray(qpv.geometry.values, dtype=object)[at]
        b = shapely.bounds(degrees)
        w, s, e, n = TERRITORIES[key].bbox
        pad = 2 * (distance + MARGIN) / 100_000.0
        safe.append(shapely.contains_properly(land, degrees))
        safe_near.append((b[:, 0] - pad > w) & (b[:, 2] + pad < e) & (b[:, 1] - pad > s)
                         & (b[:, 3] + pad < n))
    empty = np.empty(0, dtype=np.int64)
    if not polys:
        return empty, empty, np.empty(0, dtype=bool), np.zeros(1, dtype=np.int64), empty
    positions, polys, safe, safe_near = (np.concatenate(v) for v in (
        positions, polys, safe, safe_near))
    present = ~shapely.is_missing(polys) & ~shapely.is_empty(polys)
    positions, polys, safe, safe_near = (v[present] for v in (
        positions, polys, safe, safe_near))
    safe &= safe_near & shapely.is_valid(polys)
    safe_near &= safe
    shrunk = shapely.buffer(polys, -MARGIN, quad_segs=4)
    # the band within the distance less the margin (its rounded corners' chords lie
    # inside the true band: a cell it holds is within the distance)
    band = shapely.buffer(polys, max(distance - MARGIN, 0.0), quad_segs=8)
    for geoms in (polys, shrunk, band):
        shapely.prepare(geoms)
    b = shapely.bounds(polys) + np.array([-1, -1, 1, 1]) * (distance + MARGIN)
    lo = _ids(b[:, 0], b[:, 1], x0, y0)
    hi = _ids(b[:, 2], b[:, 3], x0, y0)
    ids, owner = [], []
    for k, (a, z) in enumerate(zip(lo, hi, strict=True)):
        r0, c0 = divmod(int(a), _WIDTH)
        r1, c1 = divmod(int(z), _WIDTH)
        cells = (np.arange(r0, r1 + 1)[:, None] * _WIDTH + np.arange(c0, c1 + 1)[None, :]
                 ).ravel()
        ids.append(cells)
        owner.append(np.full(len(cells), k))
    ids, owner = np.concatenate(ids), np.concatenate(owner)
    # each pair of cell and quartier: the cell deep inside it, surely in its band
    # (outside it, within the distance), surely outside it (the band unsure), or unsure
    kind = np.full(len(ids), -1, dtype=np.int8)
    for start in range(0, len(ids), _BATCH):
        part = slice(start, start + _BATCH)
        row, column = np.divmod(ids[part], _WIDTH)
        west, south = x0 + column * CELL, y0 + row * CELL
        boxes = shapely.box(west, south, west + CELL, south + CELL)
        q = owner[part]
        # the cells within the distance of the quartier (and the margin), measured exactly
        met = shapely.dwithin(polys[q], boxes, distance + MARGIN)
        k = np.full(len(boxes), _BEYOND, dtype=np.int8)
        k[met] = _UNSURE
        m = np.flatnonzero(met)
        deep = safe[q[m]] & shapely.contains_properly(shrunk[q[m]], boxes[m])
        k[m[deep]] = _DEEP
        m = m[~deep]
        out = ~shapely.dwithin(polys[q[m]], boxes[m], MARGIN)
        m = m[out]
        k[m] = _OUT_ONLY
        sure = safe_near[q[m]] & shapely.contains(band[q[m]], boxes[m])
        k[m[sure]] = _BAND
        kind[part] = k
    met = kind != _BEYOND
    ids, owner, kind = ids[met], positions[owner[met]], kind[met]
    order = np.lexsort((owner, ids))
    ids, owner, kind = ids[order], owner[order], kind[order]
    if not len(ids):
        return empty, empty, np.empty(0, dtype=bool), np.zeros(1, dtype=np.int64), empty
    first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])

    def per_cell(flags: np.ndarray) -> np.ndarray:
        return np.add.reduceat(flags.astype(np.int64), first)

    unsure, deep, out_only = (per_cell(kind == k) for k in (_UNSURE, _DEEP, _OUT_ONLY))
    # the quartier a cell is deep inside, when it is one alone and the others surely out
    holder = np.maximum.reduceat(np.where(kind == _DEEP, owner, -1), first)
    inside = np.where((unsure > 0) | (deep > 1), UNSURE, np.where(deep == 1, holder, NONE))
    near_known = (inside != UNSURE) & (out_only == 0)
    in_band = kind == _BAND
    start = np.r_[0, np.cumsum(per_cell(in_band))]
    return ids[first], inside, near_known, start, owner[in_band]
