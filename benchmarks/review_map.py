"""The review's small maps: time and size of the background our server sends for each
doubtful site (:func:`geo.write.reviewmap.background`).

Every row of ``tests/data/annuaire_national.csv`` is taken as a review item (its point
proposed, its address typed), plus an address that names no place (all of France's
départements). Prints the median and worst time and JSON size, and the worst item.

    python benchmarks/review_map.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.qpv import load_qpv  # noqa: E402
from geo.write import reviewmap  # noqa: E402


def main() -> None:
    table = pd.read_csv(ROOT / "tests" / "data" / "annuaire_national.csv", sep=";",
                        dtype=str, keep_default_na=False)
    items = [{"latitude_proposee": r.latitude, "longitude_proposee": r.longitude,
              "adresse_saisie": f"{r.adresse} {r.code_postal} {r.commune}".strip()}
             for r in table.itertuples()]
    items.append({"adresse_saisie": "999 zzz qqq"})
    qpv = load_qpv(progress=False)
    reviewmap.background(reviewmap.view_of(items[0]), qpv)  # outlines read once
    measures = []
    for item in items:
        start = time.perf_counter()
        data = reviewmap.background(reviewmap.view_of(item), qpv)
        took = time.perf_counter() - start
        measures.append((took, len(json.dumps(data, separators=(",", ":"))), item))
    times = [m[0] for m in measures]
    sizes = [m[1] for m in measures]
    print(f"{len(items)} items: time median {statistics.median(times) * 1000:.0f} ms, "
          f"worst {max(times) * 1000:.0f} ms; size median {statistics.median(sizes) / 1000:.0f} "
          f"kB, worst {max(sizes) / 1000:.0f} kB")
    worst = max(measures, key=lambda m: m[1])
    print(f"largest: {worst[2]['adresse_saisie']!r}")


if __name__ == "__main__":
    main()
