"""Fiches at the cost of a print: one page per initiative against the study's map and print.

Builds a directory of ~800 sites: the 485 real addresses of a Base Adresse Locale
(``tests/data/adresses-54084.csv``, Mont-Bonvillers: a village far from any quartier,
each address one initiative) and 315 sites around the quartiers of the bundled QPV 2024
(an initiative of one to three sites), then times, in one process after a warm-up run:

- the interactive map and the print (``carte`` + ``carte_impression``);
- the same with the fiches (``fiches.pdf``, no PNG/SVG export);
- the same with the fiches' PNG and SVG maps.

It prints each time and the fiches' cost relative to map + print (the target: map + print
+ fiches at most 4× map + print alone).

    python benchmarks/fiches.py [--sites 800] [--images] [--one-process]

Measured on a shared two-core machine (load 4 to 7, so the ratios are rough): map + print
7 to 13.5 s; before (each fiche's map drawn twice, PNG and SVG always written, text
measured by matplotlib) 1 354 s with 1 600 PNG/SVG files, ratio 190; after (map drawn
once, files for 40 initiatives at most, text measured from the font's advances, communes
looked up once) 380 s, ratio 32, fiches.pdf 12 MB. What remains is matplotlib: each page's
map (printmap's drawing, about 0.2 s) and its text (about 5 ms a text in the PDF).

Pages spread over the two cores (geo.write.pdfpages: forked workers, pypdf interleaving the
parts; 640 pages), on a calmer machine (load 1.5 to 2.5), map + print 4.9 to 5.0 s: one
process (``--one-process``) 126.7 s, ratio 25.6; two workers 94.6 s, ratio 19.5 (the
other engineers' jobs took part of the second core), fiches.pdf 12.4 MB either way, the
pages pixel-identical.

Maps drawn by geo.write.sitemaps (outlines, quartiers and sites projected once per CRS, cut per
page by shapely into one compound path per layer instead of ``GeoDataFrame.plot``; names
clear of the furniture by its known boxes and measured once per process; glyphs measured
without hinting), with a locator of the département on every panel. Per page, CPU time
in one process (64 pages of the 640, same machine state): 120 ms to build and 106 ms to
write before; 44 ms and 75 ms after. Whole benchmark on a loaded machine (others' jobs,
load 3 to 8; the wall-clock ratios follow the load more than the code): the new code
170.9 s (map + print 5.2 s, ratio 32.8), then the old one 323.7 s (map + print 10.2 s,
ratio 31.7), then the new one again 146.1 s (map + print 5.0 s, ratio 28.9, 125 s of CPU
for the whole benchmark against 156 s for the old); fiches.pdf 12.4 -> 8.4 MB.
Then the text was what remained: matplotlib 3.11 shaped each line with libraqm twice, ~35
lines a page (~70 ms of the ~120 ms of CPU a page).

Pages drawn with reportlab (geo.write.vectorpage, pagelayout; issue 33): text measured from
DejaVu Sans' advances registered once, the maps built from sitemaps' projected and cut
shapes, names placed in page points; the PNG and SVG from the same drawing. Per page, CPU
in one process (107 of the 639 pages): 26 ms, then 22 ms once the maps read their tables
as arrays (against ~120 ms). Whole benchmark, same loaded machine (others' jobs, load 6
to 10), one run after the other: before 399.1 s (map + print 11.9 s, ratio 33.4,
fiches.pdf 8.4 MB); after 53.5 s (map + print 10.7 s, ratio 5.0, fiches.pdf 5.4 MB).
Then with the maps' tables read as arrays, the layers projected before the workers fork
and the initiatives' tables gathered in 1 s instead of 2.3 (load 6 to 9): map + print
13.3 s (5.0 s of CPU), with the fiches 48.2 s, ratio 3.63 (CPU 20.8 s, ratio 4.19);
fiches.pdf 5.4 MB. In one process the 639 pages take 14.7 s of CPU (23 ms a page,
initiatives' tables included); pypdf's interleaving of the workers' parts 0.3 s. What
remains is reportlab's own work (a Python call per point of a path, 9 ms a page to
write) and the outlines' points (each commune's border drawn with each neighbour's).
Under load the workers get no second core and the wall-clock ratio tends to the CPU's.
With reportlab's shape checking really off (its shapes imported after the setting), on a
calmer machine (load 2.4): map + print 4.2 s (4.4 s of CPU), with the fiches 10.9 s,
ratio 2.57 (CPU 16.5 s, ratio 3.80); pages in pdfpages' shared workers (load 4 to 5): map +
print 12.5 s (4.9 s CPU, a slow baseline), with the fiches 15.0 s (CPU 17.6 s, ratio
3.58). With the PNG and SVG maps of every initiative (``--images``, 1 282 files): 139 s
(1 354 s with matplotlib); a map costs ~0.25 s of CPU as a 300 dpi PNG, 0.03 s as SVG.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.qpv import load_qpv  # noqa: E402
from geo.study import Study, run_study  # noqa: E402

THEMES = ["recyclerie", "épicerie solidaire", "tiers-lieu", "régie de quartier",
          "café associatif", "garage solidaire"]


def directory(path: Path, n: int, seed: int = 0) -> Path:
    """Write a directory of ``n`` sites to ``path`` (CSV, ``;``): real BAL addresses, then
    sites around the bundled quartiers."""
    rng = np.random.default_rng(seed)
    bal = pd.read_csv(ROOT / "tests" / "data" / "adresses-54084.csv", sep=";", dtype=str)
    bal = bal.head(min(len(bal), n // 2 + 85))
    rows = [{"id_initiative": f"BAL-{k:04d}", "nom": f"ASSOCIATION {v.voie_nom.upper()}",
             "theme": THEMES[k % len(THEMES)],
             "adresse": f"{v.numero}{v.suffixe if isinstance(v.suffixe, str) else ''} "
                        f"{v.voie_nom}", "code_postal": "54260", "commune": v.commune_nom,
             "latitude": v.lat, "longitude": v.long}
            for k, v in enumerate(bal.itertuples())]
    qpv = load_qpv("bundled-2024")
    metro = qpv[qpv["insee_dep"].str.len() < 3]
    centres = metro.geometry.representative_point()
    k = 0
    while len(rows) < n:
        pick = int(rng.integers(0, len(centres)))
        c = centres.iloc[pick]
        for _ in range(int(rng.integers(1, 4))):
            rows.append({"id_initiative": f"QPV-{k:04d}", "nom": f"Initiative {k}",
                         "theme": THEMES[k % len(THEMES)], "adresse": "", "code_postal": "",
                         "commune": "", "latitude": round(c.y + rng.normal(0, 0.006), 6),
                         "longitude": round(c.x + rng.normal(0, 0.008), 6)})
        k += 1
    pd.DataFrame(rows[:n]).to_csv(path, sep=";", index=False)
    return path


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the page workers, the
    map's process), in seconds."""
    import resource

    return sum(r.ru_utime + r.ru_stime for r in (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN)))


def timed(table: Path, folder: Path, outputs: list[str], **options) -> tuple[float, int]:
    """Seconds to run the study writing ``outputs`` into ``folder``, and the files written.
    The CPU seconds it took are kept in :data:`CPU` (under load, the ratio that follows
    the code rather than the other jobs)."""
    from geo.vocabulary import OUTPUT

    folder.mkdir()
    study = Study(initiatives=table, outputs={k: folder / OUTPUT[k].file for k in outputs},
                  **options)
    start, cpu = time.perf_counter(), cpu_seconds()
    run = run_study(study)
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    del run
    CPU[folder.name] = cpu_seconds() - cpu
    return time.perf_counter() - start, files


#: CPU seconds of each run of :func:`timed`, by folder name.
CPU: dict[str, float] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=800)
    parser.add_argument("--images", action="store_true",
                        help="also time the fiches with their PNG and SVG maps")
    parser.add_argument("--one-process", action="store_true",
                        help="write the pages in this process only (no worker)")
    args = parser.parse_args()
    if args.one_process:
        from geo.write import pdfpages

        pdfpages.PAGES_PER_WORKER = 10**9
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table = directory(tmp / "sites.csv", args.sites)
        timed(table, tmp / "warm", ["tableau"])  # imports, outlines, projections
        maps = ["carte", "carte_impression"]
        base, _ = timed(table, tmp / "base", maps)
        print(f"map + print, {args.sites} sites: {base:.1f} s ({CPU['base']:.1f} s CPU)")
        with_fiches, n = timed(table, tmp / "fiches", [*maps, "fiches"])
        pages = tmp / "fiches" / "fiches.pdf"
        print(f"map + print + fiches (no PNG/SVG): {with_fiches:.1f} s, {n} files, "
              f"fiches.pdf {pages.stat().st_size / 1e6:.1f} MB; "
              f"ratio {with_fiches / base:.2f} (target ≤ 4); CPU {CPU['fiches']:.1f} s, "
              f"ratio {CPU['fiches'] / CPU['base']:.2f}")
        if args.images:
            from geo.write import fiches

            default = fiches.IMAGES_UP_TO
            fiches.IMAGES_UP_TO = 10**9
            try:
                images, n = timed(table, tmp / "images", [*maps, "fiches"])
            finally:
                fiches.IMAGES_UP_TO = default
            print(f"map + print + fiches with PNG/SVG maps: {images:.1f} s, {n} files; "
                  f"ratio {images / base:.2f}")


if __name__ == "__main__":
    main()
