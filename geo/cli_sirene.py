"""``ess-qpv sirene``: the national panorama of the ESS and the quartiers from SIRENE."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ._console import say, wrote
from .vocabulary import DEFAULT_DISTANCE, DEFAULT_SOURCE


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sirene", help="panorama national : établissements de l'ESS (SIRENE) et QPV",
        description="Relie chaque établissement actif du fichier de géolocalisation SIRENE "
                    "de l'INSEE aux quartiers prioritaires, par morceaux et sur tous les "
                    "cœurs, et compte ceux de l'ESS par quartier, famille et section NAF, "
                    "avec leur part parmi les établissements actifs implantés.")
    parser.add_argument("geoloc", metavar="GEOLOC",
                        help="GeolocalisationEtablissement_Sirene_pour_etudes_statistiques "
                             "(.csv, .zip ou .parquet)")
    parser.add_argument("--unites-legales", dest="units", required=True, metavar="UL",
                        help="StockUniteLegale (.csv, .zip ou .parquet)")
    parser.add_argument("--etablissements", dest="establishments", metavar="ETAB",
                        help="StockEtablissement, pour l'état et l'activité de chaque "
                             "établissement (facultatif)")
    parser.add_argument("-o", "--sortie", dest="output", required=True, metavar="SORTIE",
                        help="classeur du panorama (.xlsx)")
    parser.add_argument("--par-qpv", dest="per_qpv", metavar="FICHIER",
                        help="tableau par quartier (.csv ou .parquet)")
    parser.add_argument("--carte", dest="map", metavar="FICHIER",
                        help="carte des quartiers selon leur nombre d'établissements de l'ESS "
                             "(.html autonome, sans internet)")
    parser.add_argument("--departement", action="append", default=[], metavar="CODE",
                        help="se limiter à ce département (répétable)")
    parser.add_argument("--distance", type=float, default=DEFAULT_DISTANCE,
                        help=f"distance de proximité en mètres (défaut : "
                             f"{DEFAULT_DISTANCE:g})")
    parser.add_argument("--source", default=DEFAULT_SOURCE, help="QPV (défaut : QPV 2024 "
                                                                 "fournis avec l'outil)")
    parser.add_argument("--moteur", dest="engine", choices=["local", "dask"], default="local",
                        help="local (tous les cœurs de cette machine, défaut) ou dask")
    parser.add_argument("--dask-scheduler", dest="scheduler", metavar="ADRESSE",
                        help="adresse d'un cluster Dask existant (sinon un cluster local)")
    parser.add_argument("--coeurs", dest="workers", type=int, default=None,
                        help="nombre de processus (défaut : tous les cœurs)")
    parser.add_argument("--morceaux", dest="chunk_rows", type=int, default=150_000,
                        help="lignes lues à la fois (défaut : 150 000 ; moins : moins de "
                             "mémoire)")
    parser.set_defaults(run=run_sirene)


def run_sirene(args: argparse.Namespace) -> int:
    from ._errors import InputError
    from .io import atomic_path, check_outputs, write_table, write_workbook
    from .qpv import load_qpv
    from .sirene import panorama
    from .stream import progress_bar, total_rows

    outputs = {"-o": args.output, "--par-qpv": args.per_qpv, "--carte": args.map}
    check_outputs(outputs, inputs=[args.geoloc, args.units, args.establishments])
    for flag, path, allowed in (("-o", args.output, (".xlsx",)),
                                ("--par-qpv", args.per_qpv, (".csv", ".parquet")),
                                ("--carte", args.map, (".html", ".htm"))):
        if path and Path(path).suffix.lower() not in allowed:
            raise InputError(f"extension impossible pour {flag} ; possibles : "
                             f"{', '.join(allowed)}.", path=Path(path).name)
    if args.chunk_rows < 1000:
        raise InputError("--morceaux : 1 000 lignes au moins.")
    qpv = load_qpv(args.source)
    start = time.perf_counter()
    result = panorama(args.geoloc, args.units, qpv, establishments=args.establishments,
                      distance=args.distance, departements=args.departement,
                      workers=args.workers, chunk_rows=args.chunk_rows, engine=args.engine,
                      scheduler=args.scheduler,
                      progress=_progress(progress_bar(total_rows(args.geoloc), "Établissements")))
    seconds = time.perf_counter() - start
    c = result.counts
    read = c.get("lignes_lues", 0)
    say(f"{read} lignes lues en {seconds:.1f} s ({read / max(seconds, 1e-9):,.0f} lignes/s)"
        .replace(",", "\u202f"))
    say(f"  établissements actifs : {c.get('etablissements_actifs', 0)} ; dont de l'ESS : "
        f"{c.get('etablissements_ess', 0)}")
    say(f"  sans coordonnées : {c.get('sans_coordonnees', 0)} ; non diffusibles (coordonnées "
        f"masquées) : {c.get('non_diffusibles', 0)}")
    if args.establishments:
        say(f"  absents de StockEtablissement : {c.get('absents_du_stock_etablissements', 0)}")
    _warn_coordinates(c)
    q = result.per_qpv
    say(f"  de l'ESS implantés dans un QPV : {int(q['etablissements_ess_implantes'].sum())} ; "
        f"à moins de {args.distance:g} m d'un QPV (paires quartier-établissement) : "
        f"{int(q['etablissements_ess_proximite'].sum())}")
    share = result.agreement.set_index("mesure")["valeur"]
    agree = share["part d'accord"]
    say(f"  accord avec plg_qp24 de l'INSEE : {agree:.2%} ({int(share['désaccords'])} "
        "désaccords)")
    import pandas as pd

    reading = [(k.replace("_", " "), v) for k, v in c.items()]
    write_workbook({"Par quartier": q, "Par territoire": result.per_territory,
                    "Accord INSEE": result.agreement, "Désaccords": result.disagreements,
                    "Lecture": pd.DataFrame(reading, columns=["mesure", "valeur"])},
                   args.output)
    wrote(args.output, "panorama : par quartier, par territoire, accord avec l'INSEE")
    if args.per_qpv:
        if args.per_qpv.lower().endswith(".csv"):
            write_table(q, args.per_qpv)
        else:
            _parquet(q, args.per_qpv)
        wrote(args.per_qpv, "tableau par quartier")
    if args.map:
        from .maps import choropleth_map

        shares = q.set_index("code_qp")
        details = shares.apply(lambda r: f"{r['etablissements_ess_proximite']} à proximité ; "
                               f"{r['etablissements_actifs_implantes']} établissements actifs "
                               "implantés" + (f" (part de l'ESS : {r['part_ess']:.0%})"
                                              if r['part_ess'] == r['part_ess'] else ""),
                               axis=1)
        fmap = choropleth_map(qpv, shares["etablissements_ess_implantes"],
                              title="Établissements de l'ESS dans les quartiers prioritaires",
                              what="Établissements de l'ESS implantés", details=details)
        from .assets import self_contained

        with atomic_path(args.map) as tmp:
            tmp.write_text(self_contained(fmap.get_root().render()), encoding="utf-8")
        wrote(args.map, "carte des quartiers (autonome, s'ouvre sans internet)")
    return 0


def _warn_coordinates(counts: dict) -> None:
    """Say what the counts leave out or may get wrong: never a silent loss."""
    import warnings

    abroad, outside = counts.get("coordonnees_hors_france", 0), \
        counts.get("coordonnees_hors_zone_epsg", 0)
    if abroad:
        warnings.warn(f"{abroad} établissement(s) ont des coordonnées hors de France "
                      "(valeurs aberrantes, ou projection « epsg » erronée) : comptés comme "
                      "non localisés (feuille Lecture).", stacklevel=2)
    if outside:
        warnings.warn(f"{outside} établissement(s) tombent hors de la zone de la projection "
                      "indiquée par leur colonne « epsg » : vérifiez cette colonne ; ils sont "
                      "reliés tels quels (feuille Lecture).", stacklevel=2)


def _progress(update):
    seen = [0]

    def report(rows: int) -> None:
        update(rows - seen[0])
        seen[0] = rows

    return report


def _parquet(frame, path) -> None:
    from .stream import ChunkWriter

    with ChunkWriter(path) as out:
        out.write(frame)
