from __future__ import annotations

import pytest

from geo import settings
from tests.browser import ARGS, CHROMIUM
from tests.servers import Server


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own cache and configuration folders and short retry waits."""
    from geo.web.security import CONFIG_ENV

    cache = tmp_path / "cache"
    monkeypatch.setenv(settings.CACHE_ENV, str(cache))
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "config"))
    monkeypatch.setattr(settings, "BACKOFF", 0.01)
    return cache


@pytest.fixture
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def addok(tmp_path_factory):
    """A real addok on 127.0.0.1 with real BAN data and fictional streets in real QPV."""
    from tests.addok import Addok

    server = Addok(tmp_path_factory.mktemp("addok"), with_filter_bug=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser), closed after the
    module even when a test fails."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
