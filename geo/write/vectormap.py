"""A map on a reportlab page (:mod:`geo.write.vectorpage`), whatever page holds it: its
shapes cut to its extent and taken to its box, its frame, a scale bar with a north arrow
in a corner free of sites. The fiches' panels (:mod:`geo.write.sitemaps`) and the atlas's
pages (:mod:`geo.write.atlas`) draw their maps with it.
"""

from __future__ import annotations

import numpy as np
import shapely

from .drawing import font_pt, scale_bar_place
from .vectorpage import (
    ASCENT,
    DESCENT,
    Group,
    Rect,
    colour,
    dashes,
    each_path,
    lines_path,
    marker,
    polygons_path,
    polyline,
    text,
    text_width,
    to_page,
)

#: Outlines' colours (as the print's).
DEP_COLOR, COM_COLOR, LINK_COLOR = "#4d4d4d", "#8c8c8c", "#555555"
#: The locator inset of a fiche's panel: its share of the panel's width and height (the
#: corner kept free of sites is its size).
LOCATOR = (0.3, 0.3)
#: The frame of a map (matplotlib's axes' spines).
_FRAME = {"strokeColor": colour("#777777"), "strokeWidth": 0.8, "fillColor": None}


class MapShapes:
    """The shapes of one map on a page, under its names: polygons filled or outlined and
    lines cut to its ``extent`` (its CRS's units) and taken to its ``box`` (x, y, width,
    height in points), on a white ground; the print's atlas pages and the fiches draw
    their maps with it."""

    def __init__(self, extent: tuple, box: tuple):
        self.extent, self.box = extent, box
        self.move = to_page(extent, box)
        self.body = Group()
        self.body.add(Rect(*box, fillColor=colour("#ffffff"), strokeColor=None))

    def fill(self, shapes: np.ndarray, each: bool = False, **style) -> bool:
        """The polygons ``shapes`` filled (``each``: a path per shape); whether any was."""
        draw = each_path if each else polygons_path
        if (path := draw(shapely.clip_by_rect(shapes, *self.extent), self.move,
                         strokeColor=None, **style)) is not None:
            self.body.add(path)
            return True
        return False

    def outline(self, shapes: np.ndarray, edge, width: float, linestyle="-",
                each: bool = False) -> bool:
        """The outlines of the polygons ``shapes``, ``width`` points wide in matplotlib's
        ``linestyle``; whether any was drawn."""
        return self.lines(shapely.boundary(shapes), edge, width, linestyle, each)

    def lines(self, lines, edge, width: float, linestyle="-", each: bool = False) -> bool:
        """The lines ``lines`` as :meth:`outline` draws them."""
        lines = shapely.clip_by_rect(np.asarray(lines, dtype=object), *self.extent)
        draw = each_path if each else lines_path
        if (path := draw(lines, self.move, fillColor=None, strokeColor=colour(edge),
                         strokeWidth=width, strokeLineJoin=1,
                         strokeDashArray=dashes(linestyle, width))) is not None:
            self.body.add(path)
            return True
        return False

    def links(self, lines) -> bool:
        """The dashed lines between the sites of one initiative."""
        return self.lines(lines, LINK_COLOR, 0.9, (0, (4, 3)))

    def frame(self) -> None:
        """The map's frame (over its shapes, as matplotlib's axes' spines)."""
        self.body.add(Rect(*self.box, **_FRAME))



def free_corners(x: np.ndarray, y: np.ndarray, extent: tuple) -> list[str]:
    """The panel's corners, those without a site under a locator-sized box first (top
    right preferred)."""
    x0, y0, x1, y1 = extent
    w, h = (x1 - x0) * (LOCATOR[0] + 0.03), (y1 - y0) * (LOCATOR[1] + 0.1)
    boxes = {"tr": (x1 - w, y1 - h, x1, y1), "tl": (x0, y1 - h, x0 + w, y1),
             "br": (x1 - w, y0, x1, y0 + h), "bl": (x0, y0, x0 + w, y0 + h)}

    def free(k: str) -> bool:
        a, b, c, d = boxes[k]
        return not ((x >= a) & (x <= c) & (y >= b) & (y <= d)).any()

    return sorted(boxes, key=lambda k: not free(k))


def scale_bar(group: Group, extent: tuple, move, size, corner: str) -> tuple:
    """A metric scale bar in the bottom ``corner`` of the panel showing ``extent``
    (metres; ``move`` takes them to the page) and a north arrow above it. Return the box
    they cover (x0, y0, x1, y1 in points)."""
    x0, y0, x1, y1 = extent
    length, bx, by, label = scale_bar_place(extent, corner)
    (left, middle, right), (y, label_y, arrow_y, tip_y) = move(
        [bx, bx + length / 2, bx + length],
        [by, by + (y1 - y0) * 0.015, by + (y1 - y0) * 0.1, by + (y1 - y0) * 0.21])
    group.add(polyline([left, right], [y, y], strokeColor=colour("#1a1a1a"),
                       strokeWidth=5.5, strokeLineCap=0))
    group.add(polyline([middle, right], [y, y], strokeColor=colour("#ffffff"),
                       strokeWidth=4, strokeLineCap=0))
    group.add(text(middle, label_y + DESCENT * font_pt(size, 7.5), label,
                   {"fontsize": font_pt(size, 7.5)}, anchor="middle"))
    # the north arrow above the bar's end, clear of its label
    north = {"fontsize": font_pt(size, 8), "fontweight": "bold"}
    nx = left if corner.endswith("l") else right
    top = arrow_y + (ASCENT + DESCENT) * north["fontsize"]
    group.add(text(nx, arrow_y + DESCENT * north["fontsize"], "N", north, anchor="middle"))
    group.add(polyline([nx, nx], [top, tip_y - 4], strokeColor=colour("#000000"),
                       strokeWidth=1.2))
    group.add(marker("^", nx, tip_y - 2.5, 6, fill="#000000", edge="#000000", width=0.5))
    half = text_width(label, {"fontsize": font_pt(size, 7.5)}) / 2
    return (min(left, middle - half, nx - 4) - 1, y - 3, max(right, middle + half, nx + 4) + 1,
            tip_y + 1)

