"""The demo's two processes share what both read (geo.write.outputs, geo.cli.study): the
outlines and scipy's graph are read once, before the print's process is forked, and a
one-shot command collects its garbage by the thousands. The time itself is measured in
benchmarks/demo.py, never here."""

from __future__ import annotations

import gc
import sys

import pytest

from geo.outlines import communes, departements
from geo.studyfile import demo_study
from geo.write.alongside import may_fork
from geo.write.outputs import drawn_ahead


@pytest.mark.skipif(not may_fork(), reason="no fork here")
def test_what_both_processes_read_is_read_before_the_fork(tmp_path):
    departements.cache_clear()
    communes.cache_clear()
    study = demo_study(tmp_path / "demo")
    with drawn_ahead(study) as ahead:
        assert list(ahead) == ["carte_impression"]
        # read here once, the print's process inherits them
        assert departements.cache_info().currsize == 1
        assert communes.cache_info().currsize == 1
        assert "scipy.sparse.csgraph" in sys.modules


def test_a_study_without_print_reads_nothing_ahead(tmp_path):
    departements.cache_clear()
    study = demo_study(tmp_path / "demo")
    study.outputs = {"tableau": study.outputs["tableau"]}
    with drawn_ahead(study) as ahead:
        assert ahead == {}
        assert departements.cache_info().currsize == 0


def test_a_one_shot_run_collects_its_young_objects_by_the_thousands(tmp_path, capsys):
    from geo.cli import main

    before = gc.get_threshold()
    try:
        assert main(["demo", "-o", str(tmp_path / "demo")]) in (0, None)
        assert gc.get_threshold()[0] >= 10_000
    finally:
        gc.set_threshold(*before)
    assert (tmp_path / "demo" / "carte.pdf").is_file()


def test_the_prints_streams_are_deflated_at_the_faster_level(tmp_path):
    from pypdf import PdfReader

    from geo.study import run_study
    from geo.write.outputs import PRINT_COMPRESSION

    study = demo_study(tmp_path / "demo")
    study.outputs = {"carte_impression": study.outputs["carte_impression"]}
    study.periods = []
    run_study(study)
    page = PdfReader(study.outputs["carte_impression"]).pages[0]
    stream = page["/Contents"].get_object()
    raw = stream._data  # as stored: zlib's header names its level's class
    assert stream["/Filter"] == "/FlateDecode"
    assert raw[:2] == b"x^" and PRINT_COMPRESSION == 4  # levels 2 to 5 (6: b"x\x9c")
    assert page.extract_text()  # still a PDF with its text
