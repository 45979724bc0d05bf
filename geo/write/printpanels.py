"""The maps of a matplotlib print page: one map, France with its Île-de-France and
overseas insets, the agglomeration panels with their locator, and their names, scale bar
and north arrow."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely

from ..territories import TERRITORIES
from ..typography import plural
from .drawing import font_pt, scale_bar_place, shaped, symbols
from .printlayers import (
    CURRENT,
    DRAWN,
    EARLIER,
    EMPHASIS,
    HOLLOW,
    INCH_PER_MM,
    MARKERS,
    OUTLINE_MM,
    QPV_VISIBLE,
    PrintLayers,
    aggregate_counts,
    crowded,
    generation_of,
    largest_circle,
    map_extent,
    plain_text,
    qpv_style,
)
from .printnames import city_names, inset_cities, map_names
from .printoutlines import background, projected_outlines
from .vectormap import COM_COLOR, DEP_COLOR, LINK_COLOR

#: Sites closer than this (metres) belong to the same agglomeration.
_AGGLOMERATION = 12_000
#: At most this many agglomeration panels; more and the page shows France.
MAX_PANELS = 6
#: The inner ring of Paris: the Île-de-France inset of national maps.
_IDF = ("75", "92", "93", "94")


@dataclass
class MapPanel:
    """One map of a page: its axes, what it drew and the names it may show."""

    ax: object
    drawn: dict
    labels: list
    markers: list


def single_map(fig, frame, layers, crs, extent, size, *, zone=None, furniture=True,
               counts_label=None, focus=None, aggregate: bool = True) -> MapPanel:
    """One map filling ``zone`` (default: the map zone), shaped by its extent;
    ``aggregate=False``: its sites one by one, however many."""
    x, y, w, h = zone or frame.map_zone
    extent = shaped(extent, w, h)
    ax = fig.add_axes(frame.fraction(x, y, w, h))
    return _draw(ax, layers, crs, extent, size, furniture=furniture, focus=focus,
                 aggregate=aggregate)


def national_maps(fig, frame, layers, crs, extent, size, main, others
                  ) -> tuple[list[MapPanel], tuple[float, float, float, float]]:
    """France (or the main territory) on the left of the map zone; a column of insets on
    its right: Paris and its inner ring when sites are there. Return the maps and the room
    left in the column (for the overseas insets)."""
    from ..outlines import departement_of_points, departements

    sites = layers.sites
    deps = pd.Series(departement_of_points(sites.geometry.x.to_numpy(),
                                           sites.geometry.y.to_numpy()))
    idf = main == "metropole" and deps.isin(_IDF).any() and \
        extent[2] - extent[0] > QPV_VISIBLE
    x, y, w, h = frame.map_zone
    column = 0.0
    if idf or others:
        column = min(w * 0.3, 70.0)
    x0, y0, x1, y1 = extent
    # The main map takes the height; its width follows the territory's shape.
    mw = min(w - column - (3 if column else 0), h * (x1 - x0) / (y1 - y0))
    maps = [single_map(fig, frame, layers, crs, extent, size, zone=(x, y, mw, h))]
    cx, top = x + mw + 3, y + h
    column = w - mw - 3 if column else 0
    if idf:
        outline = departements()
        ring = outline[outline["code"].isin(_IDF)].to_crs(crs)
        box = ring.total_bounds
        pad = (box[2] - box[0]) * 0.03
        inner = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
        side = min(column, h * 0.5)
        m = single_map(fig, frame, layers, crs, inner, size,
                       zone=(cx, top - side - 5, column, side), furniture=False)
        m.ax.set_title("Paris et la petite couronne", fontsize=font_pt(size, 7.5), pad=2)
        maps.append(m)
        top -= side + 8
        maps[0].ax.add_patch(matplotlib.patches.Rectangle(
            (inner[0], inner[1]), inner[2] - inner[0], inner[3] - inner[1], fill=False,
            edgecolor="#1a1a1a", linewidth=0.8, zorder=7))
    return maps, (cx, y, column, top - y)


def inset_cell(zone, n: int) -> float:
    """The side of the squares of ``n`` insets, two per row, in ``zone`` (millimetres)."""
    x, y, w, h = zone
    rows = (n + 1) // 2
    return min(w / 2 - 2, h / max(rows, 1) - 7) if w > 0 and h > 0 else 0


def overseas_maps(fig, frame, layers, size, others, keys, zone) -> list[MapPanel]:
    """The overseas territories that hold sites, whole (their island's outline), two per
    row in ``zone``."""
    x, y, w, h = zone
    h -= 4  # the note « échelles différentes » on top
    cell = inset_cell((x, y, w, h), len(others))
    if cell < 8:
        return []
    maps = []
    for i, key in enumerate(others):
        r, c = divmod(i, 2)
        inset = (x + c * (cell + 4), y + h - (r + 1) * (cell + 7), cell, cell)
        icrs = TERRITORIES[key].crs
        whole = gpd.GeoSeries([shapely.box(*TERRITORIES[key].bbox)], crs=4326).to_crs(icrs)
        # its sites one by one: circles at the scale of the main map would hide the island
        m = single_map(fig, frame, layers, icrs, map_extent(whole, icrs, key, pad=0.02), size,
                       zone=inset, furniture=False, aggregate=False)
        n = int((keys == key).sum())
        m.ax.set_title(f"{TERRITORIES[key].name} ({n})", fontsize=font_pt(size, 6.5), pad=2)
        m.labels = inset_cities(m.labels, size)
        # each inset its own scale bar (the scales differ, as the note above says)
        m.ax._essqpv_furniture = _scale_bar(m.ax, *m.ax.get_xlim(), *m.ax.get_ylim(), size,
                                            corner="bl", points=5.5)
        maps.append(m)
    if maps:
        fig.text(x / frame.size[0], (y + h + 2) / frame.size[1],
                 "Outre-mer (échelles différentes)", fontsize=font_pt(size, 6.5), color="#333",
                 va="center")
    return maps


def find_agglomerations(sites: gpd.GeoDataFrame, crs: str) -> list[gpd.GeoDataFrame]:
    """The sites grouped by agglomeration (closer than :data:`_AGGLOMERATION` to one
    another), the largest first."""
    which, count = agglomeration_of(sites, crs)
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(count + 1))
    return [sites.iloc[order[bounds[k]:bounds[k + 1]]] for k in range(count)]


def agglomeration_of(sites: gpd.GeoDataFrame, crs: str) -> tuple[np.ndarray, int]:
    """The agglomeration of each site (0 the largest, 1 the next…) and their number: the
    sites linked by chains of neighbours closer than :data:`_AGGLOMERATION` (a tree
    query and the graph's connected components, not a union of buffers)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(sites)
    if not n:
        return np.zeros(0, dtype=int), 0
    metric = sites.geometry.to_crs(crs).values
    left, right = shapely.STRtree(metric).query(metric, predicate="dwithin",
                                                distance=_AGGLOMERATION)
    count, labels = connected_components(
        coo_matrix((np.ones(len(left), dtype=bool), (left, right)), shape=(n, n)),
        directed=False)
    sizes = np.bincount(labels, minlength=count)
    rank = np.empty(count, dtype=int)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(count)
    return rank[labels], count


def agglomeration_panels(fig, frame, layers, crs, groups, size) -> tuple[list[MapPanel], tuple]:
    """One zoomed panel per agglomeration (its quartiers and their names readable), a
    locator of France naming them, and the legend in the last cell of the grid (its zone
    is returned with the maps)."""
    from math import ceil

    from ..outlines import commune_of_points, communes

    n = len(groups) + 2  # the panels, the locator, the legend
    x, y, w, h = frame.inside
    cols = ceil(np.sqrt(n * w / h))
    rows = ceil(n / cols)
    cw, ch = w / cols, h / rows
    names = communes().set_index("code")["nom"]
    maps, places = [], []
    for k, group in enumerate(groups):
        r, c = divmod(k + 1, cols)
        zone = (x + c * cw + 1.5, y + (rows - 1 - r) * ch + 1.5, cw - 3, ch - 7.5)
        metric = group.geometry.to_crs(crs)
        x0, y0, x1, y1 = metric.total_bounds
        half = max(x1 - x0, y1 - y0, 3000) * 0.6 + 800
        cxm, cym = (x0 + x1) / 2, (y0 + y1) / 2
        m = single_map(fig, frame, layers, crs, (cxm - half, cym - half, cxm + half, cym + half),
                       size, zone=zone, furniture=True)
        held = pd.Series(commune_of_points(group.geometry.x.to_numpy(),
                                           group.geometry.y.to_numpy()))
        held = held[held != ""].value_counts()
        place = names.get(held.index[0], "") if len(held) else ""
        more = " et environs" if len(held) > 1 else ""
        m.ax.set_title(plain_text(f"{k + 1}. {place}{more} ({plural(len(group), 'site')})"),
                       fontsize=font_pt(size, 8), pad=3, loc="left")
        places.append((f"{k + 1}. {place}", cxm, cym))
        maps.append(m)
    # the locator, first cell; the legend, the cell after the last panel
    zone = (x + 1.5, y + (rows - 1) * ch + 1.5, cw - 3, ch - 7.5)
    locator = _locator(fig, frame, crs, zone, places, size)
    r, c = divmod(len(groups) + 1, cols)
    legend = (x + c * cw + 3, y, w - c * cw - 3, (rows - r) * ch - 3)
    return [locator, *maps], legend


def _locator(fig, frame, crs, zone, places, size) -> MapPanel:
    """France with the places of the panels, named."""
    from ..outlines import departements
    from .printlabels import Label

    rows = np.flatnonzero(departements()["code"].map(
        lambda c: len(c) == 2 or c in ("2A", "2B")).to_numpy())
    projected = projected_outlines(crs)[0]  # projected once, shared with the other maps
    extent = shaped(tuple(shapely.total_bounds(projected.take(rows)[0])), zone[2], zone[3])
    # simplified to the locator's scale, like the outlines of the other maps
    metres_per_mm = (extent[2] - extent[0]) / zone[2]
    shapes, _ = projected.take(rows, float(f"{metres_per_mm * OUTLINE_MM:.1g}"))
    ax = fig.add_axes(frame.fraction(*zone))
    _shapes(ax, pd.DataFrame({"geometry": shapes}), 1, facecolor="#f3f1ec",
            edgecolor="#8c8c8c", linewidth=0.3)
    xs = [p[1] for p in places]
    ys = [p[2] for p in places]
    ax.scatter(xs, ys, s=30, color="#b03a2e", edgecolor="#1a1a1a", linewidth=0.6, zorder=6)
    _axes_style(ax, extent)
    ax.set_title("Situation des panneaux", fontsize=font_pt(size, 8), pad=3, loc="left")
    from .printlabels import marker_boxes

    labels = [Label(100 - k, plain_text(text), px, py, {"fontsize": font_pt(size, 7)})
              for k, (text, px, py) in enumerate(places)]
    return MapPanel(ax, {k: False for k in DRAWN}, labels,
                marker_boxes(ax, np.array(xs), np.array(ys), 6.0))


def label_maps(fig, maps: list[MapPanel], halo: str = "stroke") -> None:
    """Place every map's names, clear of every symbol, every other map, the legend and
    the furniture (scale bar, north arrow); ``halo`` as :func:`geo.write.printlabels.place`."""
    from .printlabels import artist_boxes, place

    renderer = fig.canvas.get_renderer()
    for m in maps:
        m.ax.apply_aspect()
    axes_boxes = {id(m.ax): m.ax.get_window_extent(renderer) for m in maps}
    # a legend starts at its anchor and grows rightwards and down: measured (its whole
    # layout) only when it may reach a map
    right = max((b.x1 for b in axes_boxes.values()), default=0)
    legend_boxes = artist_boxes(fig, [legend for legend in fig.legends
                                      if legend.get_bbox_to_anchor().x0 < right])
    for m in maps:
        others = [b for k, b in axes_boxes.items() if k != id(m.ax)
                  and b.overlaps(axes_boxes[id(m.ax)])]
        furniture = artist_boxes(fig, getattr(m.ax, "_essqpv_furniture", []))
        # markers are refreshed now that every axes has its final shape
        markers = m.markers() if callable(m.markers) else m.markers
        # the main cities first, over the symbols; then the other names, clear of them
        first = place(m.ax, [label for label in m.labels if label.over_symbols],
                      obstacles=[*furniture, *legend_boxes, *others], halo=halo)
        place(m.ax, [label for label in m.labels if not label.over_symbols],
              obstacles=[*markers, *furniture, *legend_boxes, *others, *first.boxes],
              halo=halo)


def _axes_style(ax, extent) -> None:
    x0, y0, x1, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for spine in ax.spines.values():
        spine.set_color("#777")


def _draw(ax, layers: PrintLayers, crs: str, extent, size, *, focus: shapely.Geometry | None = None,
          furniture: bool = True, aggregate: bool = True) -> MapPanel:
    """Draw one map on ``ax``; return it with what it drew (for the legend) and the names
    it may show (placed once the page is laid out)."""
    from .printlabels import marker_boxes

    x0, y0, x1, y1 = extent
    box = tuple(gpd.GeoSeries([shapely.box(x0, y0, x1, y1)], crs=crs).to_crs(4326)
                .total_bounds.tolist())
    wide = (x1 - x0) > QPV_VISIBLE
    # a tenth of a millimetre on the page: finer than any line drawn
    fig_width = ax.figure.get_figwidth() / INCH_PER_MM
    metres_per_mm = (x1 - x0) / (ax.get_position().width * fig_width)
    tolerance = metres_per_mm * 0.1
    # outlines simplified to their scale (rounded: maps of one scale share them)
    deps, coms = background(box, crs, float(f"{metres_per_mm * OUTLINE_MM:.1g}"))
    drawn = dict.fromkeys(DRAWN, False)
    ax.set_facecolor("#ffffff")
    if len(deps) and wide:  # no commune drawn between the land and the limits: one layer
        _shapes(ax, deps, 0, facecolor="#f3f1ec", edgecolor=DEP_COLOR, linewidth=0.5)
    elif len(deps):  # at sea or in a territory without outline, nothing to draw
        _shapes(ax, deps, 0, facecolor="#f3f1ec", edgecolor="none")
        _shapes(ax, deps, 2, edgecolor=DEP_COLOR, linewidth=1.0)
    if not wide and len(coms):
        _shapes(ax, coms, 1, edgecolor=COM_COLOR, linewidth=0.4, linestyle=(0, (3, 2)))
        drawn["communes"] = True
    if focus is not None:
        _shapes(ax, gpd.GeoSeries([focus], crs=4326).to_crs(crs), 2, edgecolor="#1a1a1a",
                linewidth=1.6)
    qpv_m = layers.framed("qpv", box, crs, None if wide else tolerance)
    st = qpv_style(CURRENT)
    if len(qpv_m) and not wide:
        _shapes(ax, qpv_m, 3, facecolor=st["facecolor"], alpha=0.35, edgecolor="none")
        _shapes(ax, qpv_m, 3, edgecolor=st["edgecolor"], linewidth=0.7)
        drawn["qpv"] = True
        related = qpv_m["code_qp"].map(layers.emphasis).to_numpy() if layers.emphasis \
            else np.full(len(qpv_m), None)
        for relation, (style, _) in EMPHASIS.items():
            if not (related == relation).any():
                continue
            mine = qpv_m[related == relation]
            if len(mine):
                _shapes(ax, mine, 3.5, **style)
                drawn[relation] = True
    elif len(qpv_m):  # too small to see: a light dot each, under the sites
        symbols(ax, qpv_m["spot_x"].to_numpy(), qpv_m["spot_y"].to_numpy(), sizes=1.2,
                facecolor=st["edgecolor"], alpha=0.55, zorder=3)
        drawn["qpv_dots"] = True
    if layers.previous is not None and not wide:
        prev = layers.framed("previous", box, crs, tolerance)
        if len(prev):
            earlier = qpv_style(generation_of(layers.previous, EARLIER))
            _shapes(ax, prev, 3, edgecolor=earlier["edgecolor"], linewidth=0.7,
                    linestyle=earlier["linestyle"])
            drawn["previous"] = True
    links = [line for line in layers.links if line.intersects(shapely.box(*box))]
    if links:
        gpd.GeoSeries(links, crs=4326).to_crs(crs).plot(
            ax=ax, color=LINK_COLOR, linewidth=0.9, linestyle=(0, (4, 3)), zorder=4)
        drawn["links"] = True
    sites = layers.sites.cx[box[0]:box[2], box[1]:box[3]]
    sites_m = sites.to_crs(crs)
    themes = layers.themes.reindex(sites.index)
    marker = (30 if wide else 46) * min(1.0, min(size) / 210)
    scale = layers.scale.reindex(sites.index).to_numpy() ** 2 if layers.scale is not None \
        else np.ones(len(sites))
    area = np.zeros(len(sites))
    position, fig = ax.get_position(), ax.figure
    if aggregate and crowded(layers, len(sites), position.width * fig.get_figwidth()
                             * position.height * fig.get_figheight() * 2.54 ** 2):
        sx, sy, area = _aggregate(ax, layers, sites, coms, size)
        drawn["aggregate"] = True
        _axes_style(ax, extent)
        if furniture:
            ax._essqpv_furniture = _furniture(ax, sx, sy, area, size)
        cities = city_names(box, crs, wide, size, focus)
        named = {label.text for label in cities}
        labels = cities + [label for label in map_names(layers, sites, sites_m, qpv_m, deps,
                                                        coms, wide, size)
                           if label.text not in named]
        return MapPanel(ax, drawn, labels, lambda: marker_boxes(ax, sx, sy, np.sqrt(area) + 1.5))
    sx, sy = sites_m.geometry.x.to_numpy(), sites_m.geometry.y.to_numpy()
    theme_of = themes.to_numpy()
    for theme, style in layers.styles.items():
        mine = theme_of == theme
        if mine.any():
            hollow = style.shape in HOLLOW
            s = marker * scale[mine] * (2 if style.shape == "star" else 1)
            area[mine] = s
            symbols(ax, sx[mine], sy[mine], sizes=s,
                    alpha=0.85 if layers.scale is not None else 1,
                    marker=MARKERS[style.shape],
                    facecolor="white" if hollow else style.color,
                    edgecolor=style.color if hollow else "#1a1a1a",
                    linewidth=2 if hollow else 0.5, zorder=6)
    _axes_style(ax, extent)
    if furniture:
        ax._essqpv_furniture = _furniture(ax, sx, sy, area, size)
    labels = map_names(layers, sites, sites_m, qpv_m, deps, coms, wide, size)
    if layers.numbers is None and layers.emphasis is None:  # not a fiche's map
        cities = city_names(box, crs, wide, size, focus)
        if cities:  # each city a small dot, its name beside it
            symbols(ax, [c.x for c in cities], [c.y for c in cities], sizes=7,
                    facecolor="#1a1a1a", edgecolor="white", linewidth=0.6, zorder=8)
        named = {label.text for label in cities}
        labels = cities + [label for label in labels if label.text not in named]
    return MapPanel(ax, drawn, labels,
                lambda: marker_boxes(ax, sx, sy, np.sqrt(area) + 1.5))


def _shapes(ax, frame, zorder: float, **style) -> None:
    """The polygons of ``frame`` (a GeoDataFrame or GeoSeries in the map's CRS) as one
    patch (:func:`geo.write.drawing.compound_path`): one artist per layer, not one per shape
    (``facecolor="none"`` by default: their outlines only)."""
    from matplotlib.patches import PathPatch

    from .drawing import compound_path

    path = compound_path(np.asarray(frame.geometry.values))
    if path is not None:  # an artist of the map, not of its limits (set from its extent)
        ax.add_artist(PathPatch(path, zorder=zorder, **{"facecolor": "none", **style}))


def _aggregate(ax, layers: PrintLayers, sites: gpd.GeoDataFrame, coms: gpd.GeoDataFrame,
               size) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sites counted per commune, drawn at its name's spot as nested circles whose
    areas follow the counts (:mod:`geo.write.printsymbols`), one scale for every map of the
    page. Return the circles' positions and outer areas (points²)."""
    from .printsymbols import draw_circles

    x, y, counts, top = aggregate_counts(layers, sites, coms)
    if not top:
        return x, y, np.array([])
    return x, y, draw_circles(ax, x, y, counts, top, largest_circle(size, top))


def _furniture(ax, x: np.ndarray, y: np.ndarray, area: np.ndarray, size) -> list:
    """The scale bar and the north arrow, each in a corner without sites."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = x1 - x0, y1 - y0

    def free(cx: float, cy: float) -> bool:  # a corner box of 30 % × 16 % of the map
        inside = (np.abs(x - cx) < w * 0.16) & (np.abs(y - cy) < h * 0.1)
        return not inside.any()

    corners = {"bl": (x0 + w * 0.15, y0 + h * 0.08), "br": (x1 - w * 0.15, y0 + h * 0.08),
               "tl": (x0 + w * 0.15, y1 - h * 0.08), "tr": (x1 - w * 0.15, y1 - h * 0.08)}
    order = [k for k in ("bl", "br", "tl", "tr") if free(*corners[k])] or ["bl"]
    scale_at = order[0]
    north_at = next((k for k in ("tr", "tl", "br", "bl") if k != scale_at
                     and k in order), "tr" if scale_at != "tr" else "tl")
    artists = _scale_bar(ax, x0, x1, y0, y1, size, corner=scale_at)
    artists.append(_north_arrow(ax, size, corner=north_at))
    return artists


def _scale_bar(ax, x0, x1, y0, y1, size, *, corner: str = "bl", points: float = 7.5
               ) -> list:
    """A metric scale bar (metres, kilometres) in a corner, its label in ``points``;
    return its artists."""
    length, bx, by, label = scale_bar_place((x0, y0, x1, y1), corner)
    left = corner.endswith("l")
    artists = []
    artists += ax.plot([bx, bx + length], [by, by], color="#1a1a1a", linewidth=5.5,
                       solid_capstyle="butt", zorder=8)
    for i, colour in enumerate(("#1a1a1a", "#ffffff")):
        artists += ax.plot([bx + i * length / 2, bx + (i + 1) * length / 2], [by, by],
                           color=colour, linewidth=4, solid_capstyle="butt", zorder=9)
    # the label starts at the bar's outer end: centred on a short bar (a small inset), it
    # ran over the map's frame
    artists.append(ax.text(bx if left else bx + length, by + (y1 - y0) * 0.015, label,
                           ha="left" if left else "right", va="bottom",
                           fontsize=font_pt(size, points), zorder=9))
    return artists


def _north_arrow(ax, size, *, corner: str = "tr"):
    x = 0.95 if corner.endswith("r") else 0.05
    top = 0.95 if corner.startswith("t") else 0.2
    return ax.annotate("N", xy=(x, top), xytext=(x, top - 0.09), xycoords="axes fraction",
                       ha="center", va="center", fontsize=font_pt(size, 10), fontweight="bold",
                       arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5})
