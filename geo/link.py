"""Which quartiers each site is implanted in, near to, or serves — distances in metres.

The geometry work (:func:`link_points`) runs per territory in its official metric projection
(:mod:`geo.territories`) with a spatial index, so it is exact at the boundary (a point on a
boundary is inside) and fast enough for every ESS establishment in France. :func:`link` builds
the user's tables from it: per site, long, per initiative, per QPV and per territory.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ._errors import InputError
from .area import StudyArea
from .geometry import to_metric
from .initiatives import Initiatives, Issue, initiative_ids
from .territories import (
    DEPARTEMENTS,
    TERRITORIES,
    territory_of_departement,
    territory_of_points,
)
from .vocabulary import (
    DEFAULT_DISTANCE,
    GENERATION,
    QPV_CODE,
    Evolution,
    Relation,
    TerritoryStatus,
    theme_values,
)

RELATIONS = (Relation.IMPLANTED, Relation.NEARBY, Relation.SERVED)
#: A site's own relations, strongest first (an initiative takes the strongest of its sites).
_RANK = {r.value: k for k, r in enumerate((Relation.IMPLANTED, Relation.NEARBY, Relation.NONE,
                                            Relation.NOT_LOCATED))}
_IMPLANTED, _NEARBY, _NONE, _NOT_LOCATED, _SERVED = (
    r.value for r in (Relation.IMPLANTED, Relation.NEARBY, Relation.NONE, Relation.NOT_LOCATED,
                      Relation.SERVED))


@dataclass
class Links:
    """Raw results of :func:`link_points`; sites and QPV are positions in the inputs."""

    implanted: pd.DataFrame  # site, qpv
    nearby: pd.DataFrame  # site, qpv, distance_m (outside the QPV, within the band)
    within_radius: pd.DataFrame  # site, qpv, distance_m (QPV touching the service circle)
    nearest_qpv: np.ndarray  # position of the nearest QPV, -1 when none in the territory
    nearest_distance: np.ndarray  # metres, 0 inside, NaN when not located
    #: Sites closer to a quartier's boundary than the outlines' rounding (``uncertainty``)
    uncertain: np.ndarray | None = None


def _pairs(site=(), qpv=(), distance=None) -> pd.DataFrame:
    frame = pd.DataFrame({"site": np.asarray(site, dtype=np.int64),
                          "qpv": np.asarray(qpv, dtype=np.int64)})
    if distance is not None:
        frame["distance_m"] = np.asarray(distance, dtype=float)
    return frame


def _ordered(parts: list[pd.DataFrame], by: list[str], **empty) -> pd.DataFrame:
    """The pairs of every territory, in a stable order that no spatial index decides."""
    frame = pd.concat([_pairs(**empty), *parts], ignore_index=True)
    return frame.sort_values(by, kind="stable", ignore_index=True)


def link_points(
    points: gpd.GeoSeries | np.ndarray,
    qpv: gpd.GeoDataFrame,
    *,
    distance: float = DEFAULT_DISTANCE,
    radius: np.ndarray | None = None,
    nearest: bool = True,
    uncertainty: float = 0.0,
) -> Links:
    """Relate points (EPSG:4326; missing ones allowed) to QPV polygons, in metres.

    Parameters
    ----------
    points
        Site locations in longitude/latitude (EPSG:4326); ``None`` for unlocated sites.
    qpv
        QPV boundaries as returned by :func:`geo.qpv.load_qpv` (EPSG:4326, ``insee_dep``).
    distance
        Width of the proximity band in metres; ``0`` disables *nearby*.
    radius
        Per-site service radius in metres (NaN or 0: none); QPV touching the circle are
        returned in ``within_radius``.
    nearest
        Also find the nearest QPV of every point (``False``: ``nearest_qpv`` stays -1).
    uncertainty
        How far (metres) the outlines may be from the exact ones (their rounding): points
        closer than this to a quartier's boundary are flagged in ``uncertain``.

    The rule on shared boundaries and overlaps: a point is implanted in **every** quartier
    that contains it (a point on a boundary is inside), listed in the order of ``qpv``;
    nearby quartiers are listed by distance, then in that order. Every path (whole table,
    chunks, workers, Dask) gets the same pairs in the same order.
    """
    geoms = np.asarray(points.values if hasattr(points, "values") else points, dtype=object)
    n = len(geoms)
    located = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    x[located], y[located] = shapely.get_x(geoms[located]), shapely.get_y(geoms[located])
    return _link(x, y, located, qpv, distance=distance, radius=radius, nearest=nearest,
                 uncertainty=uncertainty)


def nearby_points(lon: np.ndarray, lat: np.ndarray, qpv: gpd.GeoDataFrame, *,
                  distance: float = DEFAULT_DISTANCE) -> pd.DataFrame:
    """The ``nearby`` pairs of :func:`link_points` alone (site, qpv, distance_m), for
    points given as longitude and latitude arrays (EPSG:4326; NaN when not located): the
    quartiers within ``distance`` metres of each point but not containing it, in the same
    order. Where the points are is not searched (a national count settles it otherwise)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return _link(lon, lat, np.isfinite(lon) & np.isfinite(lat), qpv, distance=distance,
                 nearest=False, implanted=False).nearby


def _link(x: np.ndarray, y: np.ndarray, located: np.ndarray, qpv: gpd.GeoDataFrame, *,
          distance: float, radius: np.ndarray | None = None, nearest: bool = True,
          uncertainty: float = 0.0, implanted: bool = True) -> Links:
    """:func:`link_points` on lon/lat arrays; ``implanted`` ``False``: without the
    quartiers each point is in (left empty)."""
    n = len(x)
    site_territory = territory_of_points(x, y).to_numpy()
    qpv_territory = _territories_of(qpv)
    nearest_qpv = np.full(n, -1, dtype=np.int64)
    nearest_distance = np.full(n, np.nan)
    uncertain = np.zeros(n, dtype=bool)
    inside_pairs, nearby, within = [], [], []
    for key in TERRITORIES:
        sites = np.flatnonzero(located & (site_territory == key))
        polys_at = np.flatnonzero(qpv_territory == key)
        if not len(sites) or not len(polys_at):
            continue
        crs = TERRITORIES[key].crs
        px, py = _from_degrees(crs).transform(x[sites], y[sites])
        pts = _threaded(shapely.points, px, py)
        polys, tree = _metric_index(qpv, key, polys_at, crs)

        inside = np.empty((2, 0), dtype=np.int64)
        if implanted or nearest:
            inside = _query(tree, pts, "intersects")
            inside_pairs.append(_pairs(sites[inside[0]], polys_at[inside[1]]))
        if uncertainty > 0:
            close = _query(tree, pts, "dwithin", distance=uncertainty)
            edge = shapely.distance(pts[close[0]], shapely.boundary(polys[close[1]]))
            uncertain[sites[close[0][edge < uncertainty]]] = True
        near = np.empty((2, 0), dtype=np.int64)
        d = np.empty(0)
        if distance > 0:
            near, d = _within(tree, pts, polys, px, py, distance)
            keep = d > 0
            nearby.append(_pairs(sites[near[0][keep]], polys_at[near[1][keep]], d[keep]))
        if nearest:
            found, nearest_distance[sites] = _nearest(tree, pts, polys, inside, near, d)
            nearest_qpv[sites] = polys_at[found]
        if radius is not None:
            r = np.nan_to_num(np.asarray(radius, dtype=float)[sites])
            with_r = np.flatnonzero(r > 0)
            if len(with_r):
                hit = tree.query(pts[with_r], predicate="dwithin", distance=r[with_r])
                d = shapely.distance(pts[with_r][hit[0]], polys[hit[1]])
                within.append(_pairs(sites[with_r][hit[0]], polys_at[hit[1]], d))
    return Links(
        implanted=_ordered(inside_pairs, ["site", "qpv"]),
        nearby=_ordered(nearby, ["site", "distance_m", "qpv"], distance=[]),
        within_radius=_ordered(within, ["site", "distance_m", "qpv"], distance=[]),
        nearest_qpv=nearest_qpv,
        nearest_distance=nearest_distance,
        uncertain=uncertain,
    )


def _territories_of(qpv: gpd.GeoDataFrame) -> np.ndarray:
    """Each quartier's territory, found once per generation (a big table linked chunk by
    chunk asked for them every chunk)."""
    cached = _INDEXES.get((id(qpv), "territories"))
    if cached is not None and cached[0] is qpv and len(cached[1]) == len(qpv):
        return cached[1]
    territories = qpv["insee_dep"].map(territory_of_departement).to_numpy()
    if len(_INDEXES) >= 16:
        _INDEXES.clear()
    _INDEXES[(id(qpv), "territories")] = (qpv, territories)
    return territories


def _within(tree: shapely.STRtree, pts: np.ndarray, polys: np.ndarray, px: np.ndarray,
            py: np.ndarray, distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (point, polygon) at most ``distance`` metres apart, and their distances, each
    measured once: the polygons whose boxes meet the square around each point, then the
    exact distance (a ``dwithin`` query measured them, and they were measured again)."""
    squares = _threaded(shapely.box, px - distance, py - distance, px + distance,
                        py + distance)
    candidates = _query(tree, squares, None)
    d = _threaded(shapely.distance, pts[candidates[0]], polys[candidates[1]])
    keep = d <= distance
    return candidates[:, keep], d[keep]


@lru_cache(maxsize=32)
def _from_degrees(crs: str) -> Transformer:
    """Degrees to ``crs``, made once (making one takes ~10 ms; a big table linked chunk by
    chunk used to make one per chunk and territory). Transformers are thread-safe."""
    return Transformer.from_crs(4326, crs, always_xy=True)


#: The QPV of the last few generations linked, in metres, with their index: a big table
#: linked chunk by chunk projects and indexes them once.
_INDEXES: dict[tuple[int, str], tuple] = {}


def _metric_index(qpv: gpd.GeoDataFrame, key: str, polys_at: np.ndarray, crs: str
                  ) -> tuple[np.ndarray, shapely.STRtree]:
    cached = _INDEXES.get((id(qpv), key))
    if cached is not None and cached[0] is qpv and np.array_equal(cached[1], polys_at):
        return cached[2], cached[3]
    polys = to_metric(qpv.geometry.iloc[polys_at], crs)
    tree = shapely.STRtree(polys)
    if len(_INDEXES) >= 16:
        _INDEXES.clear()
    _INDEXES[(id(qpv), key)] = (qpv, polys_at, polys, tree)
    return polys, tree


#: Boundaries are densified so that no segment is longer than this (metres) before their
#: vertices are indexed for the nearest-QPV search.
_SEGMENT = 20.0
#: Largest error accepted from the vertex search before falling back to an exact search.
_TOLERANCE = 0.25
#: Up to this many points beyond the proximity band, the nearest quartier is searched
#: exactly, without the vertex index (building it costs more than it saves).
_EXACT_UP_TO = 2000


def _nearest(tree: shapely.STRtree, pts: np.ndarray, polys: np.ndarray, inside: np.ndarray,
             near: np.ndarray, near_distance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest polygon and distance (metres) of each point, to :data:`_TOLERANCE` at worst.

    Inside a polygon the distance is 0; within the proximity band it is the smallest
    distance already computed for *nearby*. Beyond, a k-d tree of the boundary vertices
    (densified every :data:`_SEGMENT` m) gives the nearest vertex, at ``d_v``; the distance
    ``d`` to the two boundary segments that meet there is an upper bound of the answer, and
    no boundary point can be closer than ``sqrt(d_v² - (_SEGMENT/2)²)``. Where these bounds
    leave more than :data:`_TOLERANCE` of doubt (close to the band), an exact STRtree
    search decides.
    """
    index = np.full(len(pts), -1, dtype=np.int64)
    dist = np.full(len(pts), np.inf)
    if len(near[0]):
        # the nearest by distance, then by position (ties settled whatever the index)
        order = np.lexsort((near[1], near_distance, near[0]))
        first = order[np.r_[True, near[0][order][1:] != near[0][order][:-1]]]
        index[near[0][first]] = near[1][first]
        dist[near[0][first]] = near_distance[first]
    index[inside[0]] = inside[1]
    dist[inside[0]] = 0.0
    todo = np.flatnonzero(index < 0)
    if not len(todo):
        return index, dist
    if len(todo) <= _EXACT_UP_TO:  # few points: the exact search is quicker than the index
        found, exact = tree.query_nearest(pts[todo], return_distance=True, all_matches=False)
        index[todo[found[0]]], dist[todo[found[0]]] = found[1], exact
        return index, dist
    from scipy.spatial import cKDTree

    rings, owner = shapely.get_parts(shapely.segmentize(shapely.boundary(polys), _SEGMENT),
                                     return_index=True)
    vertices, ring = shapely.get_coordinates(rings, return_index=True)
    xy = shapely.get_coordinates(pts[todo])
    vertex_distance, vertex = cKDTree(vertices).query(xy, workers=-1)
    candidate = owner[ring[vertex]]
    d = np.full(len(todo), np.inf)
    for step in (-1, 1):  # the segments before and after the nearest vertex, on its ring
        other = np.clip(vertex + step, 0, len(vertices) - 1)
        same = ring[other] == ring[vertex]
        d = np.where(same, np.minimum(d, _segment_distance(xy, vertices[vertex],
                                                           vertices[other])), d)
    d = np.minimum(d, vertex_distance)
    lower = np.sqrt(np.maximum(vertex_distance**2 - (_SEGMENT / 2) ** 2, 0))
    doubt = np.flatnonzero(d - lower > _TOLERANCE)
    if len(doubt):
        found, exact = tree.query_nearest(pts[todo[doubt]], return_distance=True,
                                          all_matches=False)
        candidate[doubt[found[0]]] = found[1]
        d[doubt[found[0]]] = exact
    index[todo], dist[todo] = candidate, d
    return index, dist


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points ``p`` to segments ``a``–``b`` (arrays of x, y rows)."""
    ab = b - a
    length2 = np.einsum("ij,ij->i", ab, ab)
    t = np.where(length2 > 0, np.einsum("ij,ij->i", p - a, ab) / np.where(length2 > 0,
                                                                           length2, 1), 0)
    closest = a + np.clip(t, 0, 1)[:, None] * ab
    return np.hypot(*(p - closest).T)


def _query(tree: shapely.STRtree, pts: np.ndarray, predicate: str | None, **kw
           ) -> np.ndarray:
    """``tree.query`` (``predicate`` ``None``: the boxes that meet) on two halves of the
    points in threads (GEOS releases the GIL)."""
    if len(pts) < 20_000:
        return tree.query(pts, predicate=predicate, **kw)
    from concurrent.futures import ThreadPoolExecutor

    half = len(pts) // 2
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda part: tree.query(part, predicate=predicate, **kw),
                                 (pts[:half], pts[half:]))
    second = second.copy()
    second[0] += half
    return np.concatenate([first, second], axis=1)


def _threaded(func, *arrays: np.ndarray, chunks: int = 2) -> np.ndarray:
    """Run a vectorised shapely function on chunks in threads (shapely releases the GIL)."""
    n = len(arrays[0])
    if n < 20_000:
        return func(*arrays)
    from concurrent.futures import ThreadPoolExecutor

    bounds = np.linspace(0, n, chunks + 1).astype(int)
    with ThreadPoolExecutor(chunks) as pool:
        parts = pool.map(lambda ab: func(*(a[ab[0]:ab[1]] for a in arrays)),
                         zip(bounds[:-1], bounds[1:], strict=True))
        return np.concatenate(list(parts))


# --------------------------------------------------------------------------- tables


@dataclass
class LinkResult:
    """Everything :func:`link` computes, ready to be written."""

    sites: gpd.GeoDataFrame
    long: pd.DataFrame
    initiatives: pd.DataFrame
    per_qpv: pd.DataFrame
    per_territory: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)
    #: Width of the proximity band used, in metres.
    distance: float = DEFAULT_DISTANCE
    #: The territory reported (empty: the whole generation).
    area: StudyArea = field(default_factory=StudyArea)
    #: Which QPV of the generation are in :attr:`area` (positions in the QPV linked).
    qpv_in_area: np.ndarray | None = None
    #: How far the outlines linked may be from the exact ones (their rounding, metres).
    rounding: float = 0.0
    #: What the per-quartier and per-territory tables cover, in French (the territory
    #: given, else the départements of the sites: :func:`_quartiers_of_sites`).
    reported: str = "France entière"
    #: The user's columns whose cells their workbook held as numbers (``value`` and the
    #: ``text`` shown, by row), those that identify, name or place a site left out.
    typed_numbers: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def parameters(self) -> dict:
        """The parameters that made this result (for maps, reports and provenance)."""
        out = {"distance_m": self.distance, "territoire": self.area.label,
               "quartiers_rapportes": self.reported}
        if self.rounding:
            out.update(arrondi_contours_m=round(self.rounding, 1),
                       sites_limite_incertaine=self.summary()["uncertain"])
        return out

    def summary(self) -> dict[str, int]:
        """Counts of sites by relation, as shown at the end of a command."""
        relation = self.sites["relation"]
        outside = (self.sites["territory_status"] == TerritoryStatus.OUTSIDE).sum() \
            if "territory_status" in self.sites else 0
        return {
            "outside": int(outside),
            "sites": len(self.sites),
            "located": int((relation != _NOT_LOCATED).sum()),
            **{r: int((relation == r).sum()) for r in (_IMPLANTED, _NEARBY, _NONE,
                                                         _NOT_LOCATED)},
            "serving": int((self.sites["qpv_served"] != "").sum()),
            "initiatives": len(self.initiatives),
            "uncertain": int((self.sites["boundary_uncertain"] == "oui").sum())
            if "boundary_uncertain" in self.sites else 0,
        }

    def uncertain(self) -> dict[str, int]:
        """Sites at an uncertain boundary (``boundary_uncertain``) by relation (implanted,
        nearby): counts that a summary says beside the relation's own."""
        if "boundary_uncertain" not in self.sites:
            return {}
        at = self.sites.loc[self.sites["boundary_uncertain"] == "oui", "relation"]
        return {str(r): int(n) for r, n in at.value_counts().items()}


def link(
    initiatives: Initiatives,
    qpv: gpd.GeoDataFrame,
    *,
    distance: float = DEFAULT_DISTANCE,
    area: StudyArea | None = None,
    previous: gpd.GeoDataFrame | None = None,
    whole_generation: bool = False,
) -> LinkResult:
    """Link the sites of ``initiatives`` to ``qpv`` and build the output tables.

    Parameters
    ----------
    initiatives
        Sites read by :func:`geo.initiatives.read_initiatives`.
    qpv
        A whole QPV generation (:func:`geo.qpv.load_qpv`, unfiltered): sites are linked to
        every quartier, so one across a territory's border still counts.
    distance
        Width of the proximity band in metres (default 300; 0 disables *nearby*).
    area
        The territory reported: the per-QPV and per-territory tables hold its quartiers
        (all of them, with or without initiatives), and each site gets
        ``territory_status`` (``inside`` / ``outside``) with a note when outside.
    previous
        Another generation (e.g. 2015) to compare with: each site gets the columns of
        :func:`compare`, from the same match of its point to ``qpv``.
    whole_generation
        With no ``area``: the tables hold every quartier of ``qpv`` (all of France), not
        only those of the sites' départements (:func:`_quartiers_of_sites`).

    Returns
    -------
    LinkResult
        ``sites`` keeps every input row and column, in order, and adds ``code_qp``,
        ``nom_qp``, ``relation`` (implanted / nearby / none / not_located), ``distance_m``
        (to the nearest QPV, 0 inside), ``nearest_code_qp``, ``qpv_nearby`` and
        ``qpv_served`` (``;``-separated codes).
    """
    check_distance(distance)
    area = area or StudyArea()
    qpv = qpv.reset_index(drop=True)
    sites = initiatives.sites.reset_index(drop=True)
    radius = None
    if initiatives.radius_column:
        radius = pd.to_numeric(sites[initiatives.radius_column].astype(str).str.replace(
            ",", "."), errors="coerce").to_numpy()
    rounding = float(qpv.attrs.get("precision_m") or 0.0)
    links = link_points(sites.geometry, qpv, distance=distance, radius=radius,
                        uncertainty=rounding)
    issues = list(initiatives.issues)
    for i in np.flatnonzero(links.uncertain):
        issues.append(Issue(initiatives.row_number(int(i)), None, uncertain_note(
            rounding, generation_of(qpv))))
    declared = _declared_served(initiatives, qpv, issues)
    ids = initiative_ids(initiatives)
    codes = qpv["code_qp"].to_numpy()
    names = qpv["nom_qp"].to_numpy()

    long = _long_table(links, declared, ids, initiatives, codes, names)
    if area:
        in_area, reported = area.qpv_mask(qpv), area.label
    elif whole_generation:
        in_area, reported = np.ones(len(qpv), dtype=bool), WHOLE_GENERATION
    else:
        in_area, reported = _quartiers_of_sites(qpv, sites, long)
    if area:
        geoms = sites.geometry.values
        located = ~shapely.is_missing(geoms)
        x, y = np.full(len(sites), np.nan), np.full(len(sites), np.nan)
        x[located], y[located] = shapely.get_x(geoms[located]), shapely.get_y(geoms[located])
        inside = area.contains(x, y)
        status = np.where(inside, TerritoryStatus.INSIDE.value, TerritoryStatus.OUTSIDE.value)
        status[~located] = ""
        for i in np.flatnonzero(located & ~inside):
            issues.append(Issue(initiatives.row_number(i), None,
                                f"site hors du territoire étudié ({area.label}) : il est "
                                "relié aux quartiers mais absent des comptes du territoire"))
    wide = _site_columns(sites, links, long, codes, names, issues, initiatives)
    if rounding:
        wide.insert(wide.columns.get_loc("note_localisation"), "boundary_uncertain",
                    np.where(links.uncertain, "oui", ""))
    if area:
        wide.insert(wide.columns.get_loc("note_localisation"), "territory_status", status)
    if previous is not None:
        evolution = _evolution(sites, qpv, previous, links)
        for column in evolution.columns:
            wide.insert(wide.columns.get_loc("note_localisation"), column,
                        evolution[column].to_numpy())
    per_initiative = _initiative_table(wide, long, ids, initiatives)
    per_qpv = _qpv_table(qpv, long, initiatives)[in_area].reset_index(drop=True)
    per_territory = _territory_table(qpv[in_area], long)
    return LinkResult(
        sites=wide, long=long, initiatives=per_initiative, per_qpv=per_qpv,
        per_territory=per_territory, issues=sorted(issues, key=lambda i: i.row),
        distance=float(distance), area=area, qpv_in_area=in_area, rounding=rounding,
        reported=reported, typed_numbers=_plain_numbers(initiatives),
    )


def _plain_numbers(initiatives: Initiatives) -> dict[str, pd.DataFrame]:
    """The typed numbers of the columns that neither identify, name nor place a site."""
    typed = initiatives.typed_numbers or {}
    names = {initiatives.id_column, initiatives.name_column, initiatives.website_column,
             *initiatives.address_columns, *(initiatives.coordinate_columns or ())}
    return {c: typed[c] for c in typed if c not in names}


#: A study whose sites lie in more départements than this is national: its tables list
#: every quartier of the generation.
NATIONAL = 20
#: What the tables cover when a study asks for every quartier.
WHOLE_GENERATION = "France entière (demandée par l'étude)"


def _quartiers_of_sites(qpv: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
                        long: pd.DataFrame) -> tuple[np.ndarray, str]:
    """With no territory given, the quartiers a study reports: those of the départements
    that hold its sites, and every quartier a site is related to (served across a border);
    all of them for a national study (sites in more than :data:`NATIONAL` départements).
    Returns the mask over ``qpv`` and what it is, in French."""
    from .outlines import departement_of_points

    geoms = sites.geometry.values
    located = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    deps = set(departement_of_points(shapely.get_x(geoms[located]),
                                     shapely.get_y(geoms[located]))) - {""}
    if not deps or len(deps) > NATIONAL:
        return np.ones(len(qpv), dtype=bool), (
            f"France entière (sites dans {len(deps)} départements)" if deps else
            "France entière")
    mask = qpv["insee_dep"].isin(deps).to_numpy().copy()
    mask[long["_qpv"].to_numpy()] = True
    shown = sorted(deps, key=lambda d: (len(d), d))
    word = "département" if len(shown) == 1 else "départements"
    return mask, f"{word} des sites : {', '.join(shown)}"


def uncertain_note(rounding: float, generation: str) -> str:
    """What a site closer to a boundary than the outlines' rounding is told (French)."""
    exact = f" ; contours exacts : ess-qpv qpv download --generation {generation}, puis " \
        f"--qpv {generation}" if generation in GENERATION else ""
    return (f"limite incertaine : à moins de {rounding:.0f}\u00a0m d'une limite de quartier, "
            f"et les contours utilisés sont arrondis à ~{rounding:.0f}\u00a0m : le site peut "
            f"être de l'autre côté de la limite exacte{exact}")


def generation_of(qpv: gpd.GeoDataFrame) -> str:
    """The one QPV generation of ``qpv`` (``"2024"``), ``""`` for none or several."""
    values = qpv["generation"].dropna().astype(str).unique() if "generation" in qpv else []
    return values[0] if len(values) == 1 else ""


#: The largest proximity distance, in metres: beyond, « nearby » means nothing.
MAX_DISTANCE = 50_000.0


def check_distance(distance: float) -> float:
    """Return ``distance`` (metres) if it is a finite number from 0 to
    :data:`MAX_DISTANCE`, else raise."""
    try:
        value = float(distance)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or not 0 <= value <= MAX_DISTANCE:
        most = f"{MAX_DISTANCE:,.0f}".replace(",", "\u202f")
        raise InputError(f"distance de proximité « {distance} » refusée : un nombre de mètres "
                         f"de 0 à {most} est attendu (300 par défaut, 0 la désactive).",
                         parameters=("distance",))
    return value


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def _declared_served(initiatives: Initiatives, qpv: gpd.GeoDataFrame,
                     issues: list[Issue]) -> pd.DataFrame:
    """Resolve the declared served QPV (codes, or names with an optional commune)."""
    column = initiatives.served_column
    if column is None:
        return _pairs(distance=[])
    by_code = {c.upper(): i for i, c in enumerate(qpv["code_qp"])}
    by_name: dict[str, list[int]] = {}
    for i, name in enumerate(qpv["nom_qp"]):
        by_name.setdefault(_normal(name), []).append(i)
    communes = [{_normal(x) for x in c.split(";")} for c in qpv["communes"]]
    values = initiatives.sites[column].astype(object)
    site, found = [], []
    for row, value in enumerate(values.where(values.notna(), "").astype(str)):
        for item in filter(None, (v.strip() for v in re.split(r"[;|]", value))):
            match = _match_qpv(item, by_code, by_name, communes)
            if isinstance(match, str):
                issues.append(Issue(initiatives.row_number(row), column, match))
            else:
                site.append(row)
                found.append(match)
    pairs = _pairs(site, found)
    pairs["distance_m"] = _site_qpv_distance(pairs, initiatives.sites, qpv)
    return pairs


def _match_qpv(item: str, by_code: dict, by_name: dict, communes: list[set]) -> int | str:
    if item.upper() in by_code:
        return by_code[item.upper()]
    if QPV_CODE.fullmatch(item.upper()):
        return f"code de quartier inconnu « {item} » (absent des QPV chargés)"
    name, commune = item, None
    m = re.fullmatch(r"(.+?)\s*\(([^()]+)\)", item)
    if m:
        name, commune = m.group(1), _normal(m.group(2))
    candidates = by_name.get(_normal(name), [])
    if commune is not None:
        candidates = [i for i in candidates if commune in communes[i]]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        return f"quartier inconnu « {item} » (ni code ni nom de QPV chargé)"
    return (f"nom de quartier ambigu « {item} » ({len(candidates)} QPV portent ce nom) : "
            "précisez la commune, par exemple « Nom (Commune) », ou le code")


def _site_qpv_distance(pairs: pd.DataFrame, sites: gpd.GeoDataFrame,
                       qpv: gpd.GeoDataFrame) -> np.ndarray:
    """Distance in metres between given (site, qpv) pairs, in the site's territory CRS."""
    out = np.full(len(pairs), np.nan)
    if not len(pairs):
        return out
    geoms = sites.geometry.values[pairs["site"].to_numpy()]
    ok = ~shapely.is_missing(geoms)
    if not ok.any():
        return out
    x, y = shapely.get_x(geoms[ok]), shapely.get_y(geoms[ok])
    terr = territory_of_points(x, y).to_numpy()
    sel = np.flatnonzero(ok)
    for key in set(terr) - {None}:
        at = terr == key
        crs = TERRITORIES[key].crs
        px, py = Transformer.from_crs(4326, crs, always_xy=True).transform(x[at], y[at])
        polys = to_metric(qpv.geometry.iloc[pairs["qpv"].to_numpy()[sel[at]]], crs)
        out[sel[at]] = shapely.distance(shapely.points(px, py), polys)
    return out


def _long_table(links: Links, declared: pd.DataFrame, ids: pd.Series,
                initiatives: Initiatives, codes: np.ndarray, names: np.ndarray) -> pd.DataFrame:
    implanted = links.implanted.assign(relation=_IMPLANTED, source="", distance_m=0.0)
    nearby = links.nearby.assign(relation=_NEARBY, source="distance")
    radius = links.within_radius.assign(relation=_SERVED, source="rayon")
    served = declared.assign(relation=_SERVED, source="declare")
    long = pd.concat([implanted, nearby, served, radius], ignore_index=True)
    # A QPV both declared and within the radius is served once (declared wins).
    long = long.drop_duplicates(["site", "qpv", "relation"], keep="first")
    long = long.sort_values(["site", "relation", "distance_m"], kind="stable",
                            key=lambda s: s.map(_RANK) if s.name == "relation" else s)
    site = long["site"].to_numpy()
    out = pd.DataFrame({
        "ligne": site + initiatives.first_row,
        "id_initiative": ids.to_numpy()[site],
    })
    for role, column in (("nom", initiatives.name_column), ("theme", initiatives.theme_column)):
        if column:
            out[role] = initiatives.sites[column].astype(str).to_numpy()[site]
    out["code_qp"] = codes[long["qpv"].to_numpy()]
    out["nom_qp"] = names[long["qpv"].to_numpy()]
    out["relation"] = long["relation"].to_numpy()
    out["origine"] = long["source"].to_numpy()
    out["distance_m"] = np.round(long["distance_m"].to_numpy()).astype("float")
    out["distance_m"] = out["distance_m"].astype("Int64")
    out["_site"] = site
    out["_qpv"] = long["qpv"].to_numpy()
    return out.reset_index(drop=True)


def join_by(keys, values) -> pd.Series:
    """``values`` joined with ``;`` per key, in order of appearance (pandas' ``agg(";".join)``
    calls Python once per group through its slow path: this is twenty times faster)."""
    joined: dict = {}
    for key, value in zip(keys, values, strict=True):
        joined.setdefault(key, []).append(value)
    return pd.Series({key: ";".join(parts) for key, parts in joined.items()}, dtype=object)


def _joined_by_site(long: pd.DataFrame, relation: str, column: str, n: int) -> np.ndarray:
    out = np.full(n, "", dtype=object)
    part = long[long["relation"] == relation].drop_duplicates(["_site", column])
    if len(part):
        joined = join_by(part["_site"].to_numpy(), part[column].to_numpy())
        out[joined.index.to_numpy(dtype=np.int64)] = joined.to_numpy()
    return out


def _site_columns(sites: gpd.GeoDataFrame, links: Links, long: pd.DataFrame,
                  codes: np.ndarray, names: np.ndarray, issues: list[Issue],
                  initiatives: Initiatives) -> gpd.GeoDataFrame:
    n = len(sites)
    wide = sites.copy()
    wide["code_qp"] = _joined_by_site(long, _IMPLANTED, "code_qp", n)
    wide["nom_qp"] = _joined_by_site(long, _IMPLANTED, "nom_qp", n)
    located = sites.geometry.notna().to_numpy()
    nearby = _joined_by_site(long, _NEARBY, "code_qp", n)
    relation = np.where(~located, _NOT_LOCATED, np.where(
        wide["code_qp"] != "", _IMPLANTED, np.where(nearby != "", _NEARBY, _NONE)))
    wide["relation"] = relation
    wide["distance_m"] = pd.array(np.round(links.nearest_distance), dtype="Int64")
    has = links.nearest_qpv >= 0
    nearest = np.full(n, "", dtype=object)
    nearest[has] = codes[links.nearest_qpv[has]]
    wide["nearest_code_qp"] = nearest
    wide["qpv_nearby"] = nearby
    wide["qpv_served"] = _joined_by_site(long, _SERVED, "code_qp", n)
    notes = np.full(n, "", dtype=object)
    for issue in issues:
        i = issue.row - initiatives.first_row
        if 0 <= i < n:
            notes[i] = f"{notes[i]} ; {issue.message}" if notes[i] else issue.message
    wide["note_localisation"] = notes
    return wide


def _initiative_table(wide: gpd.GeoDataFrame, long: pd.DataFrame, ids: pd.Series,
                      initiatives: Initiatives) -> pd.DataFrame:
    """One row per initiative: its relation is the union over its sites."""
    rank = wide["relation"].map(_RANK).to_numpy()
    frame = pd.DataFrame({"id_initiative": ids.to_numpy(), "_rank": rank,
                          "_located": rank < _RANK[_NOT_LOCATED],
                          "distance_m": wide["distance_m"].to_numpy()})
    grouped = frame.groupby("id_initiative", sort=False)
    out = pd.DataFrame({"n_sites": grouped.size(),
                        "n_sites_localises": grouped["_located"].sum().astype(int)})
    names = {v: k for k, v in _RANK.items()}
    out["relation"] = grouped["_rank"].min().map(names)
    out["distance_m"] = grouped["distance_m"].min()
    first = ~pd.Series(ids.to_numpy()).duplicated().to_numpy()
    for role, column in (("theme", initiatives.theme_column), ("nom", initiatives.name_column)):
        if column:
            values = pd.Series(wide[column].astype(str).to_numpy()[first],
                               index=ids.to_numpy()[first])
            out.insert(0, role, values.reindex(out.index).to_numpy())
    for relation in RELATIONS:
        part = long[long["relation"] == relation].drop_duplicates(["id_initiative", "code_qp"])
        codes = join_by(part["id_initiative"].to_numpy(), part["code_qp"].to_numpy())
        out[f"qpv_{relation}"] = codes.reindex(out.index).fillna("").to_numpy()
    return out.rename_axis("id_initiative").reset_index()


def _initiative_relations(long: pd.DataFrame) -> pd.DataFrame:
    """Distinct (initiative, QPV, relation), *nearby* dropped where the initiative is implanted
    in the same QPV through another site."""
    pairs = long[["id_initiative", "_qpv", "relation"] + (["theme"] if "theme" in long else [])]
    pairs = pairs.drop_duplicates(["id_initiative", "_qpv", "relation"])
    implanted = pairs.loc[pairs["relation"] == _IMPLANTED, ["id_initiative", "_qpv"]]
    key = pd.MultiIndex.from_frame(pairs[["id_initiative", "_qpv"]])
    also_implanted = key.isin(pd.MultiIndex.from_frame(implanted))
    pairs = pairs[~((pairs["relation"] == _NEARBY).to_numpy() & also_implanted)]
    return pairs


def _qpv_table(qpv: gpd.GeoDataFrame, long: pd.DataFrame, initiatives: Initiatives
               ) -> pd.DataFrame:
    """Every QPV studied, with the number of initiatives implanted, nearby and serving."""
    pairs = _initiative_relations(long)
    out = pd.DataFrame(qpv[["code_qp", "nom_qp", "communes", "insee_com", "insee_dep"]])
    counts = pairs.groupby(["_qpv", "relation"]).size().unstack(fill_value=0)
    for relation in RELATIONS:
        col = counts[relation] if relation in counts else pd.Series(dtype=int)
        out[f"n_{relation}"] = col.reindex(out.index, fill_value=0).astype(int).to_numpy()
    any_relation = pairs.groupby("_qpv")["id_initiative"].nunique()
    out["n_initiatives"] = any_relation.reindex(out.index, fill_value=0).astype(int).to_numpy()
    if "theme" in pairs:
        single = _single_themes(pairs)
        by_theme = single.groupby(["_qpv", "relation", "theme"]).size().unstack(
            ["relation", "theme"], fill_value=0)
        for relation, theme in sorted(by_theme.columns, key=lambda c: (_RANK.get(c[0], 9), c[1])):
            out[f"n_{relation}:{theme}"] = by_theme[(relation, theme)].reindex(
                out.index, fill_value=0).astype(int).to_numpy()
    return out.reset_index(drop=True)


def _single_themes(pairs: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` with one row per single theme of each (:func:`geo.vocabulary.theme_values`,
    as the maps split them; one spelling per theme whatever its case, the first met): an
    initiative of two themes counts in each. Rows without a theme are left out."""
    folded: dict[str, str] = {}
    split = {text: [folded.setdefault(v.casefold(), v) for v in theme_values(text)]
             for text in pairs["theme"].drop_duplicates()}
    single = pairs.assign(theme=pairs["theme"].map(split)).explode("theme")
    return single[single["theme"].notna()]


def _territory_table(qpv: gpd.GeoDataFrame, long: pd.DataFrame) -> pd.DataFrame:
    """The per-QPV counts aggregated by département and by commune (distinct initiatives)."""
    pairs = _initiative_relations(long)
    levels = []
    for level, key in (("departement", "insee_dep"), ("commune", "insee_com")):
        keys = qpv[key].str.split(";").explode()
        keys = keys[keys != ""]
        q2k = pd.DataFrame({"_qpv": keys.index, "code": keys.to_numpy()})
        names = territory_names(qpv, level)
        table = q2k.groupby("code").size().rename("n_qpv").to_frame()
        joined = pairs.merge(q2k, on="_qpv")
        with_any = joined.groupby("code")["_qpv"].nunique()
        table["n_qpv_avec_initiative"] = with_any.reindex(table.index, fill_value=0)
        for relation in RELATIONS:
            n = joined[joined["relation"] == relation].groupby("code")["id_initiative"].nunique()
            table[f"n_{relation}"] = n.reindex(table.index, fill_value=0)
        table["n_initiatives"] = joined.groupby("code")["id_initiative"].nunique().reindex(
            table.index, fill_value=0)
        table.insert(0, "nom", [names.get(c, "") for c in table.index])
        table = table.reset_index()
        table.insert(0, "niveau", level)
        levels.append(table)
    return pd.concat(levels, ignore_index=True)


def territory_names(qpv: gpd.GeoDataFrame, level: str) -> dict[str, str]:
    if level == "departement":
        return {d: DEPARTEMENTS.get(d, "") for d in qpv["insee_dep"]}
    names: dict[str, str] = {}
    for codes, communes in zip(qpv["insee_com"], qpv["communes"], strict=True):
        code_list, name_list = codes.split(";"), communes.split(";")
        if len(code_list) == len(name_list):
            names.update(zip(code_list, name_list, strict=True))
    return names


# --------------------------------------------------------------------------- generations


#: Share of the smaller of two QPV that must overlap the other for them to count as the
#: same quartier across generations.
SAME_QUARTIER_OVERLAP = 0.5


def compare(sites: gpd.GeoDataFrame, current: gpd.GeoDataFrame,
            previous: gpd.GeoDataFrame) -> pd.DataFrame:
    """Status of each site under two QPV generations (e.g. 2024 and 2015).

    ``evolution`` is ``entered`` (implanted now, not before), ``left`` (the reverse),
    ``unchanged`` (outside both, or inside two quartiers that overlap for at least
    :data:`SAME_QUARTIER_OVERLAP` of the smaller), ``changed_qpv`` (inside both, in quartiers
    that do not), ``not_located``, or ``not_covered`` when ``previous`` holds no quartier of
    the département of the site's nearest current QPV (a regional file, for instance).

    Returns a table aligned on ``sites`` with ``code_qp_compare``, ``relation_compare`` and
    ``evolution``.
    """
    current = current.reset_index(drop=True)
    return _evolution(sites, current, previous, link_points(sites.geometry, current,
                                                            distance=0))


def _evolution(sites: gpd.GeoDataFrame, current: gpd.GeoDataFrame,
               previous: gpd.GeoDataFrame, now) -> pd.DataFrame:
    """:func:`compare`, given the sites' match to ``current`` (any proximity distance:
    only the quartiers that hold each point and the nearest one are read)."""
    previous = previous.reset_index(drop=True)
    before = link_points(sites.geometry, previous, distance=0)
    n = len(sites)
    first_now = now.implanted.drop_duplicates("site").set_index("site")["qpv"]
    first_before = before.implanted.drop_duplicates("site").set_index("site")["qpv"]
    codes_before = _joined_codes(before.implanted, previous, n)
    located = sites.geometry.notna().to_numpy()
    covered_deps = set(previous["insee_dep"])
    evolution = np.full(n, Evolution.UNCHANGED.value, dtype=object)
    for i in range(n):
        a, b = first_now.get(i), first_before.get(i)
        if not located[i]:
            evolution[i] = Evolution.NOT_LOCATED.value
        elif b is None and now.nearest_qpv[i] >= 0 and (
                current["insee_dep"].iat[now.nearest_qpv[i]] not in covered_deps):
            evolution[i] = Evolution.NOT_COVERED.value
        elif a is not None and b is None:
            evolution[i] = Evolution.ENTERED.value
        elif a is None and b is not None:
            evolution[i] = Evolution.LEFT.value
        elif a is not None and not _same_quartier(current.geometry.iat[a],
                                                  previous.geometry.iat[b]):
            evolution[i] = Evolution.CHANGED_QPV.value
    relation = np.where(~located, _NOT_LOCATED,
                        np.where(codes_before != "", _IMPLANTED, _NONE))
    relation[evolution == Evolution.NOT_COVERED.value] = ""
    return pd.DataFrame({"code_qp_compare": codes_before, "relation_compare": relation,
                         "evolution": evolution}, index=sites.index)


def _joined_codes(pairs: pd.DataFrame, qpv: gpd.GeoDataFrame, n: int) -> np.ndarray:
    out = np.full(n, "", dtype=object)
    if len(pairs):
        codes = qpv["code_qp"].to_numpy()[pairs["qpv"].to_numpy()]
        joined = join_by(pairs["site"].to_numpy(), codes)
        out[joined.index.to_numpy(dtype=np.int64)] = joined.to_numpy()
    return out


def _same_quartier(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    smaller = min(a.area, b.area)
    return smaller > 0 and a.intersection(b).area / smaller >= SAME_QUARTIER_OVERLAP
