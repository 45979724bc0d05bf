"""RGAA / WCAG 2.1 AA on every kind of page ess-qpv writes, checked in Debian's Chromium with
axe-core and HTML_CodeSniffer (npm packages for the tests), and by a keyboard user."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo import cli
from geo.qpv import load_qpv
from tests.browser import MAP, Page, axe_violations, htmlcs_errors
from tests.servers import ROOT_DATA

EXAMPLE = ROOT_DATA / "exemple" / "initiatives.csv"
THEMES = ["Épicerie solidaire", "Recyclerie", "Tiers-lieu", "Conciergerie solidaire",
          "Café associatif", "Jardin partagé", "Insertion", "Mobilité solidaire",
          "Habitat", "Culture"]


def national_directory(path, n: int = 800) -> None:
    """A directory the size of a real one: sites around real QPV all over France, ten themes,
    a few without coordinates."""
    qpv = load_qpv()
    rng = np.random.default_rng(7)
    centres = qpv.geometry.representative_point().to_numpy()[rng.integers(0, len(qpv), n)]
    lat = np.array([p.y for p in centres]) + rng.normal(0, 0.002, n)
    lon = np.array([p.x for p in centres]) + rng.normal(0, 0.003, n)
    frame = pd.DataFrame({"id_initiative": [f"I{i // 2}" for i in range(n)],
                          "nom": [f"Structure {i}" for i in range(n)],
                          "theme": rng.choice(THEMES, n), "commune": "",
                          "latitude": lat.round(6).astype(str),
                          "longitude": lon.round(6).astype(str)})
    frame.loc[:4, ["latitude", "longitude"]] = ""
    frame.to_csv(path, sep=";", index=False)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("pages")
    assert cli.main(["demo", "-o", str(out / "demo")]) == 0
    national_directory(out / "annuaire.csv")
    assert cli.main(["map", str(out / "annuaire.csv"), "-o", str(out / "national.html"),
                     "--self-contained", "--embed", str(out / "iframe.html"),
                     "--embed-url", "national.html",
                     "--title", "Annuaire national (synthétique)"]) == 0
    snippet = (out / "iframe.html").read_text(encoding="utf-8")
    (out / "hote.html").write_text(
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Page hôte</title>'
        f"</head><body><main><h1>Carte intégrée</h1>{snippet}</main></body></html>",
        encoding="utf-8")
    return out


PAGES = [("demo/carte.html", False), ("demo/carte-autonome.html", True),
         ("national.html", False), ("national-autonome.html", True), ("hote.html", False)]


@pytest.mark.parametrize(("name", "offline"), PAGES, ids=[p for p, _ in PAGES])
def test_axe_and_html_codesniffer_find_nothing(browser, pages, name, offline):
    page = Page(browser, pages / name, offline=offline,
                ready="document.readyState == 'complete'" if name == "hote.html" else None)
    try:
        assert page.errors == []
        assert axe_violations(page.page) == []
        assert htmlcs_errors(page.page) == []
        if name == "hote.html":  # the map inside its frame passes too
            frame = page.page.frames[1]
            frame.wait_for_function("window.L !== undefined")
            assert axe_violations(frame) == [] and htmlcs_errors(frame) == []
    finally:
        page.page.close()


def test_the_page_is_french_titled_and_zoomable(browser, pages):
    page = Page(browser, pages / "demo" / "carte.html", offline=False)
    try:
        assert page.js("() => document.documentElement.lang") == "fr"
        assert page.js("() => document.title").startswith("Exemple fictif")
        viewport = page.js("() => document.querySelector('meta[name=viewport]').content")
        assert "user-scalable" not in viewport and "maximum-scale" not in viewport
        labels = page.js("""() => [...document.querySelectorAll(
            '.leaflet-control-zoom a, .leaflet-control-layers-toggle')].map(a => a.title)""")
        assert labels == ["Zoom avant", "Zoom arrière", "Couches de la carte"]
        assert page.js("() => document.querySelector('.leaflet-control-scale-line')"
                       ".textContent").endswith(("m", "km"))
    finally:
        page.page.close()


def test_a_keyboard_user_reaches_a_marker_opens_and_closes_its_popup(browser, pages):
    page = Page(browser, pages / "demo" / "carte.html", offline=False)
    kb = page.page.keyboard
    try:
        kb.press("Tab")
        assert page.js("() => document.activeElement.className") == "essqpv-skip"
        for _ in range(80):
            kb.press("Tab")
            if page.js("() => document.activeElement.classList.contains('essqpv-divicon')"):
                break
        else:
            pytest.fail("no marker reached with the keyboard")
        name = page.js("() => document.activeElement.getAttribute('aria-label')")
        assert " : " in name and ("quartier" in name or "Hors" in name)
        kb.press("Enter")
        page.page.wait_for_selector(".leaflet-popup")
        close = page.js("() => document.querySelector('.leaflet-popup-close-button')"
                        ".getAttribute('aria-label')")
        assert close == "Fermer la fenêtre"
        assert page.js("() => document.querySelector('.leaflet-popup h3').textContent") == \
            name.split(",")[0].split(" : ")[0]
        kb.press("Escape")
        page.page.wait_for_function("document.querySelectorAll('.leaflet-popup').length == 0")
        assert page.js("() => document.activeElement.getAttribute('aria-label')") == name
    finally:
        page.page.close()


def test_clusters_have_a_name_and_open_with_the_keyboard(browser, pages):
    page = Page(browser, pages / "national.html", offline=False)
    try:
        label = page.js("() => document.querySelector('.essqpv-cluster')"
                        ".getAttribute('aria-label')")
        assert "initiatives regroupées" in label and "Entrée pour zoomer" in label
        zoom = page.js("() => Object.values(window).find(v => v instanceof L.Map).getZoom()")
        page.page.focus(".essqpv-cluster")
        page.page.keyboard.press("Enter")
        assert page.zoom_above(zoom) > zoom
    finally:
        page.page.close()


#: The focused element: its tag, the text of its label (a layer's entry) and whether it is
#: checked.
FOCUSED = ("() => { const a = document.activeElement;"
           " return [a.tagName, (a.parentNode.textContent || '').trim(), !!a.checked]; }")


def test_search_and_layer_control_by_keyboard(browser, pages):
    page = Page(browser, pages / "demo" / "carte.html", offline=False)
    kb = page.page.keyboard
    try:
        page.page.focus(".essqpv-search input")
        kb.type("Recyclerie")
        kb.press("Enter")
        page.page.wait_for_selector(".leaflet-popup h3")
        assert "Recyclerie" in page.js(
            "() => document.querySelector('.leaflet-popup h3').textContent")
        kb.press("Escape")
        rows = page.js("() => document.querySelectorAll('#essqpv-rows tr').length")
        page.page.focus(".leaflet-control-layers-toggle")
        kb.press("Enter")
        # a theme's checkbox: unchecking it hides its rows from the table
        page.page.locator(".leaflet-control-layers-overlays label",
                          has_text="Recyclerie").locator("input").focus()
        count = "() => document.querySelectorAll('#essqpv-rows tr').length"
        kb.press("Space")
        page.until(f"n => ({count})() < n", rows)
        assert page.js(count) < rows
        page.settle()
        assert page.js(FOCUSED) == ["INPUT", "Recyclerie (4)", False]
        kb.press("Space")
        page.until(f"n => ({count})() == n", rows)
        assert page.js(count) == rows, (page.js(FOCUSED), page.errors)
        # a layer shown or hidden by the page itself (the search showing a hidden theme)
        # makes Leaflet rebuild the list: the keyboard stays on its entry
        page.settle()
        page.js(f"() => {{ const m = {MAP}, g = window[window.essqpv.sites[0].g];"
                " m.removeLayer(g); m.addLayer(g); }")
        assert page.js(FOCUSED) == ["INPUT", "Recyclerie (4)", True]
    finally:
        page.page.close()


#: Opens the layer list as Enter on its button does, and clicks the « Recyclerie » entry in
#: the same task, while Leaflet still cancels the clicks in the freshly opened list: from
#: the keyboard (``element.click()``, detail 0, as Space does) or a stray pointer (detail 1).
CLICK_AT_ONCE = """detail => {
    const toggle = document.querySelector('.leaflet-control-layers-toggle');
    toggle.dispatchEvent(new KeyboardEvent('keydown', {keyCode: 13, bubbles: true}));
    const input = [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
        .find(l => l.textContent.includes('Recyclerie')).querySelector('input');
    input.focus();
    if (detail === 0) { input.click(); }
    else { input.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true,
                                                        detail: detail})); }
}"""


@pytest.mark.parametrize(("detail", "ticked"), [(0, False), (1, True)],
                         ids=["keyboard", "stray-pointer"])
def test_an_entry_clicked_as_the_list_opens_tells_the_truth(browser, pages, detail, ticked):
    """Space on an entry as soon as the list opens hides its layer and unticks it; the stray
    click Leaflet cancels changes neither the list nor the map."""
    page = Page(browser, pages / "demo" / "carte.html", offline=False)
    count = "() => document.querySelectorAll('#essqpv-rows tr').length"
    try:
        rows = page.js(count)
        page.js(CLICK_AT_ONCE, detail)
        page.settle()  # runs after the tasks the click queued
        assert page.js(FOCUSED) == ["INPUT", "Recyclerie (4)", ticked]
        assert (page.js(count) == rows) is ticked
        assert page.errors == []
    finally:
        page.page.close()


def test_every_initiative_is_in_the_text_alternative(browser, pages):
    page = Page(browser, pages / "national.html", offline=False)
    try:
        more = page.page.locator("#essqpv-more")
        while more.is_visible():
            more.click()
        names = page.js("() => [...document.querySelectorAll('#essqpv-rows th')]"
                        ".map(th => th.textContent)")
        table = pd.read_csv(pages / "annuaire.csv", sep=";", dtype=str, keep_default_na=False)
        assert sorted(names) == sorted(table["nom"])
        unlocated = page.js("() => [...document.querySelectorAll('tr.essqpv-unlocated th')]"
                            ".map(th => th.textContent)")
        assert sorted(unlocated) == sorted(table["nom"][:5])
        caption = page.js("() => document.querySelector('#essqpv-caption').textContent")
        assert "795 sites localisés" in caption and "5 non localisés" in caption
        # choosing a row shows its marker
        page.page.locator("#essqpv-rows .essqpv-show").nth(10).click()
        page.page.wait_for_selector(".leaflet-popup h3", timeout=5000)
        shown = page.js("() => document.querySelector('.leaflet-popup h3').textContent")
        assert shown == names[10]
    finally:
        page.page.close()


def test_the_skip_link_leads_to_the_table(browser, pages):
    page = Page(browser, pages / "demo" / "carte.html", offline=False)
    try:
        page.page.keyboard.press("Tab")
        page.page.keyboard.press("Enter")
        assert page.js("() => location.hash") == "#essqpv-donnees"
        heading = page.js("() => document.querySelector('#essqpv-donnees h2').textContent")
        assert heading == "Données de la carte"
    finally:
        page.page.close()


def test_the_embed_snippet_has_a_title_and_a_text_version_link(pages):
    snippet = (pages / "iframe.html").read_text(encoding="utf-8")
    assert 'title="Annuaire national (synthétique)"' in snippet
    assert 'href="national.html#essqpv-donnees"' in snippet


def test_offline_the_map_says_where_it_is(browser, pages):
    """Without any tile, département and commune outlines and names are drawn, and the
    mini-map shows the départements."""
    page = Page(browser, pages / "demo" / "carte-autonome.html", offline=True)
    try:
        # outlines are drawn on a canvas in their own pane, darker once tiles failed
        assert page.js("() => document.querySelectorAll("
                       "'.leaflet-essqpv-context-pane canvas').length") == 1
        page.page.wait_for_selector(".leaflet-container.essqpv-no-tiles", state="attached")
        page.settle()  # the outlines redrawn in their darker style
        drawn = page.js("""() => { const c = document.querySelector(
            '.leaflet-essqpv-context-pane canvas'); const d = c.getContext('2d')
            .getImageData(0, 0, c.width, c.height).data; let n = 0;
            for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) { n++; } } return n; }""")
        assert drawn > 2000  # pixels of outline
        page.js("() => { Object.values(window).find(v => v instanceof L.Map)"
                ".setView([48.93, 2.36], 12); }")
        page.settle()
        visible = page.js("""() => [...document.querySelectorAll('.essqpv-com-name span')]
            .filter(s => s.offsetParent !== null).map(s => s.textContent)""")
        assert "Saint-Denis" in visible and "Aubervilliers" in visible
        page.js("() => { Object.values(window).find(v => v instanceof L.Map).setZoom(7); }")
        page.settle()
        deps = page.js("""() => [...document.querySelectorAll('.essqpv-dep-name span')]
            .filter(s => s.offsetParent !== null).map(s => s.textContent)""")
        assert "Seine-Saint-Denis" in deps and "Gironde" in deps
        assert page.js("() => document.querySelectorAll('.essqpv-minimap path').length") > 5
        legend = page.js("() => document.querySelector('.essqpv-legend').textContent")
        assert "Sites d'une même initiative" in legend and "Limite de département" in legend
    finally:
        page.page.close()


@pytest.fixture(scope="module")
def aggregated(pages):
    """The national directory drawn the way big files are: clusters made in the page per
    screen cell, no Leaflet object per site (the threshold lowered to 0 for the test)."""
    from geo.study import Study, run_study
    from geo.write.maps import make_map

    run = run_study(Study(initiatives=pages / "annuaire.csv"))
    fmap = make_map(run.result, run.qpv, theme_column="theme", name_column="nom",
                    id_column="id_initiative", title="Annuaire agrégé", aggregate_above=0)
    path = pages / "agrege.html"
    path.write_text(fmap.get_root().render(), encoding="utf-8")
    return path


def test_aggregated_maps_pass_the_checkers(browser, aggregated):
    page = Page(browser, aggregated, offline=False)
    try:
        assert page.errors == []
        assert page.js("() => typeof L.markerClusterGroup") == "undefined"  # not loaded
        assert axe_violations(page.page) == [] and htmlcs_errors(page.page) == []
    finally:
        page.page.close()


def test_aggregated_clusters_open_with_the_keyboard_down_to_markers(browser, aggregated):
    page = Page(browser, aggregated, offline=False)
    zoom = "() => Object.values(window).find(v => v instanceof L.Map).getZoom()"
    try:
        label = page.js("() => document.querySelector('.essqpv-cluster')"
                        ".getAttribute('aria-label')")
        assert "initiatives regroupées" in label
        before = page.js(zoom)
        page.page.focus(".essqpv-cluster")
        page.page.keyboard.press("Enter")
        assert page.zoom_above(before) > before
        # zoomed to street level, sites are markers with their name and relation
        page.js("() => { Object.values(window).find(v => v instanceof L.Map)"
                ".setView([48.9362, 2.3596], 16, {animate: false}); }")
        page.settle()
        names = page.js("() => [...document.querySelectorAll('.leaflet-marker-pane "
                        ".essqpv-divicon')].map(e => e.getAttribute('aria-label'))")
        assert names and all(" : " in n for n in names)
    finally:
        page.page.close()


def test_aggregated_search_and_table_show_the_site(browser, aggregated):
    page = Page(browser, aggregated, offline=False)
    try:
        popup_shows = ("name => { const h = document.querySelector('.leaflet-popup h3'); "
                       "return h !== null && h.textContent === name; }")
        page.page.focus(".essqpv-search input")
        page.page.keyboard.type("Structure 300")
        page.page.keyboard.press("Enter")
        page.page.wait_for_function(popup_shows, arg="Structure 300", timeout=10_000)
        page.page.keyboard.press("Escape")
        page.page.wait_for_function("document.querySelectorAll('.leaflet-popup').length == 0")
        name = page.js("() => document.querySelectorAll('#essqpv-rows th')[40].textContent")
        page.page.locator("#essqpv-rows .essqpv-show").nth(40).click()
        page.page.wait_for_function(popup_shows, arg=name, timeout=10_000)
        assert page.js("() => document.querySelectorAll('#essqpv-rows tr').length") == 500
    finally:
        page.page.close()
