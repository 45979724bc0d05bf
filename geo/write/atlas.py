"""The atlas's reportlab pages: its contents and one page per département (or commune),
drawn from the print's layers as :mod:`geo.write.printpanels` draws a map, a hundred of them
in the time of a few matplotlib pages."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.colors import to_rgba

from ..territories import TERRITORIES, territory_of_points
from ..typography import number, plural
from .drawing import font_pt, shaped
from .pagelayout import MARGIN, MM_PER_PT, PageFrame, PageText, legend
from .printlabels import place_on_page, unescaped
from .printlayers import (
    CURRENT,
    DRAWN,
    EARLIER,
    HOLLOW,
    MARKERS,
    OUTLINE_MM,
    QPV_VISIBLE,
    PrintLayers,
    aggregate_counts,
    crowded,
    generation_of,
    largest_circle,
    map_extent,
    page_sources,
    qpv_style,
)
from .printlegend import legend_handles
from .printnames import city_names, map_names
from .printoutlines import background, from_degrees
from .printsymbols import EDGE, RINGS, reference_height, reference_values
from .vectormap import COM_COLOR, DEP_COLOR, MapShapes, free_corners, scale_bar
from .vectorpage import (
    ASCENT,
    DESCENT,
    PT_PER_MM,
    Circle,
    Drawing,
    Group,
    dots,
    marker,
    page_drawing,
    polyline,
)
from .vectorpage import colour as rl_colour
from .vectorpage import text as rl_text


def atlas_areas(sites: gpd.GeoDataFrame) -> list[tuple[str, shapely.Geometry]]:
    """The départements holding sites, or the communes when they all lie in one."""
    from ..outlines import commune_of_points, communes, departement_of_points, departements

    x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    deps = pd.Series(departement_of_points(x, y))
    deps = deps[deps != ""]
    if deps.nunique() == 1:
        coms = pd.Series(commune_of_points(x, y))
        held = coms[coms != ""].value_counts()
        if len(held) > 1:
            frame = communes().set_index("code")
            return [(f"{frame.at[c, 'nom']} ({c})", frame.at[c, "geometry"])
                    for c in sorted(held.index, key=lambda c: frame.at[c, "nom"])]
    frame = departements().set_index("code")
    return [(f"{frame.at[d, 'nom']} ({d})", frame.at[d, "geometry"])
            for d in sorted(deps.unique()) if d in frame.index]


# --------------------------------------------------------------------------- atlas pages
#
# The atlas's contents and areas, drawn with reportlab as the fiches are (written by
# :mod:`geo.write.drawnpages`' forked workers, after the overview): the same layers,
# declarations and names as the matplotlib maps above, without matplotlib's measuring and
# writing of every text of every page. Its map shapes, scale bar and north arrow are the
# fiches' (:mod:`geo.write.vectormap`), its names placed by the print's placement
# (:func:`geo.write.printlabels.place_on_page`).

def area_page(layers: PrintLayers, size: tuple[float, float], title: str, name: str,
              outline: shapely.Geometry) -> Drawing:
    """An atlas page of ``size`` millimetres: one département or commune (``outline``,
    EPSG:4326) with its sites and quartiers; the legend counts what the page shows."""
    shapely.prepare(outline)  # asked which sites and cities it holds
    # the sites the legend counts: an index is all it reads
    inside = pd.DataFrame(index=layers.sites.index[shapely.intersects(
        outline, layers.sites.geometry.values)])
    drawing = page_drawing(size)
    _frame_text(drawing, size, title, f"{name} – {plural(len(inside), 'site')}")
    frame = PageFrame(size)
    key = territory_of_points(np.array([outline.centroid.x]),
                              np.array([outline.centroid.y]))[0] or "metropole"
    crs = TERRITORIES[key].crs
    x, y, w, h = frame.map_zone
    focus = shapely.transform(outline, _projection(crs))
    extent = shaped(map_extent(gpd.GeoSeries([focus]), crs, key, pad=0.04), w, h)
    box = tuple(v * PT_PER_MM for v in (x, y, w, h))
    body, furniture, drawn, labels, symbols, move = _page_map(layers, crs, extent, box, size,
                                                         focus=(outline, focus))
    names = Group()
    # the main cities first, over the symbols; then the other names, clear of them
    first = place_on_page(names, [label for label in labels if label.over_symbols], box,
                          move=move, obstacles=[furniture[1]])
    place_on_page(names, [label for label in labels if not label.over_symbols], box,
                  move=move, obstacles=[*symbols, furniture[1], *first])
    drawing.add(body)
    drawing.add(names)
    drawing.add(furniture[0])
    drawing.add(_page_legend(layers, drawn, size, frame, inside))
    return drawing


def contents_page(size: tuple[float, float], title: str, names: list[str],
                  first: int) -> Drawing:
    """The atlas's contents: each area's name and page (from ``first``), in as many
    columns as the page needs, each name shortened to its column (never a line off the
    page)."""
    drawing = page_drawing(size)
    page = _frame_text(drawing, size, title,
                       f"Sommaire de l’atlas\u00a0: {plural(len(names), 'page')}")
    x, y, w, h = PageFrame(size).inside
    style = {"fontsize": font_pt(size, 8), "color": "#1a1a1a"}
    line = style["fontsize"] * MM_PER_PT * 1.45
    rows = max(int(h // line), 1)
    columns = -(-len(names) // rows)
    width = w / max(columns, 1)
    indent = style["fontsize"] * MM_PER_PT * 4.2
    for k, name in enumerate(names):
        c, r = divmod(k, rows)
        top = y + h - r * line
        page.text(x + c * width, top, f"p.\u00a0{first + k}", **{**style, "color": "#333"})
        page.text(x + c * width + indent, top,
                  page.fit(unescaped(name), width - indent - 2, style), **style)
    return drawing


def _frame_text(drawing: Drawing, size, title: str, subtitle: str) -> PageText:
    """The page's title and subtitle at the top, its sources at the foot (where the
    print's matplotlib pages have them)."""
    page = PageText(drawing, size)
    w, h = size
    heading = {"fontsize": font_pt(size, 14), "fontweight": "bold", "color": "#000000"}
    under = {"fontsize": font_pt(size, 8.5), "color": "#333"}
    page.text(MARGIN, h - MARGIN - 5 + _half(heading), page.fit(title, w - 2 * MARGIN,
                                                                 heading), **heading)
    page.wrapped(MARGIN, h - MARGIN - 13 + _half(under), w - 2 * MARGIN, subtitle,
                 max_lines=2, **under)
    foot = {"fontsize": font_pt(size, 6.5), "color": "#333"}
    lines = page.lines(page_sources(), w - 2 * MARGIN, foot, 2)
    step = foot["fontsize"] * MM_PER_PT * 1.2
    for k, text_line in enumerate(lines):  # the last line's baseline on the margin
        baseline = MARGIN + (len(lines) - 1 - k) * step
        page.text(MARGIN, baseline + ASCENT * foot["fontsize"] * MM_PER_PT, text_line,
                  **foot)
    return page


def _half(style: dict) -> float:
    """Half the height of a line of ``style`` (millimetres): from its middle to its top."""
    return (ASCENT + DESCENT) * style["fontsize"] * MM_PER_PT / 2


def _page_map(layers: PrintLayers, crs: str, extent: tuple, box: tuple, size, *, focus):
    """One map of ``extent`` (metres in ``crs``) in ``box`` (points), ``focus`` the
    area's outline in EPSG:4326 and in ``crs``, as :func:`geo.write.printpanels.single_map` draws
    a print's: its shapes, its furniture (a group
    and the box it covers), what it drew, the names it may show (in ``crs``), the boxes
    of its symbols (points) and the function taking ``crs`` to the page."""
    x0, y0, x1, y1 = extent
    lon, lat = from_degrees(crs).transform([x0, x1, x1, x0], [y0, y0, y1, y1],
                                           direction="INVERSE")
    degrees = (min(lon), min(lat), max(lon), max(lat))
    wide = (x1 - x0) > QPV_VISIBLE
    metres_per_mm = (x1 - x0) / (box[2] * MM_PER_PT)
    tolerance = metres_per_mm * 0.1
    deps, coms = background(degrees, crs, float(f"{metres_per_mm * OUTLINE_MM:.1g}"))
    paper = MapShapes(extent, box)
    move = paper.move
    drawn = dict.fromkeys(DRAWN, False)
    ground = rl_colour("#f3f1ec")
    deps_shapes = deps.geometry.to_numpy()
    if len(deps):
        paper.fill(deps_shapes, fillColor=ground)
    if wide and len(deps):  # one layer: no commune drawn between the land and the limits
        paper.outline(deps_shapes, DEP_COLOR, 0.5)
    if not wide and len(coms):
        drawn["communes"] = paper.outline(coms.geometry.to_numpy(), COM_COLOR, 0.4,
                                          (0, (3, 2)))
    if not wide and len(deps):
        paper.outline(deps_shapes, DEP_COLOR, 1.0)
    focus, projected = focus
    if focus is not None:
        # one line, simplified without keeping topology (nothing to keep, ten times
        # quicker on a département's full outline)
        paper.outline(np.array([shapely.simplify(projected, metres_per_mm * OUTLINE_MM,
                                                 preserve_topology=False)], dtype=object),
                      "#1a1a1a", 1.6)
    qpv_m = layers.framed("qpv", degrees, crs, None if wide else tolerance)
    st = qpv_style(CURRENT)
    if len(qpv_m) and not wide:
        shapes = qpv_m.geometry.to_numpy()
        paper.fill(shapes, fillColor=rl_colour(st["facecolor"], 0.35))
        paper.outline(shapes, st["edgecolor"], 0.7)
        drawn["qpv"] = True
    if len(qpv_m) and wide:  # too small to see: a light dot each, under the sites
        px, py = move(qpv_m["spot_x"].to_numpy(), qpv_m["spot_y"].to_numpy())
        shown = (px >= box[0]) & (px <= box[0] + box[2]) & (py >= box[1]) & \
            (py <= box[1] + box[3])
        if (path := dots(px[shown], py[shown], np.sqrt(1.2) / 2, strokeColor=None,
                         fillColor=rl_colour(st["edgecolor"], 0.55))) is not None:
            paper.body.add(path)
            drawn["qpv_dots"] = True
    if layers.previous is not None and not wide:
        prev = layers.framed("previous", degrees, crs, tolerance)
        if len(prev):
            earlier = qpv_style(generation_of(layers.previous, EARLIER))
            drawn["previous"] = paper.outline(prev.geometry.to_numpy(), earlier["edgecolor"],
                                              0.7, earlier["linestyle"])
    area = shapely.box(*degrees)
    links = [line for line in layers.links if line.intersects(area)]
    if links:
        drawn["links"] = paper.links(shapely.transform(np.array(links, dtype=object),
                                                       _projection(crs)))
    sites, lon, lat = layers.located(degrees)
    sx, sy = from_degrees(crs).transform(lon, lat)
    sites_m = gpd.GeoSeries(shapely.points(sx, sy), index=sites.index, crs=crs)
    px, py = move(sx, sy)
    cities = city_names(degrees, crs, wide, size, focus)
    if crowded(layers, len(sites), box[2] * box[3] / PT_PER_MM ** 2 / 100):
        drawn["aggregate"] = True
        cx, cy, counts, top = aggregate_counts(layers, sites, coms)
        diameters = _circles(paper.body, *move(cx, cy), counts, top,
                             largest_circle(size, top), box)
        symbol_x, symbol_y = move(cx, cy)
        cities_dots = False
    else:
        diameters = _sites(paper.body, layers, sites, px, py, wide, size, box)
        symbol_x, symbol_y = px, py
        cities_dots = True
    paper.frame()
    if cities_dots:  # each city a small dot, its name beside it
        cx, cy = move(np.array([c.x for c in cities]), np.array([c.y for c in cities]))
        for a, b in zip(cx, cy, strict=True):
            paper.body.add(_circle(a, b, np.sqrt(7) / 2, fillColor=rl_colour("#1a1a1a"),
                                   strokeColor=rl_colour("#ffffff"), strokeWidth=0.6))
    named = {label.text for label in cities}
    labels = cities + [label for label in map_names(layers, sites, sites_m, qpv_m, deps, coms,
                                                    wide, size) if label.text not in named]
    half = diameters / 2 + 0.75
    symbols = [(a - r, b - r, a + r, b + r) for a, b, r in
               zip(symbol_x, symbol_y, half, strict=True) if r > 0.75]
    corner = next(k for k in free_corners(sx, sy, extent) if k.startswith("b"))
    furniture = Group()
    covered = scale_bar(furniture, extent, move, size, corner)
    return paper.body, (furniture, covered), drawn, labels, symbols, move


def _projection(crs: str):
    """The function taking (x, y) rows in EPSG:4326 to ``crs`` (for shapely.transform)."""
    to_crs = from_degrees(crs)
    return lambda xy: np.column_stack(to_crs.transform(xy[:, 0], xy[:, 1]))


def _within(x: float, y: float, box: tuple) -> bool:
    return box[0] <= x <= box[0] + box[2] and box[1] <= y <= box[1] + box[3]


def _circle(x: float, y: float, r: float, **style):
    return Circle(float(x), float(y), float(r), **style)


def _sites(body: Group, layers: PrintLayers, sites, px, py, wide: bool, size,
           box: tuple) -> np.ndarray:
    """The sites by theme, with the print's symbols and sizes; return each one's
    diameter (points, 0 for a site out of the map)."""
    themes = layers.themes.reindex(sites.index).to_numpy()
    area = (30 if wide else 46) * min(1.0, min(size) / 210)
    scale = layers.scale.reindex(sites.index).to_numpy() ** 2 if layers.scale is not None \
        else np.ones(len(sites))
    alpha = 0.85 if layers.scale is not None else 1.0
    diameters = np.zeros(len(sites))
    inside = np.array([_within(a, b, box) for a, b in zip(px, py, strict=True)], dtype=bool)
    for theme, style in layers.styles.items():
        hollow = style.shape in HOLLOW
        fill = to_rgba("white" if hollow else style.color, alpha)
        edge = style.color if hollow else "#1a1a1a"
        for k in np.flatnonzero((themes == theme) & inside):
            d = float(np.sqrt(area * scale[k] * (2 if style.shape == "star" else 1)))
            diameters[k] = d
            body.add(marker(MARKERS[style.shape], float(px[k]), float(py[k]), d, fill=fill,
                            edge=edge, width=2 if hollow else 0.5))
    return diameters


def _circles(body: Group, x, y, counts, top: int, largest: float, box: tuple) -> np.ndarray:
    """The sites counted per place as nested circles (as
    :func:`geo.write.printsymbols.draw_circles`: areas follow the counts, the largest
    places first); return each place's outer diameter (points, 0 out of the map)."""
    if not top or not len(counts):
        return np.zeros(len(counts))
    areas = largest * counts.to_numpy(dtype=float) / top
    outer = np.zeros(len(counts))
    for k in range(len(counts)):
        if not _within(x[k], y[k], box):
            continue
        outer[k] = np.sqrt(areas[k, 0])
        for ring, (_, fill) in enumerate(RINGS):
            if areas[k, ring] > 0:
                body.add(_circle(x[k], y[k], np.sqrt(areas[k, ring]) / 2,
                                 fillColor=rl_colour(fill),
                                 strokeColor=rl_colour(EDGE) if ring == 0 else None,
                                 strokeWidth=0.5))
    return outer


def _page_legend(layers: PrintLayers, drawn: dict, size, frame: PageFrame, shown) -> Group:
    """The legend in its column: every symbol drawn, the themes counted on ``shown``, and
    the reference circles under them when the sites are counted per commune."""
    group = Group()
    x, y, w, h = (v * PT_PER_MM for v in frame.legend_zone)
    top = y + h
    heading = {"fontsize": font_pt(size, 8.5), "color": "#000000"}
    group.add(rl_text(x, top - ASCENT * heading["fontsize"], "Légende", heading))
    top -= (ASCENT + DESCENT) * heading["fontsize"] + 4
    points = font_pt(size, 7.5)
    bottom = legend(group, legend_handles(layers, drawn, shown), (x, y, w, top - y),
                    size=points, columns=1)
    if drawn["aggregate"] and layers.aggregate_max:
        largest = largest_circle(size, layers.aggregate_max)
        high = reference_height(largest, points)
        _reference(group, x, bottom - 8 - high, high, layers.aggregate_max, largest, points,
                   "Nombre de sites par commune")
    return group


def _reference(group: Group, x: float, y: float, height: float, top: int, largest: float,
               fontsize: float, title: str) -> None:
    """The legend of the circles, standing on ``y`` (points), as
    :func:`geo.write.printsymbols.draw_reference` draws it: nested, each value beside the
    top of its circle with a line."""
    radius = np.sqrt(largest) / 2
    centre = x + radius + 2
    group.add(rl_text(x, y + height - 1.1 * fontsize, title, {"fontsize": fontsize}))
    last = np.inf
    small = {"fontsize": fontsize * 0.9}
    for value in reference_values(top):
        r = radius * np.sqrt(value / top)
        if last - (2 * r + 1) < fontsize * 1.1:
            continue
        last = 2 * r + 1
        group.add(_circle(centre, y + r + 1, r, fillColor=rl_colour("#ffffff"),
                          strokeColor=rl_colour(EDGE), strokeWidth=0.5))
        group.add(polyline([centre, x + 2 * radius + 8], [y + last, y + last],
                           strokeColor=rl_colour("#555555"), strokeWidth=0.4))
        group.add(rl_text(x + 2 * radius + 10, y + last - (ASCENT - DESCENT) * small[
            "fontsize"] / 2, number(value), small))
