"""The command line's start-up, and ``ess-qpv link`` against a bare geopandas pipeline.

Prints the time of ``ess-qpv --help`` and of every sub-command's ``--help`` (best of five),
then links 200 000 synthetic sites (around real QPV 2024, CSV in, CSV out) with
``ess-qpv link`` and with the shortest geopandas script doing the same reading, joins
(inside, within 300 m, nearest) and writing, and prints the ratio.

    python benchmarks/cli.py [--sites 200000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.qpv import load_qpv  # noqa: E402

BARE = '''
import sys, pandas as pd, geopandas as gpd
from geo.qpv import load_qpv
table = pd.read_csv(sys.argv[1], sep=";", dtype=str, keep_default_na=False)
points = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(
    pd.to_numeric(table["longitude"]), pd.to_numeric(table["latitude"])), crs=4326).to_crs(2154)
qpv = load_qpv()[["code_qp", "geometry"]].to_crs(2154)
inside = gpd.sjoin(points, qpv, predicate="intersects", how="left")
near = gpd.sjoin(points, qpv, predicate="dwithin", distance=300, how="left")
nearest = gpd.sjoin_nearest(points, qpv, distance_col="distance_m", how="left")
out = table.assign(code_qp=inside.groupby(level=0)["code_qp"].first(),
                   qpv_nearby=near.groupby(level=0)["code_qp"].agg(lambda s: ";".join(s.dropna())),
                   distance_m=nearest.groupby(level=0)["distance_m"].first().round())
out.to_csv(sys.argv[2], sep=";", index=False)
'''


def best_of(command: list[str], n: int = 5) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def synthetic_sites(n: int, path: Path) -> None:
    """``n`` sites scattered within 2 km of randomly chosen real QPV (metropolitan)."""
    qpv = load_qpv()
    qpv = qpv[qpv["insee_dep"].str.len() == 2]
    rng = np.random.default_rng(0)
    centres = qpv.geometry.representative_point().to_numpy()[rng.integers(0, len(qpv), n)]
    lon = np.array([p.x for p in centres]) + rng.normal(0, 0.012, n)
    lat = np.array([p.y for p in centres]) + rng.normal(0, 0.008, n)
    pd.DataFrame({"id_initiative": np.arange(n).astype(str), "nom": "site",
                  "theme": rng.choice(["recyclerie", "épicerie", "tiers-lieu"], n),
                  "latitude": lat.round(6), "longitude": lon.round(6)}).to_csv(
        path, sep=";", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=200_000)
    args = parser.parse_args()
    exe = shutil.which("ess-qpv") or sys.exit("ess-qpv is not installed (pip install .)")
    print(f"ess-qpv --help: {best_of([exe, '--help']):.3f} s (best of 5)")
    for sub in ("demo", "init", "run", "qpv", "geocode", "link", "map"):
        print(f"ess-qpv {sub} --help: {best_of([exe, sub, '--help']):.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        synthetic_sites(args.sites, tmp / "sites.csv")
        start = time.perf_counter()
        subprocess.run([exe, "link", str(tmp / "sites.csv"), "-o", str(tmp / "ours.csv")],
                       check=True, capture_output=True)
        ours = time.perf_counter() - start
        (tmp / "bare.py").write_text(BARE, encoding="utf-8")
        start = time.perf_counter()
        subprocess.run([sys.executable, str(tmp / "bare.py"), str(tmp / "sites.csv"),
                        str(tmp / "bare.csv")], check=True, capture_output=True)
        bare = time.perf_counter() - start
    print(f"link on {args.sites:,} sites: ess-qpv link {ours:.1f} s, bare geopandas "
          f"{bare:.1f} s, ratio {ours / bare:.2f}")


if __name__ == "__main__":
    main()
