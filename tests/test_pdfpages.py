"""Pages written by several processes come back as one PDF, in order, each page once; a
page that fails fails the whole file, in the caller, with its own error."""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess

import pytest

from geo.write.pdfpages import PAGES_PER_WORKER, write_pdf_pages
from geo.write.printpages import new_figure

pytestmark = [
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing"),
    pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                       reason="pages are shared only by forked workers"),
]

COUNT = 3 * PAGES_PER_WORKER + 1


def page(k: int):
    fig = new_figure((148, 210))
    fig.text(0.1, 0.5, f"Page numéro {k + 1}", fontsize=12)
    return fig


def test_pages_come_back_in_order_from_three_workers(tmp_path):
    import os

    told = []
    out = write_pdf_pages(tmp_path / "p.pdf", COUNT, page, workers=3,
                          metadata={"Title": "Essai"}, progress=lambda *a: told.append(a),
                          after=lambda k, fig: (k, os.getpid()))
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "p.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    pages = [p.strip() for p in text.split("\f") if p.strip()]
    assert pages == [f"Page numéro {k + 1}" for k in range(COUNT)]
    assert [k for k, _ in out] == list(range(COUNT))
    assert os.getpid() not in {pid for _, pid in out}  # drawn by the workers
    assert told == [(k, COUNT) for k in range(1, COUNT + 1)]
    info = subprocess.run(["pdfinfo", str(tmp_path / "p.pdf")], capture_output=True,
                          text=True, check=True).stdout
    assert "Essai" in info
    assert [p.name for p in tmp_path.iterdir()] == ["p.pdf"]  # the parts are gone


def test_a_failing_page_fails_the_file_with_its_error(tmp_path):
    def failing(k: int):
        if k == COUNT - 2:
            raise ValueError("page impossible")
        return page(k)

    with pytest.raises(ValueError, match="page impossible"):
        write_pdf_pages(tmp_path / "p.pdf", COUNT, failing, workers=2, metadata={})
    assert not [p for p in tmp_path.iterdir() if p.name != "p.pdf"]  # no part left


def test_a_web_server_thread_writes_its_pages_itself(tmp_path):
    """Forking from one thread among others could leave a lock held in the child: from a
    thread other than the main one (the web server's), no worker is started."""
    import os
    import threading

    out = []
    thread = threading.Thread(target=lambda: out.extend(write_pdf_pages(
        tmp_path / "p.pdf", COUNT, page, workers=2, metadata={},
        after=lambda k, fig: os.getpid())))
    thread.start()
    thread.join()
    assert out == [os.getpid()] * COUNT


def test_a_slow_page_holds_up_one_worker_not_a_share_of_the_pages(tmp_path):
    """The pages are taken one at a time: while one worker draws a slow first page (an
    atlas's overview), the other draws every other page (they were dealt out in turn:
    half of them waited behind the slow one)."""
    import os
    import time

    done = tmp_path / "done"
    done.touch()

    def slow_first(k: int):
        # the first page waits until the others are written (or a minute: dealt out in
        # turn, half of them wait behind it)
        for _ in range(600):
            if k or len(done.read_text().split()) >= COUNT - 1:
                break
            time.sleep(0.1)
        return page(k)

    def after(k, fig):
        with done.open("a") as f:
            f.write(f"{k}\n")
        return os.getpid()

    pids = write_pdf_pages(tmp_path / "p.pdf", COUNT, slow_first, workers=2, metadata={},
                           after=after)
    assert pids[0] not in pids[1:] and len(set(pids[1:])) == 1
    text = subprocess.run(["pdftotext", str(tmp_path / "p.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert [p.strip() for p in text.split("\f") if p.strip()] == \
        [f"Page numéro {k + 1}" for k in range(COUNT)]


def test_a_worker_left_without_a_page_leaves_no_part_to_read(tmp_path):
    # three workers for two pages: one of them takes none and writes no file
    from geo.write.pdfpages import _write_parallel

    _write_parallel(tmp_path / "p.pdf", 2, page, None, {"Title": "Essai"}, 3, None)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "p.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert [p.strip() for p in text.split("\f") if p.strip()] == ["Page numéro 1",
                                                                  "Page numéro 2"]
