"""The study: one description of everything a run needs, and the one function that runs it.

Every door builds a :class:`Study` and calls :func:`run_study`: ``ess-qpv link``, ``map``,
``run`` and ``demo``, the notebook and the web page. Nothing else sequences the steps, so
the same question gets the same answer whichever door it came through:

read the table → recognise its columns → geocode what has no coordinates → link every site
to the whole QPV generation → report the territory studied → compare generations → write.

A table too big for memory (``Study.stream``, or a ``.parquet`` / ``.zip`` table) runs the
same study streamed: read, linked and written chunk by chunk on every core
(:mod:`geo.stream`), with the same rule for every site and the enriched table as its only
output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from . import __version__
from . import geocode as gc
from ._errors import InputError
from ._validate import check_embed_url
from .columns import detect_columns
from .confine import ALLOW_OUTSIDE, inside, regular_file, with_sidecars
from .indicators import read_measures
from .initiatives import (
    Initiatives,
    check_streamed_table,
    initiatives_from_table,
    read_sites_table,
    read_table,
)
from .io import check_outputs
from .link import LinkResult, check_distance, link
from .model import (  # noqa: F401 - the study's types, imported from here by older callers
    STREAMED_FORMATS,
    Geocoding,
    PanoramaRun,
    PanoramaStudy,
    StreamedResult,
    Streaming,
    Study,
    StudyResult,
)
from .parameters import PARAMETER
from .vocabulary import OUTPUT, Detection
from .write.outputs import drawn_ahead, give_ahead, write_outputs

EXAMPLE = "exemple/initiatives.csv"
DEMO_TITLE = "Exemple fictif – initiatives de l'ESS et quartiers prioritaires"

#: The steps of a run, as reported to ``progress``, with their French labels.
STEPS = {"lecture": "lecture du tableau", "geocodage": "géocodage des adresses",
         "liaison": "liaison aux quartiers", "ecriture": "écriture des résultats"}

#: ``progress(step, stats)``: called at each step of :data:`STEPS`, and during geocoding
#: after every chunk with the geocoder's running :class:`geo.geocode.Stats`.
#: ``progress(step, stats)``: geocoding statistics during ``"geocodage"``; in a streamed
#: run, the rows just linked (an ``int``) during ``"liaison"``.
Progress = Callable[[str, "gc.Stats | int | None"], None]

#: What a streamed study writes its enriched table as.
STREAMED_OUTPUTS = (".csv", ".parquet")


# --------------------------------------------------------------------------- checks


def check_study(study: Study) -> None:
    """Refuse, before any work, what would fail or lose data: unknown output formats,
    outputs that overwrite an input or each other, outputs outside the study folder,
    a negative or non-finite distance, an unknown paper size."""
    check_distance(study.distance)
    if study.all_quartiers and study.area:
        raise InputError(f"toute la France ou un territoire ({study.area.label}) : les "
                         "tableaux par quartier ne peuvent couvrir que l'un des deux.",
                         parameters=("all_quartiers", "departement", "commune"))
    unknown = sorted(set(study.outputs) - set(OUTPUT))
    if unknown:
        raise InputError(f"sortie inconnue : {', '.join(unknown)} ; possibles : "
                         f"{', '.join(OUTPUT)}.")
    for key in ("paper", "fiche_paper"):
        paper, formats = getattr(study, key), PARAMETER[key].choices
        if paper not in formats:
            raise InputError(f"format d'impression « {paper} » inconnu ; possibles : "
                             f"{', '.join(formats)}.", parameters=(key,))
    if study.outputs.get("integration"):
        if study.embed_url is not None:
            check_embed_url(study.embed_url)
        elif not study.outputs.get("carte"):
            raise InputError("l'extrait à intégrer a besoin de l'adresse de la carte : "
                             "demandez aussi la carte interactive, ou donnez son adresse ; "
                             "rien n'a été écrit.", parameters=("embed_url", "carte"))
    if study.periods and not study.outputs.get("carte_impression"):
        raise InputError("les périodes sont les panneaux de la carte à imprimer : demandez "
                         "aussi la carte à imprimer.", parameters=("periods",
                                                                   "carte_impression"))
    if study.key_figures and not Path(study.key_figures).is_file():
        raise InputError("fichier de chiffres clés introuvable.",
                         path=Path(study.key_figures).name, parameters=("chiffres_cles",))
    sources = [s for s in (study.qpv_source, study.compare) if s and Path(s).exists()]
    check_reach(study, sources)
    check_outputs({OUTPUT[k].what: p for k, p in study.outputs.items()},
                  inputs=[study.initiatives, study.geocoding.corrections, study.key_figures,
                          *sources],
                  folder=_confining(study))
    for key, path in study.outputs.items():
        allowed, what = OUTPUT[key].extensions, OUTPUT[key].what
        if Path(path).suffix.lower() not in allowed:
            raise InputError(f"extension « {Path(path).suffix or '(aucune)'} » impossible pour "
                             f"{what} ; possibles : {', '.join(allowed)}.", path=Path(path).name,
                             parameters=(key,))


def _confining(study: Study) -> Path | None:
    """The folder every file of ``study`` must stay in (``None``: anywhere)."""
    return None if study.allow_outside else study.folder


def check_reach(study: Study, sources=()) -> None:
    """Refuse, before any work, a study that would read or write outside its folder
    (symbolic links followed, unless ``study.allow_outside``) or read a device or a pipe
    (:mod:`geo.confine`)."""
    folder = _confining(study)
    reads = [("le tableau des initiatives", study.initiatives),
             ("le fichier de corrections", study.geocoding.corrections),
             ("le fichier de chiffres clés", study.key_figures),
             *(("le fichier des contours des quartiers", s) for s in sources)]
    for what, path in reads:
        for part in with_sidecars(path) if path else ():
            inside(part, folder, what=what)
            regular_file(part, what=what)
    for source in (study.qpv_source, study.compare):
        if folder is not None and str(source or "").startswith(("http://", "https://")):
            raise InputError(f"le fichier d'étude demande de télécharger des contours à "
                             f"l'adresse « {source} » : rien n'a été téléchargé (une étude "
                             "reçue ne contacte aucun serveur sans votre accord). Si vous "
                             "connaissez cette adresse, autorisez-le explicitement.",
                             parameters=(ALLOW_OUTSIDE,))
    # the declared outputs are held inside by check_outputs; the fiches' maps go beside
    if study.outputs.get("fiches"):
        from .write.fiches import fiche_images_folder

        inside(fiche_images_folder(study.outputs["fiches"]), folder,
               what="le dossier des cartes des fiches")


class _Unaccepted(gc.Geocoder):
    """The geocoder a study file names (not the national one) that the person running it
    has not accepted: the answers it gave before are used from the cache, but no request
    leaves for it (:attr:`Geocoding.confirmed`)."""

    def _request(self, method: str, path: str, **kw):
        raise InputError(f"le fichier d'étude demande d'envoyer des adresses du tableau au "
                         f"géocodeur « {self.url} », qui n'est pas le service national "
                         f"({gc.DEFAULT_URL}) : aucune adresse n'a été envoyée et rien n'a "
                         "été écrit. Si vous connaissez ce serveur et l'acceptez, "
                         "confirmez-le ; sinon retirez la clé url de [geocodage].",
                         parameters=("geocoder_file",))


# --------------------------------------------------------------------------- the run


def read_sites(study: Study, *, progress: Progress | None = None
               ) -> tuple[Initiatives, Detection, gc.GeocodeResult | None]:
    """Read the table, recognise its columns, geocode the rows that need it (from the cache
    only unless ``study.geocoding.online``) and make the sites."""
    report = progress or (lambda step, stats: None)
    report("lecture", None)
    table, first_row, separator = read_sites_table(study.initiatives, sheet=study.sheet)
    path = Path(study.initiatives).name
    detection = detect_columns(table, study.columns, path=path)
    # Numbers and years are checked before any geocoding: a typo costs no request.
    measures = read_measures(table, detection, path=path, first_row=first_row)
    detection.report.extend(measures.report)
    check_measures(study, measures, path)
    found = detection.columns
    geocoded = None
    g = study.geocoding
    # a corrections file places sites by hand, whether or not addresses need geocoding
    if _needs_geocoding(table, detection) or (g.force and g.online) or (
            g.corrections and found.address and Path(g.corrections).is_file()):
        corrections = read_table(g.corrections, what="le fichier de corrections")[0] \
            if g.corrections else None
        geocoder = (gc.Geocoder if g.confirmed else _Unaccepted)(g.url,
                                                                 chunk_size=g.chunk_size)
        report("geocodage", geocoder.stats)
        geocoded = gc.geocode(
            table, detection=detection, geocoder=geocoder, corrections=corrections,
            min_score=g.min_score, force=g.force, offline=not g.online, first_row=first_row,
            progress=lambda n: report("geocodage", geocoder.stats), path=path,
            corrections_path=Path(g.corrections).name if g.corrections else "")
        table = geocoded.table
        found.lon, found.lat = geocoded.lon_column, geocoded.lat_column
        if not any("coordonnées" in line for line in detection.report):
            detection.report.insert(0, f"coordonnées écrites par le géocodage dans « "
                                       f"{found.lon} » / « {found.lat} »")
    initiatives = initiatives_from_table(
        table, path=path, first_row=first_row, separator=separator, detection=detection,
        min_score=g.min_score,
        measures=measures, unplaced=None if geocoded is None else
        geocoded.table["geocode_note"].fillna("").astype(str).tolist())
    # values repeated on every site of an initiative: said with the columns, once
    from .impact import repeated_values
    from .initiatives import initiative_ids

    detection.report.extend(repeated_values(measures, initiative_ids(initiatives)))
    return initiatives, detection, geocoded


def check_measures(study: Study, measures, path: str) -> None:
    """The indicator that sizes the symbols and the print's periods need their columns."""
    if study.size_by and study.size_by not in measures.columns:
        raise InputError(f"« {study.size_by} » ne peut pas donner la taille des symboles : ce "
                         "n'est pas un indicateur du tableau (indicateurs : "
                         f"{', '.join(measures.columns) or 'aucun'}).", path=path,
                         parameters=("size_by",))
    if study.periods and not measures.has_years:
        raise InputError("les périodes demandent une colonne d'année d'ouverture (annee, "
                         "annee_ouverture, date_creation…) : aucune n'a été trouvée.",
                         path=path, parameters=("periods", "year"))


def site_review(initiatives: Initiatives, geocoded: gc.GeocodeResult | None,
                result: LinkResult | None = None) -> pd.DataFrame:
    """The review: the geocoder's doubtful and unanswered rows, then every other site that
    could not be placed (unreadable or foreign coordinates, contradicting their address…)
    and, from ``result``, the sites whose quartier the rounded outlines cannot decide
    (« limite incertaine »), with their address as typed and why, keyed as the corrections
    file expects."""
    import numpy as np

    from .link import uncertain_note

    review = geocoded.review if geocoded is not None else pd.DataFrame(
        columns=gc.REVIEW_COLUMNS)
    sites = initiatives.sites
    listed = {int(r) for r in review["ligne"]}
    who = gc.identify_sites(sites, id_column=initiatives.id_column,
                            address_columns=initiatives.address_columns,
                            first_row=initiatives.first_row)
    reasons: dict[int, str] = {}
    for issue in initiatives.issues:
        reasons.setdefault(issue.row, issue.message)
    rows = []
    uncertain = np.zeros(len(sites), dtype=bool)
    if result is not None and "boundary_uncertain" in result.sites:
        uncertain = (result.sites["boundary_uncertain"] == "oui").to_numpy()
        note = uncertain_note(result.rounding, "")
        for pos in np.flatnonzero(uncertain):
            line = initiatives.row_number(int(pos))
            reasons[line] = next((i.message for i in result.issues if i.row == line
                                  and i.message.startswith("limite incertaine")), note)
    for pos in np.flatnonzero(sites.geometry.isna().to_numpy() | uncertain):
        line = initiatives.row_number(int(pos))
        if line in listed:
            continue
        typed = who.typed[pos]
        row = {**dict.fromkeys(gc.REVIEW_COLUMNS, ""), "score": np.nan,
               "cle": who.keys[pos], "ligne": line, "nom": who.names[pos],
               "adresse_saisie": typed, "statut": "non_localise",
               "motif": reasons.get(line, "site non localisé")}
        if uncertain[pos]:  # placed, but maybe on the other side of the exact boundary
            row["statut"] = "limite_incertaine"
        if int(pos) in initiatives.contradicted:  # its own point, to accept or correct
            lon, lat = initiatives.contradicted[int(pos)]
            row.update(statut=gc.STATUS_REVIEW, latitude_proposee=f"{lat:.6f}",
                       longitude_proposee=f"{lon:.6f}")
        rows.append(row)
    if not rows:
        return review
    extra = pd.DataFrame(rows, columns=gc.REVIEW_COLUMNS)
    return pd.concat([review, extra], ignore_index=True).sort_values(
        "ligne", kind="stable", ignore_index=True)


def _needs_geocoding(table: pd.DataFrame, detection: Detection) -> bool:
    """Whether some row has an address and no coordinates."""
    found = detection.columns
    if found.crs or isinstance(table, gpd.GeoDataFrame) or not found.address:
        return False
    if found.lat is None or found.lon is None:
        return True
    cells = table[[found.lat, found.lon]].astype(object)
    text = cells.where(cells.notna(), "").astype(str)
    return bool(((text[found.lat].str.strip() == "") | (text[found.lon].str.strip() == ""))
                .any())


def run_study(study: Study, *, progress: Progress | None = None
              ) -> StudyResult | StreamedResult:
    """Run ``study`` and write its outputs; return what was found and written.

    ``progress(step, stats)`` hears of each step (:data:`STEPS`) and of the geocoding."""
    from .qpv import load_qpv

    if study.streamed:
        return run_streamed(study, progress=progress)
    report = progress or (lambda step, stats: None)
    check_study(study)
    # the print's process is forked first: it gets ready while the sites are read and linked
    with drawn_ahead(study) as ahead:
        initiatives, detection, geocoded = read_sites(study, progress=progress)
        report("liaison", None)
        qpv = load_qpv(study.qpv_source)
        previous = load_qpv(study.compare) if study.compare else None
        result = link(initiatives, qpv, distance=study.distance, area=study.area,
                      previous=previous, whole_generation=study.all_quartiers)
        info = provenance(study, qpv, result, detection)
        run = StudyResult(study, initiatives, detection, geocoded, qpv, previous, result,
                          info, review=site_review(initiatives, geocoded, result))
        give_ahead(run, ahead)
        contributions(run)
        report("ecriture", None)
        write_outputs(run, ahead=ahead)
    return run


def check_streamed(study: Study) -> None:
    """Refuse, before any work, what a streamed study cannot do: every output but the
    enriched table (.csv or .parquet), online geocoding, declared or radius service,
    comparison, a territory."""
    check_distance(study.distance)
    workers = (study.stream or Streaming()).workers
    if workers is not None and workers < 1:
        raise InputError(f"nombre de processus « {workers} » impossible : 1 au moins.",
                         parameters=("workers",))
    table = study.outputs.get("tableau")
    if not table:
        raise InputError("en lecture par morceaux (grand fichier, .parquet, .zip), seul le "
                         "tableau enrichi s'écrit ; une carte, un rapport et les autres "
                         "sorties se font sur un tableau lu en entier (.csv, .xlsx, .geojson, "
                         ".gpkg).", path=Path(study.initiatives).name)
    others = [key for key in study.outputs if key != "tableau"]
    asked = {"served": study.columns.served, "radius": study.columns.radius,
             "compare": study.compare, "departement": study.area.departements,
             "commune": study.area.communes, "geocode": study.geocoding.online}
    refused = others + [key for key, value in asked.items() if value]
    if refused:
        raise InputError("en lecture par morceaux (grand fichier, .parquet, .zip), seul le "
                         "tableau enrichi est écrit, sans géocodage ni comparaison ni "
                         "territoire : retirez ces demandes ; rien n'a été écrit.",
                         parameters=tuple(refused))
    if Path(table).suffix.lower() not in STREAMED_OUTPUTS:
        raise InputError(f"en lecture par morceaux, le tableau enrichi s'écrit en "
                         f"{' ou '.join(STREAMED_OUTPUTS)}.", path=Path(table).name,
                         parameters=("tableau",))
    check_reach(study, [s for s in (study.qpv_source,) if s and Path(s).exists()])
    check_streamed_table(study.initiatives)  # the same answers as a whole-table run
    check_outputs({OUTPUT["tableau"].what: table}, inputs=[study.initiatives],
                  folder=_confining(study))


def run_streamed(study: Study, *, progress: Progress | None = None) -> StreamedResult:
    """Run a study chunk by chunk (:func:`geo.stream.stream_link`): the same rule for every
    site as the whole-table run, the enriched table as its only output."""
    import time

    from .qpv import load_qpv
    from .stream import stream_link

    report = progress or (lambda step, stats: None)
    check_streamed(study)
    qpv = load_qpv(study.qpv_source)
    report("liaison", None)
    stream = study.stream or Streaming()
    start = time.perf_counter()
    table = Path(study.outputs["tableau"])
    linked = stream_link(study.initiatives, table, qpv, distance=study.distance,
                         lon_column=study.columns.lon, lat_column=study.columns.lat,
                         crs=study.columns.crs, crs_column=stream.crs_column,
                         workers=stream.workers, progress=lambda n: report("liaison", n))
    return StreamedResult(study, qpv, linked.rows, time.perf_counter() - start,
                          written=[(table, OUTPUT["tableau"].what)], linked=linked)


def contributions(run: StudyResult) -> None:
    """Fill ``run.impact`` (what the initiatives bring per quartier) and ``run.years`` (how
    they spread), left empty when the study has neither indicators, population nor years;
    name the population's source in the provenance."""
    from .impact import impact_table, population_for, read_population, years_table
    from .initiatives import initiative_ids

    study, initiatives = run.study, run.initiatives
    measures = initiatives.measures
    given = read_population(study.key_figures, source=study.key_figures_source) \
        if study.key_figures else None
    population = population_for(run.qpv, given)
    ids = initiative_ids(initiatives)
    if measures.columns or population:
        run.impact = impact_table(run.result, run.qpv, measures, ids, population=population)
    run.years = years_table(run.result, run.qpv, measures, ids)
    if population:
        run.provenance["population"] = population.source
        run.population = population


def provenance(study: Study, qpv: gpd.GeoDataFrame, result: LinkResult,
               detection: Detection) -> dict:
    """What every output records about how it was made (file names only, no local path)."""
    from datetime import datetime

    def name(source: str | None) -> str:
        if not source:
            return ""
        return source if "://" in source or not Path(source).exists() else Path(source).name

    return {
        "outil": f"ess-qpv {__version__}",
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "qpv_source": qpv.attrs.get("label") or name(qpv.attrs.get("source")),
        "qpv_origine": name(qpv.attrs.get("origin")),
        "qpv_date": qpv.attrs.get("date") or "données fournies avec l'outil",
        "qpv_credit": qpv.attrs.get("credit"),
        "parametres": {
            "initiatives": Path(study.initiatives).name,
            **result.parameters,
            "quartiers": name(study.qpv_source),
            "comparaison": name(study.compare),
            "géocodage en ligne": study.geocoding.online,
            "géocodeur": study.geocoding.url,
            "colonnes": detection.as_dict(),
            **({"indicateurs": detection.indicators} if detection.indicators else {}),
            **({"taille_symboles": study.size_by} if study.size_by else {}),
            **({"periodes": ", ".join(map(str, study.periods))} if study.periods else {}),
        },
        "detection": list(detection.report),
    }


# --------------------------------------------------------------------------- the panorama


def check_panorama(study: PanoramaStudy) -> None:
    """Refuse, before reading gigabytes: unknown outputs or extensions, outputs over the
    inputs or each other, chunks too small."""
    from .vocabulary import PANORAMA_OUTPUTS

    declared = {o.key: o for o in PANORAMA_OUTPUTS}
    unknown = sorted(set(study.outputs) - set(declared))
    if unknown:
        raise InputError(f"sortie inconnue : {', '.join(unknown)} ; possibles : "
                         f"{', '.join(declared)}.")
    check_distance(study.distance)
    check_outputs({declared[k].what: p for k, p in study.outputs.items()},
                  inputs=[study.geoloc, study.units, study.establishments])
    for key, path in study.outputs.items():
        if Path(path).suffix.lower() not in declared[key].extensions:
            raise InputError(f"extension « {Path(path).suffix or '(aucune)'} » impossible pour "
                             f"{declared[key].what} ; possibles : "
                             f"{', '.join(declared[key].extensions)}.", path=Path(path).name,
                             parameters=(key,))
    if study.chunk_rows < 1000:
        raise InputError("lignes lues à la fois : 1 000 au moins.", parameters=("chunk_rows",))


def run_panorama(study: PanoramaStudy, *, progress: Callable[[int], None] | None = None
                 ) -> PanoramaRun:
    """Run the panorama and write its outputs, all together or none; ``progress(rows)``
    hears of the rows read."""
    import time

    from .qpv import load_qpv
    from .sirene import panorama
    from .write.outputs import write_panorama

    check_panorama(study)
    qpv = load_qpv(study.qpv_source)
    start = time.perf_counter()
    result = panorama(study.geoloc, study.units, qpv, establishments=study.establishments,
                      distance=study.distance, departements=study.departements,
                      workers=study.workers, chunk_rows=study.chunk_rows,
                      engine=study.engine, scheduler=study.scheduler, progress=progress)
    run = PanoramaRun(study, qpv, result, time.perf_counter() - start)
    write_panorama(run)
    return run
