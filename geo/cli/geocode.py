"""``ess-qpv geocode``: add coordinates to a table of addresses (Base Adresse Nationale)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..parameters import add_options, grouped
from ..typography import number, plural, plural_form
from ..vocabulary import Columns, GeocodeStatus
from ._console import say, visible, wrote


def add_geocoder_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("géocodage")
    add_role_options(group, ("address", "postcode", "citycode"))
    add_options(group, *grouped("geocodage"))


def add_role_options(group, roles) -> None:
    """One option per column role, from the roles' one declaration."""
    from ..vocabulary import ROLE

    for role in roles:
        r = ROLE[role]
        what = r.help if role == "crs" else f"colonne : {r.help}"
        group.add_argument(r.flag, metavar="COLONNES" if role == "address" else
                           ("CODE" if role == "crs" else "COLONNE"), help=what)


def columns_from_args(args: argparse.Namespace) -> Columns:
    """The columns named on the command line (``None`` where left to recognition)."""
    from ..vocabulary import ROLE_FLAGS

    values = {role: getattr(args, flag.lstrip("-").replace("-", "_"), None)
              for role, flag in ROLE_FLAGS.items()}
    if values["address"]:
        values["address"] = [c.strip() for c in values["address"].split(",") if c.strip()]
    return Columns(**values, indicators=getattr(args, "indicators", None))


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "geocode", help="géocoder des adresses avec la Base Adresse Nationale",
        description="Ajoute latitude et longitude aux lignes qui ont une adresse et pas de "
                    "coordonnées, avec un statut de qualité ; les réponses sont gardées en "
                    "cache.")
    parser.add_argument("input", metavar="ENTREE", help="tableau (.csv, .xlsx, .geojson, "
                                                        ".gpkg)")
    parser.add_argument("-o", "--sortie", dest="output", required=True, metavar="SORTIE",
                        help="tableau enrichi (.csv, .xlsx, .geojson, .gpkg)")
    parser.add_argument("--review", "--relecture", metavar="FICHIER", dest="review",
                        help="fichier des lignes à vérifier (à remplir puis à redonner avec "
                             "--corrections)")
    parser.add_argument("--force", action="store_true",
                        help="géocoder aussi les lignes qui ont déjà des coordonnées")
    parser.add_argument("--id-column", metavar="COLONNE",
                        help="colonne d'identifiant (clé des corrections)")
    add_options(parser, "sheet")
    add_geocoder_options(parser)
    parser.set_defaults(run=run_geocode)


def print_geocode_summary(result) -> None:
    """The geocoding's counts, true to what happened: rows left unplaced because online
    geocoding was off, or because the geocoder could not be reached; requests sent, and
    whether any was answered."""
    stats = result.stats
    # the command's lines keep the plain spaces of all its others (« écrit : … »)
    say("Géocodage : " + ", ".join(_counted(GeocodeStatus(k), n, stats)
                                   for k, n in sorted(stats.counts.items())))
    sent = f"requêtes envoyées : {number(stats.requests)}"
    if stats.requests and not stats.answered:
        sent += ", aucune réponse du géocodeur"
    elif stats.answered < stats.requests:
        sent += f", {number(stats.answered)} avec réponse"
    say(f"  réponses reprises du cache : {number(stats.from_cache)} ; {sent}"
        + (f" ({plural(stats.fallback_rows, 'adresse')} une par une)"
           if stats.fallback_rows else ""))
    if stats.failed:
        say(f"  {plural(stats.failed, 'adresse')} que le géocodeur n'a pas "
            f"{plural_form(stats.failed, 'traitée')} : "
            f"{plural_form(stats.failed, 'redemandée')} au prochain lancement")
    if stats.refused_corrections:
        n = stats.refused_corrections
        say(f"  {plural(n, 'correction')} non {plural_form(n, 'appliquée')} "
            "(site changé ou absent du tableau)")


def _counted(status: GeocodeStatus, n: int, stats) -> str:
    """« 3 géocodées (ok) »; the rows not geocoded with their true cause."""
    if status != GeocodeStatus.OFFLINE:
        return f"{number(n)} {status.counted_for(n)}"
    why = ("géocodage en ligne désactivé" if stats.offline else
           "géocodeur injoignable" if stats.unreachable else "")
    return f"{plural(n, 'non géocodée')}" + (f" ({why})" if why else "")


def never_answered(stats) -> bool:
    """Whether online geocoding was asked for addresses and the geocoder answered none."""
    return stats.unreachable and not stats.answered


def run_geocode(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .. import geocode as gc
    from ..columns import detect_columns
    from ..initiatives import read_sites_table, read_table, typed_point_doubts
    from ..io import check_outputs, write_table
    from ..tables import french

    check_outputs({"-o": args.output, "--review": args.review},
                  inputs=[args.input, args.corrections])
    table, first_row, sep = read_sites_table(args.input, sheet=args.sheet)
    # the columns are recognised as by every other command, the file named the same way
    detection = detect_columns(table, columns_from_args(args), path=Path(args.input).name)
    found = detection.columns
    say("Colonnes : " + " ; ".join(detection.report))
    corrections = read_table(args.corrections, what="le fichier de corrections")[0] \
        if args.corrections else None
    with tqdm(total=len(table), unit="adresse", desc="Géocodage", leave=False,
              disable=None) as bar:
        result = gc.geocode(
            table, detection=detection,
            geocoder=gc.Geocoder(args.geocoder_url, chunk_size=args.chunk_size),
            corrections=corrections, min_score=args.min_score, force=args.force,
            first_row=first_row, progress=bar.update, path=Path(args.input).name,
            corrections_path=Path(args.corrections).name if args.corrections else "",
            # typed points a study would not use are reviewed here too, as link does
            doubts=lambda out, rows: typed_point_doubts(
                out, detection, rows=rows, first_row=first_row, min_score=args.min_score))
    # what a person opens is in French; GIS formats keep the names programs use
    shown = french(result.table, "sites", numeric=(result.lon_column, result.lat_column)) \
        if args.output.lower().endswith((".csv", ".xlsx")) else result.table
    if shown is not result.table:  # a workbook's numbers stay numbers, as link writes them
        from ..indicators import TYPED_NUMBERS
        from ..write.report import typed_kept

        kept = {found.id, found.name, *(found.address or ()), result.lon_column,
                result.lat_column}
        for column, cells in (table.attrs.get(TYPED_NUMBERS) or {}).items():
            if column in shown and column not in kept:
                shown[column] = typed_kept(shown[column], cells)
    write_table(shown, args.output)
    wrote(args.output, "tableau géocodé")
    if args.review:
        write_table(french(result.review, "relecture"), args.review, layer="a_verifier")
        wrote(args.review, f"{plural(len(result.review), 'ligne')} à vérifier")
    print_geocode_summary(result)
    if never_answered(result.stats):
        from . import EXIT_NO_ANSWER

        left = result.stats.counts.get(GeocodeStatus.OFFLINE.value, 0)
        print(visible(
            f"Attention : le géocodeur {args.geocoder_url or gc.DEFAULT_URL} n'a répondu à "
            f"aucune requête (pas de réseau, ou mauvaise adresse ?) : "
            f"{plural(left, 'ligne non géocodée')}, à relancer quand il répond (code de "
            f"sortie {EXIT_NO_ANSWER}) ; les tableaux sont écrits."), file=sys.stderr)
        return EXIT_NO_ANSWER
    return 0
