"""Static maps for print (PNG, SVG, PDF at A4 or A5), with no tiles: geopandas + matplotlib.

The map is drawn in the metric CRS of its main territory, with a title, the QPV, the sites by
theme (colour and shape, as on the interactive map), a legend, a scale bar, a north arrow and
the source line.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ._errors import InputError
from .io import atomic_path
from .link import LinkResult
from .maps import QPV_STYLES, SOURCES_LINE, site_themes
from .territories import TERRITORIES, territory_of_points

#: Paper sizes in millimetres (portrait).
PAPER = {"A4": (210, 297), "A5": (148, 210), "A3": (297, 420)}
_MARKERS = {"circle": "o", "square": "s", "triangle": "^", "diamond": "D", "pentagon": "p",
            "star": "*", "hexagon": "h", "cross": "P"}
_MM = 1 / 25.4


def print_map(
    result: LinkResult,
    qpv: gpd.GeoDataFrame,
    path: str | Path,
    *,
    paper: str = "A4",
    landscape: bool = True,
    title: str = "Initiatives de l'ESS et quartiers prioritaires",
    theme_column: str | None = None,
    previous: gpd.GeoDataFrame | None = None,
    dpi: int = 200,
    bounds: tuple[float, float, float, float] | None = None,
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
        Area to print, min lon, min lat, max lon, max lat (EPSG:4326); default: the sites.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in (".pdf", ".png", ".svg"):
        raise InputError("format d'impression inconnu : choisissez .pdf, .png ou .svg.",
                         path=str(path))
    if paper not in PAPER:
        raise InputError(f"format de papier « {paper} » inconnu ; possibles : "
                         f"{', '.join(PAPER)}.")
    width, height = PAPER[paper]
    if landscape:
        width, height = height, width
    sites = result.sites[result.sites.geometry.notna()]
    if bounds is not None:
        sites = sites.cx[bounds[0]:bounds[2], bounds[1]:bounds[3]]
    territory = _main_territory(sites, qpv)
    crs = TERRITORIES[territory].crs
    here = territory_of_points(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()) \
        .to_numpy() == territory if len(sites) else np.zeros(0, bool)
    outside = int((~here).sum())
    sites_m = sites[here].to_crs(crs)

    # A Figure without pyplot: no global state, no screen, any backend in the caller.
    fig = Figure(figsize=(width * _MM, height * _MM))
    ax = fig.add_axes((0.03, 0.08, 0.70, 0.82))
    x0, y0, x1, y1 = _extent(sites_m if bounds is None else gpd.GeoSeries(
        [shapely.box(*bounds)], crs=4326).to_crs(crs), qpv, crs)
    qpv_m = qpv.to_crs(crs).cx[x0:x1, y0:y1]
    st = QPV_STYLES["2024"]
    qpv_m.plot(ax=ax, facecolor=st["fillColor"], alpha=0.35, edgecolor="none")
    qpv_m.boundary.plot(ax=ax, color=st["color"], linewidth=0.8)
    if previous is not None and len(previous):
        prev_m = previous.to_crs(crs).cx[x0:x1, y0:y1]
        if len(prev_m):
            prev_m.boundary.plot(ax=ax, color=QPV_STYLES["2015"]["color"], linewidth=0.8,
                                 linestyle="--")
    all_themes, styles = site_themes(result.sites[result.sites.geometry.notna()], theme_column)
    themes = all_themes.reindex(sites_m.index)
    styles = {t: s for t, s in styles.items() if (themes == t).any()}
    for theme, style in styles.items():
        pts = sites_m[themes == theme]
        size = 90 if style.shape == "star" else 42
        ax.scatter(pts.geometry.x, pts.geometry.y, s=size, marker=_MARKERS[style.shape],
                   color=style.color, edgecolor="white", linewidth=0.8, zorder=5)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_facecolor("#f7f7f4")
    _scale_bar(ax, x0, x1, y0, y1)
    _north_arrow(ax)

    fig.text(0.03, 0.955, _plain(title), fontsize=15, fontweight="bold", va="center")
    handles = [Line2D([], [], marker=_MARKERS[s.shape], color="none", markerfacecolor=s.color,
                      markeredgecolor="white", markersize=8,
                      label=_plain(f"{t} ({int((themes == t).sum())})"))
               for t, s in styles.items()]
    handles.append(Patch(facecolor=st["fillColor"], alpha=0.5, edgecolor=st["color"],
                         label="Quartier prioritaire " + ", ".join(sorted(set(qpv["generation"])))))
    if previous is not None and len(previous):
        handles.append(Line2D([], [], color=QPV_STYLES["2015"]["color"], linestyle="--",
                              label="Quartier prioritaire " +
                              ", ".join(sorted(set(previous["generation"])))))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.745, 0.9), frameon=False,
               fontsize=8, title="Légende", title_fontsize=9, alignment="left")
    summary = result.summary()
    notes = [f"{summary['located']} sites localisés sur {summary['sites']}"]
    if bounds is not None:
        notes.append(f"{len(sites_m)} dans le cadre de la carte")
    elif outside:
        notes.append(f"{outside} hors du cadre ({TERRITORIES[territory].name} seulement)")
    fig.text(0.745, 0.12, "\n".join(notes), fontsize=7.5, va="bottom", color="#333")
    fig.text(0.03, 0.03, SOURCES_LINE + " – Licence Ouverte / Etalab 2.0. "
             f"Projection : {crs}.", fontsize=7, color="#444")
    # Reader's own Helvetica for PDF and plain text for SVG: no font file is embedded.
    fonts = {"pdf.use14corefonts": True, "svg.fonttype": "none"}
    with atomic_path(path) as tmp, matplotlib.rc_context(fonts):
        fig.savefig(tmp, dpi=dpi, format=suffix[1:], metadata=_metadata(suffix, title))
    return Path(path)


def _plain(text: str) -> str:
    """User text shown as it is: ``$`` would start matplotlib's math mode."""
    return str(text).replace("$", r"\$")


def _main_territory(sites: gpd.GeoDataFrame, qpv: gpd.GeoDataFrame) -> str:
    if len(sites):
        keys = territory_of_points(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
        keys = keys.dropna()
        if len(keys):
            return keys.value_counts().index[0]
    return "metropole"


def _extent(sites_m: gpd.GeoDataFrame, qpv: gpd.GeoDataFrame, crs: str):
    frame = sites_m if len(sites_m) else qpv.to_crs(crs)
    x0, y0, x1, y1 = frame.total_bounds
    pad = max(x1 - x0, y1 - y0) * 0.08 + 500
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _scale_bar(ax, x0, x1, y0, y1) -> None:
    target = (x1 - x0) / 5
    length = 10 ** np.floor(np.log10(target))
    for factor in (5, 2, 1):
        if length * factor <= target:
            length *= factor
            break
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    ax.plot([bx, bx + length], [by, by], color="black", linewidth=3, solid_capstyle="butt",
            zorder=6)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(bx + length / 2, by + (y1 - y0) * 0.015, label, ha="center", va="bottom",
            fontsize=8, zorder=6)


def _north_arrow(ax) -> None:
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction",
                ha="center", va="center", fontsize=11, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5})


def _metadata(suffix: str, title: str) -> dict:
    from . import __version__

    creator = f"ess-qpv {__version__}"
    if suffix == ".pdf":
        return {"Title": title, "Creator": creator, "Subject": SOURCES_LINE}
    if suffix == ".png":
        return {"Title": title, "Software": creator, "Source": SOURCES_LINE}
    return {"Title": title, "Creator": creator}
