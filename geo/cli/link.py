"""``ess-qpv link`` and ``ess-qpv map``: a study built from the command line's options.

Both only build a :class:`geo.study.Study` and call :func:`geo.study.run_study`, like
``ess-qpv run`` and the notebook; they differ only in the outputs they ask for.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..parameters import PARAMETERS, add_options, assign, default, grouped
from ..typography import number, plural
from ..vocabulary import INPUT_ROLES, OUTPUT, OUTPUTS, GeocodeStatus, Output, Relation
from ._console import say, wrote
from .geocode import (
    add_geocoder_options,
    add_role_options,
    columns_from_args,
    print_geocode_summary,
)

#: How many row problems are printed before the rest are only counted.
SHOWN_ISSUES = 20


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options that say how to read the initiatives table."""
    group = parser.add_argument_group("lecture des initiatives (colonnes reconnues à leur nom "
                                      "ou à leur contenu sinon)")
    add_role_options(group, INPUT_ROLES)
    add_options(group, *grouped("lecture"))
    add_geocoder_options(parser)



def add_qpv_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("quartiers")
    add_options(group, *grouped("quartiers"))


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
    add_options(big, *grouped("flux"))
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
    add_options(out, *grouped("carte"))
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
    from ..area import StudyArea
    from ..model import Geocoding, Streaming, Study
    from ..studyfile import periods

    outputs = {key: getattr(args, option) for key, option in args.outputs.items()}
    for key, value in outputs.items():
        if value == "":  # an option given without a name: beside the main output
            main, o = Path(args.output), OUTPUT[key]
            outputs[key] = str(main.with_name(main.stem + o.beside + o.extensions[0]))
    study = Study(
        initiatives=Path(args.input), columns=columns_from_args(args),
        qpv_source=args.qpv, compare=args.compare,
        area=StudyArea.of(args.departement, args.commune),
        geocoding=Geocoding(corrections=Path(args.corrections) if args.corrections else None),
        outputs={k: Path(v) for k, v in outputs.items() if v},
        landscape=not option(args, "portrait"),
        periods=periods(option(args, "periods") or ""),
        key_figures=Path(args.key_figures) if args.key_figures else None,
        stream=Streaming(crs_column=args.crs_column, workers=args.workers)
        if getattr(args, "flux", False) or getattr(args, "crs_column", None) else None)
    for p in PARAMETERS:  # the values taken as given
        if p.flags and p.attr and p.as_is:
            assign(study, p, option(args, p.name))
    return study


def option(args: argparse.Namespace, name: str):
    """The value of the parameter ``name`` on the command line; its default when the
    command has no such option (``link`` draws no map)."""
    from ..parameters import PARAMETER

    return getattr(args, PARAMETER[name].argument, default(name))


def run_link(args: argparse.Namespace) -> int:
    run = run_with_progress(study_of(args))
    print_run(run)
    return 0


def run_with_progress(study):
    """Run a study with a progress bar for geocoding, and one for the rows of a streamed
    run (with the time left when the table's size is known)."""
    from tqdm.auto import tqdm

    from ..progress import Count, listening
    from ..stream import progress_bar, total_rows
    from ..study import run_study
    from ._console import writing_bar

    tqdm.monitor_interval = 0  # no thread: the print may be drawn by a forked child
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
        say(f"{plural(run.rows, 'ligne reliée', 'lignes reliées')} par morceaux en "
            f"{number(run.seconds, 1)} s.")
        if run.linked is not None:
            print_streamed(run.linked, run.study)
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
    say(f"  implantés dans un QPV : {number(s[Relation.IMPLANTED])}")
    say(f"  à proximité (moins de {number(result.distance)} m) : {number(s[Relation.NEARBY])}")
    say(f"  ni dans ni près d'un QPV : {number(s[Relation.NONE])}")
    say(f"  non localisés : {number(s[Relation.NOT_LOCATED])}")
    say(f"  déclarant intervenir dans un QPV : {number(s['serving'])}")
    if s["uncertain"]:
        say(_uncertain(s["uncertain"], result.rounding))
    if result.area:
        say(f"  hors du territoire étudié ({result.area.label}) : {number(s['outside'])}")
    studied = int(result.qpv_in_area.sum()) if result.qpv_in_area is not None else len(run.qpv)
    what = "du territoire" if result.area else f"dans les tableaux ({result.reported})"
    say(f"Quartiers {what} : {number(studied)} ({run.qpv.attrs.get('label', '')}).")
    if "evolution" in result.sites:
        from ..vocabulary import Evolution

        counts = result.sites["evolution"].value_counts()
        say(f"Comparaison avec {run.study.compare} : " + ", ".join(
            f"{number(n)} {Evolution(k).label}" for k, n in counts.items()))
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


def _uncertain(count: int, rounding: float) -> str:
    return (f"  dont à la limite incertaine (à moins de {rounding:.0f}\u00a0m d'une "
            f"limite, contours arrondis) : {number(count)} ; contours exacts : "
            "ess-qpv qpv download --generation 2024, puis --qpv 2024")


def print_streamed(linked, study) -> None:
    """What a streamed link found: rows per relation, the points it did not use and why,
    and the first remarks (every one is in the table's remark column)."""
    relations = linked.relations
    if linked.headers:
        say("Colonnes : " + " ; ".join(linked.headers))
    say(f"  implantés dans un QPV : {number(relations[Relation.IMPLANTED])}")
    say(f"  à proximité (moins de {number(study.distance)} m) : "
        f"{number(relations[Relation.NEARBY])}")
    say(f"  ni dans ni près d'un QPV : {number(relations[Relation.NONE])}")
    say(f"  non localisés : {number(relations[Relation.NOT_LOCATED])}")
    for count, what in ((linked.set_aside, "coordonnées contraires à leur adresse ou "
                                           "géocodage antérieur douteux"),
                        (linked.abroad, "point hors de France et des outre-mer"),
                        (linked.unreadable, "coordonnées manquantes ou illisibles")):
        if count:
            say(f"    dont {what} : {number(count)}")
    if linked.uncertain:
        say(_uncertain(linked.uncertain, linked.rounding))
    if linked.noted:
        say(f"{plural(linked.noted, 'remarque')} sur le fichier d'entrée :")
        for row, column, note in linked.notes:
            say(f"  ligne {row}" + (f", colonne « {column} »" if column else "") + f" : {note}")
        more = linked.noted - len(linked.notes)
        if more:
            where = _notes_column(study.outputs)
            say(f"  … et {number(more)} {'autre' if more == 1 else 'autres'}"
                + (f" ({where})." if where else "."))


def _notes_column(outputs: dict) -> str:
    """Where the written files hold every row's remark, under the header they show."""
    from ..vocabulary import SITE_HEADERS

    note = "note_localisation"
    if "tableau" in outputs:
        path = Path(outputs["tableau"])
        shown = SITE_HEADERS[note] if path.suffix.lower() in (".csv", ".xlsx") else note
        return f"colonne « {shown} » du fichier {path.name}"
    if "rapport" in outputs:
        return (f"colonne « {SITE_HEADERS[note]} » de la feuille Initiatives du fichier "
                f"{Path(outputs['rapport']).name}")
    return ""
