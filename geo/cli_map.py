"""``ess-qpv map``: the interactive map (standard, self-contained, embed) and the print map."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import assets, pipeline
from ._errors import InputError
from .cli import say, wrote
from .cli_link import add_input_options, add_qpv_options, read_sites
from .io import atomic_path
from .link import link
from .maps import embed_snippet
from .printmap import PAPER, print_map
from .qpv import filter_qpv, load_key_figures, load_qpv


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "map", help="carte interactive (HTML), autonome, à intégrer, et carte à imprimer",
        description="Dessine les initiatives et les quartiers sur une carte interactive ; "
                    "ENTREE est un tableau d'initiatives, brut ou déjà enrichi.")
    parser.add_argument("input", metavar="ENTREE", help="tableau des sites (.csv, .xlsx, "
                                                        ".geojson, .gpkg)")
    parser.add_argument("-o", "--sortie", dest="output", required=True, metavar="SORTIE",
                        help="carte HTML à écrire, par exemple maps/carte.html")
    add_qpv_options(parser)
    add_input_options(parser)
    out = parser.add_argument_group("carte")
    out.add_argument("--title", "--titre", dest="title",
                     default="Initiatives de l'ESS et quartiers prioritaires",
                     help="titre de la carte")
    out.add_argument("--self-contained", "--autonome", dest="self_contained", nargs="?",
                     const="", metavar="FICHIER",
                     help="écrire aussi une carte autonome qui marche sans internet "
                          "(par défaut à côté de la carte, suffixe -autonome)")
    out.add_argument("--embed", metavar="FICHIER", help="écrire un extrait <iframe> à coller "
                                                        "dans une page web")
    out.add_argument("--embed-url", help="adresse publique de la carte pour l'extrait "
                                         "(par défaut son nom de fichier)")
    out.add_argument("--print", dest="print_path", metavar="FICHIER",
                     help="carte à imprimer : .pdf, .png ou .svg")
    out.add_argument("--format", dest="paper", default="A4", choices=sorted(PAPER),
                     help="format du papier (défaut : A4)")
    out.add_argument("--portrait", action="store_true", help="page en portrait (défaut : "
                                                             "paysage)")
    out.add_argument("--compare", metavar="SOURCE", help="dessiner aussi une autre génération "
                                                         "(contours en pointillés)")
    out.add_argument("--no-cluster", "--sans-regroupement", dest="cluster",
                     action="store_false", help="ne pas regrouper les marqueurs proches")
    parser.set_defaults(run=run_map)


def run_map(args: argparse.Namespace) -> int:
    if Path(args.output).suffix.lower() not in (".html", ".htm"):
        raise InputError("la carte interactive doit avoir l'extension .html.", path=args.output)
    initiatives = read_sites(args)
    qpv = load_qpv(args.qpv)
    focused = bool(args.departement or args.commune)
    studied = filter_qpv(qpv, departement=args.departement, commune=args.commune) \
        if focused else qpv
    result = link(initiatives, studied, distance=args.distance)
    previous = load_qpv(args.compare) if args.compare else None
    parts = pipeline.map_parts(initiatives, qpv, studied, result, previous, focused=focused)
    info = pipeline.provenance(qpv, {"distance_m": args.distance, "qpv": args.qpv,
                                     "comparaison": args.compare or ""})
    fmap = pipeline.render_map(parts, initiatives, title=args.title, distance=args.distance,
                               cluster=args.cluster, key_figures=load_key_figures(),
                               provenance=info)
    page = fmap.get_root().render()
    outputs = [(args.output, page, "carte interactive")]
    if args.self_contained is not None:
        target = args.self_contained or str(Path(args.output).with_name(
            Path(args.output).stem + "-autonome.html"))
        outputs.append((target, assets.self_contained(page), "carte autonome, sans internet"))
    if args.embed:
        url = args.embed_url or Path(args.output).name
        outputs.append((args.embed, embed_snippet(url, title=args.title), "extrait à intégrer"))
    for path, text, what in outputs:
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        wrote(path, what)
    if args.print_path:
        print_map(result, parts.shown, args.print_path, paper=args.paper,
                  landscape=not args.portrait, title=args.title,
                  theme_column=initiatives.theme_column, previous=parts.previous,
                  bounds=parts.bounds)
        wrote(args.print_path, f"carte à imprimer, {args.paper}")
    s = result.summary()
    say(f"{s['located']} sites sur la carte ({s['not_located']} non localisés), "
        f"{len(parts.shown)} quartiers dessinés.")
    return 0
