"""Text laid out on a reportlab page: lines broken to a width, tables whose rows never run
into what follows, a legend from the print's legend entries. Positions in millimetres
from the page's lower left corner (as the pages are designed); measured from the font's
advances (:mod:`geo.write.vectorpage`), so that nothing runs into anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..typography import french_spacing, plural
from .vectorpage import (
    ASCENT,
    DESCENT,
    PT_PER_MM,
    Drawing,
    Group,
    Line,
    Rect,
    colour,
    dashes,
    hatch,
    marker,
    polyline,
    text,
    text_width,
)

#: Line spacing, in type sizes.
LEADING = 1.3
#: Millimetres per point.
MM_PER_PT = 1 / PT_PER_MM


class PageText:
    """Text on ``drawing`` (a page of ``size`` millimetres). ``links``: the (url, box in
    points) of the texts that carry a link, for the PDF's annotations."""

    def __init__(self, drawing: Drawing | Group, size: tuple[float, float]):
        self.drawing, self.size = drawing, size
        self.links: list[tuple[str, tuple]] = []

    def text(self, x: float, top: float, value: str, *, group: Group | None = None,
             **style) -> None:
        """One line whose top is at ``top`` mm."""
        size = style.get("fontsize", 8)
        (group if group is not None else self.drawing).add(
            text(x * PT_PER_MM, top * PT_PER_MM - ASCENT * size, value, style))

    def line(self, x0: float, x1: float, y: float, **style) -> None:
        """A horizontal rule from ``x0`` to ``x1`` at ``y`` (mm)."""
        self.drawing.add(Line(x0 * PT_PER_MM, y * PT_PER_MM, x1 * PT_PER_MM, y * PT_PER_MM,
                              **style))

    @staticmethod
    def width(value: str, style: dict) -> float:
        """Width of ``value`` in millimetres."""
        return text_width(value, style) * MM_PER_PT

    def lines(self, value: str, width: float, style: dict, max_lines: int) -> list[str]:
        """``value`` broken into lines no wider than ``width`` mm, at most ``max_lines`` (the
        last one shortened with « … »)."""
        shown = french_spacing(value) if style.get("url") is None else value
        words = [w for w in re.split(r"[ \t\r\n]+", shown) if w]  # no-break spaces stay
        lines: list[str] = []
        current = ""
        for word in words:
            trial = f"{current} {word}".strip()
            if current and self.width(trial, style) > width:
                lines.append(current)
                current = word
            else:
                current = trial
        if current:
            lines.append(current)
        lines = [self.fit(line, width, style) for line in lines]
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = self.fit(lines[-1] + " …", width, style, force=True)
        return lines or [""]

    def fit(self, line: str, width: float, style: dict, force: bool = False) -> str:
        """``line`` shortened with « … » to ``width`` mm (``force``: end it with « … »)."""
        if self.width(line, style) <= width and not (force and not line.endswith("…")):
            return line
        while line and self.width(line.rstrip() + "…", style) > width:
            line = line[:-1]
        return line.rstrip(" …") + "…"

    def wrapped(self, x: float, top: float, width: float, value: str, *, max_lines: int,
                url: str | None = None, group: Group | None = None, **style) -> float:
        """Draw ``value`` in lines from ``top`` down; return the y under it."""
        size = style.get("fontsize", 8)
        step = size * MM_PER_PT * LEADING
        for line in self.lines(value, width, {**style, "url": url}, max_lines):
            self.text(x, top, line, group=group, **style)
            if url:
                base = top * PT_PER_MM - ASCENT * size
                self.links.append((url, (x * PT_PER_MM, base - DESCENT * size,
                                         x * PT_PER_MM + text_width(line, style),
                                         base + ASCENT * size)))
            top -= step
        return top

    def table(self, x: float, top: float, width: float, caption: str, frame: pd.DataFrame,
              columns: list[tuple[str, str, float]], *, bottom: float, size: float,
              caption_size: float, empty: str = "") -> float:
        """A table with a caption and a header row (type of ``size`` points); cells wrap
        on two lines; rows that don't fit above ``bottom`` are counted in a last line.
        Return the y under it."""
        body = {"fontsize": size, "color": "#1a1a1a"}
        head = {**body, "fontweight": "bold"}
        step = size * MM_PER_PT * LEADING
        top = self.wrapped(x, top, width, f"{caption} ({len(frame)})", max_lines=1,
                           fontsize=caption_size, fontweight="bold") - 0.8
        if not len(frame):
            return self.wrapped(x, top, width, empty, max_lines=2, **body)
        widths = [f * width for _, _, f in columns]
        lefts = np.concatenate([[x], x + np.cumsum(widths)[:-1]])
        for left, (_, header, _), cw in zip(lefts, columns, widths, strict=True):
            self.text(left, top, self.fit(header, cw - 1.5, head), **head)
        top -= step + 0.4
        self.line(x, x + width, top, strokeColor=colour("#777777"), strokeWidth=0.5)
        top -= 1.2
        for shown, row in enumerate(frame[[key for key, _, _ in columns]].itertuples(
                index=False)):
            cells = [self.lines(str(value), cw - 1.5, body, 2)
                     for value, cw in zip(row, widths, strict=True)]
            height = max(len(c) for c in cells) * step + 0.8
            left_over = len(frame) - shown
            if top - height < bottom + (step + 1 if left_over > 1 else 0):
                self.text(x, top, french_spacing(
                    f"… et {plural(left_over, 'autre')} : voir le rapport Excel (feuille "
                    "Détail)."), **{**body, "fontstyle": "italic"})
                return top - step
            for left, lines in zip(lefts, cells, strict=True):
                for j, line in enumerate(lines):
                    self.text(left, top - j * step, line, **body)
            top -= height
        return top


def legend(group: Group, handles: list, box: tuple, *, size: float, columns: int) -> float:
    """The print's legend entries ``handles`` (matplotlib artists:
    :func:`geo.write.printlegend.legend_handles`) in ``columns`` columns filled one after the
    other, from the top left of ``box`` (x, y, width, height in points), type of ``size``
    points. Return the lowest y (points) its entries reach."""
    from .printlabels import unescaped

    rows = -(-len(handles) // columns)
    style = {"fontsize": size, "color": "#000000"}
    swatch, gap = 1.6 * size, 0.8 * size
    step = size * 1.2
    x, top = box[0], box[1] + box[3]
    bottom = top
    for c in range(columns):
        y = top
        mine = handles[c * rows:(c + 1) * rows]
        widest = 0.0
        for handle in mine:
            lines = unescaped(str(handle.get_label())).split("\n")
            first = y - ASCENT * size
            _swatch(group, handle, x, first + 0.3 * size, swatch, size)
            for j, line in enumerate(lines):
                group.add(text(x + swatch + gap, first - j * step, line, style))
                widest = max(widest, text_width(line, style))
            bottom = min(bottom, y - (len(lines) - 1) * step - (ASCENT + DESCENT) * size)
            y -= len(lines) * step + 0.5 * size
        x += swatch + gap + widest + 1.2 * size
    return bottom


def _swatch(group: Group, handle, x: float, y: float, width: float, size: float) -> None:
    """The symbol of one legend entry, ``width`` points wide, centred on ``y``."""
    from matplotlib.lines import Line2D

    if not isinstance(handle, Line2D):  # a patch: a small filled box
        face = handle.get_facecolor()
        box = (x, y - 0.35 * size, width, 0.7 * size)
        alpha = handle.get_alpha()
        if handle.get_fill() and face[3] > 0:
            group.add(Rect(*box, fillColor=colour(tuple(face[:3]), alpha), strokeColor=None))
        if handle.get_hatch():
            lines = hatch(np.array([_box(box)], dtype=object), lambda a, b: (a, b), box,
                          3.0, fillColor=None, strokeColor=colour(tuple(
                              handle.get_edgecolor()[:3])), strokeWidth=0.6)
            if lines is not None:
                group.add(lines)
        group.add(Rect(*box, fillColor=None, strokeColor=colour(tuple(
            handle.get_edgecolor()[:3])), strokeWidth=min(handle.get_linewidth(), 1.2)))
        return
    shape = handle.get_marker()
    if shape not in (None, "None", "", " ", "none"):
        face = handle.get_markerfacecolor()
        group.add(marker(shape, x + width / 2, y, handle.get_markersize(),
                         fill=face, edge=handle.get_markeredgecolor(),
                         width=handle.get_markeredgewidth()))
        return
    if handle.get_color() in ("none", "None"):  # a note: no symbol
        return
    w = handle.get_linewidth()
    group.add(polyline([x, x + width], [y, y], strokeColor=colour(handle.get_color()),
                       strokeWidth=w, strokeDashArray=dashes(handle.get_linestyle(), w)
                       if handle.get_linestyle() != "-" else None))


def _box(box: tuple):
    import shapely

    x, y, w, h = box
    return shapely.box(x, y, x + w, y + h)


#: Page margins, title band and sources band, in millimetres.
MARGIN, _TITLE_BAND, _FOOT_BAND = 10.0, 24.0, 8.0
#: Width of the legend column, in millimetres, and the characters of its longest line
#: (longer names are wrapped: nothing runs off the page).
_LEGEND_WIDTH = 64.0


@dataclass
class PageFrame:
    """Where things go on a page, in figure fractions: the map zone (left) and the legend
    column (right), inside the margins."""

    size: tuple[float, float]

    def fraction(self, x_mm, y_mm, w_mm, h_mm) -> tuple[float, float, float, float]:
        w, h = self.size
        return x_mm / w, y_mm / h, w_mm / w, h_mm / h

    @property
    def inside(self) -> tuple[float, float, float, float]:
        w, h = self.size
        return (MARGIN, MARGIN + _FOOT_BAND, w - 2 * MARGIN,
                h - 2 * MARGIN - _FOOT_BAND - _TITLE_BAND)

    @property
    def map_zone(self) -> tuple[float, float, float, float]:
        x, y, w, h = self.inside
        return x, y, w - self._legend_width - 4, h

    @property
    def legend_zone(self) -> tuple[float, float, float, float]:
        x, y, w, h = self.inside
        return x + w - self._legend_width, y, self._legend_width, h

    @property
    def _legend_width(self) -> float:
        return _LEGEND_WIDTH * min(1.0, self.size[0] / 297) ** 0.5 + (
            0 if self.size[0] > self.size[1] else 0)
