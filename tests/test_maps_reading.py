"""The interactive map as a reader meets it: names that never pile up, « Voir sur la carte »
and the search that take the reader to the street, popups clear of the title, a mini-map
that says where we are without tiles, and a page that still says something offline."""

from __future__ import annotations

import pytest

from geo import cli
from geo.qpv import load_qpv
from tests.browser import Page, axe_violations, htmlcs_errors
from tests.servers import ROOT_DATA
from tests.test_accessibility import national_directory

EXAMPLE = ROOT_DATA / "exemple" / "initiatives.csv"

#: The names shown on the map (départements, communes): their boxes, when visible in view.
VISIBLE_NAMES = """() => {
  const box = document.querySelector('.folium-map').getBoundingClientRect();
  return Array.from(document.querySelectorAll('.essqpv-dep-name span, .essqpv-com-name span'))
    .filter(s => {
      const st = getComputedStyle(s.parentElement), r = s.getBoundingClientRect();
      return st.display !== 'none' && getComputedStyle(s).visibility !== 'hidden' &&
        r.width > 0 && r.right > box.left && r.left < box.right && r.bottom > box.top &&
        r.top < box.bottom;
    }).map(s => { const r = s.getBoundingClientRect();
                  return [r.left, r.top, r.right, r.bottom, s.textContent]; });
}"""
MAP = "Object.values(window).find(v => v instanceof L.Map)"


def overlapping(names: list) -> list[tuple[str, str]]:
    return [(a[4], b[4]) for i, a in enumerate(names) for b in names[i + 1:]
            if min(a[2], b[2]) - max(a[0], b[0]) > 0.5
            and min(a[3], b[3]) - max(a[1], b[1]) > 0.5]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("lecture")
    assert cli.main(["map", str(EXAMPLE), "-o", str(out / "carte.html"), "--autonome",
                     "--title", "Exemple fictif – initiatives de l'ESS"]) == 0
    national_directory(out / "annuaire.csv", n=300)
    assert cli.main(["map", str(out / "annuaire.csv"), "-o", str(out / "national.html"),
                     "--autonome"]) == 0
    return out


def settle(page: Page) -> None:
    """Wait for the end of every move (the names are sorted out after it)."""
    page.page.wait_for_function(f"!{MAP}._animatingZoom && !{MAP}._panAnim?._inProgress")
    # Leaflet handles a resize at the next animation frame, and the names follow it
    page.js("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


@pytest.mark.parametrize("name", ["carte-autonome.html", "national-autonome.html"])
@pytest.mark.parametrize("viewport", [(1280, 860), (720, 480)])  # a page; the web's frame
def test_names_never_overlap_at_the_opening_view(browser, demo, name, viewport):
    page = Page(browser, demo / name, offline=True)
    try:
        page.page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        page.js(f"() => {{ {MAP}.invalidateSize({{animate: false}}); }}")
        settle(page)
        names = page.js(VISIBLE_NAMES)
        assert len(names) >= 5, names  # a France-wide view names its départements
        assert overlapping(names) == []
        # closer in, the communes: still none over another
        zoom_in = f"() => {{ {MAP}.setView([48.92, 2.40], 12, {{animate: false}}); }}"
        page.js(zoom_in)
        settle(page)
        # on a loaded machine the opening's late resize may put France back in view: ask again
        for _ in range(3):
            if page.js(f"() => {MAP}.getZoom()") == 12:
                break
            page.js(zoom_in)
            settle(page)
        names = page.js(VISIBLE_NAMES)
        assert len(names) >= 5 and overlapping(names) == []
        # with their article, as the COG writes them
        assert any(n[4] == "La Courneuve" for n in names), [n[4] for n in names]
        assert page.errors == []
    finally:
        page.page.close()


def test_names_go_first_to_the_places_that_hold_sites(browser, demo):
    """At the opening view, a département that holds sites keeps its name when it would
    clash with a neighbour without any."""
    page = Page(browser, demo / "carte-autonome.html", offline=True)
    try:
        settle(page)
        shown = {n[4].upper() for n in page.js(VISIBLE_NAMES)}
        hidden = page.js("""() => Array.from(document.querySelectorAll(
          '.essqpv-dep-name')).filter(e => e.style.visibility === 'hidden').map(
          e => e.textContent.toUpperCase())""")
        assert "PARIS" in hidden  # a small one squeezed by Seine-Saint-Denis, which holds sites
        for held in ("GIRONDE", "HAUTE-GARONNE", "HÉRAULT", "RHÔNE", "SEINE-SAINT-DENIS"):
            assert held in shown, (held, sorted(shown), hidden)
    finally:
        page.page.close()


@pytest.mark.parametrize("how", ["table", "search"])
def test_a_site_is_shown_at_street_level_with_its_quartier(browser, demo, how):
    page = Page(browser, demo / "carte-autonome.html", offline=True)
    try:
        if how == "table":
            page.page.get_by_role("button", name="Voir sur la carte : Épicerie solidaire du "
                                                 "Lac").click()
            popup = page.page.locator(".leaflet-popup-content")
            popup.wait_for()
        else:
            popup = page.search("Épicerie solidaire du Lac")
        settle(page)
        assert "Épicerie solidaire du Lac" in popup.inner_text()
        assert page.js(f"() => {MAP}.getZoom()") >= 15
        lac = load_qpv().set_index("code_qp").geometry["QN03307M"]
        x0, y0, x1, y1 = lac.bounds
        inside = page.js(f"""([s, w, n, e]) => {MAP}.getBounds().intersects(
            L.latLngBounds([s, w], [n, e]))""", [y0, x0, y1, x1])
        assert inside  # the quartier « Le Lac » is on screen around the site
        assert_clear_of_title(page)
    finally:
        page.page.close()


def assert_clear_of_title(page: Page) -> None:
    popup, title = page.js("""() => [
      document.querySelector('.leaflet-popup').getBoundingClientRect().toJSON(),
      document.querySelector('.essqpv-title').getBoundingClientRect().toJSON()]""")
    apart = (popup["right"] <= title["left"] or title["right"] <= popup["left"]
             or popup["bottom"] <= title["top"] or title["bottom"] <= popup["top"])
    assert apart, (popup, title)


def test_a_popup_never_opens_under_the_title(browser, demo):
    """A marker just under the title box: its popup pans the map so that it shows whole,
    below the title."""
    page = Page(browser, demo / "carte-autonome.html", offline=True)
    try:
        page.page.set_viewport_size({"width": 1000, "height": 700})
        # put the Bacalan site of the conciergerie under the title box, top right
        page.js(f"""() => {{
          const map = {MAP}, title = document.querySelector('.essqpv-title');
          const box = map.getContainer().getBoundingClientRect();
          const t = title.getBoundingClientRect();
          map.setView([44.88055, -0.5442], 16, {{animate: false}});
          const target = L.point(t.left + t.width / 2 - box.left, t.bottom - box.top + 12);
          const here = map.latLngToContainerPoint([44.88055, -0.5442]);
          map.panBy(here.subtract(target), {{animate: false}});
        }}""")
        settle(page)
        page.js("""() => {
          const m = Object.values(window.essqpv.markers).find(m => m.site.n.startsWith(
            'Conciergerie') && Math.abs(m.getLatLng().lat - 44.88055) < 1e-4);
          m.openPopup(); }""")
        page.page.locator(".leaflet-popup-content").wait_for()
        settle(page)
        assert_clear_of_title(page)
    finally:
        page.page.close()


def test_the_minimap_shows_the_land_without_tiles(browser, demo):
    page = Page(browser, demo / "carte-autonome.html", offline=True)
    try:
        page.page.wait_for_function(
            "document.querySelectorAll('.essqpv-minimap path').length > 20")
        fills = page.js("""() => Array.from(document.querySelectorAll('.essqpv-minimap path'))
          .map(p => [p.getAttribute('fill'), p.getAttribute('fill-opacity'),
                     p.getAttribute('stroke-width')])""")
        land = [f for f in fills if f[0] == "#f3f1ea" and f[1] == "1"]
        assert len(land) > 20, fills[:5]  # départements drawn as land, on a sea background
        assert all(float(f[2]) < 1 for f in land)  # with thin borders, not a black scribble
        frame = [f for f in fills if f[0] == "#c0392b"]
        assert len(frame) == 1  # the frame of the main map's view
        assert page.js("() => window.essqpv.miniZoom") >= 4  # France, not a speck of it
    finally:
        page.page.close()


def test_the_lighter_page_offline_says_to_open_the_self_contained_one(browser, demo):
    """carte.html without internet (its libraries come from CDNs) and without scripts at
    all: the data table is there, and the page names the file that works offline."""
    page = Page(browser, demo / "carte.html", offline=True,
                ready="document.readyState == 'complete'")
    try:
        assert page.js("() => window.L") is None
        note = page.page.locator("#essqpv-offline")
        assert note.is_visible()
        assert "« carte-autonome.html »" in note.inner_text()
        rows = page.page.locator("#essqpv-rows tr")
        assert rows.count() == 32  # every site, the unlocated ones last
        assert rows.filter(has_text="Épicerie solidaire du Lac").count() == 1
        assert "absente de la carte" in rows.nth(31).inner_text()
        assert "Initiatives de la carte\u00a0: 29 sites localisés" in page.page.locator(
            "#essqpv-caption").inner_text()
        # what is left of the page is still accessible
        assert axe_violations(page.page) == []
        assert htmlcs_errors(page.page) == []
    finally:
        page.page.close()
    context = browser.new_context(java_script_enabled=False)
    try:
        bare = context.new_page()
        bare.goto((demo / "carte-autonome.html").resolve().as_uri())
        assert bare.locator("#essqpv-rows tr").count() == 32
        assert bare.locator("#essqpv-offline").is_visible()
    finally:
        context.close()
    # online, the note goes away and the script's table takes the rows' place
    page = Page(browser, demo / "carte.html", offline=False)
    try:
        assert page.page.locator("#essqpv-offline").count() == 0
        assert page.page.locator("#essqpv-rows tr").count() == 32
        assert page.page.locator("#essqpv-rows button.essqpv-show").count() == 29
    finally:
        page.page.close()
