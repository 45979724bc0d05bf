"""Many reportlab pages (:class:`reportlab.graphics.shapes.Drawing`) written to one PDF,
spread over the cores as :mod:`geo.write.pdfpages` spreads matplotlib's (the same forked
workers and merge): only the writing of one part differs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .pdfpages import write_pdf_pages
from .vectorpage import FONT, Drawing, pdf_path_code, register_fonts


def write_drawings(path: Path, count: int, page: Callable[[int], Drawing], *,
                   metadata: dict[str, str],
                   after: Callable[[int, Drawing], Any] | None = None,
                   workers: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> list[Any]:
    """Write the ``count`` pages ``page(0)``, ``page(1)``… to the PDF ``path`` (a file that
    may be half-written on failure: give a temporary one) with ``metadata`` (``Title``,
    ``Creator``, ``Subject``). A page's ``links`` attribute, if any, lists (url, box in
    points) annotations. Return what ``after(k, drawing)`` said of each page, in order;
    ``progress(done, count)`` hears of each page done; ``workers``: as
    :func:`geo.write.pdfpages.write_pdf_pages`."""
    register_fonts()  # once, before the workers fork: each inherits the fonts read
    return write_pdf_pages(path, count, page, metadata=metadata, after=after,
                           workers=workers, progress=progress, part_writer=_write_part)


def _write_part(path, pages, page, after, metadata, tell) -> list[Any]:
    """Write ``page(k)`` for each ``k`` of ``pages`` to the PDF ``path``; ``tell()`` after
    each; return what ``after`` said of each."""
    from reportlab.pdfgen.canvas import Canvas

    register_fonts()
    renderer = _renderer()
    canvas = Canvas(str(path), pageCompression=1, invariant=1, initialFontName=FONT)
    canvas.setTitle(metadata.get("Title", ""))
    canvas.setCreator(metadata.get("Creator", ""))
    canvas.setSubject(metadata.get("Subject", ""))
    out = []
    for k in pages:
        drawing = page(k)
        canvas.setPageSize((drawing.width, drawing.height))
        renderer.draw(drawing, canvas, 0, 0)
        for url, box in getattr(drawing, "links", ()):
            canvas.linkURL(url, box, relative=0)
        canvas.showPage()
        out.append(after(k, drawing) if after else None)
        tell()
    canvas.save()
    return out


def _renderer():
    """reportlab's PDF renderer, writing the operators of a path of lines at once
    (:func:`geo.write.vectorpage.pdf_path_code`) instead of a call per point: an atlas's
    page holds thousands of points of outlines."""
    from reportlab.graphics.renderPDF import _PDFRenderer

    class Renderer(_PDFRenderer):
        def drawPath(self, path):
            if path.isClipPath or getattr(path, "autoclose", None):
                return super().drawPath(path)
            outline = self._canvas.beginPath()
            outline._code = [pdf_path_code(path)]
            ops = path.operators
            closed = ops.count(0) == ops.count(3)  # as reportlab decides to fill
            self._canvas.drawPath(outline, fill=self._fill if closed else 0,
                                  stroke=self._stroke, fillMode=getattr(path, "fillMode",
                                                                        None))

    return Renderer()
