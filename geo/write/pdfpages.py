"""Many matplotlib pages written to one PDF, spread over the cores.

Each worker process (forked: the pages' data are inherited, never pickled) takes the next
page not yet taken, draws it into its own PDF, and so on until none is left (a slow page,
an atlas's overview, holds up one worker, not a share of the pages); the parts are then
put back into one file, in order, by ``pypdf``. Without ``fork`` (Windows, macOS'
default), from a thread other than the main one (the web server's) or for a few pages, the
pages are written in this process, one after the other.
"""

from __future__ import annotations

import gc
import os
import queue
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

#: Below this many pages a worker, the pages are written in this process (starting the
#: workers and merging their parts would cost more than it saves).
PAGES_PER_WORKER = 12

#: What the forked workers inherit: the page maker, what to do after each page, the
#: progress queue, the number of the next page to take (shared).
_JOB: tuple | None = None


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def write_pdf_pages(path: Path, count: int, page: Callable[[int], Figure], *,
                    metadata: dict[str, str],
                    after: Callable[[int, Figure], Any] | None = None,
                    workers: int | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    part_writer: Callable | None = None) -> list[Any]:
    """Write the ``count`` pages ``page(0)``, ``page(1)``… to the PDF ``path`` (a file that
    may be half-written on failure: give a temporary one) with ``metadata`` (matplotlib's
    keys: ``Title``, ``Creator``…). Return what ``after(k, figure)`` said of each page, in
    order (``None`` without ``after``). ``progress(done, count)`` hears of each page done.
    ``part_writer``: what writes pages to one PDF, for pages that are not matplotlib
    figures (the signature of :func:`_write_part`; :mod:`geo.write.drawnpages`).

    ``workers`` processes (default: every core) share the pages when the process may
    fork and there are at least :data:`PAGES_PER_WORKER` pages a worker."""
    workers = min(workers or default_workers(), count // PAGES_PER_WORKER)
    if workers < 2 or not _may_fork():
        done = iter(range(1, count + 1))
        return (part_writer or _write_part)(path, range(count), page, after, metadata,
                                            lambda: progress and progress(next(done), count))
    return _write_parallel(Path(path), count, page, after, metadata, workers, progress,
                           part_writer or _write_part)


def _may_fork() -> bool:
    """Whether workers may be forked here: the platform forks, this process is not a
    daemon (those have no children) and the pages are asked for by its main thread (not
    by a web server's thread among others, whose locks would stay held in the child)."""
    import multiprocessing
    import threading

    return ("fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon
            and threading.current_thread() is threading.main_thread())


def _write_part(path, pages, page, after, metadata, tell) -> list[Any]:
    from matplotlib.backends.backend_pdf import PdfPages

    out = []
    with PdfPages(path, metadata=metadata) as pdf:
        for k in pages:
            fig = page(k)
            pdf.savefig(fig)
            out.append(after(k, fig) if after else None)
            tell()
    return out


def _taken(following, count: int):
    """The pages this worker takes, one at a time, until every page is taken."""
    while True:
        with following.get_lock():
            k = following.value
            following.value = k + 1
        if k >= count:
            return
        yield k


def _part_job(path: str, count: int, metadata: dict[str, str]) -> list[tuple[int, Any]]:
    page, after, told, following, part_writer = _JOB
    pages: list[int] = []

    def take():
        for k in _taken(following, count):
            pages.append(k)
            yield k

    try:
        out = part_writer(path, take(), page, after, metadata, lambda: told.put(1))
    except BaseException:
        with following.get_lock():  # the other workers stop at their next page
            following.value = count
        raise
    return list(zip(pages, out, strict=True))


def _write_parallel(path: Path, count: int, page, after, metadata, workers: int,
                    progress, part_writer=_write_part) -> list[Any]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, wait

    from pypdf import PdfReader, PdfWriter

    global _JOB
    context = multiprocessing.get_context("fork")
    told = context.Queue()
    _JOB = (page, after, told, context.Value("l", 0), part_writer)
    done = 0
    # the objects inherited are left out of the workers' garbage collections: walking them
    # cost time and copied the pages of memory they lie on
    gc.freeze()
    try:
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".ess-qpv-pages-") as tmp, \
                ProcessPoolExecutor(workers, mp_context=context) as pool:
            parts = [str(Path(tmp) / f"part-{j}.pdf") for j in range(workers)]
            futures = [pool.submit(_part_job, parts[j], count, metadata)
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
            # where each page is: its part and its place there
            where = {k: (j, i) for j, part in enumerate(results)
                     for i, (k, _) in enumerate(part)}
            # a worker that took no page may have written no file (matplotlib writes
            # its part at the first page)
            readers = [PdfReader(p) if pages else None
                       for p, pages in zip(parts, results, strict=True)]
            writer = PdfWriter()
            for k in range(count):
                j, i = where[k]
                writer.add_page(readers[j].pages[i])
            writer.add_metadata({f"/{key}": value for key, value in metadata.items()})
            writer.write(path)
    finally:
        gc.unfreeze()
        _JOB = None
        told.close()
    return [results[where[k][0]][where[k][1]][1] for k in range(count)]
