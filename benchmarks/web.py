"""Benchmark: the web page, from upload to results, for a table of 1 000 initiatives.

Starts ``ess-qpv serve`` on 127.0.0.1 (as the tests do), creates a study, uploads a table of
N synthetic sites with coordinates across France (``benchmarks.link.synthetic_sites``), then
times: the upload (the page reads the table and detects its columns), the run (link, report,
the three maps and the print PDF), and the results page. With ``--adresses``, the rows
carry real BAN addresses instead (New Caledonia, as in ``benchmarks/geocode.py``), geocoded
online by a local addok started as the tests do.

    python benchmarks/web.py [N] [--adresses]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.link import synthetic_sites  # noqa: E402
from geo.qpv import load_qpv  # noqa: E402
from tests.web import WebServer  # noqa: E402

THEMES = ["recyclerie", "épicerie solidaire", "régie de quartier", "café associatif"]


def table(n: int, with_addresses: bool) -> bytes:
    lines = ["id_initiative;nom;theme;adresse;commune;latitude;longitude"]
    if with_addresses:
        from benchmarks.geocode import real_addresses

        for i, r in enumerate(real_addresses(n, seed=3).itertuples()):
            lines.append(f"B{i};Initiative {i};{THEMES[i % 4]};{r.adresse};{r.commune};;")
    else:
        for i, p in enumerate(synthetic_sites(load_qpv(), n, seed=3)):
            lines.append(f"B{i};Initiative {i};{THEMES[i % 4]};;;{p.y:.6f};{p.x:.6f}")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=1000)
    parser.add_argument("--adresses", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="essqpv-web-"))
    data = table(args.n, args.adresses)
    addok = None
    if args.adresses:
        from tests.addok import Addok

        addok = Addok(work / "addok", full_caledonia=True)
    server = WebServer(work / "etudes", work / "cache")
    try:
        client = server.session()
        client.page("/nouvelle")
        slug = client.post_form("/nouvelle", {"nom": "banc d'essai"}).url.split("/")[-2]
        client.page(f"/etudes/{slug}/import")
        start = time.perf_counter()
        r = client.post(f"{client.base}/etudes/{slug}/import",
                        data={"csrf_token": client.token},
                        files={"tableau": ("initiatives.csv", data)}, timeout=300)
        uploaded = time.perf_counter() - start
        assert r.ok, r.text[:500]
        client.page(f"/etudes/{slug}/parametres")
        form = {"source": "bundled-2024", "distance": "300", "score": "0.6", "format": "A4",
                "action": "lancer"}
        if addok:
            form.update(en_ligne="oui", url=addok.url)
        launched = time.perf_counter()
        client.post_form(f"/etudes/{slug}/parametres", form)
        state = client.wait(slug, timeout=1800)
        ran = time.perf_counter() - launched
        assert state["etat"] == "termine", state
        shown = time.perf_counter()
        assert client.page(f"/etudes/{slug}/resultats").ok
        results = time.perf_counter() - shown
        total = time.perf_counter() - start
        print(f"{args.n} rows ({len(data) / 1e3:.0f} KB"
              f"{', addresses geocoded online' if addok else ', with coordinates'}): "
              f"upload and column detection {uploaded:.2f} s, run {ran:.1f} s "
              f"(engine's own figure {state.get('duree')} s), results page {results:.2f} s; "
              f"upload to results {total:.1f} s")
    finally:
        server.stop()
        if addok:
            addok.stop()


if __name__ == "__main__":
    main()
