"""The legend of the matplotlib print pages: an entry for every symbol drawn."""

from __future__ import annotations

import textwrap
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..typography import NBSP, number
from .drawing import font_pt
from .mapstyle import SEVERAL_THEMES_NOTE, french_number, legend_values
from .pagelayout import PageFrame
from .printlayers import (
    CURRENT,
    EARLIER,
    EMPHASIS,
    HOLLOW,
    INCH_PER_MM,
    MARKERS,
    PrintLayers,
    generation_of,
    largest_circle,
    plain_text,
    qpv_style,
)
from .vectormap import COM_COLOR, DEP_COLOR, LINK_COLOR

_LEGEND_CHARS = 34


def figure_legend(fig: Figure, frame: PageFrame, layers: PrintLayers, drawn: dict, size,
                  shown: gpd.GeoDataFrame | None = None, zone=None, counted: bool = True):
    """The legend, in its column: every symbol drawn, counted on ``shown`` (default: every
    site of the page's study; ``counted=False``: no count)."""
    handles = legend_handles(layers, drawn, shown, counted=counted)
    x, y, w, h = frame.fraction(*(zone or frame.legend_zone))
    legend = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(x, y + h),
                        frameon=False, fontsize=font_pt(size, 7.5), title="Légende",
                        title_fontsize=font_pt(size, 8.5), alignment="left", borderaxespad=0,
                        borderpad=0)
    if drawn["aggregate"] and layers.aggregate_max:
        # the nested reference circles under the entries (mapsf's « prop » legend)
        from .printsymbols import draw_reference, reference_height

        largest = largest_circle(size, layers.aggregate_max)
        points = font_pt(size, 7.5)
        top = legend_bottom(fig, legend) - 3
        high = reference_height(largest, points) / 72 * 25.4
        draw_reference(fig, frame.fraction(x * size[0], top - high, w * size[0], high),
                       layers.aggregate_max, largest, points,
                       "Nombre de sites par commune")
        legend.essqpv_bottom = top - high
    return legend


def legend_bottom(fig: Figure, legend) -> float:
    """Where the legend (with its reference circles) ends, in millimetres from the bottom
    of the page."""
    if hasattr(legend, "essqpv_bottom"):
        return legend.essqpv_bottom
    return legend.get_window_extent(fig.canvas.get_renderer()).y0 / (fig.dpi * INCH_PER_MM)


def legend_handles(layers: PrintLayers, drawn: dict, shown: gpd.GeoDataFrame | None = None,
                   *, counted: bool = True) -> list:
    """The legend's entries: every symbol drawn on the page, themes counted on ``shown``
    (default: every site of the study)."""
    st = qpv_style(CURRENT)
    themes = layers.themes if shown is None else layers.themes.reindex(shown.index)
    held = themes.value_counts()
    handles = [_theme_handle(s.shape, s.color, plain_text(textwrap.fill(
                   f"{t} ({number(int(held.get(t, 0)))})" if counted else t, _LEGEND_CHARS)))
               for t, s in layers.styles.items() if shown is None or held.get(t, 0) > 0]
    if layers.themes.attrs.get("several") and len(handles) > 1:
        handles.append(Line2D([], [], color="none", label=textwrap.fill(
            f"({SEVERAL_THEMES_NOTE})", _LEGEND_CHARS)))
    if drawn["qpv"]:
        handles.append(Patch(facecolor=st["facecolor"], alpha=0.5, edgecolor=st["edgecolor"],
                             label=f"Quartier prioritaire {layers.generation}"))
    for relation, (style, text) in EMPHASIS.items():
        if drawn[relation]:
            handles.append(Patch(label=text, **style))
    if drawn["aggregate"] and layers.aggregate_max:
        from .printsymbols import EDGE, RINGS

        texts = ("Autres sites", f"Sites à moins de {number(layers.distance)}\u00a0m "
                 "d’un quartier prioritaire", "Sites implantés dans un quartier prioritaire")
        for (_, colour), text in reversed(list(zip(RINGS, texts, strict=True))):
            handles.append(Line2D([], [], color="none", marker="o", markersize=7,
                                  markerfacecolor=colour, markeredgecolor=EDGE,
                                  markeredgewidth=0.5, label=textwrap.fill(
                                      text, _LEGEND_CHARS)))
    if drawn["qpv_dots"]:
        handles.append(Line2D([], [], color="none", marker="o", markersize=2.5,
                              markerfacecolor=st["edgecolor"], markeredgecolor="none",
                              label=f"Quartier prioritaire {layers.generation}\n"
                                    f"(un point{NBSP}: trop petit à cette échelle)"))
    if drawn["previous"]:
        gen = ", ".join(sorted(set(layers.previous["generation"])))
        earlier = qpv_style(generation_of(layers.previous, EARLIER))
        handles.append(Line2D([], [], color=earlier["edgecolor"],
                              linestyle=earlier["linestyle"],
                              label=f"Quartier prioritaire {gen}"))
    if drawn["links"]:
        handles.append(Line2D([], [], color=LINK_COLOR, linestyle=(0, (4, 3)),
                              label="Sites d'une même initiative"))
    if layers.size_by is not None:
        column, values = layers.size_by
        top = pd.to_numeric(values, errors="coerce").max()
        base = 7  # the legend's usual marker, in points: 22 px on screen
        handles.append(Line2D([], [], color="none", label=plain_text(f"Taille\u00a0: {column}")))
        for value in legend_values(values):
            d = max(56 * np.sqrt(value / top), 10) / 22 * base
            handles.append(Line2D([], [], marker="o", color="none", markerfacecolor="none",
                                  markeredgecolor="#1a1a1a", markersize=d,
                                  label=french_number(value)))
    handles.append(Line2D([], [], color=DEP_COLOR, linewidth=1,
                          label="Limite de département"))
    if drawn["communes"]:
        handles.append(Line2D([], [], color=COM_COLOR, linewidth=0.5, linestyle=(0, (3, 2)),
                              label="Limite de commune"))
    return handles


@lru_cache(maxsize=512)
def _theme_handle(shape: str, color: str, label: str) -> Line2D:
    """The legend's entry of a theme (made once: an atlas's pages repeat them, and a
    matplotlib line costs more to make than a page to draw it; never modified)."""
    hollow = shape in HOLLOW
    return Line2D([], [], marker=MARKERS[shape], color="none",
                  markerfacecolor="white" if hollow else color,
                  markeredgecolor=color if hollow else "#1a1a1a",
                  markeredgewidth=2 if hollow else 0.6, markersize=7, label=label)
