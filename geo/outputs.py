"""Write what a study asked for: tables, report, maps, provenance; all of them or none.

Every file is written beside its target, and the whole set replaces the previous one only
once every file is complete (:func:`geo.io.staged`): a run that fails or is cancelled while
writing leaves the previous results as they were, never a mix of two runs."""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from ._errors import InputError
from .alongside import Alongside
from .io import atomic_path, remove_stale, staged, write_table
from .tables import french
from .vocabulary import OUTPUT

if TYPE_CHECKING:  # the model sits below the runner and the writers: no circle
    from .model import PanoramaRun, StudyResult




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


def write_outputs(run: StudyResult) -> None:
    """Write every output of ``run.study``, all together or none; append (path, what) to
    ``run.written``."""
    out = {k: Path(v) for k, v in run.study.outputs.items() if v}
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
            _write_all(run, out)
    except BaseException:
        del run.written[written:]
        raise


def _write_all(run: StudyResult, out: dict[str, Path]) -> None:
    from .progress import tell

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

    # the print, the longest output, is drawn by a second core while the others are
    # written here; it is counted in its place, after the web maps
    printing = Alongside(lambda: _write_print(run, out["carte_impression"]),
                         what=OUTPUT["carte_impression"].what) \
        if "carte_impression" in out else None
    with printing or contextlib.nullcontext():
        _write_others(run, out, done, page, printing)


def _write_others(run: StudyResult, out: dict[str, Path], done, page,
                  printing: Alongside | None) -> None:
    result = run.result
    if "tableau" in out:
        write_table(site_table(run, out["tableau"].suffix.lower()), out["tableau"],
                    layer="sites")
        done("tableau", out["tableau"])
    if "relecture" in out:
        write_table(french(run.review, "relecture"), out["relecture"], layer="a_verifier")
        done("relecture", out["relecture"])
    public = result.long.drop(columns=[c for c in result.long.columns if c.startswith("_")])
    tables = {"detail": public, "par_initiative": result.initiatives,
              "par_quartier": result.per_qpv, "par_territoire": result.per_territory}
    for key, table in tables.items():
        if key not in out:
            continue
        if key == "par_quartier" and out[key].suffix.lower() in (".geojson", ".gpkg"):
            shown = run.qpv[result.qpv_in_area].reset_index(drop=True)
            table = gpd.GeoDataFrame(table, geometry=shown.geometry.to_numpy(), crs=shown.crs)
        else:
            table = french(table, key)
        write_table(table, out[key], layer=key)
        done(key, out[key])
    if "rapport" in out:
        from .report import write_report

        write_report(out["rapport"], result, review=run.review, sources=run.provenance,
                     numeric=_numeric_columns(run), impact=run.impact, years=run.years,
                     notes=run.initiatives.measures.report)
        done("rapport", out["rapport"])
    if out.keys() & {"carte", "carte_autonome", "integration"}:
        _write_maps(run, out, done)
    if printing is not None:
        printing.wait()
        done("carte_impression", out["carte_impression"])
    if "fiches" in out:
        _write_fiches(run, out["fiches"], done, page)
    if "provenance" in out:
        info = dict(run.provenance, fichiers=[p.name for p, _ in run.written])
        with atomic_path(out["provenance"]) as tmp:
            tmp.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        done("provenance", out["provenance"])


#: The outputs that draw the sites: none can be made before a site is placed.
DRAWN = frozenset({"carte", "carte_autonome", "integration", "carte_impression", "fiches"})


def _mappable(run: StudyResult) -> bool:
    """Whether a map can be drawn: a territory to show, or a placed site."""
    return bool(run.result.area) or bool(run.initiatives.sites.geometry.notna().any())


def map_qpv(run: StudyResult) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None,
                                       tuple | None]:
    """The quartiers a map draws (the territory's, else those around the sites), the other
    generation around them, and the initial view (``None``: fit the sites)."""
    from .maps import focus_qpv

    result, sites = run.result, run.initiatives.sites
    area = result.area
    if not _mappable(run):
        advice = ("vérifiez les colonnes d'adresse ; les adresses que le géocodeur n'a pas "
                  "trouvées se placent à la main à la relecture" if run.study.geocoding.online
                  else "vérifiez les colonnes de coordonnées, ou géocodez les adresses en ligne")
        raise InputError(f"aucun site localisé : rien à cartographier ({advice}).",
                         path=run.initiatives.path)
    if area:
        shown = run.qpv[result.qpv_in_area].reset_index(drop=True)
        shown.attrs = dict(run.qpv.attrs)
    else:
        shown = focus_qpv(run.qpv, sites)
    previous = run.previous
    if previous is not None:
        if area:
            x0, y0, x1, y1 = shown.total_bounds
            previous = previous.cx[x0:x1, y0:y1]
        else:
            previous = focus_qpv(previous, sites)
    bounds = tuple(shown.total_bounds) if area and len(shown) else None
    return shown, previous, bounds


def interactive_map(run: StudyResult):
    """The study's interactive map (a ``folium.Map``), as every door draws it."""
    from .maps import make_map

    study, initiatives = run.study, run.initiatives
    shown, previous, bounds = map_qpv(run)
    return make_map(
        run.result, shown, previous=previous, theme_column=initiatives.theme_column,
        name_column=initiatives.name_column, id_column=initiatives.id_column,
        address_columns=initiatives.address_columns,
        website_column=initiatives.website_column, title=study.title,
        cluster=study.cluster, key_figures=_key_figures(run), bounds=bounds,
        provenance=run.provenance, measures=initiatives.measures, size_by=study.size_by)


def _key_figures(run: StudyResult) -> pd.DataFrame:
    """The quartiers' population shown in their popups: the study's, else INSEE's."""
    from .qpv import load_key_figures

    if run.population:
        return pd.DataFrame({"pop_mun": run.population.values})
    return load_key_figures()


def _fiche_count(run: StudyResult) -> int:
    """The number of fiches (one per initiative)."""
    from .initiatives import initiative_ids

    return int(initiative_ids(run.initiatives).nunique())


def _write_fiches(run: StudyResult, path: Path, done, page) -> None:
    from .fiches import write_fiches

    study = run.study
    _, previous, _ = map_qpv(run)
    files = write_fiches(run.result, run.initiatives, run.qpv, path, paper=study.fiche_paper,
                         title=study.title, previous=previous,
                         images=study.fiche_images, progress=page)
    done("fiches", path)
    if len(files) > 1:
        run.written.append((files[1].parent, f"cartes des fiches, {len(files) - 1} fichiers "
                                             "PNG (300 dpi) et SVG"))


def _write_maps(run: StudyResult, out: dict[str, Path], done) -> None:
    from . import assets
    from .maps import embed_snippet

    study = run.study
    if out.keys() & {"carte", "carte_autonome"}:
        from .maps import html_text

        fmap = interactive_map(run)
        if "carte_autonome" in out:
            fmap.offline_name = html_text(out["carte_autonome"].name)
        page = fmap.get_root().render()
        pages = []
        if "carte" in out:
            pages.append(("carte", page))
        if "carte_autonome" in out:
            pages.append(("carte_autonome", assets.self_contained(page)))
        for key, text in pages:
            with atomic_path(out[key]) as tmp:
                tmp.write_text(text, encoding="utf-8")
            done(key, out[key])
    if "integration" in out:
        # the file to publish: the self-contained map when there is one
        published = out.get("carte_autonome") or out.get("carte")
        with atomic_path(out["integration"]) as tmp:
            tmp.write_text(embed_snippet(study.embed_url, title=study.title, published=(
                published.name if published else "carte-autonome.html")), encoding="utf-8")
        done("integration", out["integration"])


def _write_print(run: StudyResult, path: Path) -> None:
    from .printmap import print_map

    study, initiatives = run.study, run.initiatives
    # Every quartier in view is drawn (a page of the atlas may show a neighbour's).
    _, previous, bounds = map_qpv(run)
    print_map(run.result, run.qpv, path, paper=study.paper, landscape=study.landscape,
              title=study.title, theme_column=initiatives.theme_column,
              id_column=initiatives.id_column, previous=previous, bounds=bounds,
              atlas=study.atlas, measures=initiatives.measures, size_by=study.size_by,
              periods=study.periods)


# --------------------------------------------------------------------------- the panorama


def write_panorama(run: PanoramaRun) -> None:
    """Write the panorama's outputs (:data:`geo.vocabulary.PANORAMA_OUTPUTS`), all together
    or none; append (path, what) to ``run.written``."""
    from .io import write_workbook
    from .vocabulary import PANORAMA_OUTPUTS

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
                    from .stream import ChunkWriter

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
