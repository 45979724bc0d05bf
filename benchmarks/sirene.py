"""Benchmark: ``ess-qpv sirene`` on a synthetic national file in INSEE's formats.

Generates (once, in the folder given, else a temporary one) a geolocation file of N rows
(default 35 million, Parquet, INSEE's columns) and the legal units behind them: 45 % of the
establishments in cities (inside, just outside or 0.5–3 km around real quartiers), 45 % spread
over metropolitan France, 10 % in the five overseas départements, each row in INSEE's
projection for its territory (EPSG 2154, 5490, 2972, 2975, 4471); 2 % without coordinates,
1 % masked. Then runs the command with the default engine (and ``--moteur dask`` with
``--dask``) and prints rows/s, wall time and the peak memory of the whole process tree.

    python benchmarks/sirene.py [N] [--dossier DIR] [--dask]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.qpv import load_qpv  # noqa: E402
from tests.sirene_files import anchors, geoloc_chunk, units_chunk  # noqa: E402

CHUNK = 1_000_000


def generate(folder: Path, n: int) -> tuple[Path, Path]:
    import pyarrow as pa
    from pyarrow import parquet

    geoloc, units = folder / f"geoloc-{n}.parquet", folder / f"unites-{n}.parquet"
    if geoloc.exists() and units.exists():
        return geoloc, units
    rng = np.random.default_rng(35)
    a = anchors(load_qpv())
    n_units = max(1, int(n * 0.7))
    start = time.perf_counter()
    for path, make, total in ((geoloc, lambda f, k: geoloc_chunk(a, k, f, n_units, rng), n),
                              (units, lambda f, k: units_chunk(f, k, rng), n_units)):
        writer = None
        tmp = path.with_suffix(".tmp")
        for first in range(0, total, CHUNK):
            table = pa.Table.from_pandas(make(first, min(CHUNK, total - first)),
                                         preserve_index=False)
            writer = writer or parquet.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
        writer.close()
        tmp.rename(path)
    print(f"generated {n:,} establishments and {n_units:,} legal units in "
          f"{time.perf_counter() - start:.0f} s ({geoloc.stat().st_size / 1e9:.1f} GB + "
          f"{units.stat().st_size / 1e9:.1f} GB)")
    return geoloc, units


def tree_rss(pid: int) -> int:
    """Memory (bytes) of a process and all its descendants: the sum of their proportional
    set sizes (pages shared by forked workers counted once)."""
    total, todo = 0, [pid]
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(status.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
        todo.extend(children.get(p, []))
    return total


def run(geoloc: Path, units: Path, out: Path, *extra: str) -> tuple[float, int, str]:
    command = [sys.executable, "-m", "geo.cli", "sirene", str(geoloc), "--unites-legales",
               str(units), "-o", str(out), *extra]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    peak = [0]

    def watch() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss(process.pid))
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    printed, errors = process.communicate()
    watcher.join()
    if process.returncode:
        raise SystemExit(errors)
    return time.perf_counter() - start, peak[0], printed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=35_000_000)
    parser.add_argument("--dossier", type=Path, default=None)
    parser.add_argument("--dask", action="store_true")
    args = parser.parse_args()
    folder = args.dossier or Path(tempfile.mkdtemp(prefix="essqpv-sirene-"))
    folder.mkdir(parents=True, exist_ok=True)
    geoloc, units = generate(folder, args.n)
    engines = [("default", ())] + ([("dask", ("--moteur", "dask"))] if args.dask else [])
    for name, extra in engines:
        seconds, peak, printed = run(geoloc, units, folder / f"panorama-{name}.xlsx", *extra)
        print(f"{name:>7}: {args.n:,} rows in {seconds:.0f} s ({args.n / seconds:,.0f} rows/s), "
              f"peak memory {peak / 2**30:.2f} GiB")
        print("         " + printed.splitlines()[0])


if __name__ == "__main__":
    main()
