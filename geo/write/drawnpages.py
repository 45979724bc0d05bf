"""Many reportlab pages (:class:`reportlab.graphics.shapes.Drawing`) written to one PDF,
spread over the cores as :mod:`geo.write.pdfpages` spreads matplotlib's: forked workers
(the pages' data are inherited, never pickled) each write every ``workers``-th page to
a PDF of their own, interleaved back into one file, in order, by ``pypdf``. Without
``fork``, from a thread other than the main one or for a few pages, the pages are
written in this process, one after the other.
"""

from __future__ import annotations

import queue
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import pdfpages
from .vectorpage import FONT, Drawing, register_fonts

#: What the forked workers inherit: the page maker, what to do after each page, the
#: progress queue.
_JOB: tuple | None = None


def write_drawings(path: Path, count: int, page: Callable[[int], Drawing], *,
                   metadata: dict[str, str],
                   after: Callable[[int, Drawing], Any] | None = None,
                   workers: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> list[Any]:
    """Write the ``count`` pages ``page(0)``, ``page(1)``… to the PDF ``path`` (a file that
    may be half-written on failure: give a temporary one) with ``metadata`` (``Title``,
    ``Creator``, ``Subject``). A page's ``links`` attribute, if any, lists (url, box in
    points) annotations. Return what ``after(k, drawing)`` said of each page, in order.
    ``progress(done, count)`` hears of each page done.

    ``workers`` processes (default: every core) share the pages when the process may
    fork and there are at least :data:`geo.write.pdfpages.PAGES_PER_WORKER` pages a
    worker."""
    workers = min(workers or pdfpages.default_workers(), count // pdfpages.PAGES_PER_WORKER)
    if workers < 2 or not _may_fork():
        done = iter(range(1, count + 1))
        return _write_part(path, range(count), page, after, metadata,
                           lambda: progress and progress(next(done), count))
    return _write_parallel(Path(path), count, page, after, metadata, workers, progress)


def _may_fork() -> bool:
    """Whether workers may be forked here (as :mod:`geo.write.pdfpages` decides)."""
    import multiprocessing
    import threading

    return ("fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon
            and threading.current_thread() is threading.main_thread())


def _write_part(path, pages, page, after, metadata, tell) -> list[Any]:
    from reportlab.graphics import renderPDF
    from reportlab.pdfgen.canvas import Canvas

    register_fonts()
    canvas = Canvas(str(path), pageCompression=1, invariant=1, initialFontName=FONT)
    canvas.setTitle(metadata.get("Title", ""))
    canvas.setCreator(metadata.get("Creator", ""))
    canvas.setSubject(metadata.get("Subject", ""))
    out = []
    for k in pages:
        drawing = page(k)
        canvas.setPageSize((drawing.width, drawing.height))
        renderPDF.draw(drawing, canvas, 0, 0)
        for url, box in getattr(drawing, "links", ()):
            canvas.linkURL(url, box, relative=0)
        canvas.showPage()
        out.append(after(k, drawing) if after else None)
        tell()
    canvas.save()
    return out


def _part_job(part: int, workers: int, count: int, path: str,
              metadata: dict[str, str]) -> list[Any]:
    page, after, told = _JOB
    return _write_part(path, range(part, count, workers), page, after, metadata,
                       lambda: told.put(1))


def _write_parallel(path: Path, count: int, page, after, metadata, workers: int,
                    progress) -> list[Any]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, wait

    from pypdf import PdfReader, PdfWriter

    global _JOB
    context = multiprocessing.get_context("fork")
    told = context.Queue()
    _JOB = (page, after, told)
    done = 0
    try:
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".ess-qpv-pages-") as tmp, \
                ProcessPoolExecutor(workers, mp_context=context) as pool:
            parts = [str(Path(tmp) / f"part-{j}.pdf") for j in range(workers)]
            futures = [pool.submit(_part_job, j, workers, count, parts[j], metadata)
                       for j in range(workers)]
            while True:
                finished, pending = wait(futures, timeout=0.2)
                if any(f.exception() for f in finished):
                    for f in pending:
                        f.cancel()
                    break
                while True:
                    try:
                        told.get_nowait()
                    except queue.Empty:
                        break
                    done += 1
                    if progress:
                        progress(done, count)
                if not pending:
                    break
            results = [f.result() for f in futures]  # raises a worker's error
            readers = [PdfReader(p) for p in parts]
            writer = PdfWriter()
            for k in range(count):
                writer.add_page(readers[k % workers].pages[k // workers])
            writer.add_metadata({f"/{key}": value for key, value in metadata.items()})
            writer.write(path)
    finally:
        _JOB = None
        told.close()
    return [results[k % workers][k // workers] for k in range(count)]
