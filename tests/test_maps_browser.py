"""Generated maps in headless Chromium: drawn, clickable, searchable, offline, safe."""

from __future__ import annotations

import contextlib
import re

import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from geo import cli
from geo.qpv import load_qpv
from tests.browser import SETTLED, Page
from tests.servers import ROOT_DATA

EXAMPLE = ROOT_DATA / "exemple" / "initiatives.csv"
TILES = re.compile(r"tile\.openstreetmap\.fr|data\.geopf\.fr|arcgisonline\.com")

COUNT_QPV_PATHS = """() => Array.from(document.querySelectorAll(
  '.leaflet-overlay-pane path.leaflet-interactive')).filter(p => {
    const d = p.getAttribute('d'); return d && d !== 'M0 0'; }).length"""
MARKERS_IN_VIEW = """() => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  const bounds = map.getBounds();
  const expected = Object.values(window.essqpv.markers)
    .filter(m => bounds.contains(m.getLatLng())).length;
  let shown = 0;
  const box = map.getContainer().getBoundingClientRect();
  document.querySelectorAll('.leaflet-marker-pane .leaflet-marker-icon').forEach(el => {
    const r = el.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < box.left || x > box.right || y < box.top || y > box.bottom) { return; }
    const span = el.querySelector('.essqpv-cluster span, .marker-cluster span');
    shown += span ? parseInt(span.textContent, 10) : 1;
  });
  return [expected, shown, Object.keys(window.essqpv.markers).length];
}"""


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    assert cli.main(["map", str(EXAMPLE), "-o", str(out / "carte.html"), "--departement", "93",
                     "--self-contained", "--title", "Exemple fictif – Seine-Saint-Denis"]) == 0
    return out


@pytest.mark.parametrize("variant", ["carte.html", "carte-autonome.html"])
def test_map_draws_quartiers_and_every_site(browser, maps, variant):
    page = Page(browser, maps / variant, offline=variant.endswith("autonome.html"))
    try:
        assert page.errors == []
        assert page.js("() => typeof L.markerClusterGroup") == "function"
        assert page.js(COUNT_QPV_PATHS) == 75  # the view fits the 75 QPV of the département
        # markercluster animates the zoom to the territory: old and new icons overlap for a
        # moment, so the counts are compared once they have settled
        with contextlib.suppress(PlaywrightTimeout):  # the assertion below says what differs
            page.page.wait_for_function(
                f"(() => {{ const r = ({MARKERS_IN_VIEW})(); return r[0] === r[1]; }})()",
                timeout=5000, polling=100)
        expected, shown, total = page.js(MARKERS_IN_VIEW)
        assert total == 29  # every located site of the example has a marker
        assert expected > 0 and shown == expected
        labels = page.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        joined = " | ".join(labels)
        for name in ("Quartiers prioritaires 2024", "Bande de 300 m", "Épicerie solidaire",
                     "Régie de quartier", "Liens entre les sites"):
            assert name in joined
        assert "Sources : ANCT, INSEE" in page.page.inner_text(".leaflet-control-attribution")
        if variant.endswith("autonome.html"):
            # Offline: the only requests tried are base-map tiles.
            assert all(TILES.search(u) for u in page.requests), page.requests
        page.page.screenshot(path=str(maps / f"{variant}.png"))
    finally:
        page.page.close()


def test_click_on_a_quartier_opens_its_popup(browser, maps):
    page = Page(browser, maps / "carte-autonome.html", offline=True)
    try:
        qpv = load_qpv(departement="93").set_index("code_qp")
        inside = qpv.geometry["QN09341M"].representative_point()
        page.js("""([lat, lon]) => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            map.setView([lat, lon], 16, {animate: false}); }""", [inside.y, inside.x])
        page.settle()
        x, y = page.js("""([lat, lon]) => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            const p = map.latLngToContainerPoint([lat, lon]);
            const r = map.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top]; }""", [inside.y, inside.x])
        page.page.mouse.click(x, y)
        popup = page.page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert qpv.loc["QN09341M", "nom_qp"] in popup.inner_text()
        assert "QN09341M" in popup.inner_text()
    finally:
        page.page.close()


def test_search_finds_an_initiative_and_a_quartier(browser, maps):
    page = Page(browser, maps / "carte-autonome.html", offline=True)
    try:
        popup = page.search("Régie de quartier Franc-Moisin")
        assert "Régie de quartier Franc-Moisin" in popup.inner_text()
        assert "Implantée dans le quartier" in popup.inner_text()
        box = page.page.locator(".essqpv-search input")  # a second search: the popups
        box.fill("Grand Centre - Sémard")                 # change, their text tells which
        box.press("Enter")
        page.page.wait_for_function(
            "document.querySelector('.leaflet-popup-content') && document.querySelector("
            "'.leaflet-popup-content').innerText.includes('QN09338M')")
    finally:
        page.page.close()


def test_hostile_text_is_shown_not_run(browser, tmp_path):
    payloads = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
                "<svg onload=alert(1)>", "{{ 7*7 }} {% if 1 %}x{% endif %}"]
    source = tmp_path / "xss.csv"
    pd.DataFrame([{"id": i, "nom": text, "theme": text, "adresse": text,
                   "site_web": "javascript:alert(1)", "latitude": f"48.93{i}",
                   "longitude": f"2.35{i}"} for i, text in enumerate(payloads)]).to_csv(
        source, sep=";", index=False)
    out = tmp_path / "xss.html"
    assert cli.main(["map", str(source), "-o", str(out), "--self-contained", "--no-cluster"]) == 0
    page = Page(browser, tmp_path / "xss-autonome.html", offline=True)
    try:
        legend = page.page.inner_text(".essqpv-legend")
        for text in payloads:
            assert text in legend  # the theme is shown as text
            box = page.page.locator(".essqpv-search input")
            box.fill(text)
            box.press("Enter")
            popup = page.page.locator(".leaflet-popup-content", has_text=text).last
            popup.wait_for()
            assert popup.locator("a").count() == 0  # the javascript: link was refused
        page.settle()
        assert page.dialogs == [] and page.errors == []
        assert page.js("() => document.querySelectorAll('.leaflet-popup-content img').length") \
            == 0
    finally:
        page.page.close()


def test_sites_of_one_initiative_are_joined(browser, maps):
    page = Page(browser, maps / "carte-autonome.html", offline=True)
    try:
        lines = page.js("""() => { let n = 0; Object.values(window).forEach(v => {
            if (v instanceof L.FeatureGroup && !(v instanceof L.GeoJSON) && !v._featureGroup)
              v.eachLayer(l => { if (l instanceof L.Polyline) n++; }); }); return n; }""")
        assert lines == 1  # the conciergerie's three sites
    finally:
        page.page.close()


@pytest.fixture(scope="module")
def sized(tmp_path_factory):
    """The example's map with its years and indicators, markers sized by « emplois »."""
    out = tmp_path_factory.mktemp("sized")
    assert cli.main(["map", str(EXAMPLE), "-o", str(out / "carte.html"), "--self-contained",
                     "--taille", "emplois"]) == 0
    return out


def test_the_year_control_filters_the_sites_and_the_table(browser, sized):
    table = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    start = pd.to_numeric(table["annee"])
    end = pd.to_numeric(table["annee_fin"], errors="coerce")
    located = table["latitude"] != ""

    def open_in(year: int, only_located: bool = True) -> int:
        alive = (start <= year) & ~(end < year)
        return int((alive & located).sum() if only_located else alive.sum())

    page = Page(browser, sized / "carte-autonome.html", offline=True)
    try:
        assert page.errors == []
        control = page.page.get_by_label("Année", exact=True)
        assert control.evaluate("e => e.tagName") == "SELECT"
        rows = page.page.locator("#essqpv-rows tr")
        assert rows.count() == len(table)  # every site, located or not
        control.focus()  # a keyboard user picks a year
        control.select_option("2012")
        assert page.js("() => window.essqpv.year") == 2012
        expected = open_in(2012, only_located=False)
        page.page.wait_for_function(
            f"document.querySelectorAll('#essqpv-rows tr').length === {expected}")
        caption = page.page.inner_text("#essqpv-caption")
        assert "ouvertes en 2012" in caption and f"\u00a0: {open_in(2012)} sites" in caption
        # the markers on the map follow: the open sites only (clusters off: sized symbols)
        shown = page.js("""() => Object.values(window.essqpv.markers)
            .filter(m => m._map).length""")
        assert shown == open_in(2012)
        # a site closed in 2019 (ESS-013) is shown in 2019, not in 2020
        control.select_option("2019")
        page.page.wait_for_function(
            f"document.querySelectorAll('#essqpv-rows tr').length === {open_in(2019, False)}")
        assert "Porte de Vanves" in page.page.inner_text("#essqpv-rows")
        control.select_option("2020")
        page.page.wait_for_function(
            f"document.querySelectorAll('#essqpv-rows tr').length === {open_in(2020, False)}")
        assert "Porte de Vanves" not in page.page.inner_text("#essqpv-rows")
        control.select_option("")
        page.page.wait_for_function(
            f"document.querySelectorAll('#essqpv-rows tr').length === {len(table)}")
        assert page.errors == []
    finally:
        page.page.close()


def test_indicators_in_popups_and_proportional_symbols(browser, sized):
    page = Page(browser, sized / "carte-autonome.html", offline=True)
    try:
        # the popup of a site says what it brings and since when
        page.js("""() => { const m = Object.values(window.essqpv.markers)
            .find(m => m.site.n === 'Régie de quartier Tonkin'); m.openPopup(); }""")
        popup = page.page.locator(".leaflet-popup-content").inner_text()
        # the columns' French labels, never the raw headers (« benevoles »)
        assert "Emplois\u00a0: 18" in popup and "Bénévoles\u00a0: 5" in popup
        assert "benevoles" not in popup
        assert "Ouvert depuis 2006" in popup
        # the area of each symbol follows « emplois »: 21 jobs (Grand Mirail) is the largest
        sizes = page.js("""() => Object.fromEntries(Object.values(window.essqpv.markers)
            .map(m => [m.site.n, m.options.icon.options.iconSize[0]]))""")
        assert sizes["Régie de quartier Grand Mirail"] > sizes["Régie de quartier Tonkin"] > \
            sizes["Recyclerie des Buers"]
        assert sizes["Régie de quartier Grand Mirail"] == 56
        ratio = (sizes["Régie de quartier Tonkin"] / 56) ** 2
        assert ratio == pytest.approx(18 / 21, abs=0.02)
        legend = page.page.inner_text(".essqpv-legend")
        assert "Taille\u00a0: Emplois" in legend and "20" in legend
        # the table has the years and the indicators
        headers = page.page.locator(".essqpv-table thead th").all_inner_texts()
        assert "Années" in headers and "Indicateurs" in headers
    finally:
        page.page.close()


#: The boxes of the map's controls, in page pixels: the map, the legend, the search field,
#: and every other control (title, buttons, layers).
CONTROL_BOXES = """() => {
  const box = e => { const r = e.getBoundingClientRect();
                     return [r.left, r.top, r.right, r.bottom]; };
  const search = document.querySelector('.essqpv-search');
  return {map: box(document.querySelector('.folium-map')),
          legend: box(document.querySelector('.essqpv-legend')),
          search: box(search.querySelector('input')),
          others: [...document.querySelectorAll('.leaflet-control')]
            .filter(c => !c.contains(search) && c.offsetParent !== null).map(c => [
              c.className, box(c)])};
}"""


def _overlap(a, b) -> float:
    """Area shared by two boxes (left, top, right, bottom)."""
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def _open_at(browser, path, width: int, height: int):
    """The offline page opened at a screen size (the page's own layout decides at opening)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
               else r.abort())
    page.goto(path.resolve().as_uri())
    page.wait_for_function("window.L !== undefined && document.readyState == 'complete' && "
                           "window.essqpv.pending === 0")
    page.wait_for_function(SETTLED)
    return page, errors


def test_on_a_phone_the_map_comes_first(browser, sized):
    """At 390×844 the legend starts folded behind its button (at most 15 % of the map), no
    control covers the search field, names of places stay above the markers; the button
    opens the legend. At 1280×860 the legend is open."""
    page, errors = _open_at(browser, sized / "carte-autonome.html", 390, 844)
    try:
        boxes = page.evaluate(CONTROL_BOXES)
        m = boxes["map"]
        area = (m[2] - m[0]) * (m[3] - m[1])
        assert _overlap(boxes["legend"], m) <= 0.15 * area, boxes["legend"]
        for name, other in boxes["others"]:
            assert _overlap(boxes["search"], other) == 0, (name, other, boxes["search"])
        fold = page.get_by_role("button", name="Légende")
        assert fold.get_attribute("aria-expanded") == "false"
        fold.click()
        assert fold.get_attribute("aria-expanded") == "true"
        assert "Initiatives par thème" in page.inner_text(".essqpv-legend")
        names, markers = page.evaluate("""() => [
          getComputedStyle(document.querySelector('.leaflet-essqpv-places-pane')).zIndex,
          getComputedStyle(document.querySelector('.leaflet-marker-pane')).zIndex]""")
        assert int(names) > int(markers)
        assert errors == []
    finally:
        page.close()
    page, errors = _open_at(browser, sized / "carte-autonome.html", 1280, 860)
    try:
        assert page.get_by_role("button", name="Légende").get_attribute("aria-expanded") \
            == "true"
        assert "Initiatives par thème" in page.inner_text(".essqpv-legend")
        assert errors == []
    finally:
        page.close()


def test_the_embed_snippet_works_as_its_comment_says(browser, tmp_path):
    """Without --embed-url the snippet points to a placeholder and says which file to
    publish; done as it says (the file published on a web server, the placeholder replaced
    by its address, the lines pasted in a page of the same site), the map shows in the
    frame with its markers."""
    import functools
    import http.server
    import threading

    from geo.write.maps import EMBED_PLACEHOLDER

    out = tmp_path / "sortie"
    assert cli.main(["map", str(EXAMPLE), "-o", str(out / "carte.html"), "--self-contained",
                     "--embed", str(out / "extrait.html")]) == 0
    snippet = (out / "extrait.html").read_text(encoding="utf-8")
    published = re.search(r"Publiez le fichier « ([^»]+) »", snippet).group(1)
    assert published == "carte-autonome.html"
    site = tmp_path / "site"
    (site / "docs").mkdir(parents=True)
    (site / "docs" / "carte-ess.html").write_bytes((out / published).read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        pasted = snippet.replace(EMBED_PLACEHOLDER + published, f"{base}/docs/carte-ess.html")
        assert EMBED_PLACEHOLDER not in pasted
        (site / "page.html").write_text(
            '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Notre '
            f"association</title></head><body><h1>Nos actions</h1>{pasted}</body></html>",
            encoding="utf-8")
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        try:
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base)
                       else r.abort())
            page.goto(f"{base}/page.html")
            frame = page.frame_locator("iframe")
            frame.locator(".folium-map.leaflet-container").wait_for()
            frame.locator(".leaflet-marker-icon").first.wait_for()
            assert page.locator("iframe").bounding_box()["height"] == 600
            link = page.get_by_role("link", name=re.compile("version texte"))
            assert link.get_attribute("href") == f"{base}/docs/carte-ess.html#essqpv-donnees"
        finally:
            page.close()
    finally:
        server.shutdown()
        server.server_close()


LONG_TITLE = ("Initiatives de l’économie sociale et solidaire et quartiers prioritaires de la "
              "politique de la ville en Seine-Saint-Denis, Paris et Hauts-de-Seine, édition 2026")

#: The title box's lines of text, by what the reader sees of each: whole, cut, or hidden
#: (clipped by the box or by an element of it whose overflow is hidden).
TITLE_LINES = """() => {
  const box = document.querySelector('.essqpv-title');
  const range = document.createRange();
  const seen = {whole: 0, cut: 0, hidden: 0};
  const lines = new Map();
  const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.offsetParent && node.parentElement !== box) { continue; }
    let clip = [-1e9, -1e9, 1e9, 1e9];
    for (let e = node.parentElement; e; e = e === box ? null : e.parentElement) {
      if (getComputedStyle(e).overflowY !== 'visible') {
        const r = e.getBoundingClientRect();
        clip = [Math.max(clip[0], r.left), Math.max(clip[1], r.top),
                Math.min(clip[2], r.right), Math.min(clip[3], r.bottom)];
      }
    }
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.height > 0) { lines.set(Math.round(r.top), [r.top, r.bottom, clip]); }
    }
  }
  for (const [top, bottom, clip] of lines.values()) {
    if (top >= clip[1] - 0.5 && bottom <= clip[3] + 0.5) { seen.whole += 1; }
    else if (bottom <= clip[1] || top >= clip[3]) { seen.hidden += 1; }
    else { seen.cut += 1; }
  }
  return seen;
}"""


@pytest.fixture(scope="module")
def phone(tmp_path_factory):
    """The example's map under a long title, markers sized by « emplois »."""
    out = tmp_path_factory.mktemp("phone")
    assert cli.main(["map", str(EXAMPLE), "-o", str(out / "carte.html"), "--self-contained",
                     "--taille", "emplois", "--title", LONG_TITLE]) == 0
    return out


def test_on_a_phone_a_long_title_takes_two_lines(browser, phone):
    """At 390×844 a long title shows two whole lines ending in an ellipsis (no third line
    cut in half), clear of the search field and of the layer control; it is whole in its
    tooltip, on a tap (until the next one) and for screen readers (the page's <h1>). The
    other phone items hold under it: the legend folded (≤ 15 % of the map), no control over
    the search field, names above the markers, popups in the columns' French labels."""
    page, errors = _open_at(browser, phone / "carte-autonome.html", 390, 844)
    try:
        assert page.evaluate(TITLE_LINES) | {"hidden": 0} == {"whole": 2, "cut": 0,
                                                             "hidden": 0}
        assert page.evaluate(TITLE_LINES)["hidden"] > 0
        assert page.evaluate("""() => [...document.querySelectorAll('.essqpv-title *')]
            .some(e => getComputedStyle(e).webkitLineClamp === '2')""")
        title = page.locator(".essqpv-title")
        assert title.get_attribute("title").startswith(LONG_TITLE + " – ")  # and its note
        assert title.get_attribute("aria-hidden") == "true"
        assert page.inner_text("h1") == LONG_TITLE
        boxes = page.evaluate(CONTROL_BOXES)
        m = boxes["map"]
        assert _overlap(boxes["legend"], m) <= 0.15 * (m[2] - m[0]) * (m[3] - m[1])
        others = dict((name.split()[0], box) for name, box in boxes["others"])
        for name, box in boxes["others"]:
            assert _overlap(boxes["search"], box) == 0, (name, box, boxes["search"])
        assert _overlap(others["essqpv-title"], others["leaflet-control-layers"]) == 0
        title.click()  # a tap shows the whole title and its note; the next one folds it
        seen = page.evaluate(TITLE_LINES)
        assert seen["whole"] > 4 and seen["cut"] == seen["hidden"] == 0, seen
        opened = page.evaluate(CONTROL_BOXES)  # the search field moved down, uncovered
        for name, box in opened["others"]:
            assert _overlap(opened["search"], box) == 0, (name, box, opened["search"])
        title.click()
        assert page.evaluate(TITLE_LINES)["whole"] == 2
        names, markers = page.evaluate("""() => [
          getComputedStyle(document.querySelector('.leaflet-essqpv-places-pane')).zIndex,
          getComputedStyle(document.querySelector('.leaflet-marker-pane')).zIndex]""")
        assert int(names) > int(markers)
        page.evaluate("""() => { const m = Object.values(window.essqpv.markers)
            .find(m => m.site.n === 'Régie de quartier Tonkin'); m.openPopup(); }""")
        popup = page.locator(".leaflet-popup-content").inner_text()
        assert "Bénévoles\u00a0: 5" in popup and "benevoles" not in popup
        assert errors == []
    finally:
        page.close()
