"""``ess-qpv link`` and ``ess-qpv map``: a study built from the command line's options.

Both only build a :class:`geo.study.Study` and call :func:`geo.study.run_study`, like
``ess-qpv run`` and the notebook; they differ only in the outputs they ask for.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._console import say, wrote
from .cli_geocode import (
    add_geocoder_options,
    add_role_options,
    columns_from_args,
    print_geocode_summary,
)
from .cli_qpv import SOURCE_HELP
from .typography import plural
from .vocabulary import (
    DEFAULT_DISTANCE,
    DEFAULT_SOURCE,
    DEFAULT_TITLE,
    OUTPUT,
    OUTPUTS,
    PAPER_FORMATS,
    GeocodeStatus,
    Output,
)

#: How many row problems are printed before the rest are only counted.
SHOWN_ISSUES = 20


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options that say how to read the initiatives table."""
    group = parser.add_argument_group("lecture des initiatives (colonnes reconnues à leur nom "
                                      "ou à leur contenu sinon)")
    add_role_options(group, INPUT_ROLES)
    group.add_argument("--indicateur", dest="indicators", action="append", metavar="COLONNE",
                       help="colonne de nombres à additionner par quartier (emplois, "
                            "bénévoles… ; répétable), en plus de celles reconnues à leur nom")
    group.add_argument("--sheet", metavar="FEUILLE", help="feuille à lire dans un classeur Excel")
    group.add_argument("--geocode", action="store_true",
                       help="géocoder en ligne les lignes qui ont une adresse et pas de "
                            "coordonnées (sinon : seulement depuis le cache)")
    add_geocoder_options(parser)


#: The column roles set by the input options (the address ones go with geocoding).
INPUT_ROLES = ("lon", "lat", "crs", "id", "name", "theme", "served", "radius", "website",
               "year", "end_year")


def add_qpv_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("quartiers")
    group.add_argument("--qpv", metavar="SOURCE", default=DEFAULT_SOURCE, help=SOURCE_HELP)
    group.add_argument("--departement", metavar="CODES",
                       help="territoire étudié : codes de département, "
                            "séparés par des virgules")
    group.add_argument("--commune", metavar="CODES",
                       help="territoire étudié : codes INSEE de commune")
    group.add_argument("--toute-la-france", dest="all_quartiers", action="store_true",
                       help="tableaux par quartier et par territoire de tous les quartiers "
                            "de France (sans territoire : ceux des départements des sites)")
    group.add_argument("--distance", metavar="MÈTRES", default=DEFAULT_DISTANCE, type=float,
                       help="largeur de la bande de proximité en mètres (défaut : 300 ; "
                            "0 la désactive)")
    group.add_argument("--compare", metavar="SOURCE",
                       help="autre génération à comparer, par exemple 2015 "
                            "(ou bundled-2015-occitanie, hors ligne)")
    group.add_argument("--chiffres-cles", dest="key_figures", metavar="FICHIER",
                       help="chiffres clés INSEE par quartier (.csv, .xlsx : codes QN…/QP… et "
                            "population) pour la population et les taux pour 1 000 habitants")
    group.add_argument("--source-chiffres-cles", dest="key_figures_source", metavar="TEXTE",
                       help="source et date de ces chiffres, par exemple « INSEE, "
                            "recensement 2020 »")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "link", help="relier des initiatives aux quartiers (implantées, à proximité, servis)",
        description="Ajoute à chaque site ses quartiers : implanté dans, à proximité de, "
                    "servis ; écrit aussi les tableaux par quartier et par territoire.")
    parser.add_argument("input", metavar="ENTREE",
                        help="tableau des sites : .csv, .xlsx, .geojson ou .gpkg")
    add_main_output(parser, "link")
    add_qpv_options(parser)
    add_input_options(parser)
    outputs = add_output_options(parser.add_argument_group("autres sorties"), "link")
    big = parser.add_argument_group("grands fichiers")
    big.add_argument("--flux", action="store_true",
                     help="lire, relier et écrire par morceaux, sur tous les cœurs (mémoire "
                          "bornée ; automatique pour .parquet et .zip) ; sortie .csv ou "
                          ".parquet")
    big.add_argument("--crs-column", metavar="COLONNE",
                     help="colonne du code EPSG de chaque ligne (par exemple "
                          "« epsg » des fichiers de l'INSEE)")
    big.add_argument("--coeurs", metavar="NOMBRE", dest="workers", type=int, default=None,
                     help="processus de calcul (défaut : tous les cœurs)")
    parser.set_defaults(run=run_link, outputs=outputs)

    parser = commands.add_parser(
        "map", help="carte interactive (HTML), autonome, à intégrer, et carte à imprimer",
        description="Dessine les initiatives et les quartiers sur une carte interactive ; "
                    "ENTREE est un tableau d'initiatives, brut ou déjà enrichi.")
    parser.add_argument("input", metavar="ENTREE", help="tableau des sites (.csv, .xlsx, "
                                                        ".geojson, .gpkg)")
    add_main_output(parser, "map")
    add_qpv_options(parser)
    add_input_options(parser)
    out = parser.add_argument_group("carte")
    outputs = add_output_options(out, "map")
    out.add_argument("--title", "--titre", metavar="TITRE", dest="title", default=DEFAULT_TITLE,
                     help="titre de la carte")
    out.add_argument("--embed-url", metavar="URL",
                     help="adresse publique de la carte pour l'extrait "
                          "(par défaut son nom de fichier)")
    out.add_argument("--format", dest="paper", default="A4", choices=PAPER_FORMATS,
                     help="format du papier (défaut : A4)")
    out.add_argument("--portrait", action="store_true", help="page en portrait (défaut : "
                                                             "paysage)")
    out.add_argument("--atlas", action="store_true",
                     help="carte à imprimer en atlas (.pdf) : une vue d'ensemble puis une page "
                          "par département (ou par commune pour une étude dans un seul "
                          "département)")
    out.add_argument("--format-fiches", dest="fiche_paper", default="A4",
                     choices=PAPER_FORMATS, help="format des fiches, en portrait (défaut : A4)")
    out.add_argument("--fiches-images", dest="fiche_images", action="store_const", const=True,
                     help="écrire aussi les cartes des fiches en PNG et SVG (par défaut : "
                          "pour 40 initiatives au plus)")
    out.add_argument("--no-cluster", "--sans-regroupement", dest="cluster",
                     action="store_false", help="ne pas regrouper les marqueurs proches")
    out.add_argument("--taille", dest="size_by", metavar="INDICATEUR",
                     help="symboles proportionnels : la surface de chaque marqueur suit cet "
                          "indicateur (colonne de nombres, par exemple emplois)")
    out.add_argument("--periodes", dest="periods", metavar="ANNEES",
                     help="carte à imprimer en petits multiples : un panneau par année, même "
                          "cadre, par exemple 2015,2018,2021 (il faut une colonne d'année)")
    parser.set_defaults(run=run_link, outputs=outputs)


def _help(o: Output) -> str:
    return f"{o.what}{f' ; {o.more}' if o.more else ''} ({', '.join(o.extensions)})"


def add_main_output(parser: argparse.ArgumentParser, command: str,
                    outputs: tuple[Output, ...] = OUTPUTS) -> None:
    """``-o``: the output ``command`` exists for (:data:`geo.vocabulary.OUTPUTS`)."""
    main = next(o for o in outputs if o.command == command and o.flag == "-o")
    parser.add_argument(*main.option, dest=main.dest, required=True, metavar="SORTIE",
                        help=f"{_help(main)}, par exemple resultats/{main.file}")


def add_output_options(group, command: str,
                       outputs: tuple[Output, ...] = OUTPUTS) -> dict[str, str]:
    """One option per other output ``command`` writes, from their one declaration; return
    output key → argparse destination (``-o`` included)."""
    for o in outputs:
        if o.command != command or o.flag == "-o":
            continue
        if o.beside:
            group.add_argument(*o.option, dest=o.dest, nargs="?", const="", metavar="FICHIER",
                               help=f"{_help(o)} ; sans nom, à côté de -o avec le suffixe "
                                    f"{o.beside}")
        else:
            group.add_argument(*o.option, dest=o.dest, metavar="FICHIER", help=_help(o))
    return {o.key: o.dest for o in outputs if o.command == command}


def study_of(args: argparse.Namespace):
    """The :class:`~geo.study.Study` that the options describe."""
    from .area import StudyArea
    from .model import Geocoding, Streaming, Study
    from .studyfile import periods

    outputs = {key: getattr(args, option) for key, option in args.outputs.items()}
    for key, value in outputs.items():
        if value == "":  # an option given without a name: beside the main output
            main, o = Path(args.output), OUTPUT[key]
            outputs[key] = str(main.with_name(main.stem + o.beside + o.extensions[0]))
    return Study(
        initiatives=Path(args.input), sheet=args.sheet,
        columns=columns_from_args(args),
        qpv_source=args.qpv, compare=args.compare, distance=args.distance,
        area=StudyArea.of(args.departement, args.commune),
        all_quartiers=args.all_quartiers,
        geocoding=Geocoding(online=args.geocode, url=args.geocoder_url,
                            min_score=args.min_score, chunk_size=args.chunk_size,
                            corrections=Path(args.corrections) if args.corrections else None),
        outputs={k: Path(v) for k, v in outputs.items() if v},
        title=getattr(args, "title", DEFAULT_TITLE),
        paper=getattr(args, "paper", "A4"), landscape=not getattr(args, "portrait", False),
        atlas=getattr(args, "atlas", False), fiche_paper=getattr(args, "fiche_paper", "A4"),
        fiche_images=getattr(args, "fiche_images", None),
        cluster=getattr(args, "cluster", True), embed_url=getattr(args, "embed_url", None),
        size_by=getattr(args, "size_by", None),
        periods=periods(getattr(args, "periods", None) or ""),
        key_figures=Path(args.key_figures) if args.key_figures else None,
        key_figures_source=args.key_figures_source,
        stream=Streaming(crs_column=args.crs_column, workers=args.workers)
        if getattr(args, "flux", False) or getattr(args, "crs_column", None) else None)


def run_link(args: argparse.Namespace) -> int:
    run = run_with_progress(study_of(args))
    print_run(run)
    return 0


def run_with_progress(study):
    """Run a study with a progress bar for geocoding, and one for the rows of a streamed
    run (with the time left when the table's size is known)."""
    from tqdm.auto import tqdm

    from ._console import writing_bar
    from .progress import Count, listening
    from .stream import progress_bar, total_rows
    from .study import run_study

    rows = []
    with tqdm(unit="adresse", desc="Géocodage", leave=False, disable=None) as bar, \
            writing_bar() as writing:
        def progress(step: str, stats) -> None:
            if isinstance(stats, Count):  # files and the fiches' pages
                writing(stats)
            elif step == "geocodage" and stats is not None:
                bar.total, bar.n = stats.pending, stats.sent
                bar.refresh()
            elif step == "liaison" and isinstance(stats, int):
                if not rows:
                    rows.append(progress_bar(total_rows(study.initiatives), "Sites"))
                rows[0](stats)

        with listening(progress):
            return run_study(study, progress=progress)


def print_run(run, *, go_online: str = "option --geocode") -> None:
    """The French summary of a run: columns recognised, geocoding, relations, files;
    ``go_online`` says how this door turns online geocoding on (said only when it is off)."""
    if not hasattr(run, "detection"):  # streamed: rows and time, then its one file
        say(f"{run.rows} lignes reliées par morceaux en {run.seconds:.1f} s.")
        for path, what in run.written:
            wrote(path, what)
        return
    say("Colonnes : " + " ; ".join(run.detection.report))
    if run.geocoded is not None:
        print_geocode_summary(run.geocoded)
        if not run.study.geocoding.online and run.geocoded.stats.counts.get(
                GeocodeStatus.OFFLINE):
            say(f"  (adresses sans réponse en cache : géocodez-les en ligne, {go_online})")
    result = run.result
    s = result.summary()
    say(f"{plural(s['sites'], 'site lu')} ({plural(s['initiatives'], 'initiative')}), "
        f"{plural(s['located'], 'localisé')}.")
    say(f"  implantés dans un QPV : {s['implanted']}")
    say(f"  à proximité (moins de {result.distance:g} m) : {s['nearby']}")
    say(f"  ni dans ni près d'un QPV : {s['none']}")
    say(f"  non localisés : {s['not_located']}")
    say(f"  déclarant intervenir dans un QPV : {s['serving']}")
    if s["uncertain"]:
        say(f"  dont à la limite incertaine (à moins de {result.rounding:.0f}\u00a0m d'une "
            f"limite, contours arrondis) : {s['uncertain']} ; contours exacts : ess-qpv qpv "
            "download --generation 2024, puis --qpv 2024")
    if result.area:
        say(f"  hors du territoire étudié ({result.area.label}) : {s['outside']}")
    studied = int(result.qpv_in_area.sum()) if result.qpv_in_area is not None else len(run.qpv)
    what = "du territoire" if result.area else f"dans les tableaux ({result.reported})"
    say(f"Quartiers {what} : {studied} ({run.qpv.attrs.get('label', '')}).")
    if "evolution" in result.sites:
        from .vocabulary import Evolution

        counts = result.sites["evolution"].value_counts()
        say(f"Comparaison avec {run.study.compare} : " + ", ".join(
            f"{n} {Evolution(k).label}" for k, n in counts.items()))
    if result.issues:
        say(f"{plural(len(result.issues), 'remarque')} sur le fichier d'entrée :")
        for issue in result.issues[:SHOWN_ISSUES]:
            say(f"  {issue}")
        if len(result.issues) > SHOWN_ISSUES:
            where = _notes_column(run.study.outputs)
            more = len(result.issues) - SHOWN_ISSUES
            say(f"  … et {more} {'autre' if more == 1 else 'autres'}"
                + (f" ({where})." if where else "."))
    for path, what in run.written:
        wrote(path, what)


def _notes_column(outputs: dict) -> str:
    """Where the written files hold every row's remark, under the header they show."""
    from .vocabulary import SITE_HEADERS

    note = "note_localisation"
    if "tableau" in outputs:
        path = Path(outputs["tableau"])
        shown = SITE_HEADERS[note] if path.suffix.lower() in (".csv", ".xlsx") else note
        return f"colonne « {shown} » du fichier {path.name}"
    if "rapport" in outputs:
        return (f"colonne « {SITE_HEADERS[note]} » de la feuille Initiatives du fichier "
                f"{Path(outputs['rapport']).name}")
    return ""
