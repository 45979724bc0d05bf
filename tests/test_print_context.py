"""The print takes from the run only what it draws: the other generation and the view,
never the quartiers around the sites measured for the web map (geo.write.outputs)."""

from __future__ import annotations

import geo.write.maps
from geo.study import run_study
from geo.studyfile import demo_study
from geo.vocabulary import OUTPUT


def test_the_print_does_not_measure_the_quartiers_around_the_sites(tmp_path, monkeypatch):
    def measured(*args, **kwargs):
        raise AssertionError("the quartiers around the sites were measured for the print")

    monkeypatch.setattr(geo.write.maps, "focus_qpv", measured)
    study = demo_study(tmp_path)
    study.outputs = {"carte_impression": study.outputs["carte_impression"]}
    run = run_study(study)
    assert [what for _, what in run.written] == [OUTPUT["carte_impression"].what]
    assert (tmp_path / "carte.pdf").read_bytes().startswith(b"%PDF")

