from __future__ import annotations

import pytest

from geo import settings
from tests.servers import Server


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own cache folder and short retry waits."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(settings.CACHE_ENV, str(cache))
    monkeypatch.setattr(settings, "BACKOFF", 0.01)
    return cache


@pytest.fixture
def server():
    s = Server()
    yield s
    s.stop()
