"""``ess-qpv geocode``: add coordinates to a table of addresses (Base Adresse Nationale)."""

from __future__ import annotations

import argparse

from .cli import say, wrote
from .vocabulary import DEFAULT_CHUNK, DEFAULT_GEOCODER_URL, DEFAULT_MIN_SCORE, GeocodeStatus


def add_geocoder_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("géocodage")
    group.add_argument("--address-columns", help="colonnes qui forment l'adresse, séparées "
                                                 "par des virgules (défaut : adresse, "
                                                 "code_postal, commune)")
    group.add_argument("--postcode-column", help="colonne du code postal, envoyée comme filtre")
    group.add_argument("--citycode-column", help="colonne du code INSEE, envoyée comme filtre")
    group.add_argument("--geocoder-url", default=DEFAULT_GEOCODER_URL,
                       help="adresse du géocodeur compatible BAN (défaut : "
                            f"{DEFAULT_GEOCODER_URL})")
    group.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE,
                       help=f"score minimal d'une réponse sûre (défaut : "
                            f"{DEFAULT_MIN_SCORE:g})")
    group.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK,
                       help=f"adresses par requête groupée (défaut : {DEFAULT_CHUNK})")
    group.add_argument("--corrections", help="fichier de relecture rempli (corrections à "
                                             "appliquer)")


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
    parser.add_argument("--review", "--relecture", dest="review",
                        help="fichier des lignes à vérifier (à remplir puis à redonner avec "
                             "--corrections)")
    parser.add_argument("--force", action="store_true",
                        help="géocoder aussi les lignes qui ont déjà des coordonnées")
    parser.add_argument("--id-column", help="colonne d'identifiant (clé des corrections)")
    parser.add_argument("--sheet", help="feuille à lire dans un classeur Excel")
    add_geocoder_options(parser)
    parser.set_defaults(run=run_geocode)


def address_columns(args: argparse.Namespace) -> list[str] | None:
    """The ``--address-columns`` option as a list."""
    if not args.address_columns:
        return None
    return [c.strip() for c in args.address_columns.split(",") if c.strip()]


def print_geocode_summary(result) -> None:
    stats = result.stats
    say("Géocodage : " + ", ".join(f"{n} {GeocodeStatus(k).label}"
                                   for k, n in sorted(stats.counts.items())))
    say(f"  réponses reprises du cache : {stats.from_cache} ; requêtes envoyées : "
        f"{stats.requests}" + (f" ({stats.fallback_rows} adresses une par une)"
                               if stats.fallback_rows else ""))


def run_geocode(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from . import geocode as gc
    from .initiatives import read_table
    from .io import check_outputs, write_table
    from .vocabulary import find_column

    check_outputs({"-o": args.output, "--review": args.review},
                  inputs=[args.input, args.corrections])
    table, first_row, sep = read_table(args.input, sheet=args.sheet)
    corrections = read_table(args.corrections)[0] if args.corrections else None
    with tqdm(total=len(table), unit="adresse", desc="Géocodage", leave=False,
              disable=None) as bar:
        result = gc.geocode(
            table, address_columns=address_columns(args), postcode_column=args.postcode_column,
            citycode_column=args.citycode_column,
            id_column=args.id_column or find_column([str(c) for c in table.columns], "id"),
            geocoder=gc.Geocoder(args.geocoder_url, chunk_size=args.chunk_size),
            corrections=corrections, min_score=args.min_score, force=args.force,
            first_row=first_row, progress=bar.update, path=args.input)
    write_table(result.table, args.output)
    wrote(args.output, "tableau géocodé")
    if args.review:
        write_table(result.review, args.review, layer="a_verifier")
        wrote(args.review, f"{len(result.review)} ligne(s) à vérifier")
    print_geocode_summary(result)
    return 0
