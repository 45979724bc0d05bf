"""The web pages' counts agree with their number (no « site(s) »)."""

from __future__ import annotations

import pytest
from flask import render_template

from geo.web import create_app
from geo.web.common import FLOW


@pytest.mark.parametrize(("count", "said"), [(1, "1 site à vérifier ou à placer."),
                                             (6, "6 sites à vérifier ou à placer.")])
def test_the_finished_run_counts_its_sites_to_review(tmp_path, count, said):
    app = create_app(tmp_path / "etudes")
    with app.test_request_context("/"):
        page = render_template("progression.html", flow=FLOW, study_name="essai",
                               title="Essai", step="studies.progress", labels={},
                               state={"etat": "termine", "a_verifier": count})
    assert said in " ".join(page.split()) and "(s)" not in page
