"""Proportional symbols of printed maps: where single sites cannot be read, the sites are
counted per commune and drawn as nested circles whose areas follow the counts — every
site (white), those within the study's distance of a quartier (orange ring) and those
implanted in one (red core) — as RIATE's ``mapsf`` draws ``prop`` maps: areas, not
diameters, proportional to the counts; the largest circles drawn first so that the small
ones stay visible on top; one scale for every map of a page; a legend of a few nested
reference circles with their values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Circle

from ..typography import number
from ..vocabulary import GENERATIONS, Relation

#: The nested circles, outermost first: the relations each one counts (``None``: every
#: site), its fill colour.
RINGS = (
    (None, "#ffffff"),
    ((Relation.IMPLANTED, Relation.NEARBY), "#f0a04b"),
    ((Relation.IMPLANTED,), GENERATIONS[0].style["color"]),  # the newest quartiers' red
)
#: Outline of the outer circles.
EDGE = "#1a1a1a"


def counts_per_place(place: pd.Series, relation: pd.Series) -> pd.DataFrame:
    """The sites of each place (``place``: a code per site, ``""`` for none), one column per
    ring of :data:`RINGS`, the places holding most sites first."""
    rows = {}
    for k, (relations, _) in enumerate(RINGS):
        mine = np.ones(len(relation), bool) if relations is None else \
            relation.isin([str(r) for r in relations]).to_numpy()
        rows[k] = place[mine].value_counts()
    counts = pd.DataFrame(rows).fillna(0).astype(int)
    counts = counts[counts.index != ""]
    return counts.sort_values(0, ascending=False, kind="stable")


def draw_circles(ax, x: np.ndarray, y: np.ndarray, counts: pd.DataFrame, top: int,
                 largest: float, *, zorder: float = 6) -> np.ndarray:
    """Draw ``counts`` (:func:`counts_per_place`, largest first) at ``x``, ``y`` on
    ``ax``: a place's circles one inside the other, the places in decreasing order (the
    small ones stay on top); ``largest`` is the area in points² of a circle counting
    ``top`` sites. Return each place's outer area (points²)."""
    n = len(counts)
    if not n:
        return np.zeros(0)
    rings = len(RINGS)
    areas = largest * counts.to_numpy(dtype=float) / top  # n × rings
    # interleaved: place 0's rings, then place 1's…, so each place is drawn whole
    order = np.repeat(np.arange(n), rings)
    ring = np.tile(np.arange(rings), n)
    colours = np.array([colour for _, colour in RINGS])[ring]
    edges = np.where(ring == 0, EDGE, "none")
    keep = areas[order, ring] > 0
    ax.scatter(x[order][keep], y[order][keep], s=areas[order, ring][keep],
               facecolor=colours[keep], edgecolor=edges[keep],
               linewidth=np.where(ring == 0, 0.5, 0)[keep], zorder=zorder)
    return areas[:, 0]


def reference_values(top: int) -> list[int]:
    """A few round values for the legend's nested circles: the largest count, and round
    numbers near a quarter and a sixteenth of it (distinct, at least 1)."""
    values = [int(top)]
    for share in (4, 16):
        target = top / share
        if target < 1:
            break
        step = 10 ** np.floor(np.log10(target))
        nice = max((m * step for m in (1, 2, 5) if m * step <= target), default=step)
        if int(nice) < values[-1] and int(nice) >= 1:
            values.append(int(nice))
    return values


def draw_reference(fig, zone: tuple[float, float, float, float], top: int, largest: float,
                   fontsize: float, title: str) -> object:
    """The legend of the circles in ``zone`` (x, y, width, height in figure fractions;
    the circles stand on its bottom edge), nested, each value beside the top of its
    circle with a line: the reference of :func:`draw_circles`. Return the axes."""
    ax = fig.add_axes(zone)
    ax.set_axis_off()
    # one unit of the axes is one point on the page
    width_pt = zone[2] * fig.get_figwidth() * 72
    height_pt = zone[3] * fig.get_figheight() * 72
    ax.set_xlim(0, width_pt)
    ax.set_ylim(0, height_pt)
    radius = np.sqrt(largest) / 2  # scatter sizes are squared diameters
    centre_x = radius + 2
    # set on a baseline one size down: the font's whole height (what a PDF reader
    # measures, accents included) stays inside the zone, not only the glyphs drawn
    ax.text(0, height_pt - 1.1 * fontsize, title, fontsize=fontsize, va="baseline",
            ha="left")
    last = np.inf  # the height of the value written above: values never meet
    for value in reference_values(top):
        r = radius * np.sqrt(value / top)
        if last - (2 * r + 1) < fontsize * 1.1:
            continue
        last = 2 * r + 1
        ax.add_patch(Circle((centre_x, r + 1), r, facecolor="white", edgecolor=EDGE,
                            linewidth=0.5))
        ax.plot([centre_x, 2 * radius + 8], [last, last], color="#555", linewidth=0.4)
        ax.text(2 * radius + 10, last, number(value), fontsize=fontsize * 0.9,
                va="center", ha="left")
    return ax


def reference_height(largest: float, fontsize: float) -> float:
    """Height in points that :func:`draw_reference` needs."""
    return np.sqrt(largest) + fontsize * 2.6 + 4
