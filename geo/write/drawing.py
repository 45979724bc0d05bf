"""Drawing helpers shared by the print, the atlas and the fiches (no knowledge of a study)."""

from __future__ import annotations

import numpy as np
import shapely
from matplotlib.path import Path
from pyproj import Transformer


def compound_path(geoms: np.ndarray) -> Path | None:
    """One matplotlib path of every polygon in ``geoms`` (rings oriented so that holes stay
    holes under the non-zero rule); ``None`` when there is none."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]
    if not len(parts):
        return None
    rings = shapely.get_rings(shapely.orient_polygons(parts))
    coords, index = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(index, minlength=len(rings))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[counts > 0]
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    codes[starts] = Path.MOVETO
    codes[starts + counts[counts > 0] - 1] = Path.CLOSEPOLY
    return Path(coords, codes)


def font_pt(size, points: float) -> float:
    """A font size that reads the same on A5 as on A4 (never below 5.5 pt)."""
    return max(points * min(1.0, min(size) / 210) ** 0.5, 5.5)


def shaped(extent: tuple, w: float, h: float) -> tuple:
    """``extent`` widened to the shape of a ``w`` × ``h`` box (nothing cut, no blank band
    on the page)."""
    x0, y0, x1, y1 = extent
    ew, eh = x1 - x0, y1 - y0
    if ew / eh < w / h:
        grow = (eh * w / h - ew) / 2
        return x0 - grow, y0, x1 + grow, y1
    grow = (ew * h / w - eh) / 2
    return x0, y0 - grow, x1, y1 + grow


def scale_bar_place(extent: tuple, corner: str) -> tuple[float, float, float, str]:
    """A metric scale bar for a map showing ``extent`` (metres): its length (1, 2 or 5 ×
    10ⁿ, at most a fifth of the width), where it starts in ``corner`` (``"bl"``, ``"tr"``…)
    and its label (« 500 m », « 20 km »)."""
    x0, y0, x1, y1 = extent
    target = (x1 - x0) / 5
    length = 10 ** np.floor(np.log10(target))
    for factor in (5, 2, 1):
        if length * factor <= target:
            length *= factor
            break
    bx = x0 + (x1 - x0) * 0.04 if corner.endswith("l") else x1 - (x1 - x0) * 0.04 - length
    by = y0 + (y1 - y0) * 0.04 if corner.startswith("b") else y1 - (y1 - y0) * 0.1
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    return length, bx, by, label


class Projected:
    """Shapes of a layer (EPSG:4326) drawn in ``crs`` for many pages: each shape projected
    the first time a page needs it and kept for the next ones, with its name's spot (a
    point on its surface, found in degrees on the whole shape)."""

    def __init__(self, shapes: np.ndarray, crs: str):
        self.source = np.asarray(shapes, dtype=object)
        self.geoms = np.full(len(self.source), None, dtype=object)
        self.spots = np.full((len(self.source), 2), np.nan)
        self._done = np.zeros(len(self.source), dtype=bool)
        self._spotted = np.zeros(len(self.source), dtype=bool)
        self._to_crs = Transformer.from_crs(4326, crs, always_xy=True)
        #: The shapes simplified, by tolerance (``None`` where not yet).
        self._simple: dict[float, np.ndarray] = {}

    def take(self, rows: np.ndarray, tolerance: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """The shapes at positions ``rows`` in ``crs``, and their name spots (x, y rows);
        ``tolerance``: simplified to so many of its units, each shape once for every page
        of the same tolerance (pages of one scale share their borders)."""
        rows = np.asarray(rows, dtype=np.intp)
        todo = rows[~self._done[rows]]
        if len(todo):
            self.geoms[todo] = shapely.transform(self.source[todo], self._project)
            self._done[todo] = True
        self.spots_at(rows)
        if tolerance <= 0:
            return self.geoms[rows], self.spots[rows]
        if tolerance not in self._simple:
            if len(self._simple) >= 8:
                self._simple.clear()
            self._simple[tolerance] = np.full(len(self.source), None, dtype=object)
        simple = self._simple[tolerance]
        todo = rows[shapely.is_missing(simple[rows])]
        if len(todo):
            # Douglas-Peucker without keeping topology: seven times quicker, and what it
            # may cross or collapse is finer than the page shows; a shape it would
            # remove stays whole (a small commune keeps its name and its count)
            whole = self.geoms[todo]
            done = shapely.simplify(whole, tolerance, preserve_topology=False)
            lost = shapely.is_empty(done) & ~shapely.is_empty(whole)
            done[lost] = whole[lost]
            simple[todo] = done
        return simple[rows], self.spots[rows]

    def spots_at(self, rows: np.ndarray) -> np.ndarray:
        """The name spots (x, y rows in ``crs``) of the shapes at positions ``rows``,
        without projecting the shapes themselves (a wide map draws them as dots)."""
        rows = np.asarray(rows, dtype=np.intp)
        todo = rows[~self._spotted[rows]]
        if len(todo):
            spots = shapely.get_coordinates(shapely.point_on_surface(self.source[todo]))
            self.spots[todo] = self._project(spots)
            self._spotted[todo] = True
        return self.spots[rows]

    def _project(self, xy: np.ndarray) -> np.ndarray:
        return np.column_stack(self._to_crs.transform(xy[:, 0], xy[:, 1]))


def cut(shapes: np.ndarray, box: tuple, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """``shapes`` cut to ``box`` (x0, y0, x1, y1) and simplified to ``tolerance`` (their
    CRS's units), and which of them are left (a mask)."""
    shapes = shapely.clip_by_rect(shapes, *box)
    if tolerance > 0:
        shapes = shapely.simplify(shapes, tolerance, preserve_topology=True)
    keep = ~shapely.is_empty(shapes)
    return shapes[keep], keep


def symbols(ax, x: np.ndarray, y: np.ndarray, *, sizes, marker="o", facecolor="#1a1a1a",
            edgecolor="none", linewidth: float = 0.0, alpha: float | None = None,
            zorder: float = 6) -> None:
    """Symbols at ``(x, y)`` (data coordinates), ``sizes`` in points² and ``marker`` as
    :meth:`~matplotlib.axes.Axes.scatter` draws them, without its autoscaling: a map's
    limits follow from its extent (``scatter`` spent most of its time on them)."""
    from matplotlib.collections import PathCollection
    from matplotlib.markers import MarkerStyle
    from matplotlib.transforms import IdentityTransform

    x, y = np.asarray(x, float), np.asarray(y, float)
    if not len(x):
        return
    sizes = np.asarray(sizes, float).ravel()
    if np.all(sizes == sizes[0]):  # one size: each symbol a reference to one drawing
        sizes = sizes[:1]
    style = MarkerStyle(marker)
    path = style.get_path().transformed(style.get_transform())
    collection = PathCollection([path], sizes=sizes,
                                offsets=np.column_stack([x, y]),
                                offset_transform=ax.transData, facecolors=facecolor,
                                edgecolors=edgecolor, linewidths=linewidth, alpha=alpha,
                                zorder=zorder)
    collection.set_transform(IdentityTransform())
    ax.add_collection(collection, autolim=False)
