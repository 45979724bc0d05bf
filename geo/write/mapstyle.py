"""What every map draws with, on screen and on paper: colours and shapes of themes, QPV
styles, proportional symbols, numbers and distances as the pages say them, the sources
line. No drawing library here: :mod:`geo.write.maps` (Folium) and :mod:`geo.write.printmap`
(matplotlib) both build on it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..typography import capitalised
from ..vocabulary import GENERATION, GENERATIONS, theme_values

if TYPE_CHECKING:  # the indicators' module draws nothing: no import at run time
    from ..indicators import Measures

#: Credits shown on every map.
SOURCES_LINE = "Sources : ANCT, INSEE (quartiers prioritaires) ; Base Adresse Nationale"
#: Okabe–Ito colours (readable by colour-blind readers), then a few more.
PALETTE = ("#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#8C6D1F",
           "#000000", "#7F3C8D", "#11A579", "#3969AC", "#E73F74")
#: Marker shapes, so that themes stay distinct in black and white prints.
SHAPES = ("circle", "square", "triangle", "diamond", "pentagon", "star", "hexagon", "cross",
          "triangle_down", "x", "ring", "bar")
#: How each QPV generation is drawn (declared with the generation: :data:`GENERATIONS`).
QPV_STYLES = {g.key: g.style for g in GENERATIONS}


def qpv_style(generation: str | None = None, *, previous: bool = False) -> dict:
    """How the quartiers of ``generation`` are drawn. A key not declared (none, or several
    joined: « 2015, 2024 ») is drawn as the newest generation, or as the oldest when its
    quartiers are an earlier generation drawn beside (``previous``)."""
    if generation in GENERATION:
        return GENERATION[generation].style
    return (GENERATIONS[-1] if previous else GENERATIONS[0]).style


#: The proximity band around the quartiers.
BAND_STYLE = {"color": "#b03a2e", "weight": 1, "fillColor": "#f5b7b1", "fillOpacity": 0.18,
              "dashArray": "2 4", "interactive": False}
#: The theme of a site that has none.
NO_THEME = "Sans thème"


@dataclass(frozen=True)
class ThemeStyle:
    """How one theme is drawn: a colour and a shape."""

    color: str
    shape: str


def theme_styles(themes: list[str]) -> dict[str, ThemeStyle]:
    """Assign a colour and a shape to each theme, in the order given."""
    return {t: ThemeStyle(PALETTE[i % len(PALETTE)], SHAPES[i % len(SHAPES)])
            for i, t in enumerate(themes)}


#: Legend classes at most (the most frequent themes); beyond, the others are grouped.
MAX_THEMES = 8
#: The class of the themes beyond :data:`MAX_THEMES`.
OTHER_THEMES = "Autres"
#: A value that is a code rather than a theme: a digit and no lower-case letter
#: (INSEE codes, NAF codes, « 75056 », « 88.91A »).
_CODE = re.compile(r"^(?=.*\d)[^a-zà-ÿ]+$")
#: How the legend says what a site with several categories shows.
SEVERAL_THEMES_NOTE = "un site à plusieurs catégories porte le symbole de la première"


def site_themes(sites: pd.DataFrame, theme_column: str | None
                ) -> tuple[pd.Series, dict[str, ThemeStyle]]:
    """The theme of each site and the style of every theme, in an order shared by the
    interactive and the print maps: the most frequent first, « Autres » and « Sans
    thème » last.

    A multi-valued category (« A|B », « A ; B ») is split: the site takes the first of
    its values that is a legend class. At most :data:`MAX_THEMES` classes, the others
    grouped as :data:`OTHER_THEMES`; a column of codes (INSEE, NAF…) is no theme. Names
    are capitalised (« épicerie solidaire » and « Épicerie solidaire » are one class).
    ``themes.attrs["several"]`` is true when some site has several categories (the
    legend says which one its symbol shows: :data:`SEVERAL_THEMES_NOTE`).
    """
    if not theme_column:
        themes = pd.Series(NO_THEME, index=sites.index)
        themes.attrs["several"] = False
        return themes, theme_styles([NO_THEME])
    text = sites[theme_column].astype(object).where(sites[theme_column].notna(), "")
    values = [theme_values(t) for t in text]
    distinct = {v for vs in values for v in vs}
    if len(distinct) > MAX_THEMES and \
            sum(bool(_CODE.match(v)) for v in distinct) >= 0.8 * len(distinct):
        values = [[] for _ in values]  # codes, not themes
    folded: dict[str, str] = {}  # one spelling per class, the first met
    values = [[folded.setdefault(v.casefold(), v) for v in vs] for vs in values]
    counts = pd.Series([v for vs in values for v in dict.fromkeys(vs)],
                       dtype=object).value_counts()
    ranked = sorted(counts.index, key=lambda v: (-counts[v], v.casefold()))
    kept = set(ranked if len(ranked) <= MAX_THEMES + 1 else ranked[:MAX_THEMES])
    chosen = [next((v for v in vs if v in kept), OTHER_THEMES) if vs else NO_THEME
              for vs in values]
    themes = pd.Series(chosen, index=sites.index, dtype=object)
    themes.attrs["several"] = any(len(set(vs)) > 1 for vs in values)
    final = themes.value_counts()
    order = sorted(final.index, key=lambda t: (t == NO_THEME, t == OTHER_THEMES, -final[t],
                                               t.casefold()))
    styles = theme_styles([t for t in order if t not in (NO_THEME, OTHER_THEMES)])
    if OTHER_THEMES in final:
        styles[OTHER_THEMES] = ThemeStyle("#9a9a9a", "ring")
    if NO_THEME in final:
        styles[NO_THEME] = ThemeStyle("#d9d9d9", "x") if len(styles) else \
            ThemeStyle(PALETTE[0], SHAPES[0])
    return themes, styles


def indicator_label(measures: Measures, column: str) -> str:
    """An indicator's French label as the pages say it (« Bénévoles »), never its raw
    header: the label of its recognised role, else the header made readable
    (« nb_repas_servis » → « Nb repas servis »)."""
    label = measures.labels.get(column) or str(column)
    if label == str(column):
        label = " ".join(label.replace("_", " ").split())
    return capitalised(label)


def marker_svg(style: ThemeStyle, size: int = 22) -> str:
    """An SVG marker (no icon font needed): the theme's shape in its colour, white outline."""
    s, h = size, size / 2
    r = h - 2
    pts = {
        "triangle": [(h, 2), (s - 2, s - 3), (2, s - 3)],
        "diamond": [(h, 1), (s - 1, h), (h, s - 1), (1, h)],
        "pentagon": [(h + r * np.sin(a), h - r * np.cos(a)) for a in np.arange(5) * 2 * np.pi / 5],
        "hexagon": [(h + r * np.cos(a), h + r * np.sin(a)) for a in np.arange(6) * np.pi / 3],
        "star": [(h + (r if k % 2 == 0 else r / 2.2) * np.sin(k * np.pi / 5),
                  h - (r if k % 2 == 0 else r / 2.2) * np.cos(k * np.pi / 5)) for k in range(10)],
        "cross": [(h - 3, 2), (h + 3, 2), (h + 3, h - 3), (s - 2, h - 3), (s - 2, h + 3),
                  (h + 3, h + 3), (h + 3, s - 2), (h - 3, s - 2), (h - 3, h + 3), (2, h + 3),
                  (2, h - 3), (h - 3, h - 3)],
        "triangle_down": [(2, 3), (s - 2, 3), (h, s - 2)],
        "x": [(h + dx * c - dy * c, h + dx * c + dy * c) for dx, dy in (
            (-3, -r), (3, -r), (3, -3), (r, -3), (r, 3), (3, 3), (3, r), (-3, r),
            (-3, 3), (-r, 3), (-r, -3), (-3, -3))
              for c in [0.7071]],
        "bar": [(1, h - 4), (s - 1, h - 4), (s - 1, h + 4), (1, h + 4)],
    }
    # A dark outline gives every colour 3:1 against any background (WCAG 1.4.11).
    paint = f'fill="{style.color}" stroke="#1a1a1a" stroke-width="1.5"'
    if style.shape == "circle":
        body = f'<circle cx="{h}" cy="{h}" r="{r}" {paint}/>'
    elif style.shape == "ring":  # a thick circle of the theme's colour, hollow
        body = (f'<circle cx="{h}" cy="{h}" r="{r - 2}" fill="#fff" stroke="{style.color}" '
                f'stroke-width="4"/><circle cx="{h}" cy="{h}" r="{r}" fill="none" '
                f'stroke="#1a1a1a" stroke-width="1.2"/>')
    elif style.shape == "square":
        body = f'<rect x="2" y="2" width="{s - 4}" height="{s - 4}" rx="2" {paint}/>'
    else:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts[style.shape])
        body = f'<polygon points="{points}" {paint}/>'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{s}" height="{s}" '
            f'viewBox="0 0 {s} {s}" style="filter:drop-shadow(0 1px 1px rgba(0,0,0,.5))">'
            f"{body}</svg>")


def metres_text(d: float) -> str:
    """A distance as the pages say it: ``152 m``, ``1,1 km``."""
    return f"{d / 1000:.1f} km".replace(".", ",") if d >= 1000 else f"{d:.0f} m"


#: Diameters of proportional symbols, in pixels (the area follows the value).
SYMBOL_SIZES = (10, 56)


def symbol_sizes(values: pd.Series) -> np.ndarray:
    """The diameter of each site's symbol, in pixels: the area is proportional to the value
    (the largest value gets the largest size); blank or zero values get the smallest."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    top = np.nanmax(v) if np.isfinite(v).any() else 0
    small, large = SYMBOL_SIZES
    if not top or top <= 0:
        return np.full(len(v), float(small))
    d = large * np.sqrt(np.clip(np.nan_to_num(v), 0, None) / top)
    return np.round(np.maximum(d, small), 1)


def legend_values(values: pd.Series) -> list[float]:
    """Three round values for the legend of proportional symbols (largest first)."""
    v = pd.to_numeric(values, errors="coerce")
    top = float(v.max()) if v.notna().any() else 0.0
    if top <= 0:
        return []
    magnitude = 10 ** np.floor(np.log10(top))
    first = np.floor(top / magnitude) * magnitude
    out = [first]
    for share in (0.25, 0.05):
        value = float(f"{first * share:.1g}")
        if value > 0 and value < out[-1]:
            out.append(value)
    return out


def french_number(value: float) -> str:
    """``1234.5`` → ``1 234,5`` (thin no-break space), whole numbers without decimals."""
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")
    return text.replace(",", "\u202f").replace(".", ",")


#: On paper, the sites of one initiative are joined by a line when it is shorter than this
#: (metres): a line across the country (another city, overseas) says nothing there.
LINK_MAX = 35_000


def path_length(lon: np.ndarray, lat: np.ndarray) -> float:
    """Length in metres of the line through ``lon``/``lat`` (degrees; equirectangular,
    close enough at the scale of a city)."""
    lon, lat = np.radians(np.asarray(lon, float)), np.radians(np.asarray(lat, float))
    dx = np.diff(lon) * np.cos((lat[1:] + lat[:-1]) / 2)
    return float(np.hypot(dx, np.diff(lat)).sum() * 6_371_000)
