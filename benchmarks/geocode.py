"""Benchmark: geocoding 5 000 real BAN addresses with a local addok.

Starts addok (as the tests do) with the real BAN data of ``tests/data`` (New Caledonia,
40 874 house numbers), then geocodes 5 000 of its addresses with the batch CSV endpoint and,
in the same run, one request per address, and prints the ratio; then runs again from the warm
cache (requests made must be 0). Run: ``python benchmarks/geocode.py [N]``.
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo import geocode as gc  # noqa: E402
from geo.geoclient import MAX_RATE  # noqa: E402
from tests.addok import CALEDONIA, Addok  # noqa: E402


def real_addresses(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` house-number addresses drawn from the BAN import file."""
    rows = []
    for line in gzip.decompress(CALEDONIA.read_bytes()).splitlines():
        record = json.loads(line)
        if record.get("type") != "street":
            continue
        city = (record.get("city") or [""])[0]
        for number in record.get("housenumbers", {}):
            rows.append((f"{number} {record['name']}", city))
    pick = np.random.default_rng(seed).choice(len(rows), size=min(n, len(rows)), replace=False)
    return pd.DataFrame([{"id": str(i), "adresse": rows[k][0], "commune": rows[k][1]}
                         for i, k in enumerate(pick)])


def main(n: int = 5000) -> None:
    work = Path(tempfile.mkdtemp(prefix="essqpv-geocode-"))
    start = time.perf_counter()
    addok = Addok(work / "addok", full_caledonia=True)
    print(f"addok ready in {time.perf_counter() - start:.1f} s ({addok.url})")
    try:
        table = real_addresses(n)
        cache = gc.GeocodeCache(work / "batch.sqlite")
        start = time.perf_counter()
        batch = gc.geocode(table, geocoder=gc.Geocoder(addok.url, chunk_size=1000),
                           cache=cache)
        batch_s = time.perf_counter() - start
        geocoder = gc.Geocoder(addok.url, rate=1000)
        rows = [{"q": f"{a} {c}"} for a, c in zip(table["adresse"], table["commune"],
                                                  strict=True)]
        start = time.perf_counter()
        for row in rows:
            geocoder.search(row)
        single_s = time.perf_counter() - start
        start = time.perf_counter()
        warm = gc.geocode(table, geocoder=gc.Geocoder(addok.url), cache=cache)
        warm_s = time.perf_counter() - start
    finally:
        addok.stop()
    print(f"{len(table):,} real addresses; statuses: {batch.stats.counts}")
    print(f"batch CSV: {batch_s:.1f} s ({len(table) / batch_s:,.0f} addresses/s, "
          f"{batch.stats.requests} requests)")
    print(f"one request per address: {single_s:.1f} s ({len(table) / single_s:,.0f} "
          f"addresses/s, {len(rows)} requests, rate limit lifted)")
    print(f"ratio: batch is {single_s / batch_s:.1f}x faster")
    polite = len(rows) / MAX_RATE
    print(f"(against the national service, one request per address at its {MAX_RATE:g} "
          f"requests/s takes at least {polite:.0f} s: batch is then "
          f"{max(polite, single_s) / batch_s:.1f}x faster)")
    print(f"warm cache: {warm_s:.2f} s, requests made: {warm.stats.requests}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
