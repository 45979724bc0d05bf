"""Names on a print map placed as a cartographer would: by priority, never over another name,
a symbol, the legend, the scale or the north arrow; a name that finds no room is left out.

Each name tries the classic positions around its point (right, upper right, above, left…,
the preferred ones first), then the same positions farther out with a thin leader line back
to the point. A name that still finds no room slides along above or below its point (a
long name in a small inset), an area's name moves to another spot inside its area (no
leader: it names the area where it stands), and a name allowed to may be set smaller;
only then is it left out. This is the greedy candidate-position method of the
cartographic literature (Imhof; Christensen, Marks & Shieber): unlike a force-directed
solver such as ``adjustText``, it guarantees that no two names overlap and drops the least
important ones when the map is full — the two things a printed page needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from matplotlib import patheffects
from matplotlib.transforms import Bbox

#: Offsets tried around a point, in multiples of the gap: right, upper right, above, left,
#: upper left, below, lower right, lower left (horizontal alignment follows the side).
_POSITIONS = ((1, 0), (0.8, 0.8), (0, 1), (-1, 0), (-0.8, 0.8), (0, -1), (0.8, -0.8),
              (-0.8, -0.8))
#: A white halo around the letters: readable over lines and fills, lighter than a box.
HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]


@dataclass(order=True)
class Label:
    """A name to place at ``(x, y)`` (data coordinates of its axes); a higher ``priority``
    is placed first. ``leader``: may move away with a line back to its point."""

    priority: float
    text: str = field(compare=False)
    x: float = field(compare=False)
    y: float = field(compare=False)
    style: dict = field(default_factory=dict, compare=False)
    leader: bool = field(default=True, compare=False)
    #: Gap between the point and the name, in points.
    gap: float = field(default=4.0, compare=False)
    #: A name of the hierarchy (the main cities): placed before the others and over the
    #: symbols (with its halo), never left out for a symbol.
    over_symbols: bool = field(default=False, compare=False)
    #: The name of an area (a département): tried centred on its point first, then around
    #: it, a little farther than a point's name without ``leader``.
    centred: bool = field(default=False, compare=False)
    #: Other points of an area (data coordinates, the preferred first) where its name may
    #: stand centred when there is no room around its own point (:func:`area_spots`).
    spots: tuple[tuple[float, float], ...] = field(default=(), compare=False)
    #: The smallest font size (points) the name may be set at when it finds no room at
    #: its own (``0``: never smaller); tried down by half points.
    smaller: float = field(default=0.0, compare=False)


@dataclass
class Placement:
    """What :func:`place` drew and left out."""

    placed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    boxes: list[Bbox] = field(default_factory=list)


def marker_boxes(ax, x: np.ndarray, y: np.ndarray, size_points: np.ndarray | float
                 ) -> list[Bbox]:
    """Display boxes of symbols drawn at ``(x, y)`` with a diameter of ``size_points``."""
    if not len(x):
        return []
    fig = ax.figure
    points = ax.transData.transform(np.column_stack([x, y]))
    half = np.broadcast_to(np.asarray(size_points, float) / 2 * fig.dpi / 72, len(x))
    return [Bbox([[px - h, py - h], [px + h, py + h]])
            for (px, py), h in zip(points, half, strict=True)]


def artist_boxes(fig, artists) -> list[Bbox]:
    """Display boxes of other artists to keep clear (legend, scale, north arrow, insets)."""
    renderer = fig.canvas.get_renderer()
    return [a.get_window_extent(renderer) for a in artists if a is not None]


#: A light box under a name: the halo of the pages of an atlas (a stroked halo is the
#: name's outlines drawn again: a hundred pages of them doubled the file).
BOX = {"boxstyle": "square,pad=0.08", "facecolor": "white", "alpha": 0.75,
       "edgecolor": "none"}


def place(ax, labels: list[Label], *, obstacles: list[Bbox] = (), margin: float = 1.5,
          area: Bbox | None = None, halo: str = "stroke") -> Placement:
    """Draw ``labels`` on ``ax`` by priority where they overlap nothing already there
    (``obstacles``, display coordinates, and the names placed before); keep each inside
    ``area`` (default: the axes). ``halo``: ``"stroke"`` (a white outline around the
    letters) or ``"box"`` (a light box under the name, :data:`BOX`: lighter files).
    Return what was placed and dropped."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    ax.apply_aspect()
    inside = area or ax.get_window_extent(renderer)
    # every box to keep clear, as rows of x0, y0, x1, y1 (display units)
    taken = np.array([b.extents for b in obstacles], dtype=float).reshape(-1, 4)
    result = Placement()
    pad = margin * fig.dpi / 72
    to_data = ax.transData.inverted()
    for label in sorted(labels, reverse=True):
        anchor = ax.transData.transform((label.x, label.y))
        if not inside.contains(*anchor):
            result.dropped.append(label.text)
            continue
        found = first_room(label, anchor, inside.extents, taken, pad, fig.dpi / 72,
                           lambda style, label=label: _measured(ax, renderer, label, style),
                           ax.transData.transform)
        if found is None:
            result.dropped.append(label.text)
            continue
        box, (px, py, ha, va, reach), style = found
        x, y = to_data.transform((px, py))
        taken = np.vstack([taken, box])
        result.boxes.append(Bbox(box.reshape(2, 2)))
        result.placed.append(label.text)
        if halo == "box":
            ax.text(x, y, label.text, ha=ha, va=va, zorder=9.1, clip_on=False, bbox=BOX,
                    **style)
        else:
            ax.text(x, y, label.text, ha=ha, va=va, zorder=9.1, clip_on=False, **style)
            # the halo is a copy drawn as outlines under the letters: the name itself
            # stays text (found and read in the PDF)
            ax.text(x, y, label.text, ha=ha, va=va, zorder=9, clip_on=False,
                    path_effects=HALO, **{**style, "color": "white"})
        if reach > 1 and label.leader:
            ax.plot([label.x, x], [label.y, y], color="#555", linewidth=0.5, zorder=8)
    return result


def place_on_page(group, labels: list[Label], box: tuple, *, move,
                  obstacles=(), margin: float = 1.5) -> list[tuple]:
    """Add ``labels`` to ``group`` (a reportlab page, :mod:`geo.write.vectorpage`) as
    :func:`place` draws them on a matplotlib map, each with a light box under it
    (:data:`BOX`): by priority, clear of ``obstacles`` (x0, y0, x1, y1 in points) and of
    one another, inside ``box`` (x, y, width, height in points); ``move`` takes the
    labels' coordinates to the page. Return the boxes of the names placed."""
    from .vectorpage import ASCENT, DESCENT, colour, polyline, rectangles, text, text_width

    x0, y0 = box[0], box[1]
    inside = (x0, y0, x0 + box[2], y0 + box[3])
    taken = np.array(obstacles, dtype=float).reshape(-1, 4)
    placed, leaders, halos, texts = [], [], [], []
    for label in sorted(labels, reverse=True):
        ax, ay = (float(v) for v in move(label.x, label.y))
        if not (inside[0] <= ax <= inside[2] and inside[1] <= ay <= inside[3]):
            continue
        shown = unescaped(label.text)

        def measure(style, shown=shown):
            size = style.get("fontsize", _DEFAULT_SIZE)
            return text_width(shown, style), (ASCENT + DESCENT) * size

        found = first_room(label, (ax, ay), inside, taken, margin, 1.0, measure,
                           lambda xy: np.column_stack(move(xy[:, 0], xy[:, 1])))
        if found is None:
            continue
        padded, (px, py, _, _, reach), style = found
        taken = np.vstack([taken, padded])
        placed.append(tuple(padded))
        size = style.get("fontsize", _DEFAULT_SIZE)
        lx, ly = padded[0] + margin, padded[1] + margin
        width, height = measure(style)
        if reach > 1 and label.leader:
            leaders.append(polyline([ax, px], [ay, py], strokeColor=colour("#555555"),
                                    strokeWidth=0.5))
        pad = 0.08 * size  # matplotlib's « square,pad=0.08 »
        halos.append((lx - pad, ly - pad, width + 2 * pad, height + 2 * pad))
        texts.append(text(lx, ly + DESCENT * size, shown, style))
    # as matplotlib's layers: the leaders, the light boxes (one shape: names never
    # overlap), the names
    for shape in [*leaders, rectangles(halos, fillColor=colour(BOX["facecolor"],
                                                               BOX["alpha"]),
                                       strokeColor=None), *texts]:
        if shape is not None:
            group.add(shape)
    return placed


def unescaped(text: str) -> str:
    """A name written for matplotlib (its ``$`` escaped, not to start math mode) as it
    reads."""
    return text.replace(r"\$", "$")


#: The names measured, by text, style and resolution: the maps of a page, the pages of an
#: atlas and the fiches show the same names again and again.
_MEASURED: dict[tuple[str, str, float], tuple[float, float]] = {}
#: Where a point's name slid above or below it starts, as a share of its width back from
#: the point (after the classic positions: the point near one end of the name).
_SLIDES = (0.25, 0.75, 0.1, 0.9)
#: The font size of a name whose style says none (matplotlib's default).
_DEFAULT_SIZE = 10.0
#: Distances tried from the point, in gaps; beyond the first, a leader line is drawn.
_REACHES = (1.0, 2.6, 4.5, 7.0)
#: The alignment of a name at each position: it starts on the side away from the point.
_ALIGN = [("left" if dx > 0.1 else "right" if dx < -0.1 else "center",
           "bottom" if dy > 0.1 else "top" if dy < -0.1 else "center")
          for dx, dy in _POSITIONS]
#: Where a name's box starts from its anchor, as a share of its width or height.
_SHIFT = {"left": 0.0, "center": 0.5, "right": 1.0, "bottom": 0.0, "top": 1.0}
#: The positions as arrays: offsets in gaps, and where each box starts (shares of the size).
_OFFSETS = np.array(_POSITIONS, dtype=float)
_STARTS = np.array([(_SHIFT[ha], _SHIFT[va]) for ha, va in _ALIGN])


def first_room(label: Label, anchor, inside, taken: np.ndarray, pad: float, scale: float,
               measure, to_display):
    """The first place where ``label`` overlaps nothing of ``taken`` and stays in
    ``inside`` (x0, y0, x1, y1), whatever draws it: its padded box, where its text stands
    (x, y, alignments, reach: beyond 1, a leader is drawn) and its style; ``None`` when
    there is none. Units are the drawing's (``scale`` of them to a point, ``pad`` of
    them around a name); ``measure(style)`` gives a name's width and height in them and
    ``to_display`` takes the map's coordinates (x, y rows) to them.

    At its own size: the classic positions (and an area's centre), then a point's name slid
    along above or below its point, or an area's name at its other :attr:`Label.spots`;
    then the same at smaller sizes, down to :attr:`Label.smaller`."""
    own = float(label.style.get("fontsize", _DEFAULT_SIZE))
    sizes = [own, *np.arange(own - 0.5, label.smaller - 1e-6, -0.5)] if label.smaller \
        else [own]
    for fontsize in sizes:
        style = label.style if fontsize == own else {**label.style, "fontsize": fontsize}
        width, height = measure(style)
        for boxes, where in _tries(label, anchor, width, height, pad, inside, scale,
                                   to_display):
            ok = (boxes[:, 0] >= inside[0]) & (boxes[:, 1] >= inside[1]) & \
                (boxes[:, 2] <= inside[2]) & (boxes[:, 3] <= inside[3])
            # only the boxes that reach this batch's span (thousands of symbols: the
            # pairs compared stay few)
            lo, hi = boxes[:, :2].min(axis=0), boxes[:, 2:].max(axis=0)
            near = taken[(taken[:, 0] < hi[0]) & (taken[:, 2] > lo[0])
                         & (taken[:, 1] < hi[1]) & (taken[:, 3] > lo[1])]
            if len(near):  # Bbox.overlaps: the interiors meet
                ok &= ~((boxes[:, None, 0] < near[None, :, 2])
                        & (boxes[:, None, 2] > near[None, :, 0])
                        & (boxes[:, None, 1] < near[None, :, 3])
                        & (boxes[:, None, 3] > near[None, :, 1])).any(axis=1)
            if ok.any():
                k = int(np.argmax(ok))
                return boxes[k], where(k), style
    return None


def _measured(ax, renderer, label: Label, style: dict) -> tuple[float, float]:
    """A name's size on ``ax``'s page in ``style`` (display units), measured once per
    name, style and resolution."""
    key = (label.text, repr(sorted(style.items())), ax.figure.dpi)
    if key not in _MEASURED:
        if len(_MEASURED) > 50_000:
            _MEASURED.clear()
        _MEASURED[key] = _size(ax, renderer, replace(label, style=style))
    return _MEASURED[key]


def _tries(label: Label, anchor, width: float, height: float, pad: float, inside,
           scale: float, to_display):
    """The candidate boxes of ``label``, in batches of the order tried, each with the
    function giving where the text of its k-th box stands (see :func:`first_room`)."""
    gap = label.gap * scale
    # an area's name may move a little farther, still inside its area: no leader
    reaches = _REACHES if label.leader else _REACHES[:1 + label.centred]
    boxes = _candidates(anchor, width, height, gap, pad, reaches)
    if label.centred:  # its own spot first: the middle of its area
        boxes = np.vstack([_centred(np.asarray(anchor), width, height, pad), boxes])

    def classic(k: int):
        if label.centred:
            k -= 1
        if k < 0:  # centred on its point
            return (*anchor, "center", "center", 1.0)
        reach = reaches[k // len(_POSITIONS)]
        dx, dy = _POSITIONS[k % len(_POSITIONS)]
        return (anchor[0] + dx * gap * reach, anchor[1] + dy * gap * reach,
                *_ALIGN[k % len(_POSITIONS)], reach)

    yield boxes, classic
    if label.centred and label.spots:
        spots = to_display(np.asarray(label.spots, float).reshape(-1, 2))
        yield (np.vstack([_centred(p, width, height, pad) for p in spots]),
               lambda k: (*spots[k], "center", "center", 1.0))
    elif not label.centred:  # above or below its point, the point nearer one end
        rows, wheres = [], []
        # and slid just inside the left or the right edge of the map
        edges = ((anchor[0] - inside[0] - pad - 0.5) / width,
                 (anchor[0] - inside[2] + pad + 0.5) / width + 1)
        for share in (*_SLIDES, *(float(np.clip(e, 0.05, 0.95)) for e in edges)):
            for va, y0 in (("bottom", anchor[1] + gap), ("top", anchor[1] - gap - height)):
                x0 = anchor[0] - share * width
                rows.append([x0 - pad, y0 - pad, x0 + width + pad, y0 + height + pad])
                wheres.append((x0, y0 + (height if va == "top" else 0), "left", va, 1.0))
        yield np.array(rows), wheres.__getitem__


def _centred(point: np.ndarray, width: float, height: float, pad: float) -> np.ndarray:
    """The padded box of a name centred on ``point`` (one row of x0, y0, x1, y1)."""
    corner = point - (width / 2, height / 2)
    return np.hstack([corner - pad, corner + (width + pad, height + pad)])[None, :]


def area_spots(geometry, x: float, y: float, n: int = 24) -> tuple[tuple[float, float], ...]:
    """Up to ``n`` points inside ``geometry`` (a polygon, in its map's coordinates) on a
    grid, the nearest to its name's point ``(x, y)`` first: where an area's name may stand
    when there is no room at its point (:attr:`Label.spots`)."""
    import shapely

    x0, y0, x1, y1 = geometry.bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, 9)[1:-1], np.linspace(y0, y1, 9)[1:-1])
    gx, gy = gx.ravel(), gy.ravel()
    keep = shapely.contains_xy(geometry, gx, gy)
    gx, gy = gx[keep], gy[keep]
    order = np.argsort(np.hypot(gx - x, gy - y), kind="stable")[:n]
    return tuple(zip(gx[order].tolist(), gy[order].tolist(), strict=True))


def _candidates(anchor, width: float, height: float, gap: float, pad: float,
                reaches: tuple[float, ...]) -> np.ndarray:
    """The padded box of a name at each position of each reach, in the order tried (rows
    of x0, y0, x1, y1)."""
    rows = []
    for reach in reaches:
        corner = np.asarray(anchor) + _OFFSETS * gap * reach - _STARTS * (width, height)
        rows.append(np.hstack([corner - pad, corner + (width + pad, height + pad)]))
    return np.vstack(rows)


def _size(ax, renderer, label: Label) -> tuple[float, float]:
    """Width and height of a name on the page (display units)."""
    probe = ax.text(0, 0, label.text, ha="left", va="bottom", **label.style)
    box = probe.get_window_extent(renderer)
    probe.remove()
    return box.width, box.height
