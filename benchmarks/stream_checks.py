"""What judging every row costs a streamed link (``ess-qpv link --flux``).

The national directory of 3 747 sites (``tests/data/annuaire_national_grand.csv``: commune,
INSEE code, coordinates) repeated to ``--rows`` rows is linked chunk by chunk twice: as is
(every point checked against its own commune, :mod:`geo.streamchecks`), and without its
address columns (nothing to check against). Prints the seconds and rows per second of each,
then the time of :func:`geo.placecheck.contradictions` alone on the same rows.

    python benchmarks/stream_checks.py [--rows 375000] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.placecheck import contradictions  # noqa: E402
from geo.qpv import load_qpv  # noqa: E402
from geo.stream import stream_link  # noqa: E402

DIRECTORY = ROOT / "tests" / "data" / "annuaire_national_grand.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=375_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sites = pd.read_csv(DIRECTORY, sep=";", dtype=str, keep_default_na=False)
    table = pd.concat([sites] * (args.rows // len(sites) + 1), ignore_index=True)
    table = table.head(args.rows)
    qpv = load_qpv()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for label, frame in (("avec commune et code INSEE", table),
                             ("sans adresse", table[["id", "latitude", "longitude"]])):
            source = folder / "sites.csv"
            frame.to_csv(source, sep=";", index=False)
            start = time.perf_counter()
            linked = stream_link(source, folder / "out.csv", qpv, workers=args.workers)
            seconds = time.perf_counter() - start
            print(f"{label:>28} : {linked.rows} lignes en {seconds:.1f} s "
                  f"({linked.rows / seconds:,.0f} lignes/s), {linked.noted} remarques")
    lon = pd.to_numeric(table["longitude"]).to_numpy()
    lat = pd.to_numeric(table["latitude"]).to_numpy()
    contradictions(lon[:10], lat[:10], citycode=table["code_insee"].head(10))  # caches
    start = time.perf_counter()
    found = contradictions(lon, lat, citycode=table["code_insee"], city=table["commune"])
    print(f"{'contradictions seules':>28} : {len(table)} lignes en "
          f"{time.perf_counter() - start:.1f} s, {len(found)} contradictions")


if __name__ == "__main__":
    main()
