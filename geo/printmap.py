"""Static maps for print (PDF, PNG, SVG at A3, A4 or A5), with no tiles: geopandas + matplotlib.

Each page is drawn in the metric CRS of its territory: département and commune outlines with
the names of the places that hold sites (IGN ADMIN EXPRESS), the quartiers where the scale
shows them and a count per département where it does not, the sites by theme (colour and
shape, as on the interactive map), dashed lines between the sites of one initiative, overseas
territories as insets, a legend that explains every symbol, a metric scale bar, a north arrow
and the sources. ``atlas`` adds one page per département (or per commune for a study within
one département) after the overview, in one PDF. Fonts (DejaVu Sans, shipped with
matplotlib) are embedded, so the PDF looks the same at the print shop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ._errors import InputError
from .indicators import Measures
from .io import atomic_path
from .link import LinkResult
from .maps import (
    QPV_STYLES,
    SOURCES_LINE,
    french_number,
    legend_values,
    site_themes,
    symbol_sizes,
)
from .territories import TERRITORIES, territory_of_points
from .vocabulary import DEFAULT_TITLE

#: Paper sizes in millimetres (portrait).
PAPER = {"A4": (210, 297), "A5": (148, 210), "A3": (297, 420)}
_MARKERS = {"circle": "o", "square": "s", "triangle": "^", "diamond": "D", "pentagon": "p",
            "star": "*", "hexagon": "h", "cross": "P", "triangle_down": "v", "x": "X",
            "ring": "o", "bar": [(-1, -0.35), (1, -0.35), (1, 0.35), (-1, 0.35), (-1, -0.35)]}
#: Shapes drawn hollow (their colour on the outline).
_HOLLOW = {"ring"}
_MM = 1 / 25.4
#: Wider than this (metres), quartiers are too small to see: they are counted instead.
_QPV_VISIBLE = 150_000
#: Fonts embedded as TrueType in PDF; SVG text drawn as paths (no font needed to view it).
_FONTS = {"pdf.fonttype": 42, "svg.fonttype": "path", "font.family": "DejaVu Sans"}
_DEP_COLOR, _COM_COLOR, _LINK_COLOR = "#4d4d4d", "#8c8c8c", "#555555"
#: Sites of one initiative farther apart than this (Web Mercator metres) are not joined.
_LINK_MAX = 50_000


@dataclass
class _Layers:
    """What every page draws from (EPSG:4326), prepared once."""

    sites: gpd.GeoDataFrame
    themes: pd.Series
    styles: dict
    qpv: gpd.GeoDataFrame
    previous: gpd.GeoDataFrame | None
    links: list
    generation: str
    #: Diameter of each site's symbol relative to the usual one (proportional symbols), and
    #: the indicator and its values for the legend.
    scale: pd.Series | None = None
    size_by: tuple[str, pd.Series] | None = None


def print_map(
    result: LinkResult,
    qpv: gpd.GeoDataFrame,
    path: str | Path,
    *,
    paper: str = "A4",
    landscape: bool = True,
    title: str = DEFAULT_TITLE,
    theme_column: str | None = None,
    id_column: str | None = None,
    previous: gpd.GeoDataFrame | None = None,
    dpi: int = 200,
    bounds: tuple[float, float, float, float] | None = None,
    atlas: bool = False,
    measures: Measures | None = None,
    size_by: str | None = None,
    periods: list[int] | tuple[int, ...] = (),
) -> Path:
    """Write a print map to ``path`` (``.pdf``, ``.png`` or ``.svg``, by extension).

    Parameters
    ----------
    paper
        ``"A4"``, ``"A5"`` or ``"A3"``.
    landscape
        Landscape (default) or portrait page.
    dpi
        Resolution of a PNG, in dots per inch.
    bounds
        Area of the overview, min lon, min lat, max lon, max lat (EPSG:4326); default: the
        sites, with overseas territories that hold sites as insets.
    atlas
        After the overview, one page per département holding sites (per commune when every
        site lies in one département); PDF only.
    measures, size_by
        The sites' indicators and years; ``size_by`` sizes the symbols by one indicator
        (proportional symbols, their sizes in the legend).
    periods
        Years drawn as small multiples on the first page: one panel per year, the same
        frame, the sites open that year (``measures`` must hold years).
    """
    suffix = Path(path).suffix.lower()
    if suffix not in (".pdf", ".png", ".svg"):
        raise InputError("format d'impression inconnu : choisissez .pdf, .png ou .svg.",
                         path=str(path), parameters=("carte_impression",))
    if paper not in PAPER:
        raise InputError(f"format de papier « {paper} » inconnu ; possibles : "
                         f"{', '.join(PAPER)}.", parameters=("paper",))
    if atlas and suffix != ".pdf":
        raise InputError("un atlas a plusieurs pages : choisissez un fichier .pdf.",
                         path=str(path), parameters=("carte_impression",))
    width, height = PAPER[paper]
    size = ((height, width) if landscape else (width, height))
    layers = _prepare(result, qpv, previous, theme_column, id_column)
    if measures is not None and size_by:
        values = measures.values[size_by]
        layers.scale = pd.Series(symbol_sizes(values), index=result.sites.index) / 22
        layers.size_by = (size_by, values)
    pages = [_overview(layers, result, size, title, bounds)]
    if periods:
        if measures is None or not measures.has_years:
            raise InputError("les périodes demandent l'année d'ouverture de chaque site.",
                             parameters=("periods", "year"))
        pages.insert(0, _periods_page(layers, measures, size, title, list(periods)))
    if atlas:
        sites = layers.sites if bounds is None else \
            layers.sites.cx[bounds[0]:bounds[2], bounds[1]:bounds[3]]
        pages += [_area_page(layers, size, title, name, outline)
                  for name, outline in _atlas_areas(sites)]
    with atomic_path(path) as tmp, matplotlib.rc_context(_FONTS):
        if suffix == ".pdf":
            from matplotlib.backends.backend_pdf import PdfPages

            with PdfPages(tmp, metadata=_metadata(suffix, title)) as pdf:
                for fig in pages:
                    pdf.savefig(fig)
        else:
            pages[0].savefig(tmp, dpi=dpi, format=suffix[1:], metadata=_metadata(suffix, title))
    return Path(path)


def _prepare(result, qpv, previous, theme_column, id_column) -> _Layers:
    sites = result.sites[result.sites.geometry.notna()]
    themes, styles = site_themes(sites, theme_column)
    styles = {t: s for t, s in styles.items() if (themes == t).any()}
    links = []
    if id_column and id_column in sites:
        for _, group in sites.groupby(sites[id_column].astype(str)):
            if len(group) > 1:
                line = shapely.LineString(list(group.geometry))
                # Sites far apart (another city, overseas) are not joined: a line across
                # the country says nothing a reader can use.
                if gpd.GeoSeries([line], crs=4326).to_crs(3857).length.iloc[0] < _LINK_MAX:
                    links.append(line)
    return _Layers(sites, themes, styles, qpv, previous, links,
                   ", ".join(sorted(set(qpv["generation"]))) or "")


# --------------------------------------------------------------------------- pages


def _overview(layers: _Layers, result: LinkResult, size, title: str, bounds) -> Figure:
    """The first page: the sites' main territory, other territories with sites as insets."""
    sites = layers.sites
    keys = territory_of_points(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
    counts = keys.value_counts()
    main = counts.index[0] if len(counts) else "metropole"
    if bounds is not None:
        x0, y0, x1, y1 = bounds
        main = territory_of_points(np.array([(x0 + x1) / 2]), np.array([(y0 + y1) / 2]))[0] \
            or main
        area = gpd.GeoSeries([shapely.box(*bounds)], crs=4326)
        insets = []
    else:
        area = sites[(keys == main).to_numpy()].geometry
        insets = [k for k in counts.index if k != main]
    fig, ax = _figure(size, title, _subtitle(result, layers, bounds))
    crs = TERRITORIES[main].crs
    extent = _extent(area.to_crs(crs) if len(area) else None, crs, main)
    drawn = _draw(ax, layers, crs, extent, size)
    for i, key in enumerate(insets[:6]):  # below the legend, two per row
        inset = fig.add_axes((0.735 + (i % 2) * 0.13, 0.07 + (2 - i // 2) * 0.125,
                              0.115, 0.105))
        subset = sites[(keys == key).to_numpy()]
        icrs = TERRITORIES[key].crs
        _draw(inset, layers, icrs, _extent(subset.geometry.to_crs(icrs), icrs, key), size,
              inset=True)
        inset.set_title(TERRITORIES[key].name, fontsize=_pt(size, 6.5), pad=2)
    _legend(fig, layers, drawn, size)
    return fig


def _periods_page(layers: _Layers, measures: Measures, size, title: str,
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
    extent = _extent(area.to_crs(crs) if len(area) else None, crs, main, pad=0.12)
    elsewhere = int((keys != main).sum())
    note = f" ; {elsewhere} site(s) hors de ce cadre (outre-mer)" if elsewhere else ""
    fig, first = _figure(size, title, "Sites ouverts à chaque date, même cadre pour chaque "
                                      f"panneau{note}")
    fig.delaxes(first)
    cols = len(periods) if len(periods) <= 3 else ceil(len(periods) / 2)
    rows = ceil(len(periods) / cols)
    x0, y0, width, height = 0.03, 0.07, 0.68, 0.80
    # positions in the table, as the sites' index
    start = pd.Series(measures.start).reindex(sites.index)
    end = pd.Series(measures.end if measures.end is not None else np.nan,
                    index=pd.RangeIndex(len(measures.start))).reindex(sites.index)
    drawn: dict = {}
    for k, year in enumerate(periods):
        r, c = divmod(k, cols)
        ax = fig.add_axes((x0 + c * width / cols + 0.005, y0 + (rows - 1 - r) * height / rows
                           + 0.005, width / cols - 0.01, height / rows - 0.04))
        alive = ((start <= year) & ~(end < year)).to_numpy()
        shown = replace(layers, sites=sites[alive], links=[])
        # no quartier counts: in small panels they would hide the sites
        drawn = _draw(ax, shown, crs, extent, size, furniture=k == 0, counts=False)
        ax.set_title(f"{year} : {int(alive.sum())} site(s) ouvert(s)",
                     fontsize=_pt(size, 8.5), pad=3)
    _legend(fig, layers, drawn, size)
    return fig


def _area_page(layers: _Layers, size, title: str, name: str, outline) -> Figure:
    """An atlas page: one département or commune, with its sites and quartiers."""
    inside = layers.sites[shapely.intersects(outline, layers.sites.geometry.values)]
    fig, ax = _figure(size, title, f"{name} – {len(inside)} site(s)")
    x, y = outline.centroid.x, outline.centroid.y
    key = territory_of_points(np.array([x]), np.array([y]))[0] or "metropole"
    crs = TERRITORIES[key].crs
    extent = _extent(gpd.GeoSeries([outline], crs=4326).to_crs(crs), crs, key, pad=0.04)
    drawn = _draw(ax, layers, crs, extent, size, focus=outline)
    _legend(fig, layers, drawn, size)
    return fig


def _atlas_areas(sites: gpd.GeoDataFrame) -> list[tuple[str, shapely.Geometry]]:
    """The départements holding sites, or the communes when they all lie in one."""
    from .outlines import commune_of_points, communes, departement_of_points, departements

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


def _figure(size, title: str, subtitle: str) -> tuple[Figure, object]:
    # A Figure without pyplot: no global state, no screen, any backend in the caller.
    fig = Figure(figsize=(size[0] * _MM, size[1] * _MM))
    ax = fig.add_axes((0.03, 0.07, 0.68, 0.82))
    fig.text(0.03, 0.955, _plain(title), fontsize=_pt(size, 14), fontweight="bold",
             va="center")
    fig.text(0.03, 0.915, _plain(subtitle), fontsize=_pt(size, 8.5), va="center",
             color="#333")
    fig.text(0.03, 0.025, SOURCES_LINE + " ; IGN – ADMIN EXPRESS COG 2018 (limites). "
             "Licence Ouverte / Etalab 2.0.", fontsize=_pt(size, 6.5), color="#333")
    return fig, ax


def _subtitle(result: LinkResult, layers: _Layers, bounds) -> str:
    s = result.summary()
    text = (f"{s['located']} sites localisés sur {s['sites']} : {s['implanted']} implantés "
            f"dans un QPV, {s['nearby']} à moins de {result.distance:g} m")
    if bounds is not None:
        inside = layers.sites.cx[bounds[0]:bounds[2], bounds[1]:bounds[3]]
        text += f" ; {len(inside)} dans le cadre"
    return text


def _pt(size, points: float) -> float:
    """A font size that reads the same on A5 as on A4 (never below 5.5 pt)."""
    return max(points * min(1.0, min(size) / 210) ** 0.5, 5.5)


# --------------------------------------------------------------------------- drawing


def _extent(area: gpd.GeoSeries | None, crs: str, territory: str, pad: float = 0.08):
    if area is None or not len(area):
        x0, y0, x1, y1 = gpd.GeoSeries([shapely.box(*TERRITORIES[territory].bbox)],
                                       crs=4326).to_crs(crs).total_bounds
    else:
        x0, y0, x1, y1 = area.total_bounds
    margin = max(x1 - x0, y1 - y0) * pad + 800
    return x0 - margin, y0 - margin, x1 + margin, y1 + margin


def _draw(ax, layers: _Layers, crs: str, extent, size, *, inset: bool = False,
          focus: shapely.Geometry | None = None, furniture: bool = True,
          counts: bool = True) -> dict:
    """Draw one map on ``ax``; return what it drew (for the legend)."""
    from .outlines import context

    x0, y0, x1, y1 = extent
    box = gpd.GeoSeries([shapely.box(x0, y0, x1, y1)], crs=crs).to_crs(4326).total_bounds
    deps, coms = context(tuple(box), margin=0.05)
    wide = (x1 - x0) > _QPV_VISIBLE
    drawn = {"qpv": False, "qpv_count": False, "previous": False, "links": False,
             "communes": False}
    ax.set_facecolor("#ffffff")
    deps_m = deps.to_crs(crs)
    if len(deps_m):  # at sea or in a territory without outline, nothing to draw
        deps_m.plot(ax=ax, facecolor="#f3f1ec", edgecolor="none", zorder=0)
        deps_m.boundary.plot(ax=ax, color=_DEP_COLOR, linewidth=0.7 if wide else 1.0,
                             zorder=2)
    if not wide and len(coms):
        coms.to_crs(crs).boundary.plot(ax=ax, color=_COM_COLOR, linewidth=0.4,
                                       linestyle=(0, (3, 2)), zorder=1)
        drawn["communes"] = True
    if focus is not None:
        gpd.GeoSeries([focus], crs=4326).to_crs(crs).boundary.plot(
            ax=ax, color="#1a1a1a", linewidth=1.6, zorder=2)
    qpv = layers.qpv.cx[box[0]:box[2], box[1]:box[3]]
    st = QPV_STYLES["2024"]
    if len(qpv) and not wide:
        qpv_m = qpv.to_crs(crs)
        qpv_m.plot(ax=ax, facecolor=st["fillColor"], alpha=0.35, edgecolor="none", zorder=3)
        qpv_m.boundary.plot(ax=ax, color=st["color"], linewidth=0.7, zorder=3)
        drawn["qpv"] = True
    elif len(qpv) and not inset and counts:
        _qpv_counts(ax, qpv, deps_m, crs, size)
        drawn["qpv_count"] = True
    if layers.previous is not None and not wide:
        prev = layers.previous.cx[box[0]:box[2], box[1]:box[3]]
        if len(prev):
            prev.to_crs(crs).boundary.plot(ax=ax, color=QPV_STYLES["2015"]["color"],
                                           linewidth=0.7, linestyle="--", zorder=3)
            drawn["previous"] = True
    links = [line for line in layers.links if line.intersects(shapely.box(*box))]
    if links:
        gpd.GeoSeries(links, crs=4326).to_crs(crs).plot(
            ax=ax, color=_LINK_COLOR, linewidth=0.9, linestyle=(0, (4, 3)), zorder=4)
        drawn["links"] = True
    sites = layers.sites.cx[box[0]:box[2], box[1]:box[3]]
    sites_m = sites.to_crs(crs)
    themes = layers.themes.reindex(sites.index)
    marker = 10 if inset else (38 if wide else 46) * min(1.0, min(size) / 210)
    scale = layers.scale.reindex(sites.index).to_numpy() ** 2 if layers.scale is not None \
        else np.ones(len(sites))
    for theme, style in layers.styles.items():
        mine = (themes == theme).to_numpy()
        pts = sites_m[mine]
        if len(pts):
            hollow = style.shape in _HOLLOW
            ax.scatter(pts.geometry.x, pts.geometry.y, s=marker * scale[mine] * (
                2 if style.shape == "star" else 1), alpha=0.85 if layers.scale is not None
                       else 1,
                       marker=_MARKERS[style.shape], facecolor="white" if hollow
                       else style.color, edgecolor=style.color if hollow else "#1a1a1a",
                       linewidth=2 if hollow else 0.5, zorder=6)
    _place_names(ax, sites, deps, coms, crs, wide, size, inset)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for spine in ax.spines.values():
        spine.set_color("#777")
    if not inset and furniture:
        _scale_bar(ax, x0, x1, y0, y1, size)
        _north_arrow(ax, size)
    return drawn


def _qpv_counts(ax, qpv, deps_m, crs, size) -> None:
    """Where quartiers are too small to see: their number per département, at its label."""
    counts = qpv["insee_dep"].value_counts()
    for row in deps_m.itertuples():
        n = counts.get(row.code, 0)
        if n:
            point = gpd.GeoSeries([shapely.Point(row.label_x, row.label_y)], crs=4326) \
                .to_crs(crs).iloc[0]
            ax.text(point.x, point.y, str(n), ha="center", va="top", fontsize=_pt(size, 6),
                    clip_on=True,
                    color=QPV_STYLES["2024"]["color"], fontweight="bold", zorder=7,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.8})


def _place_names(ax, sites, deps, coms, crs, wide, size, inset) -> None:
    """Names of the places that hold sites: départements on wide maps, communes on close
    ones (the busiest first, at most 25)."""
    from .outlines import commune_of_points, departement_of_points

    if inset or not len(sites):
        return
    x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    if wide:
        held = pd.Series(departement_of_points(x, y)).value_counts()
        frame, style = deps, {"fontsize": _pt(size, 6.5), "fontweight": "bold",
                              "color": "#222"}
    else:
        held = pd.Series(commune_of_points(x, y)).value_counts()
        frame, style = coms, {"fontsize": _pt(size, 7), "color": "#222"}
    held = held[held.index != ""].head(25)
    places = frame.set_index("code")
    for code in held.index:
        if code not in places.index:
            continue
        row = places.loc[code]
        point = gpd.GeoSeries([shapely.Point(row["label_x"], row["label_y"])], crs=4326) \
            .to_crs(crs).iloc[0]
        ax.text(point.x, point.y, _plain(row["nom"]), ha="center", va="bottom", zorder=8,
                clip_on=True,
                bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none",
                      "alpha": 0.75}, **style)


def _legend(fig: Figure, layers: _Layers, drawn: dict, size) -> None:
    st = QPV_STYLES["2024"]
    handles = [Line2D([], [], marker=_MARKERS[s.shape], color="none",
                      markerfacecolor="white" if s.shape in _HOLLOW else s.color,
                      markeredgecolor=s.color if s.shape in _HOLLOW else "#1a1a1a",
                      markeredgewidth=2 if s.shape in _HOLLOW else 0.6, markersize=7,
                      label=_plain(f"{t} ({int((layers.themes == t).sum())})"))
               for t, s in layers.styles.items()]
    if drawn["qpv"]:
        handles.append(Patch(facecolor=st["fillColor"], alpha=0.5, edgecolor=st["color"],
                             label=f"Quartier prioritaire {layers.generation}"))
    if drawn["qpv_count"]:
        handles.append(Line2D([], [], color="none", marker="$12$", markersize=9,
                              markeredgecolor="none", markerfacecolor=st["color"],
                              label="Nombre de quartiers prioritaires\ndu département "
                                    "(trop petits à cette échelle)"))
    if drawn["previous"]:
        gen = ", ".join(sorted(set(layers.previous["generation"])))
        handles.append(Line2D([], [], color=QPV_STYLES["2015"]["color"], linestyle="--",
                              label=f"Quartier prioritaire {gen}"))
    if drawn["links"]:
        handles.append(Line2D([], [], color=_LINK_COLOR, linestyle=(0, (4, 3)),
                              label="Sites d'une même initiative"))
    if layers.size_by is not None:
        column, values = layers.size_by
        top = pd.to_numeric(values, errors="coerce").max()
        base = 7  # the legend's usual marker, in points: 22 px on screen
        handles.append(Line2D([], [], color="none", label=_plain(f"Taille : {column}")))
        for value in legend_values(values):
            d = max(56 * np.sqrt(value / top), 10) / 22 * base
            handles.append(Line2D([], [], marker="o", color="none", markerfacecolor="none",
                                  markeredgecolor="#1a1a1a", markersize=d,
                                  label=french_number(value)))
    handles.append(Line2D([], [], color=_DEP_COLOR, linewidth=1,
                          label="Limite de département"))
    if drawn["communes"]:
        handles.append(Line2D([], [], color=_COM_COLOR, linewidth=0.5, linestyle=(0, (3, 2)),
                              label="Limite de commune"))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.725, 0.89),
               frameon=False, fontsize=_pt(size, 7.5), title="Légende",
               title_fontsize=_pt(size, 8.5), alignment="left")


def _plain(text: str) -> str:
    """User text shown as it is: ``$`` would start matplotlib's math mode."""
    return str(text).replace("$", r"\$")


def _scale_bar(ax, x0, x1, y0, y1, size) -> None:
    """A metric scale bar (metres, kilometres) in the lower left corner."""
    target = (x1 - x0) / 5
    length = 10 ** np.floor(np.log10(target))
    for factor in (5, 2, 1):
        if length * factor <= target:
            length *= factor
            break
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    for i, colour in enumerate(("#1a1a1a", "#ffffff")):
        ax.plot([bx + i * length / 2, bx + (i + 1) * length / 2], [by, by], color=colour,
                linewidth=4, solid_capstyle="butt", zorder=9)
    ax.plot([bx, bx + length], [by, by], color="#1a1a1a", linewidth=5.5,
            solid_capstyle="butt", zorder=8)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(bx + length / 2, by + (y1 - y0) * 0.015, label, ha="center", va="bottom",
            fontsize=_pt(size, 7.5), zorder=9)


def _north_arrow(ax, size) -> None:
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction",
                ha="center", va="center", fontsize=_pt(size, 10), fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5})


def _metadata(suffix: str, title: str) -> dict:
    from . import __version__

    creator = f"ess-qpv {__version__}"
    if suffix == ".pdf":
        return {"Title": title, "Creator": creator, "Subject": SOURCES_LINE}
    if suffix == ".png":
        return {"Title": title, "Software": creator, "Source": SOURCES_LINE}
    return {"Title": title, "Creator": creator}

