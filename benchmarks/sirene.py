"""Benchmark: ``ess-qpv sirene`` on a synthetic national file in INSEE's formats, against
its floor.

Generates (once, in the folder given, else a temporary one) a geolocation file of N rows
(default 3 million) and the legal units behind them, as INSEE publishes them: zipped CSV
(``;`` for the geolocation, ``,`` for ``StockUniteLegale``), or Parquet with ``--parquet``.
45 % of the establishments are in cities (inside, just outside or 0.5–3 km around real
quartiers), 45 % spread over metropolitan France, 10 % in the five overseas départements,
each row in INSEE's projection for its territory (EPSG 2154, 5490, 2972, 2975, 4471); 2 %
without coordinates, 1 % masked.

The floor is Arrow alone decompressing and parsing the same files (the columns the run
reads), in this process. Then the command runs with the default engine (and
``--moteur dask`` with ``--dask``); printed: wall time, rows/s, the ratio run / floor and
the peak memory of the whole process tree; then, from a second run on a third of the rows
(200 000 at least: read as a big file, with the same grids), what a run costs whatever its
rows (starting, loading the quartiers, building the grids, writing) and what each row
costs, and from them the ratio of a national run (35 million rows). The memory of a
national run is bounded by the chunks, not by the rows: what grows with the rows is the ESS
units' lookup and the sirets kept to refuse duplicates (8 bytes a row each). The per-row
cost is the difference of two runs: on a loaded machine, keep the fastest of several runs
(``--repete``) and compare CPU, not wall time.

Measured (7 December 2026, 2 cores shared with five other sessions, load average 5 to 9:
wall times there mean little; CPU of the whole process tree, 1 M rows against 333 333, six
runs of each size for the old code and four for the new, taken in turn; medians, and the
range of the pairs in brackets; the floor 0.66 s of CPU per million rows, 0.45–0.9 s from
run to run):

- before (6b35b1b): 4.5 s of CPU per million rows (3.7–5.0), 4.9 s whatever the rows: at
  35 million rows about 7× the floor's CPU. A chunk of 150 000 rows went to PROJ (lonlat,
  15 %), link_points for the ESS establishments (25 %: each near pair measured twice, and
  the quartiers they are in searched though the cells settle it), the boundary cells'
  points tested one by one against the outlines (20 %), binary searches over the cells and
  the units (10 %), pandas string work (15 %), the per-commune and plg_qp24 counts (10 %).
- after: 2.1 s of CPU per million rows (1.8–3.1), 6.9 s whatever the rows (the quarter
  cells take 0.8 s more to build): at 35 million rows about 3.5× the floor's CPU (3.1× with
  the best pair), peak memory about 1.5 GiB (0.97 GiB at 1 M rows). The chunk's own work
  (``count_chunk``) went from 2.2 s to 1.3 s of CPU per million rows: cells kept as Arrow
  arrays from reading to counting, lookups by hash, plg_qp24 and communes looked up once
  per distinct code, near pairs measured once (``geo.link.nearby_points``), boundary cells
  cut in four, legal units filtered by Arrow before pandas. What is left: PROJ (0.3 s per
  million rows: every located row is converted to degrees), the near pairs' distances,
  the boundary points' tests; the fixed cost grew by 2 s, only 0.8 s of it explained.
- tried, then taken back (7–8 December 2026, load 4 to 11): rows settled in the
  projection INSEE gives them, before any degrees (cells of 4 km for land and sea, of
  100 m near the quartiers, 2 m margin; 77 % of the benchmark's rows settled there, tables
  identical). The chunk's own work fell from 1.27 to 0.92 s of CPU per million rows, but
  building the cells cost 3.9–4.6 s of CPU per run: whole runs were slower (1 M rows 12.6
  s of CPU against 9.0, 333 333 rows 10.7 against 7.3), the gain paying back only from
  about 12 million rows, i.e. about 4.1× the floor at 35 million rows at best, and 450
  lines more. What would reach 3×: keep the grids (in degrees, France's outline: about 4 s
  of CPU per run, the same for every run of a QPV generation and distance) in the
  on-disk cache, then cells in the source projection would pay from the first run.

    python benchmarks/sirene.py [N] [--dossier DIR] [--parquet] [--dask] [--morceaux K]
                                [--repete R]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.qpv import load_qpv  # noqa: E402
from geo.sirene import GEOLOC_COLUMNS, UL_COLUMNS  # noqa: E402
from tests.sirene_files import anchors, geoloc_chunk, units_chunk  # noqa: E402

CHUNK = 500_000
#: Rows of INSEE's geolocation file, and the fewest of the second file that tells what a
#: run costs whatever its rows (big enough to be read as a big file: 1 MB zipped at least).
NATIONAL, SMALL = 35_000_000, 200_000
GEOLOC_MEMBER = "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv"
UL_MEMBER = "StockUniteLegale_utf8.csv"


def generate(folder: Path, n: int, kind: str = "zip") -> tuple[Path, Path]:
    """The geolocation file and the legal units, zipped CSV or Parquet."""
    geoloc, units = folder / f"geoloc-{n}.{kind}", folder / f"unites-{n}.{kind}"
    if geoloc.exists() and units.exists():
        return geoloc, units
    rng = np.random.default_rng(35)
    a = anchors(load_qpv())
    n_units = max(1, int(n * 0.7))
    start = time.perf_counter()
    for path, make, total, member, sep in (
            (geoloc, lambda f, k: geoloc_chunk(a, k, f, n_units, rng), n, GEOLOC_MEMBER, ";"),
            (units, lambda f, k: units_chunk(f, k, rng), n_units, UL_MEMBER, ",")):
        tmp = path.with_suffix(".tmp")
        parts = (make(first, min(CHUNK, total - first)) for first in range(0, total, CHUNK))
        if kind == "zip":
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive, \
                    archive.open(member, "w", force_zip64=True) as out:
                for k, frame in enumerate(parts):
                    out.write(frame.to_csv(sep=sep, index=False, header=k == 0).encode())
        else:
            import pyarrow as pa
            from pyarrow import parquet

            writer = None
            for frame in parts:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                writer = writer or parquet.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            writer.close()
        tmp.rename(path)
    print(f"generated {n:,} establishments and {n_units:,} legal units in "
          f"{time.perf_counter() - start:.0f} s ({geoloc.stat().st_size / 1e6:.0f} MB + "
          f"{units.stat().st_size / 1e6:.0f} MB)")
    return geoloc, units


def arrow_floor(path: Path, columns: list[str]) -> float:
    """Seconds Arrow alone takes to decompress and parse ``path`` (its ``columns``)."""
    import pyarrow as pa
    from pyarrow import csv, parquet

    start = time.perf_counter()
    if path.suffix == ".parquet":
        for _ in parquet.ParquetFile(path).iter_batches(columns=columns):
            pass
        return time.perf_counter() - start
    with zipfile.ZipFile(path) as archive, archive.open(archive.namelist()[0]) as member:
        first = member.peek(4096).split(b"\n", 1)[0].decode()
        sep = max((";", ","), key=first.count)
        reader = csv.open_csv(member, read_options=csv.ReadOptions(block_size=1 << 24),
                              parse_options=csv.ParseOptions(delimiter=sep),
                              convert_options=csv.ConvertOptions(
                                  include_columns=columns,
                                  column_types={c: pa.string() for c in columns}))
        for _ in reader:
            pass
    return time.perf_counter() - start


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


def run(geoloc: Path, units: Path, out: Path, *extra: str
        ) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (the whole process tree), peak memory and printed text of
    the command."""
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    wall = time.perf_counter() - start
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime
    return wall, cpu, peak[0], printed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=3_000_000)
    parser.add_argument("--dossier", type=Path, default=None)
    parser.add_argument("--parquet", action="store_true")
    parser.add_argument("--dask", action="store_true")
    parser.add_argument("--morceaux", type=int, default=None)
    parser.add_argument("--repete", type=int, default=1)
    args = parser.parse_args()
    folder = args.dossier or Path(tempfile.mkdtemp(prefix="essqpv-sirene-"))
    folder.mkdir(parents=True, exist_ok=True)
    geoloc, units = generate(folder, args.n, "parquet" if args.parquet else "zip")
    floor = floor_cpu = float("inf")
    for _ in range(args.repete):
        cpu, start = time.process_time(), time.perf_counter()
        arrow_floor(geoloc, GEOLOC_COLUMNS)
        arrow_floor(units, UL_COLUMNS)
        floor = min(floor, time.perf_counter() - start)
        floor_cpu = min(floor_cpu, time.process_time() - cpu)
    print(f"  floor: Arrow alone reads both files in {floor:.1f} s ({floor_cpu:.1f} s of CPU)")
    chunks = ("--morceaux", str(args.morceaux)) if args.morceaux else ()
    engines = [("default", chunks)]
    if args.dask:
        engines.append(("dask", ("--moteur", "dask", *chunks)))
    # What a run costs whatever its rows (starting Python, loading the quartiers, building
    # the grids and France's outline, writing the workbook) and what each row costs: from a
    # second run on a file of the same kind, a third as long but big enough to be read as a
    # big one (the grids a big file uses are built whatever its rows: a small file's run
    # leaves them out and would count them with the rows).
    small_n = max(args.n // 3, SMALL)
    small = generate(folder, small_n, "parquet" if args.parquet else "zip")
    for name, extra in engines:
        # the fastest of ``--repete`` runs of each size, taken in turn (on a shared machine
        # one run's difference swings by a second of CPU per million rows)
        seconds = cpu = less = less_cpu = float("inf")
        peak = 0
        for _ in range(args.repete):
            s, c, p, printed = run(geoloc, units, folder / f"panorama-{name}.xlsx", *extra)
            seconds, cpu, peak = min(seconds, s), min(cpu, c), max(peak, p)
            s, c, _, _ = run(*small, folder / f"panorama-{name}-small.xlsx", *extra)
            less, less_cpu = min(less, s), min(less_cpu, c)
        print(f"{name:>7}: {args.n:,} rows in {seconds:.1f} s ({args.n / seconds:,.0f} rows/s)"
              f", {seconds / floor:.1f}× the floor ({cpu:.1f} s of CPU: "
              f"{cpu / floor_cpu:.1f}× the floor's), peak memory {peak / 2**30:.2f} GiB")
        per_row = (seconds - less) / (args.n - small_n)
        per_row_cpu = (cpu - less_cpu) / (args.n - small_n)
        fixed, fixed_cpu = seconds - per_row * args.n, cpu - per_row_cpu * args.n
        scale = NATIONAL / args.n
        national = fixed + per_row * NATIONAL
        national_cpu = fixed_cpu + per_row_cpu * NATIONAL
        print(f"         {small_n:,} rows in {less:.1f} s ({less_cpu:.1f} s of CPU); whatever "
              f"the rows: {fixed:.1f} s ({fixed_cpu:.1f} s of CPU); each million rows: "
              f"{per_row * 1e6:.2f} s ({per_row_cpu * 1e6:.2f} s of CPU), the floor "
              f"{floor / args.n * 1e6:.2f} s ({floor_cpu / args.n * 1e6:.2f} s of CPU)")
        print(f"         at 35 million rows: about {national / (floor * scale):.1f}× the floor "
              f"({national_cpu / (floor_cpu * scale):.1f}× its CPU)")
        # what grows with the rows beyond the chunks: the sirets kept to refuse duplicates
        # (8 bytes a row, twice while they are sorted)
        print(f"         at 35 million rows: about {(peak + 16 * (NATIONAL - args.n)) / 2**30:.2f}"
              " GiB")
        print("         " + printed.splitlines()[0])


if __name__ == "__main__":
    main()
