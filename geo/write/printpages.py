"""The matplotlib pages of the print: the overview (France, one territory or small
multiples of agglomerations) and the periods page, their title, subtitle and sources."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure

from ..indicators import Measures
from ..link import LinkResult
from ..territories import TERRITORIES, territory_of_points
from ..typography import number, plural
from ..vocabulary import UNCERTAIN_SHORT, Relation
from .drawing import font_pt, shaped
from .pagelayout import MARGIN, PageFrame
from .printlayers import INCH_PER_MM, QPV_VISIBLE, PrintLayers, map_extent, page_sources, plain_text
from .printlegend import figure_legend, legend_bottom
from .printnames import places_with_sites
from .printpanels import (
    MAX_PANELS,
    agglomeration_of,
    agglomeration_panels,
    find_agglomerations,
    inset_cell,
    label_maps,
    national_maps,
    overseas_maps,
    single_map,
)


def page_fill(fig: Figure) -> float:
    """Share of the page inside the margins covered by maps and the legend (their boxes,
    after the maps took their shape): what a reader sees as the map, from 0 to 1."""
    renderer = fig.canvas.get_renderer()
    frame = PageFrame((fig.get_figwidth() / INCH_PER_MM, fig.get_figheight() / INCH_PER_MM))
    boxes = []
    for ax in fig.axes:
        ax.apply_aspect()
        boxes.append(ax.get_window_extent(renderer))
    boxes += [legend.get_window_extent(renderer) for legend in fig.legends]
    dpmm = fig.dpi * INCH_PER_MM
    x, y, w, h = frame.inside
    grid = np.zeros((int(h), int(w)), dtype=bool)  # millimetre cells
    for box in boxes:
        c0, c1 = int(box.x0 / dpmm - x), int(np.ceil(box.x1 / dpmm - x))
        r0, r1 = int(box.y0 / dpmm - y), int(np.ceil(box.y1 / dpmm - y))
        grid[max(r0, 0):max(r1, 0), max(c0, 0):max(c1, 0)] = True
    return float(grid.mean())


# --------------------------------------------------------------------------- pages


def overview_page(layers: PrintLayers, result: LinkResult, size, title: str, bounds,
                  contents: int | None = None) -> Figure:
    """The first page. A territory given by ``bounds`` is drawn whole; sites in a few
    agglomerations get one zoomed panel each and a locator of France; otherwise France,
    with Paris and its inner ring and the overseas territories that hold sites as insets."""
    sites = layers.sites
    keys = territory_of_points(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
    counts = keys.value_counts()
    main = counts.index[0] if len(counts) else "metropole"
    outline = None
    if bounds is not None:
        bounds = _with_territory_sites(bounds, sites)
        outline = _study_outline(result)
        if outline is not None:  # the whole département or commune, not its quartiers
            ox0, oy0, ox1, oy1 = outline.bounds
            bounds = (min(bounds[0], ox0), min(bounds[1], oy0), max(bounds[2], ox1),
                      max(bounds[3], oy1))
    subtitle = _subtitle(result, layers, bounds)
    if contents:
        subtitle += f"\u202f; sommaire de l’atlas p.\u00a0{contents}"
    fig = _figure(size, title, subtitle)
    frame = PageFrame(size)
    crs = TERRITORIES[main].crs
    legend_zone = None
    if bounds is not None:
        main = territory_of_points(np.array([(bounds[0] + bounds[2]) / 2]),
                                   np.array([(bounds[1] + bounds[3]) / 2]))[0] or main
        crs = TERRITORIES[main].crs
        area = gpd.GeoSeries([shapely.box(*bounds)], crs=4326).to_crs(crs)
        maps = [single_map(fig, frame, layers, crs, map_extent(area, crs, main, pad=0.03), size,
                           focus=outline)]
        # the legend counts what the subtitle says the frame holds
        shown = sites.cx[bounds[0]:bounds[2], bounds[1]:bounds[3]]
    else:
        home = sites[(keys == main).to_numpy()]
        count = agglomeration_of(home, crs)[1]
        # the groups themselves only for a few panels (a national directory: a thousand)
        groups = find_agglomerations(home, crs) if count <= MAX_PANELS else [None] * count
        extent = map_extent(home.geometry.to_crs(crs) if len(home) else None, crs, main)
        wide = extent[2] - extent[0] > QPV_VISIBLE
        if wide and 2 <= len(groups) <= MAX_PANELS:
            maps, legend_zone = agglomeration_panels(fig, frame, layers, crs, groups, size)
        else:
            if wide and main == "metropole":  # the whole country, its sites or not
                extent = _union(extent, map_extent(_metropole(crs), crs, main, pad=0.02))
            others = [k for k in counts.index if k != main][:6]
            maps, rest = national_maps(fig, frame, layers, crs, extent, size, main, others)
    drawn = {key: any(m.drawn[key] for m in maps) for key in maps[0].drawn}
    legend = figure_legend(fig, frame, layers, drawn, size, zone=legend_zone,
                           shown=None if bounds is None else shown)
    if bounds is None and not (wide and 2 <= len(groups) <= MAX_PANELS) and others:
        # overseas under the legend when it leaves room, else in the column of insets
        bottom = legend_bottom(fig, legend)
        lx, ly, lw, _ = frame.legend_zone
        under = (lx, ly, lw, bottom - 6 - ly)
        maps += overseas_maps(fig, frame, layers, size, others, keys,
                              under if inset_cell(under, len(others)) >= 22 else rest)
    label_maps(fig, maps)
    return fig


def _union(a: tuple, b: tuple) -> tuple:
    """The box (x0, y0, x1, y1) that holds boxes ``a`` and ``b``."""
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _metropole(crs: str) -> gpd.GeoSeries:
    """Metropolitan France and Corsica (their départements' outlines) in ``crs``."""
    from ..outlines import departements

    deps = departements()
    return deps[deps["code"].str.len() == 2].geometry.to_crs(crs)


def _study_outline(result: LinkResult) -> shapely.Geometry | None:
    """The outline of the study's territory (its départements and communes, EPSG:4326), or
    ``None`` when the study has none (or no outline is bundled for it)."""
    from ..outlines import communes, departements

    area = getattr(result, "area", None)
    if not area:
        return None
    parts = []
    for frame, codes in ((departements(), area.departements), (communes(), area.communes)):
        if codes:
            parts += list(frame[frame["code"].isin(list(codes))].geometry)
    return shapely.union_all(parts) if parts else None


def _with_territory_sites(bounds: tuple, sites: gpd.GeoDataFrame) -> tuple:
    """``bounds`` (the study territory's quartiers) widened to every site of the
    départements that hold the sites inside it: the frame shows the whole study, not only
    where its quartiers are (a département's sites far from them were cut off)."""
    from ..outlines import departement_of_points

    if not len(sites):
        return bounds
    x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    deps = departement_of_points(x, y)
    inside = (x >= bounds[0]) & (x <= bounds[2]) & (y >= bounds[1]) & (y <= bounds[3])
    mine = np.isin(deps, list(set(deps[inside]) - {""}))
    if not mine.any():
        return bounds
    return (min(bounds[0], x[mine].min()), min(bounds[1], y[mine].min()),
            max(bounds[2], x[mine].max()), max(bounds[3], y[mine].max()))


def periods_page(layers: PrintLayers, measures: Measures, size, title: str,
                 periods: list[int]) -> Figure:
    """Small multiples: one panel per year, the same frame (the main territory of the
    sites), each with the sites open that year."""
    from dataclasses import replace
    from math import ceil

    sites = layers.sites
    keys = territory_of_points(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
    main = keys.value_counts().index[0] if len(keys) else "metropole"
    crs = TERRITORIES[main].crs
    area = sites[(keys == main).to_numpy()].geometry
    extent = map_extent(area.to_crs(crs) if len(area) else None, crs, main, pad=0.12)
    if extent[2] - extent[0] > QPV_VISIBLE:  # the country: all of it in every panel
        whole = map_extent(None, crs, main, pad=0.0)
        extent = (min(extent[0], whole[0]), min(extent[1], whole[1]),
                  max(extent[2], whole[2]), max(extent[3], whole[3]))
    elsewhere = int((keys != main).sum())
    note = f" ; {plural(elsewhere, 'site')} hors de ce cadre (outre-mer)" if elsewhere else ""
    fig = _figure(size, title, "Sites ouverts à chaque date, même cadre pour chaque "
                               f"panneau{note}")
    frame = PageFrame(size)
    x, y, w, h = frame.map_zone
    # the grid that draws the frame largest
    ew, eh = extent[2] - extent[0], extent[3] - extent[1]
    cols = max(range(1, len(periods) + 1), key=lambda c: min(
        (w / c - 4) / ew, (h / ceil(len(periods) / c) - 9) / eh))
    rows = ceil(len(periods) / cols)
    cw, ch = w / cols, h / rows
    # positions in the table, as the sites' index
    start = pd.Series(measures.start).reindex(sites.index)
    end = pd.Series(measures.end if measures.end is not None else np.nan,
                    index=pd.RangeIndex(len(measures.start))).reindex(sites.index)
    fitted = shaped(extent, cw - 4, ch - 9)
    maps = []
    for k, year in enumerate(periods):
        r, c = divmod(k, cols)
        alive = ((start <= year) & ~(end < year)).to_numpy()
        shown = replace(layers, sites=sites[alive], links=[])
        zone = (x + c * cw + 2, y + (rows - 1 - r) * ch + 2, cw - 4, ch - 9)
        m = single_map(fig, frame, shown, crs, fitted, size, zone=zone, furniture=k == 0)
        m.ax.set_title(f"{year}\u00a0: {plural(int(alive.sum()), 'site ouvert')}",
                       fontsize=font_pt(size, 8.5), pad=3)
        if fitted[2] - fitted[0] > QPV_VISIBLE:
            # the same frame again and again: the places that hold sites are named, the
            # départements' names would only repeat themselves in every panel
            m.labels = places_with_sites(m.labels)
        maps.append(m)
    drawn = {key: any(m.drawn[key] for m in maps) for key in maps[0].drawn}
    # the themes without a count: each panel's title gives its own
    figure_legend(fig, frame, layers, drawn, size, counted=False)
    label_maps(fig, maps)
    return fig


def new_figure(size: tuple[float, float]) -> Figure:
    """A figure of ``size`` millimetres without pyplot (no global state, no screen), on an
    Agg canvas that measures the text and draws only when the page is saved."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    class Canvas(FigureCanvasAgg):
        def draw_idle(self, *args, **kwargs):
            # geopandas asks for a redraw after every layer: that is the whole page drawn
            # again and again, most of the time a print took
            pass

    fig = Figure(figsize=(size[0] * INCH_PER_MM, size[1] * INCH_PER_MM))
    Canvas(fig)
    return fig


def _figure(size, title: str, subtitle: str) -> Figure:
    fig = new_figure(size)
    w, h = size
    fig.text(MARGIN / w, 1 - (MARGIN + 5) / h, plain_text(title), fontsize=font_pt(size, 14),
             fontweight="bold", va="center")
    fig.text(MARGIN / w, 1 - (MARGIN + 13) / h, plain_text(subtitle), fontsize=font_pt(size, 8.5),
             va="center", color="#333", wrap=True)
    fig.text(MARGIN / w, MARGIN / h, page_sources(), fontsize=font_pt(size, 6.5),
             color="#333")
    return fig


def _subtitle(result: LinkResult, layers: PrintLayers, bounds) -> str:
    s, uncertain = result.summary(), result.uncertain()

    def but(relation) -> str:  # « (dont 12 à une limite incertaine) »
        n = uncertain.get(relation, 0)
        return f" (dont {number(n)} à une {UNCERTAIN_SHORT})" if n else ""

    text = (f"{plural(s['located'], 'site localisé')} sur {number(s['sites'])}\u00a0: "
            f"{plural(s[Relation.IMPLANTED], 'implanté')} dans un QPV{but(Relation.IMPLANTED)}, "
            f"{number(s[Relation.NEARBY])} à moins "
            f"de {result.distance:g}\u00a0m{but(Relation.NEARBY)}")
    if bounds is not None:
        inside = layers.sites.cx[bounds[0]:bounds[2], bounds[1]:bounds[3]]
        text += f"\u202f; {plural(len(inside), 'site')} dans le cadre de la carte"
    return text
