"""Benchmark: linking 1 000 000 synthetic sites to the 1 584 bundled QPV 2024.

Prints sites per second for the full geometry step (implanted + nearby at 300 m + nearest
distance), the same with the output tables, the process's peak memory, and, in the same run,
the rate of a naive per-site loop over the polygons (on a sample) and of a plain
``geopandas.sjoin`` (implanted only). Run: ``python benchmarks/link.py [N]``.
"""

from __future__ import annotations

import resource
import sys
import time

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from geo.initiatives import Initiatives
from geo.link import link, link_points
from geo.qpv import load_qpv
from geo.vocabulary import Columns


def synthetic_sites(qpv: gpd.GeoDataFrame, n: int, seed: int = 0) -> np.ndarray:
    """Half spread uniformly over metropolitan France, 40 % around quartiers (urban
    clusters, σ ≈ 2 km), 10 % around the overseas quartiers."""
    rng = np.random.default_rng(seed)
    n_uniform, n_city = n // 2, int(n * 0.4)
    n_overseas = n - n_uniform - n_city
    lon = [rng.uniform(-4.8, 8.2, n_uniform)]
    lat = [rng.uniform(42.4, 51.0, n_uniform)]
    centres = qpv.geometry.representative_point()
    overseas = qpv["insee_dep"].str.len() == 3
    if not overseas.any():
        n_city += n_overseas
    for mask, k in ((~overseas, n_city), (overseas, n_overseas)):
        if not mask.any():
            continue
        pick = rng.integers(0, int(mask.sum()), k)
        c = centres[mask.to_numpy()]
        lon.append(c.x.to_numpy()[pick] + rng.normal(0, 0.025, k))
        lat.append(c.y.to_numpy()[pick] + rng.normal(0, 0.018, k))
    return shapely.points(np.concatenate(lon), np.concatenate(lat))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def naive_rate(points: np.ndarray, qpv: gpd.GeoDataFrame, sample: int = 300) -> float:
    """One site at a time, every polygon tested (what a first script would do)."""
    metro = qpv[qpv["insee_dep"].str.len() < 3].to_crs(2154).geometry.to_list()
    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    pts = [shapely.Point(*to_l93.transform(p.x, p.y)) for p in points[:sample]]
    start = time.perf_counter()
    for p in pts:
        inside = [i for i, poly in enumerate(metro) if poly.intersects(p)]
        distances = [poly.distance(p) for poly in metro]
        nearby = [i for i, d in enumerate(distances) if 0 < d <= 300]
        min(distances), inside, nearby
    return sample / (time.perf_counter() - start)


def main(n: int = 1_000_000) -> None:
    qpv = load_qpv()
    points = synthetic_sites(qpv, n)
    base = peak_mb()
    print(f"{n:,} sites synthétiques, {len(qpv)} QPV 2024 (peak RSS before: {base:.0f} MB)")

    start = time.perf_counter()
    links = link_points(points, qpv, distance=300)
    geometry_s = time.perf_counter() - start
    print(f"link_points (implanted + nearby 300 m + nearest): {geometry_s:.2f} s, "
          f"{n / geometry_s:,.0f} sites/s; implanted {len(links.implanted):,}, "
          f"nearby pairs {len(links.nearby):,}")

    sites = gpd.GeoDataFrame({"id": np.arange(n).astype(str)}, geometry=points, crs=4326)
    initiatives = Initiatives(sites=sites, path="synthetic", columns=Columns(id="id"))
    start = time.perf_counter()
    result = link(initiatives, qpv, distance=300)
    tables_s = time.perf_counter() - start
    print(f"link (with per-site, long, per-initiative, per-QPV, per-territory tables): "
          f"{tables_s:.2f} s, {n / tables_s:,.0f} sites/s; {result.summary()}")
    print(f"peak RSS: {peak_mb():.0f} MB")

    rate = naive_rate(points, qpv)
    print(f"naive per-site loop: {rate:,.0f} sites/s (on 300 sites) -> "
          f"link_points is {n / geometry_s / rate:,.0f}x faster")

    metro = qpv[qpv["insee_dep"].str.len() < 3].to_crs(2154)
    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    x, y = to_l93.transform(shapely.get_x(points), shapely.get_y(points))
    frame = gpd.GeoDataFrame(geometry=shapely.points(x, y), crs=2154)
    start = time.perf_counter()
    joined = gpd.sjoin(frame, metro, predicate="intersects")
    sjoin_s = time.perf_counter() - start
    print(f"plain geopandas.sjoin (implanted only, metropole): {sjoin_s:.2f} s, "
          f"{n / sjoin_s:,.0f} sites/s ({len(joined):,} matches)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
