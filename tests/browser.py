"""Headless Chromium (Debian's) driven by Playwright; CDN assets answered from local copies."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from geo.write import assets

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


#: The page's Leaflet map, in a page script.
MAP = "Object.values(window).find(v => window.L && v instanceof L.Map)"
#: True once the map (if any) stands still after two painted frames and a queued task.
SETTLED = f"""() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(
    () => setTimeout(() => {{
        const map = {MAP};
        done(!map || !(map._animatingZoom || map._flyToFrame ||
                       (map._panAnim && map._panAnim._inProgress)));
    }}, 0))))"""


class Page:
    """A page with network control: ``offline`` blocks every request but the file itself;
    otherwise CDN assets are served from their packaged copies and the rest (tiles) fails."""

    def __init__(self, browser, path: Path, *, offline: bool, ready: str | None = None) -> None:
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 860})
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", lambda route: self._route(route, offline))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function(
            ready or "window.L !== undefined && document.readyState == 'complete' && "
                     "(!window.essqpv || window.essqpv.pending === 0)")
        self.settle()

    def settle(self) -> None:
        """Wait until the map stands still and the page has drawn: no zoom, pan or flight
        under way, two frames painted and the tasks queued before them run (the mini-map,
        the names placed after a move)."""
        self.page.wait_for_function(SETTLED)

    def until(self, code: str, arg=None, timeout: float = 15_000):
        """Wait until ``code(arg)`` is true in the page (the assertion that follows reads
        it again, and says what was wrong after ``timeout`` ms)."""
        from playwright.sync_api import TimeoutError as Timeout

        with contextlib.suppress(Timeout):
            self.page.wait_for_function(code, arg=arg, timeout=timeout)

    def zoom_above(self, zoom: float) -> float:
        """Wait until the map is zoomed in beyond ``zoom`` and stands still; its zoom."""
        self.page.wait_for_function(f"() => {MAP}.getZoom() > {float(zoom)!r}")
        self.settle()
        return self.js(f"() => {MAP}.getZoom()")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route, offline: bool) -> None:
        url = route.request.url
        if url.startswith("file:"):
            route.continue_()
            return
        self.requests.append(url)
        local = None if offline else assets.resolve(url)
        if local is not None:
            route.fulfill(path=str(local))
        else:
            route.abort()

    def search(self, text: str):
        """Type ``text`` in the map's search box and press Enter; return the popup it opens
        (once open)."""
        box = self.page.locator(".essqpv-search input")
        box.fill(text)
        box.press("Enter")
        popup = self.page.locator(".leaflet-popup-content")
        popup.wait_for()
        return popup

    def js(self, code: str, *args):
        return self.page.evaluate(code, *args)


#: The accessibility checkers (npm packages for the tests, installed by tests/setup.sh).
CHECKERS = Path(__file__).resolve().parent / "js" / "node_modules"


def _inject(page, script: Path) -> None:
    """Run a checker's script in the page from the test's side (through the DevTools
    protocol): a page whose Content-Security-Policy forbids inline scripts is checked as
    it is served."""
    page.evaluate(script.read_text(encoding="utf-8"))


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page (id, impact, nodes)."""
    _inject(page, CHECKERS / "axe-core" / "axe.min.js")
    return page.evaluate("""async () => {
      const r = await axe.run(document, {runOnly: {type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
      return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map(n => n.html.slice(0, 160))}));
    }""")


def htmlcs_errors(page) -> list[dict]:
    """HTML_CodeSniffer's WCAG2AA errors on the page (code, message, element)."""
    _inject(page, CHECKERS / "html_codesniffer" / "build" / "HTMLCS.js")
    return page.evaluate("""() => new Promise(resolve => {
      HTMLCS.process("WCAG2AA", document, () => {
        resolve(HTMLCS.getMessages().filter(m => m.type === HTMLCS.ERROR).map(m => ({
          code: m.code, msg: m.msg.slice(0, 200),
          html: (m.element.outerHTML || "").slice(0, 160)})));
      });
    })""")
