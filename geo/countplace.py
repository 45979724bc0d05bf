"""Where a chunk's points stand, for counts: :func:`geo.stream.place` without its tables.

The national panorama only counts the pairs of point and quartier (implanted, and nearby
for the ESS establishments). :func:`place` asks the same grids (:mod:`geo.prefilter`) and
the same engine primitives (:mod:`geo.link`: each territory's metric projection and index)
as :func:`geo.stream.place`, and returns the same pairs, but as numpy arrays: no pandas
frame is built or sorted per territory and chunk (a fifth of a chunk's time at 150 000
rows). The order of the pairs is not the engine's: counts do not depend on it.
"""

from __future__ import annotations

import numpy as np


def place(lon: np.ndarray, lat: np.ndarray, qpv, distance: float, near: np.ndarray):
    """The quartiers each point (degrees, EPSG:4326; NaN when not located) is in, and for
    the rows ``near`` names the quartiers within ``distance`` metres outside which they
    stand, as a :class:`geo.stream.Placed` (without nearest quartiers)."""
    from .prefilter import UNDECIDED, near_quartiers, settle, settled_ready
    from .stream import SETTLE_FROM, Placed

    n = len(lon)
    located = np.isfinite(lon) & np.isfinite(lat)
    rows = np.flatnonzero(located & near)
    rows = rows[near_quartiers(lon[rows], lat[rows], qpv, distance)]
    near_site, near_qpv, _ = _pairs(lon[rows], lat[rows], qpv, distance, inside=False)
    inside_rows = np.flatnonzero(located & near_quartiers(lon, lat, qpv, 0))
    # points whose cell lies inside a single quartier, or meets none, are settled by it,
    # the others by the engine
    verdict = settle(lon[inside_rows], lat[inside_rows], qpv) if \
        len(inside_rows) >= SETTLE_FROM or settled_ready(qpv) else \
        np.full(len(inside_rows), UNDECIDED)
    engine = inside_rows[verdict == UNDECIDED]
    site, in_qpv, _ = _pairs(lon[engine], lat[engine], qpv, 0.0, inside=True)
    in_rows = np.concatenate([engine[site], inside_rows[verdict >= 0]])
    in_qpv = np.concatenate([in_qpv, verdict[verdict >= 0]])
    # the first quartier (in ``qpv``'s order) of each row, as the engine lists them
    order = np.lexsort((in_qpv, in_rows))
    in_rows, in_qpv = in_rows[order], in_qpv[order]
    implanted = np.full(n, -1, dtype=np.int32)
    first = np.r_[True, in_rows[1:] != in_rows[:-1]] if len(in_rows) else np.empty(0, bool)
    implanted[in_rows[first]] = in_qpv[first]
    return Placed(implanted, rows[near_site], near_qpv.astype(np.int32),
                  np.full(n, -1, dtype=np.int32), np.full(n, np.nan), in_rows,
                  in_qpv.astype(np.int32))


def _pairs(lon: np.ndarray, lat: np.ndarray, qpv, distance: float, *, inside: bool
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of point and quartier (positions): the quartiers each point is in
    (``inside``), else those within ``distance`` metres that do not hold it, with their
    distances; measured as :func:`geo.link.link_points` measures them."""
    import shapely

    from .link import _from_degrees, _metric_index, _query, _territories_of, _within
    from .territories import TERRITORIES, territory_of_points

    sites, quartiers, distances = [], [], []
    if len(lon):
        site_territory = territory_of_points(lon, lat).to_numpy()
        qpv_territory = _territories_of(qpv)
        for key, territory in TERRITORIES.items():
            at = np.flatnonzero(site_territory == key)
            polys_at = np.flatnonzero(qpv_territory == key)
            if not len(at) or not len(polys_at):
                continue
            px, py = _from_degrees(territory.crs).transform(lon[at], lat[at])
            pts = shapely.points(px, py)
            polys, tree = _metric_index(qpv, key, polys_at, territory.crs)
            if inside:
                pair = _query(tree, pts, "intersects")
                d = np.zeros(pair.shape[1])
            else:
                pair, d = _within(tree, pts, polys, px, py, distance)
                pair, d = pair[:, d > 0], d[d > 0]
            sites.append(at[pair[0]])
            quartiers.append(polys_at[pair[1]])
            distances.append(d)
    if not sites:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    return np.concatenate(sites), np.concatenate(quartiers), np.concatenate(distances)
