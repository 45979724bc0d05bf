"""Benchmark: a national map of the 1 584 QPV 2024 and 10 000 initiatives.

Prints the HTML size and the time until polygons and clusters are drawn in headless Chromium
(CDN assets served from their packaged copies, tiles blocked), next to a naive folium map of
the raw file (``folium.GeoJson`` + one ``folium.Marker`` per site) in the same run, and the
size of a département map. Run: ``python -m pip install -e ".[bench]"`` once (Chromium as
for the tests), then ``python benchmarks/maps.py [N_SITES]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
from folium.plugins import MarkerCluster

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.link import synthetic_sites  # noqa: E402
from geo import assets  # noqa: E402
from geo.initiatives import Initiatives  # noqa: E402
from geo.link import link  # noqa: E402
from geo.maps import make_map  # noqa: E402
from geo.qpv import load_qpv  # noqa: E402
from geo.sources import SOURCES, bundled_path  # noqa: E402
from tests.browser import ARGS, CHROMIUM  # noqa: E402

THEMES = ["conciergerie solidaire", "groupement d'achats", "régie de quartier", "recyclerie",
          "épicerie solidaire", "café associatif", "garage solidaire", "couveuse d'activité"]


def _naive_extra(url: str) -> Path | None:
    """jQuery, which folium's stock page needs (ours does not): from xstatic-jquery."""
    if url.startswith("https://code.jquery.com/jquery-3.7.1"):
        import xstatic.pkg.jquery as jquery

        return Path(jquery.BASE_DIR) / "jquery.min.js"
    return None


def draw_time(browser, path: Path, n_paths: int) -> float:
    """Seconds from navigation to the QPV paths and the markers/clusters being in the DOM."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})

    def route(r):
        local = assets.resolve(r.request.url) or _naive_extra(r.request.url)
        if r.request.url.startswith("file:"):
            r.continue_()
        elif local:
            r.fulfill(path=str(local))
        else:
            r.abort()

    page.route("**/*", route)
    start = time.perf_counter()
    page.goto(path.as_uri(), timeout=180_000)
    page.wait_for_function(
        f"document.querySelectorAll('.leaflet-overlay-pane path').length >= {n_paths} && "
        "document.querySelectorAll('.leaflet-marker-icon').length > 0", timeout=180_000,
        polling=50)
    seconds = time.perf_counter() - start
    page.close()
    return seconds


def main(n: int = 10_000) -> None:
    from playwright.sync_api import sync_playwright

    qpv = load_qpv()
    metro = qpv[qpv["insee_dep"].str.len() < 3]
    points = synthetic_sites(qpv, n, seed=1)  # 10 % of them overseas
    rng = np.random.default_rng(1)
    sites = gpd.GeoDataFrame({"id": [f"I{i}" for i in range(n)],
                              "nom": [f"Initiative {i}" for i in range(n)],
                              "theme": rng.choice(THEMES, n)}, geometry=points, crs=4326)
    initiatives = Initiatives(sites=sites, path="synthetic", id_column="id",
                              theme_column="theme", name_column="nom")
    out = Path(tempfile.mkdtemp(prefix="essqpv-bench-"))

    start = time.perf_counter()
    result = link(initiatives, qpv)
    fmap = make_map(result, qpv, theme_column="theme", name_column="nom", id_column="id",
                    bounds=tuple(metro.total_bounds))  # view: metropolitan France
    ours = out / "ours.html"
    ours.write_text(fmap.get_root().render(), encoding="utf-8")
    build_s = time.perf_counter() - start

    start = time.perf_counter()
    naive_map = folium.Map(location=[46.6, 2.4], zoom_start=6)
    raw = gpd.read_file(f"/vsigzip/{bundled_path(SOURCES['bundled-2024'].bundled)}")
    folium.GeoJson(raw.to_json(), name="QPV").add_to(naive_map)
    cluster = MarkerCluster().add_to(naive_map)
    for p, name in zip(points, sites["nom"], strict=True):
        folium.Marker([p.y, p.x], popup=name).add_to(cluster)
    naive = out / "naive.html"
    naive.write_text(naive_map.get_root().render(), encoding="utf-8")
    naive_build_s = time.perf_counter() - start

    dep = qpv[qpv["insee_dep"] == "93"]
    dep_sites = initiatives.sites.cx[2.28:2.58, 48.83:48.98]
    dep_map = make_map(link(Initiatives(sites=dep_sites.reset_index(drop=True), path="93",
                                        id_column="id", theme_column="theme",
                                        name_column="nom"), dep), dep, theme_column="theme",
                       name_column="nom", id_column="id")
    dep_html = out / "dep93.html"
    dep_html.write_text(dep_map.get_root().render(), encoding="utf-8")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ours_s = min(draw_time(browser, ours, len(qpv)) for _ in range(2))
        naive_s = draw_time(browser, naive, len(qpv))  # needs xstatic-jquery installed
        browser.close()

    mb = 1024 * 1024
    print(f"{len(qpv)} QPV, {n:,} initiatives; files in {out}")
    print(f"ess-qpv map : {ours.stat().st_size / mb:.2f} MB, built in {build_s:.1f} s, "
          f"drawn in {ours_s:.2f} s")
    print(f"naive folium (raw GeoJson + Marker per site): {naive.stat().st_size / mb:.2f} MB, "
          f"built in {naive_build_s:.1f} s, drawn in {naive_s:.2f} s")
    print(f"département map (93: {len(dep)} QPV, {len(dep_sites)} initiatives): "
          f"{dep_html.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
