"""A site at an uncertain boundary (``boundary_uncertain``) is said so by the interactive
map too, in its popup and in the data table (item 3 of the fresh-eye review: only the CLI,
the Excel report and the review file flagged it)."""

from __future__ import annotations

import pytest

from geo import cli
from geo.vocabulary import UNCERTAIN_SENTENCE, UNCERTAIN_SHORT
from tests.browser import Page

#: Two sites in the Paris quartier QN07511M: the second a metre from its rounded outline.
SITES = ("id;nom;theme;latitude;longitude\n"
         "1;Au milieu;Insertion;48.8870;2.3540\n"
         "2;Au bord;Insertion;48.8871;2.3541\n")


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("uncertain")
    (out / "t.csv").write_text(SITES, encoding="utf-8")
    assert cli.main(["map", str(out / "t.csv"), "-o", str(out / "carte.html"),
                     "--self-contained"]) == 0
    return out / "carte-autonome.html"


def test_the_page_written_says_which_site_is_uncertain(page_path):
    html = page_path.read_text(encoding="utf-8")
    assert f"<td>implantée ({UNCERTAIN_SHORT})</td>" in html
    assert html.count(f"({UNCERTAIN_SHORT})</td>") == 1  # the other site is certain


def test_popup_and_table_say_the_boundary_is_uncertain(browser, page_path):
    page = Page(browser, page_path, offline=True)
    try:
        cards = page.js("""() => { const E = window.essqpv;
            return E.sites.map(s => [s.n, E.siteCard(s, E.names).textContent]); }""")
        said = dict(cards)
        assert UNCERTAIN_SENTENCE in said["Au bord"]
        assert UNCERTAIN_SENTENCE not in said["Au milieu"]
        rows = page.page.locator("#essqpv-rows tr").all_inner_texts()
        edge = next(r for r in rows if r.startswith("Au bord"))
        middle = next(r for r in rows if r.startswith("Au milieu"))
        assert f"implantée ({UNCERTAIN_SHORT})" in edge and UNCERTAIN_SHORT not in middle
    finally:
        page.page.close()
