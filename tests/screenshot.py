"""Screenshot of a generated map in headless Chromium, network blocked (for maps/)."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser import ARGS, CHROMIUM, Page


def screenshot(page_path: Path, png: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = Page(browser, page_path, offline=True)
        page.settle()
        page.page.screenshot(path=str(png))
        browser.close()


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
