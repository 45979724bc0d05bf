"""``ess-qpv qpv …``: inspect, download and export the official QPV boundaries."""

from __future__ import annotations

import argparse

from .._errors import InputError
from ..parameters import PARAMETER
from ..typography import plural
from ..vocabulary import GENERATIONS
from ._console import say, wrote

#: The QPV source, as ``link`` and ``map`` take it (:data:`geo.parameters.PARAMETERS`).
SOURCE_HELP = PARAMETER["source"].help_text()
DEFAULT_SOURCE = PARAMETER["source"].default


def register(commands: argparse._SubParsersAction) -> None:
    qpv = commands.add_parser("qpv", help="contours officiels des quartiers prioritaires",
                              description="Contours officiels des QPV : résumé, "
                                          "téléchargement, export.")
    sub = qpv.add_subparsers(dest="qpv_command", metavar="ACTION", parser_class=type(qpv))
    sub.required = True

    info = sub.add_parser("info", help="résumé d'une source de contours")
    info.add_argument("--source", "--qpv", metavar="SOURCE",
                      default=DEFAULT_SOURCE, help=SOURCE_HELP)
    info.set_defaults(run=run_info)

    download = sub.add_parser("download", help="télécharger (ou revalider) une génération "
                                               "officielle dans le cache")
    download.add_argument("--generation", choices=[g.key for g in GENERATIONS],
                          default=GENERATIONS[0].key,
                          help=f"génération de QPV (défaut : {GENERATIONS[0].key})")
    download.set_defaults(run=run_download)

    export = sub.add_parser("export", help="exporter des contours (GeoPackage, GeoJSON, CSV)")
    export.add_argument("--source", "--qpv", metavar="SOURCE",
                        default=DEFAULT_SOURCE, help=SOURCE_HELP)
    export.add_argument("--departement", metavar="CODES",
                        help="code(s) de département, séparés par des virgules")
    export.add_argument("--commune", metavar="CODES",
                        help="code(s) INSEE de commune, séparés par des virgules")
    export.add_argument("--bbox", metavar="O,S,E,N",
                        help="emprise en degrés : longitude ouest, latitude sud, longitude est, "
                             "latitude nord (par exemple 2.25,48.81,2.42,48.91)")
    export.add_argument("-o", "--sortie", metavar="SORTIE", required=True, dest="output",
                        help="fichier de sortie : .gpkg, .geojson ou .csv (géométrie en WKT)")
    export.set_defaults(run=run_export)


def run_info(args: argparse.Namespace) -> int:
    from ..qpv import load_qpv

    print_info(load_qpv(args.source))
    return 0


def print_info(qpv) -> None:
    from ..qpv import qpv_info
    from ..territories import TERRITORIES

    info = qpv_info(qpv)
    say(f"Source : {info['label']} [{info['source']}]")
    say(f"Origine : {info['origin']}")
    if info["date"]:
        say(f"Téléchargé le : {info['date']}")
    if info["credit"]:
        say(f"Crédit : {info['credit']}")
    say(f"Génération : {info['generation']}")
    say(f"Quartiers : {info['count']}")
    validity = "toutes valides" if info["all_valid"] else "CERTAINES RESTENT INVALIDES"
    say(f"Géométries réparées : {info['repaired']} (après réparation : {validity})")
    say(f"Emprise (lon/lat) : {info['bounds']}")
    say("Quartiers par département :")
    deps = list(info["per_departement"].items())
    for i in range(0, len(deps), 10):
        say("  " + "  ".join(f"{d:>3} : {n:>3}" for d, n in deps[i:i + 10]))
    overseas = [TERRITORIES[d].name for d, _ in deps if d in TERRITORIES]
    if overseas:
        say(f"Outre-mer : {', '.join(overseas)}")


def run_download(args: argparse.Namespace) -> int:
    from ..qpv import load_qpv

    qpv = load_qpv(args.generation, refresh=True)
    say(f"QPV {args.generation} officiels en cache.")
    print_info(qpv)
    return 0


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"O,S,E,N"`` in degrees, checked."""
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise InputError(f"--bbox « {text} » : quatre nombres séparés par des virgules "
                         "attendus (ouest,sud,est,nord).") from exc
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InputError(f"--bbox « {text} » : il faut ouest < est et sud < nord, en degrés.")
    return west, south, east, north


def run_export(args: argparse.Namespace) -> int:
    from ..area import StudyArea
    from ..io import output_format, write_table
    from ..qpv import load_qpv

    output_format(args.output)
    StudyArea.of(args.departement, args.commune)  # unknown codes are refused up front
    qpv = load_qpv(args.source, departement=args.departement, commune=args.commune,
                   bbox=parse_bbox(args.bbox) if args.bbox else None)
    write_table(qpv, args.output, layer="qpv")
    say(f"{plural(len(qpv), 'quartier exporté')}.")
    wrote(args.output, "contours des QPV")
    return 0
