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
#: Land cells are first tested in blocks of this many on a side.
_SPLIT = 8
#: Cells near the quartiers are first tested in blocks of this many on a side.
_BLOCK = 4
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
#: How far (metres) the outlines may be simplified to draw the band of the distance.
_SIMPLIFY = 10.0
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


def _ids(x: np.ndarray, y: np.ndarray, x0: float, y0: float, side: float = CELL
         ) -> np.ndarray:
    return (np.floor((y - y0) / side).astype(np.int64) * _WIDTH
            + np.floor((x - x0) / side).astype(np.int64))


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
    from .territories import TERRITORIES

    forward = Transformer.from_crs(4326, code, always_xy=True)
    # the land cells cover the territories' boxes
    boxes = [shapely.segmentize(shapely.box(*TERRITORIES[k].bbox), 0.05) for k in keys]
    bounds = shapely.bounds(shapely.transform(np.array(boxes, dtype=object), lambda xy:
                                              np.column_stack(forward.transform(*xy.T))))
    big = LAND * _SPLIT
    x0, y0 = np.floor(bounds[:, :2].min(axis=0) / big) * big
    x1, y1 = np.ceil(bounds[:, 2:].max(axis=0) / big) * big
    shape = (int(round((y1 - y0) / big)), int(round((x1 - x0) / big)))
    row, column = np.divmod(np.arange(shape[0] * shape[1]), shape[1])
    land = land_outline()
    # cells of _SPLIT × _SPLIT land cells first; only those a coast or a border crosses
    # are cut into land cells
    verdict = _land(land, code, x0 + column * big, y0 + row * big, big)
    split = np.arange(_SPLIT)
    row = (row[:, None, None] * _SPLIT + split[None, :, None]
           + np.zeros(_SPLIT, dtype=np.int64)[None, None, :]).ravel()
    column = (column[:, None, None] * _SPLIT + split[None, None, :]
              + np.zeros(_SPLIT, dtype=np.int64)[None, :, None]).ravel()
    verdict = np.repeat(verdict, _SPLIT * _SPLIT)
    crossed = verdict == _EDGE
    verdict[crossed] = _land(land, code, x0 + column[crossed] * LAND,
                             y0 + row[crossed] * LAND, LAND)
    table = np.empty((shape[0] * _SPLIT, shape[1] * _SPLIT), dtype=np.int8)
    table[row, column] = verdict
    return SourceGrid(float(x0), float(y0), table,
                      *_fine(qpv, distance, keys, territory, x0, y0, land))


def _land(land, code: int, west: np.ndarray, south: np.ndarray, side: float) -> np.ndarray:
    """What the cells of ``side`` metres from ``west``, ``south`` (projection ``code``) say
    of their points: wholly in France and well within the projection's area of use
    (:data:`_IN`), wholly out of France (:data:`_OUT`), else :data:`_EDGE`."""
    import shapely
    from pyproj import Transformer

    from .stream import _area_of_use

    backward = Transformer.from_crs(code, 4326, always_xy=True)
    # each cell widened by the margin, its edges followed every kilometre (a straight
    # kilometre in metres bends by millimetres in degrees), in degrees
    cells = shapely.segmentize(shapely.box(west - MARGIN, south - MARGIN,
                                           west + side + MARGIN, south + side + MARGIN), 1000.0)
    cells = shapely.transform(cells, lambda xy: np.column_stack(backward.transform(*xy.T)))
    bounds = shapely.bounds(cells)
    # a cell that PROJ could not bring back whole (beyond the projection's reach)
    reached = np.isfinite(bounds).all(axis=1)
    meets = np.zeros(len(cells), dtype=bool)
    meets[reached] = shapely.intersects(land, cells[reached])
    within = meets.copy()
    within[meets] = shapely.contains_properly(land, cells[meets])
    # out of the area (with a margin) a row is counted as given in a wrong projection:
    # the usual way decides
    area = _area_of_use(code)
    if area is not None:
        w, s, e, n = area
        within &= (bounds[:, 0] > w - 0.9) & (bounds[:, 2] < e + 0.9) & \
            (bounds[:, 1] > s - 0.9) & (bounds[:, 3] < n + 0.9)
    return np.where(~reached | (meets & ~within), _EDGE, np.where(within, _IN, _OUT)
                    ).astype(np.int8)


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
    # the band within the distance less the margin, drawn around the outlines simplified
    # by _SIMPLIFY metres (each within that of the outline), less that: its rounded
    # corners' chords lie inside the true band, and a cell it holds is within the distance
    band = shapely.buffer(shapely.simplify(polys, _SIMPLIFY),
                          max(distance - MARGIN - _SIMPLIFY, 0.0), quad_segs=2)
    for geoms in (polys, shrunk, band):
        shapely.prepare(geoms)
    b = shapely.bounds(polys) + np.array([-1, -1, 1, 1]) * (distance + MARGIN)
    block = CELL * _BLOCK
    lo = _ids(b[:, 0], b[:, 1], x0, y0, block)
    hi = _ids(b[:, 2], b[:, 3], x0, y0, block)
    ids, owner = [], []
    for k, (a, z) in enumerate(zip(lo, hi, strict=True)):
        r0, c0 = divmod(int(a), _WIDTH)
        r1, c1 = divmod(int(z), _WIDTH)
        cells = (np.arange(r0, r1 + 1)[:, None] * _WIDTH + np.arange(c0, c1 + 1)[None, :]
                 ).ravel()
        ids.append(cells)
        owner.append(np.full(len(cells), k))
    ids, owner = np.concatenate(ids), np.concatenate(owner)

    def kinds(ids: np.ndarray, owner: np.ndarray, side: float) -> np.ndarray:
        """Each pair of cell (of ``side`` metres) and quartier: the cell beyond the
        distance, deep inside the quartier, surely in its band (outside it, within the
        distance), surely outside it (the band unsure), or unsure."""
        kind = np.full(len(ids), _BEYOND, dtype=np.int8)
        for start in range(0, len(ids), _BATCH):
            part = slice(start, start + _BATCH)
            row, column = np.divmod(ids[part], _WIDTH)
            west, south = x0 + column * side, y0 + row * side
            boxes = shapely.box(west, south, west + side, south + side)
            q = owner[part]
            # the cells within the distance of the quartier (and the margin), exactly
            m = np.flatnonzero(shapely.dwithin(polys[q], boxes, distance + MARGIN))
            k = kind[part]
            k[m] = _UNSURE
            deep = safe[q[m]] & shapely.contains_properly(shrunk[q[m]], boxes[m])
            k[m[deep]] = _DEEP
            m = m[~deep]
            m = m[~shapely.dwithin(polys[q[m]], boxes[m], MARGIN)]
            k[m] = _OUT_ONLY
            k[m[safe_near[q[m]] & shapely.contains(band[q[m]], boxes[m])]] = _BAND
        return kind

    # blocks of _BLOCK × _BLOCK cells first: their cells are alike when the block is
    # deep inside or surely in the band; the others' cells are tested one by one
    kind = kinds(ids, owner, block)
    keep = kind != _BEYOND
    ids, owner, kind = ids[keep], owner[keep], kind[keep]
    split = np.arange(_BLOCK)
    row, column = np.divmod(ids, _WIDTH)
    row = (row[:, None, None] * _BLOCK + split[None, :, None]
           + np.zeros(_BLOCK, dtype=np.int64)[None, None, :]).reshape(len(ids), -1)
    column = (column[:, None, None] * _BLOCK + split[None, None, :]
              + np.zeros(_BLOCK, dtype=np.int64)[None, :, None]).reshape(len(ids), -1)
    ids = (row * _WIDTH + column).ravel()
    owner = np.repeat(owner, _BLOCK * _BLOCK)
    kind = np.repeat(kind, _BLOCK * _BLOCK)
    test = (kind == _UNSURE) | (kind == _OUT_ONLY)
    kind[test] = kinds(ids[test], owner[test], CELL)
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
