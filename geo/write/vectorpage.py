"""Pages drawn with reportlab: the pages' fonts registered once (DejaVu Sans, embedded),
text measured from the font's advances, shapely geometries and the print's symbols as
reportlab shapes. One drawing gives the PDF page, the PNG and the SVG (text kept as
``<text>``).

Measuring a line is a sum of advances that reportlab keeps per font (no shaping): the
fiches lay out thousands of lines, which matplotlib shaped twice each.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import shapely
from reportlab import rl_config

# shapes are built by the thousand: reportlab's check of every attribute set is skipped
# (read when its shapes are first imported: set before)
rl_config.shapeChecking = 0
# PNG drawn by rl_renderPM (a wheel on every platform), not by the Cairo backend
rl_config.renderPMBackend = "_renderPM"
# the pages' streams compressed and kept binary (ASCII85 made them a quarter larger, and
# encoding them took a tenth of the pages' time)
rl_config.useA85 = 0

from reportlab.graphics.shapes import (  # noqa: E402
    STATE_DEFAULTS,
    Circle,
    Drawing,
    Group,
    Line,
    PolyLine,
    Rect,
    String,
)
from reportlab.graphics.shapes import Path as RLPath  # noqa: E402
from reportlab.lib.colors import Color  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402

#: reportlab's shapes, for the pages' modules: imported here, after the settings above.
__all__ = ["ASCENT", "DESCENT", "FONT", "PT_PER_MM", "Circle", "Drawing", "Group", "Line", "Rect",
           "colour", "dashes", "dots", "each_path", "font_name", "hatch", "lines_path", "marker",
           "named", "page_drawing", "polygons_path", "polyline", "rectangles", "register_fonts",
           "svg_text", "text", "text_width", "to_page", "write_png"]

#: Points per millimetre.
PT_PER_MM = 72 / 25.4
#: The pages' font (the print's, DejaVu Sans) as reportlab names its faces, by (bold,
#: italic).
FONT = "DejaVuSans"
_FACES = {(False, False): ("DejaVuSans", "DejaVuSans.ttf"),
          (True, False): ("DejaVuSans-Bold", "DejaVuSans-Bold.ttf"),
          (False, True): ("DejaVuSans-Oblique", "DejaVuSans-Oblique.ttf"),
          (True, True): ("DejaVuSans-BoldOblique", "DejaVuSans-BoldOblique.ttf")}
#: Where the font files are looked for: the system's (Debian's fonts-dejavu), then the
#: copy matplotlib ships (every platform has it).
_FONT_FOLDERS = (Path("/usr/share/fonts/truetype/dejavu"),)
#: The font's ascent and descent (units of its size; DejaVu Sans' hhea table: 1901 and
#: 483 of 2048), for boxes around a line.
ASCENT, DESCENT = 1901 / 2048, 483 / 2048


def _font_folders() -> list[Path]:
    import matplotlib

    return [*_FONT_FOLDERS, Path(matplotlib.get_data_path()) / "fonts" / "ttf"]


@functools.cache
def register_fonts() -> None:
    """Register the four faces of DejaVu Sans with reportlab (once a process)."""
    from reportlab.lib.fonts import addMapping

    folders = _font_folders()
    for (bold, italic), (name, file) in _FACES.items():
        path = next((f / file for f in folders if (f / file).is_file()), None)
        if path is None:
            raise FileNotFoundError(f"police {file} introuvable (cherchée dans "
                                    f"{', '.join(map(str, folders))})")
        font = TTFont(name, str(path))
        # the line's extent as the font's hhea table says it (as matplotlib, browsers and
        # PDF readers take it), not the smaller OS/2 typographic one reportlab reads
        font.face.ascent, font.face.descent = ASCENT * 1000, -DESCENT * 1000
        pdfmetrics.registerFont(font)
        addMapping(FONT, int(bold), int(italic), name)
    # the drawings' default font (reportlab's is Times-Roman, set on every page)
    STATE_DEFAULTS["fontName"] = FONT


def font_name(style: dict) -> str:
    """The face of a text style (matplotlib's keys: ``fontweight``, ``fontstyle``)."""
    register_fonts()
    return _FACES[(style.get("fontweight") == "bold",
                   style.get("fontstyle") in ("italic", "oblique"))][0]


def text_width(text: str, style: dict) -> float:
    """Width of ``text`` in points in ``style`` (``fontsize`` in points, default 8)."""
    return pdfmetrics.stringWidth(text, font_name(style), style.get("fontsize", 8))


@functools.cache
def colour(value, alpha: float | None = None) -> Color | None:
    """A reportlab colour from a matplotlib one (``"none"``: ``None``)."""
    from matplotlib.colors import to_rgba

    if value is None or (isinstance(value, str) and value.lower() == "none"):
        return None
    r, g, b, a = to_rgba(value)
    return Color(r, g, b, a if alpha is None else alpha)


def text(x: float, y: float, value: str, style: dict, *, anchor: str = "start") -> String:
    """A line of text whose baseline starts at ``(x, y)`` points."""
    return String(x, y, value, fontName=font_name(style), fontSize=style.get("fontsize", 8),
                  fillColor=colour(style.get("color", "#000000")), textAnchor=anchor)


def to_page(extent: tuple, box: tuple):
    """The function taking (x, y) arrays in ``extent``'s units (x0, y0, x1, y1) to points
    in ``box`` (x, y, width, height on the page)."""
    x0, y0, x1, y1 = extent
    bx, by, bw, bh = box
    sx, sy = bw / (x1 - x0), bh / (y1 - y0)

    def move(x, y):
        return bx + (np.asarray(x) - x0) * sx, by + (np.asarray(y) - y0) * sy
    return move


def polygons_path(geoms: np.ndarray, move, **style) -> RLPath | None:
    """One path of every polygon in ``geoms`` (holes stay holes: even-odd rule), its
    coordinates taken to the page by ``move``; ``None`` when there is none."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]
    if not len(parts):
        return None
    return _rings_path(shapely.get_rings(parts), move, close=True, **style)


def each_path(geoms: np.ndarray, move, **style) -> Group | None:
    """A path per shape of ``geoms`` (polygons or lines), in one group: each quartier or
    commune its own element in the SVG, for layout software."""
    group = Group()
    for shape in np.asarray(geoms, dtype=object):
        one = np.array([shape], dtype=object)
        path = polygons_path(one, move, **style) if shapely.get_type_id(shape) in (3, 6) \
            else lines_path(one, move, **style)
        if path is not None:
            group.add(path)
    return group if group.contents else None


def lines_path(geoms: np.ndarray, move, **style) -> RLPath | None:
    """One path of every line in ``geoms`` (lines and multilines), taken to the page."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[np.isin(shapely.get_type_id(parts), (1, 2)) & ~shapely.is_empty(parts)]
    if not len(parts):
        return None
    return _rings_path(parts, move, close=False, **style)


def _rings_path(rings: np.ndarray, move, *, close: bool, **style) -> RLPath:
    coords, index = shapely.get_coordinates(rings, return_index=True)
    x, y = move(coords[:, 0], coords[:, 1])
    counts = np.bincount(index, minlength=len(rings))
    counts = counts[counts > 0]
    ops = np.ones(len(coords), dtype=np.int8)  # lineTo
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ops[starts] = 0  # moveTo
    operators = ops.tolist()
    if close:  # closePath after each ring
        operators = np.insert(ops, starts[1:], 3).tolist() + [3]
    return RLPath(np.column_stack([x, y]).ravel().tolist(), operators, fillMode=0,
                  **style)


#: The PDF operators of a path's moves, lines, curves and closings (reportlab's codes 0
#: to 3), coordinates to a tenth of a point (0.035 mm: finer than the outlines'
#: simplification, a fifth of the thinnest line).
_PDF_OPS = ("%.1f %.1f m", "%.1f %.1f l", "%.1f %.1f %.1f %.1f %.1f %.1f c", "h")


def pdf_path_code(path: RLPath) -> str:
    """The PDF operators that draw ``path``, formatted at once (reportlab makes a call
    per point)."""
    return " ".join([_PDF_OPS[op] for op in path.operators]) % tuple(path.points)


#: The four Bézier curves of a circle of radius 1 around (0, 0), from its right.
_K = 0.5523
_CIRCLE = np.array([(1, 0), (1, _K), (_K, 1), (0, 1), (-_K, 1), (-1, _K), (-1, 0),
                    (-1, -_K), (-_K, -1), (0, -1), (_K, -1), (1, -_K), (1, 0)], dtype=float)


def rectangles(boxes: list[tuple], **style) -> RLPath | None:
    """The rectangles ``boxes`` (x, y, width, height in points) as one path."""
    if not boxes:
        return None
    x, y, w, h = np.asarray(boxes, dtype=float).T
    points = np.column_stack([x, y, x + w, y, x + w, y + h, x, y + h])
    return RLPath(points.ravel().tolist(), [0, 1, 1, 1, 3] * len(boxes), **style)


def dots(x, y, radius: float, **style) -> RLPath | None:
    """Circles of ``radius`` points centred on ``(x, y)`` (points on the page) as one
    path: a thousand quartiers' dots one shape, not a thousand."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if not len(x):
        return None
    points = (_CIRCLE[None] * radius + np.column_stack([x, y])[:, None]).reshape(len(x), -1)
    operators = [0, 2, 2, 2, 2, 3] * len(x)
    return RLPath(points.ravel().tolist(), operators, **style)


def hatch(geoms: np.ndarray, move, box: tuple, step: float, **style) -> RLPath | None:
    """Diagonal lines every ``step`` points across the polygons ``geoms`` (matplotlib's
    ``////``), cut to them, as one path; ``box`` is the page's box of the map (points)."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]
    if not len(parts):
        return None
    coords = shapely.get_coordinates(parts)
    x, y = move(coords[:, 0], coords[:, 1])
    coords = np.column_stack([x, y])
    shapes = shapely.set_coordinates(parts.copy(), coords)
    bx, by, bw, bh = box
    offsets = np.arange(-bh, bw + step, step)
    lines = shapely.linestrings(np.stack([
        np.column_stack([bx + offsets, np.full(len(offsets), by)]),
        np.column_stack([bx + offsets + bh, np.full(len(offsets), by + bh)])], axis=1))
    cut = shapely.intersection(shapely.multilinestrings(lines), shapely.union_all(shapes))
    return lines_path(np.array([cut], dtype=object), lambda a, b: (a, b), **style)


def _regular(n: int, start: float = 90) -> np.ndarray:
    angles = np.radians(start + np.arange(n) * 360 / n)
    return np.column_stack([np.cos(angles), np.sin(angles)])


def _star() -> np.ndarray:
    outer, inner = _regular(5), _regular(5, 90 + 36) * 0.38
    return np.stack([outer, inner], axis=1).reshape(-1, 2)


def _cross() -> np.ndarray:  # matplotlib's « X » and « P »: a filled cross
    a, b = 1.0, 0.33
    plus = np.array([(-b, a), (b, a), (b, b), (a, b), (a, -b), (b, -b), (b, -a), (-b, -a),
                     (-b, -b), (-a, -b), (-a, b), (-b, b)])
    turn = np.radians(45)
    return plus @ np.array([[np.cos(turn), np.sin(turn)], [-np.sin(turn), np.cos(turn)]])


#: Unit outlines (radius 1) of the symbols, by matplotlib marker; the circle is drawn as
#: a circle.
_OUTLINES = {"s": np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)]) * 0.85,
             "^": _regular(3), "v": _regular(3, -90), "D": _regular(4) * 0.85,
             "p": _regular(5), "h": _regular(6), "*": _star(), "X": _cross(),
             "P": _cross() @ np.array([[0.707, -0.707], [0.707, 0.707]]),
             "x": _cross()}


def marker(shape, x: float, y: float, diameter: float, *, fill, edge,
           width: float) -> RLPath | Circle:
    """A symbol of matplotlib's ``shape`` (``"o"``, ``"s"``, ``"^"``…, or a list of
    vertices) ``diameter`` points wide centred on ``(x, y)``."""
    r = diameter / 2
    style = {"fillColor": colour(fill), "strokeColor": colour(edge), "strokeWidth": width}
    if shape == "o":
        return Circle(x, y, r, **style)
    unit = np.asarray(shape, dtype=float) if not isinstance(shape, str) else _OUTLINES[shape]
    points = unit * r + (x, y)
    return RLPath(points.ravel().tolist(), [0] + [1] * (len(points) - 1) + [3], **style)


def polyline(x, y, **style) -> PolyLine:
    """A line through the points ``(x, y)`` (points on the page)."""
    return PolyLine(np.column_stack([x, y]).ravel().tolist(), **style)


def dashes(linestyle, width: float) -> list[float] | None:
    """reportlab's dash array for matplotlib's ``linestyle`` at ``width`` points
    (matplotlib scales its dashes with the line's width)."""
    if linestyle in (None, "-", "solid"):
        return None
    if linestyle in ("--", "dashed"):
        pattern = (3.7, 1.6)
    elif isinstance(linestyle, tuple):
        pattern = linestyle[1]
    else:
        return None
    return [v * max(width, 1e-3) for v in pattern] if pattern else None


def page_drawing(size: tuple[float, float]) -> Drawing:
    """An empty page of ``size`` millimetres."""
    return Drawing(size[0] * PT_PER_MM, size[1] * PT_PER_MM)


def named(group: Group, name: str, first) -> None:
    """Give ``first`` (a shape of ``group``) the identifier ``name`` in the SVG (reportlab's
    groups carry none): layout software finds the map, its legend, its locator."""
    first._svgAttrs = {"id": name}
    group.add(first)



def svg_text(drawing: Drawing, title: str) -> str:
    """``drawing`` as SVG, its text kept as ``<text>`` in the CSS names of the font (the
    family, weight and style that layout software looks for, not reportlab's names of
    the faces), each line where it is drawn on the page (reportlab rounds it to the
    point)."""
    import re

    from reportlab.graphics import renderSVG

    faces = {name: (bold, italic) for (bold, italic), (name, _) in _FACES.items()}

    def css(match: re.Match) -> str:
        bold, italic = faces[match[1]]
        return (f"font-family: 'DejaVu Sans', sans-serif; font-weight: "
                f"{'bold' if bold else 'normal'}; font-style: "
                f"{'oblique' if italic else 'normal'};")
    def flip(match: re.Match) -> str:  # reportlab rounds the flip to whole points
        return f'{match[1]}translate(0,{2 * float(match[2]):.3f}) scale(1,-1)"'

    svg = renderSVG.drawToString(drawing, title=title)
    svg = re.sub(r"font-family: (DejaVuSans(?:-Bold|-Oblique|-BoldOblique)?);", css, svg)
    return re.sub(r'(<text [^>]*?y="([-\d.e]+)"[^>]*? transform=")translate\(0,-?\d+\) '
                  r'scale\(1,-1\)"', flip, svg)


def write_png(drawing: Drawing, path: str | Path, dpi: int,
              metadata: dict[str, str] | None = None) -> None:
    """Rasterise ``drawing`` to the PNG ``path`` at ``dpi`` (rl_renderPM), its resolution
    and ``metadata`` (text chunks) written with it.

    rl_renderPM strokes lines in pixels whatever the resolution: the lines' widths and
    dashes are scaled for it meanwhile. Its rasteriser prints « colinear! » on the error
    stream for each border two shapes share: the stream is closed to it meanwhile."""
    import os

    from PIL.PngImagePlugin import PngInfo
    from reportlab.graphics import renderPM

    info = PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(key, value)
    scale = dpi / 72
    stroked = [node for node in _shapes(drawing) if getattr(node, "strokeWidth", None)]
    kept = [(node.strokeWidth, getattr(node, "strokeDashArray", None)) for node in stroked]
    for node, (width, dash) in zip(stroked, kept, strict=True):
        node.strokeWidth = width * scale
        if dash:
            node.strokeDashArray = [v * scale for v in dash]
    stderr = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            renderPM.drawToFile(drawing, str(path), fmt="PNG", dpi=dpi,
                                configPIL={"dpi": (dpi, dpi), "pnginfo": info})
    finally:
        os.dup2(stderr, 2)
        os.close(stderr)
        for node, (width, dash) in zip(stroked, kept, strict=True):
            node.strokeWidth, node.strokeDashArray = width, dash


def _shapes(node):
    """Every shape under ``node`` (groups opened)."""
    for child in getattr(node, "contents", ()):
        if hasattr(child, "contents"):
            yield from _shapes(child)
        else:
            yield child
