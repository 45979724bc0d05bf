"""``ess-qpv sirene``: the national panorama of the ESS and the quartiers from SIRENE."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..typography import number, plural, plural_form
from ..vocabulary import DEFAULT_DISTANCE, DEFAULT_SOURCE, PANORAMA_OUTPUTS
from ._console import say, wrote
from .link import add_main_output, add_output_options


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
    add_main_output(parser, "sirene", PANORAMA_OUTPUTS)
    outputs = add_output_options(parser, "sirene", PANORAMA_OUTPUTS)
    parser.add_argument("--departement", action="append", default=[], metavar="CODE",
                        help="se limiter à ce département (répétable)")
    parser.add_argument("--distance", metavar="MÈTRES", type=float, default=DEFAULT_DISTANCE,
                        help=f"distance de proximité en mètres (défaut : "
                             f"{DEFAULT_DISTANCE:g})")
    parser.add_argument("--source", metavar="SOURCE",
                        default=DEFAULT_SOURCE, help="QPV (défaut : QPV 2024 "
                                                     "fournis avec l'outil)")
    parser.add_argument("--moteur", dest="engine", choices=["local", "dask"], default="local",
                        help="local (tous les cœurs de cette machine, défaut) ou dask")
    parser.add_argument("--dask-scheduler", dest="scheduler", metavar="ADRESSE",
                        help="adresse d'un cluster Dask existant (sinon un cluster local)")
    parser.add_argument("--coeurs", metavar="NOMBRE", dest="workers", type=int, default=None,
                        help="nombre de processus (défaut : tous les cœurs)")
    parser.add_argument("--morceaux", metavar="LIGNES",
                        dest="chunk_rows", type=int, default=150_000,
                        help="lignes lues à la fois (défaut : 150 000 ; moins : moins de "
                             "mémoire)")
    parser.set_defaults(run=run_sirene, outputs=outputs,
                        flags={o.key: o.flag for o in PANORAMA_OUTPUTS})


def run_sirene(args: argparse.Namespace) -> int:
    from ..model import PanoramaStudy
    from ..stream import progress_bar, total_rows
    from ..study import run_panorama

    study = PanoramaStudy(
        geoloc=Path(args.geoloc), units=Path(args.units),
        establishments=Path(args.establishments) if args.establishments else None,
        outputs={key: Path(getattr(args, dest)) for key, dest in args.outputs.items()
                 if getattr(args, dest)},
        departements=args.departement, distance=args.distance, qpv_source=args.source,
        engine=args.engine, scheduler=args.scheduler, workers=args.workers,
        chunk_rows=args.chunk_rows)
    run = run_panorama(study, progress=_progress(progress_bar(total_rows(args.geoloc),
                                                              "Établissements")))
    print_panorama(run)
    return 0


def print_panorama(run) -> None:
    """The French summary of a panorama: rows read, what was counted, agreement, files."""
    result, seconds = run.result, run.seconds
    c = result.counts
    read = c.get("lignes_lues", 0)
    say(f"{plural(read, 'ligne lue', 'lignes lues')} en {number(seconds, 1)} s "
        f"({number(round(read / max(seconds, 1e-9)))} lignes/s)")
    say(f"  établissements actifs : {number(c.get('etablissements_actifs', 0))} ; dont de l'ESS : "
        f"{number(c.get('etablissements_ess', 0))}")
    say(f"  sans coordonnées : {number(c.get('sans_coordonnees', 0))} ; non diffusibles "
        f"(coordonnées masquées) : {number(c.get('non_diffusibles', 0))}")
    if run.study.establishments:
        absent = c.get("absents_du_stock_etablissements", 0)
        say(f"  absents de StockEtablissement : {number(absent)}")
    _warn_coordinates(c)
    q = result.per_qpv
    say(f"  de l'ESS implantés dans un QPV : {number(q['etablissements_ess_implantes'].sum())} ; "
        f"à moins de {number(run.study.distance)} m d'un QPV (paires quartier-établissement) : "
        f"{number(q['etablissements_ess_proximite'].sum())}")
    if q.empty:
        say("  aucun quartier prioritaire dans ce territoire : rien à compter par quartier")
    share = result.agreement.set_index("mesure")["valeur"]
    compared, differ = int(share["établissements localisés comparés"]), int(share["désaccords"])
    if compared:
        part = share["part d'accord"]
        agree = f"{part:.2%}".replace(".", ",").replace("%", "\u202f%")
        say(f"  accord avec plg_qp24 de l'INSEE : {agree} ({number(differ)} désaccord"
            f"{'s' if differ > 1 else ''})")
    else:
        say("  accord avec plg_qp24 de l'INSEE : aucun établissement localisé à comparer")
    for path, what in run.written:
        wrote(path, what)


def _warn_coordinates(counts: dict) -> None:
    """Say what the counts leave out or may get wrong: never a silent loss."""
    import warnings

    abroad, outside = counts.get("coordonnees_hors_france", 0), \
        counts.get("coordonnees_hors_zone_epsg", 0)
    if abroad:
        warnings.warn(f"{plural(abroad, 'établissement')} {'a' if abroad < 2 else 'ont'} des "
                      "coordonnées hors de France "
                      "(valeurs aberrantes, ou projection « epsg » erronée) : "
                      f"{plural_form(abroad, 'compté')} comme "
                      f"{plural_form(abroad, 'non localisé')} (feuille Lecture).", stacklevel=2)
    if outside:
        warnings.warn(f"{plural(outside, 'établissement')} "
                      f"{'tombe' if outside < 2 else 'tombent'} hors de la zone de la projection "
                      f"indiquée par {'sa' if outside < 2 else 'leur'} colonne « epsg » : "
                      "vérifiez cette colonne ; "
                      f"{'il est relié tel quel' if outside < 2 else 'ils sont reliés tels quels'}"
                      " (feuille Lecture).", stacklevel=2)


def _progress(update):
    seen = [0]

    def report(rows: int) -> None:
        update(rows - seen[0])
        seen[0] = rows

    return report
