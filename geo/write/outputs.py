"""Write what a study asked for: tables, report, maps, provenance; all of them or none.

Every file is written beside its target, and the whole set replaces the previous one only
once every file is complete (:func:`geo.io.staged`): a run that fails or is cancelled while
writing leaves the previous results as they were, never a mix of two runs."""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from .._errors import InputError
from ..io import atomic_path, remove_stale, staged, write_table
from ..tables import french
from ..vocabulary import OUTPUT
from .alongside import Alongside

if TYPE_CHECKING:  # the model sits below the runner and the writers: no circle
    from ..model import PanoramaRun, Study, StudyResult




def site_table(run: StudyResult, suffix: str) -> pd.DataFrame:
    """The per-site table as written: in CSV and Excel, the report's *Initiatives* sheet
    (French headers and values, numbers as numbers); in GIS formats, the user's columns and
    ours, as the Python API names them."""
    result = run.result
    if suffix in (".xlsx", ".csv"):
        from .report import report_tables

        return report_tables(result, numeric=_numeric_columns(run))["Initiatives"]
    return result.sites


def _numeric_columns(run: StudyResult) -> list[str]:
    """The user's columns written as numbers: coordinates, radius, indicators."""
    initiatives = run.initiatives
    return [c for c in (*(initiatives.coordinate_columns or ()), initiatives.radius_column,
                        *initiatives.measures.columns) if c]


@contextlib.contextmanager
def drawn_ahead(study: Study) -> Iterator[dict[str, Alongside]]:
    """The children that will draw ``study``'s outputs drawn alongside (the print), forked
    now so that their imports and caches are ready when the run reaches them
    (:meth:`Writer.prepare`); given to :func:`write_outputs`; stopped on leaving if not
    waited for."""
    out = _paths(study)
    if any(writer.alongside and key in out for key, writer in WRITERS.items()):
        _read_before_fork(out)
    with contextlib.ExitStack() as stack:
        yield {key: stack.enter_context(Alongside(
                   lambda run, key=key: WRITERS[key].write(_Writing(run, out, _nothing,
                                                                    _nothing), out[key]),
                   what=OUTPUT[key].what, prepare=writer.prepare or _nothing))
               for key, writer in WRITERS.items() if writer.alongside and key in out}


def _read_before_fork(out: dict[str, Path]) -> None:
    """Read, before the print's process is forked, what this process reads for the run
    anyway and the print reads too (:func:`_prepare_print`), so that both share one copy:
    the départements (every run checks that its sites lie in France) and, for a web map,
    the communes (its landmarks) and scipy's graph (its proximity band). Read in the child
    as well, they cost about 0.35 s of CPU again."""
    from ..outlines import communes, departements

    departements()
    if out.keys() & {"carte", "carte_autonome"}:
        import scipy.sparse.csgraph  # noqa: F401

        communes()


def give_ahead(run: StudyResult, ahead: dict[str, Alongside]) -> None:
    """Give ``run`` to the children forked by :func:`drawn_ahead` as soon as it is linked:
    they draw from its sites and quartiers, not from its contributions (impact, years,
    population: :func:`geo.study.contributions`). A run with nothing to draw gives them
    nothing (:func:`write_outputs` leaves their outputs out)."""
    if _mappable(run):
        for child in ahead.values():
            child.give(run)


def _nothing(*args) -> None:
    """No warm-up, no progress: the child's progress is told by the parent."""


def _paths(study: Study) -> dict[str, Path]:
    """The paths of the outputs ``study`` asks for."""
    return {k: Path(v) for k, v in study.outputs.items() if v}


def write_outputs(run: StudyResult, *, ahead: dict[str, Alongside] | None = None) -> None:
    """Write every output of ``run.study``, all together or none; append (path, what) to
    ``run.written``. ``ahead``: the children forked for it by :func:`drawn_ahead`."""
    out = _paths(run.study)
    if not _mappable(run) and out.keys() - DRAWN:
        # nothing placed yet (every site waits for the review): the tables and the review
        # are written, so that the sites can be placed; the maps wait for them
        drawn = [out.pop(k).name for k in sorted(out.keys() & DRAWN)]
        if drawn:
            warnings.warn("aucun site localisé : " + ", ".join(drawn)
                          + " non " + ("écrits" if len(drawn) > 1 else "écrit")
                          + " ; placez les sites à la relecture (ou vérifiez les colonnes de "
                          "coordonnées), puis relancez.", stacklevel=2)
    folders = [p.parent for p in out.values()]
    if "fiches" in out:
        from .fiches import check_fiche_maps, fiche_images_folder

        folders.append(fiche_images_folder(out["fiches"]))
    # a killed run's switch is completed first, then its leftovers go
    remove_stale(folders)
    if "fiches" in out:  # before any work: a file of the user's is never overwritten
        check_fiche_maps(run.result, run.initiatives, out["fiches"])
    written = len(run.written)
    try:
        with staged():
            _write_all(run, out, ahead or {})
    except BaseException:
        del run.written[written:]
        raise


@dataclass
class _Writing:
    """What the writers of one run share: the run, the paths asked for, and the progress
    (``done`` counts a file, ``page`` a page of the fiches)."""

    run: StudyResult
    out: dict[str, Path]
    done: Callable[[str, Path], None]
    page: Callable[[int, int], None]
    rendered: str | None = None  # the interactive map's page, rendered once for both files


def _write_all(run: StudyResult, out: dict[str, Path], ahead: dict[str, Alongside]
               ) -> None:
    from ..progress import tell

    # what the progress counts: each file, and each page of the fiches
    pages = _fiche_count(run) if "fiches" in out else 0
    total, count = len(out) + pages, [0]
    tell(0, total)

    def done(key: str, path: Path) -> None:
        run.written.append((path, OUTPUT[key].what))
        count[0] += 1
        tell(count[0], total)

    def page(k: int, n: int) -> None:
        tell(count[0] + k, total)
        if k == n:  # the last page: the pages are counted before the PDF's file
            count[0] += n

    writing = _Writing(run, out, done, page)
    # an output drawn alongside (the print, the longest) is started first on a second core
    # (in the child forked ahead for it, else in one forked now) while the others are
    # written here, and counted in its place
    aside = {key: ahead[key] if key in ahead else Alongside(
                 lambda key=key: WRITERS[key].write(writing, out[key]), what=OUTPUT[key].what)
             for key, writer in WRITERS.items() if writer.alongside and key in out}
    with contextlib.ExitStack() as stack:
        for key, started in aside.items():
            stack.enter_context(started)
            if key in ahead and not started.given:
                started.give(run)
        for key, writer in WRITERS.items():
            if key not in out:
                continue
            if key in aside:
                aside[key].wait()
            else:
                writer.write(writing, out[key])
            if writer.counted:
                done(key, out[key])


def _write_sites(w: _Writing, path: Path) -> None:
    write_table(site_table(w.run, path.suffix.lower()), path, layer="sites")


def _write_review(w: _Writing, path: Path) -> None:
    write_table(french(w.run.review, "relecture"), path, layer="a_verifier")


def _write_result_table(key: str) -> Callable[[_Writing, Path], None]:
    """The writer of one of the study's result tables (``detail``, ``par_quartier``…)."""
    def write(w: _Writing, path: Path) -> None:
        result = w.run.result
        table = {"detail": lambda: result.long.drop(
                     columns=[c for c in result.long.columns if c.startswith("_")]),
                 "par_initiative": lambda: result.initiatives,
                 "par_quartier": lambda: result.per_qpv,
                 "par_territoire": lambda: result.per_territory}[key]()
        if key == "par_quartier" and path.suffix.lower() in (".geojson", ".gpkg"):
            shown = w.run.qpv[result.qpv_in_area].reset_index(drop=True)
            table = gpd.GeoDataFrame(table, geometry=shown.geometry.to_numpy(), crs=shown.crs)
        else:
            table = french(table, key)
        write_table(table, path, layer=key)
    return write


def _write_report(w: _Writing, path: Path) -> None:
    from .report import write_report

    run = w.run
    write_report(path, run.result, review=run.review, sources=run.provenance,
                 numeric=_numeric_columns(run), impact=run.impact, years=run.years,
                 notes=run.initiatives.measures.report)


def _map_page(w: _Writing) -> str:
    """The interactive map's page, rendered once for the online and offline files."""
    if w.rendered is None:
        from .maps import html_text

        fmap = interactive_map(w.run)
        if "carte_autonome" in w.out:
            fmap.offline_name = html_text(w.out["carte_autonome"].name)
        w.rendered = fmap.get_root().render()
    return w.rendered


def _write_page(text: str, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _write_web_map(w: _Writing, path: Path) -> None:
    _write_page(_map_page(w), path)


def _write_offline_map(w: _Writing, path: Path) -> None:
    from . import assets

    _write_page(assets.self_contained(_map_page(w)), path)


def _write_embed(w: _Writing, path: Path) -> None:
    from .maps import embed_snippet

    study = w.run.study
    # the file to publish: the self-contained map when there is one
    published = w.out.get("carte_autonome") or w.out.get("carte")
    _write_page(embed_snippet(study.embed_url, title=study.title, published=(
        published.name if published else "carte-autonome.html")), path)


#: The print's PDF streams deflated at zlib's level 4, not matplotlib's 6: the demo's
#: compression takes 0.12 s of CPU instead of 0.26 s, for a file 3 % larger (1.46 MB
#: against 1.42 MB); level 5 saves a quarter as much.
PRINT_COMPRESSION = 4


def _write_print(w: _Writing, path: Path) -> None:
    import matplotlib

    from .printmap import print_map

    run = w.run
    study, initiatives = run.study, run.initiatives
    # Every quartier in view is drawn (a page of the atlas may show a neighbour's).
    previous, bounds = map_context(run)
    with matplotlib.rc_context({"pdf.compression": PRINT_COMPRESSION}):
        print_map(run.result, run.qpv, path, paper=study.paper, landscape=study.landscape,
                  title=study.title, theme_column=initiatives.theme_column,
                  id_column=initiatives.id_column, previous=previous, bounds=bounds,
                  atlas=study.atlas, measures=initiatives.measures, size_by=study.size_by,
                  periods=study.periods)


def _prepare_print() -> None:
    """The print's warm-up: its modules (and those it imports when drawing: PDF backend,
    font subsetter, geopandas' plotting, the agglomerations' graph), the outlines and
    cities it names places with, its font."""
    import fontTools.subset  # noqa: F401 - the fonts embedded in the PDF
    import matplotlib.backends.backend_pdf  # noqa: F401
    import matplotlib.pyplot  # noqa: F401 - GeoSeries.plot imports it
    import scipy.sparse.csgraph  # noqa: F401 - the agglomerations of sites
    from matplotlib import font_manager

    from ..cities import THRESHOLDS, cities
    from ..outlines import communes, departements
    from .printmap import PRINT_FONTS

    departements()
    communes()
    for population in THRESHOLDS:
        cities(population)
    font_manager.findfont(PRINT_FONTS["font.family"])


def _write_fiches(w: _Writing, path: Path) -> None:
    from .fiches import write_fiches

    run = w.run
    study = run.study
    previous, _ = map_context(run)
    files = write_fiches(run.result, run.initiatives, run.qpv, path, paper=study.fiche_paper,
                         title=study.title, previous=previous,
                         images=study.fiche_images, progress=w.page)
    w.done("fiches", path)
    if len(files) > 1:
        run.written.append((files[1].parent, f"cartes des fiches, {len(files) - 1} fichiers "
                                             "PNG (300 dpi) et SVG"))


def _write_provenance(w: _Writing, path: Path) -> None:
    info = dict(w.run.provenance, fichiers=[p.name for p, _ in w.run.written])
    _write_page(json.dumps(info, ensure_ascii=False, indent=2), path)


@dataclass(frozen=True)
class Writer:
    """How one declared output (:data:`geo.vocabulary.OUTPUTS`) is written: ``write``
    takes the run's shared state and the path; ``alongside``: drawn by a second process
    while the others are written, from the linked run (:func:`give_ahead`); ``counted``:
    the runner counts the file once written (else the writer does, as the fiches count
    their pages first); ``draws``: it draws the sites, so none can be made before a site
    is placed; ``prepare``: for a writer drawn alongside, what its process does while the
    run reads and links (imports, caches)."""

    write: Callable[[_Writing, Path], None]
    alongside: bool = False
    counted: bool = True
    draws: bool = False
    prepare: Callable[[], None] | None = None


#: Every output's writer, in the order a run writes them (the provenance last: it lists
#: the files written before it). A new output is declared in ``OUTPUTS`` and written here.
WRITERS: dict[str, Writer] = {
    "tableau": Writer(_write_sites),
    "relecture": Writer(_write_review),
    **{key: Writer(_write_result_table(key))
       for key in ("detail", "par_initiative", "par_quartier", "par_territoire")},
    "rapport": Writer(_write_report),
    "carte": Writer(_write_web_map, draws=True),
    "carte_autonome": Writer(_write_offline_map, draws=True),
    "integration": Writer(_write_embed, draws=True),
    "carte_impression": Writer(_write_print, alongside=True, draws=True,
                               prepare=_prepare_print),
    "fiches": Writer(_write_fiches, counted=False, draws=True),
    "provenance": Writer(_write_provenance),
}


#: The outputs that draw the sites: none can be made before a site is placed.
DRAWN = frozenset(key for key, writer in WRITERS.items() if writer.draws)


def _mappable(run: StudyResult) -> bool:
    """Whether a map can be drawn: a territory to show, or a placed site."""
    return bool(run.result.area) or bool(run.initiatives.sites.geometry.notna().any())


def map_qpv(run: StudyResult) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None,
                                       tuple | None]:
    """The quartiers a map draws (the territory's, else those around the sites), the other
    generation around them, and the initial view (``None``: fit the sites)."""
    from .maps import focus_qpv

    if not run.result.area:  # (a territory always has something to draw)
        previous, bounds = map_context(run)  # first: a run with nothing to draw is refused
        return focus_qpv(run.qpv, run.initiatives.sites), previous, bounds
    shown = run.qpv[run.result.qpv_in_area].reset_index(drop=True)
    shown.attrs = dict(run.qpv.attrs)
    return (shown, *map_context(run, shown))


def map_context(run: StudyResult, shown: gpd.GeoDataFrame | None = None
                ) -> tuple[gpd.GeoDataFrame | None, tuple | None]:
    """The other generation around the quartiers a map draws, and the initial view
    (``None``: fit the sites); for a territory, ``shown`` is its quartiers. Without a
    territory, the quartiers around the sites are not measured: the print and the fiches,
    which draw every quartier in view, take only this."""
    if not _mappable(run):
        advice = ("vérifiez les colonnes d'adresse ; les adresses que le géocodeur n'a pas "
                  "trouvées se placent à la main à la relecture" if run.study.geocoding.online
                  else "vérifiez les colonnes de coordonnées, ou géocodez les adresses en ligne")
        raise InputError(f"aucun site localisé : rien à cartographier ({advice}).",
                         path=run.initiatives.path)
    previous = run.previous
    if not run.result.area:
        if previous is not None:
            from .maps import focus_qpv

            previous = focus_qpv(previous, run.initiatives.sites)
        return previous, None
    if shown is None:
        shown = run.qpv[run.result.qpv_in_area]
    x0, y0, x1, y1 = shown.total_bounds
    if previous is not None:
        previous = previous.cx[x0:x1, y0:y1]
    return previous, (tuple(shown.total_bounds) if len(shown) else None)


def interactive_map(run: StudyResult):
    """The study's interactive map (a ``folium.Map``), as every door draws it."""
    from .maps import make_map

    study, initiatives = run.study, run.initiatives
    shown, previous, bounds = map_qpv(run)
    return make_map(
        run.result, shown, columns=initiatives, previous=previous, title=study.title,
        cluster=study.cluster, key_figures=_key_figures(run), bounds=bounds,
        provenance=run.provenance, measures=initiatives.measures, size_by=study.size_by)


def _key_figures(run: StudyResult) -> pd.DataFrame:
    """The quartiers' population shown in their popups: the study's, else INSEE's."""
    from ..qpv import load_key_figures

    if run.population:
        return pd.DataFrame({"pop_mun": run.population.values})
    return load_key_figures()


def _fiche_count(run: StudyResult) -> int:
    """The number of fiches (one per initiative)."""
    from ..initiatives import initiative_ids

    return int(initiative_ids(run.initiatives).nunique())


# --------------------------------------------------------------------------- the panorama


def write_panorama(run: PanoramaRun) -> None:
    """Write the panorama's outputs (:data:`geo.vocabulary.PANORAMA_OUTPUTS`), all together
    or none; append (path, what) to ``run.written``."""
    from ..io import write_workbook
    from ..vocabulary import PANORAMA_OUTPUTS

    what = {o.key: o.what for o in PANORAMA_OUTPUTS}
    out = {k: Path(v) for k, v in run.study.outputs.items() if v}
    result = run.result
    q = result.per_qpv
    remove_stale(p.parent for p in out.values())
    written = len(run.written)
    try:
        with staged():
            if "classeur" in out:
                reading = [(k.replace("_", " "), v) for k, v in result.counts.items()]
                write_workbook({"Par quartier": q, "Par territoire": result.per_territory,
                                "Accord INSEE": result.agreement,
                                "Désaccords": result.disagreements,
                                "Lecture": pd.DataFrame(reading, columns=["mesure", "valeur"])},
                               out["classeur"])
            if "par_quartier" in out:
                if out["par_quartier"].suffix.lower() == ".csv":
                    write_table(q, out["par_quartier"])
                else:
                    from ..stream import ChunkWriter

                    with ChunkWriter(out["par_quartier"]) as table:
                        table.write(q)
            if "carte" in out:
                with atomic_path(out["carte"]) as tmp:
                    tmp.write_text(panorama_map(run), encoding="utf-8")
            run.written.extend((path, what[key]) for key, path in out.items())
    except BaseException:
        del run.written[written:]
        raise


def panorama_map(run: PanoramaRun) -> str:
    """The panorama's map: quartiers coloured by their ESS establishments, one
    self-contained page."""
    from .assets import self_contained
    from .maps import choropleth_map

    shares = run.result.per_qpv.set_index("code_qp")
    details = shares.apply(lambda r: f"{r['etablissements_ess_proximite']} à proximité ; "
                           f"{r['etablissements_actifs_implantes']} établissements actifs "
                           "implantés" + (f" (part de l'ESS : {r['part_ess']:.0%})"
                                          if r['part_ess'] == r['part_ess'] else ""), axis=1)
    quartiers = run.qpv[run.qpv["code_qp"].isin(shares.index)]  # the territory's only
    fmap = choropleth_map(quartiers, shares["etablissements_ess_implantes"],
                          title="Établissements de l'ESS dans les quartiers prioritaires",
                          what="Établissements de l'ESS implantés", details=details)
    return self_contained(fmap.get_root().render())
