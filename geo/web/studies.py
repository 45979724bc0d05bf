"""A study from its creation to its run: the list of studies, a new one, its table,
its parameters (written to its study file), and its run (started, followed, cancelled)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, flash, redirect, request, url_for

from .. import jobs, workspace
from .._errors import EssQpvError
from .._validate import safe_url
from ..sources import SOURCES
from ..vocabulary import (
    DEFAULT_DISTANCE,
    DEFAULT_GEOCODER_URL,
    DEFAULT_MIN_SCORE,
    DEFAULT_SOURCE,
    PAPER_FORMATS,
)
from .common import choice, codes, editing, number, page, site, state, study, without_table

bp = Blueprint("studies", __name__)

QPV_CHOICES = [DEFAULT_SOURCE, "2024"]
COMPARE_CHOICES = ["bundled-2015-occitanie", "2015"]


def import_page(name: str, folder: Path, error: str | None = None, status: int = 200):
    return page("import.html", name, status=status, step="studies.import_table",
                limits=site().limits, current=workspace.table_path(folder), error=error)


@bp.get("/")
def index():
    rows = [(name, title, jobs.LABELS.get(jobs.state(site().root / name).get("etat"),
                                           "pas encore lancée"))
            for name, title in workspace.studies(site().root)]
    return page("etudes.html", title="Études", studies=rows)


@bp.get("/nouvelle")
def new_study():
    return page("nouvelle.html", title="Nouvelle étude")


@bp.post("/nouvelle")
def new_study_post():
    name = request.form.get("nom", "")
    try:
        folder = workspace.create(site().root, name)
    except EssQpvError as exc:
        return page("nouvelle.html", status=400, title="Nouvelle étude", error=str(exc),
                    value=name)
    flash(f"Étude créée dans le dossier « {folder.name} ».", "info")
    return redirect(url_for("studies.import_table", name=folder.name))


@bp.get("/etudes/<name>/")
def overview(name: str):
    folder = study(name)
    if (refused := without_table(name, folder)) is not None:
        return refused
    current = jobs.state(folder).get("etat")
    target = {jobs.RUNNING: "studies.progress", jobs.DONE: "files.results"}.get(
        current, "studies.parameters")
    return redirect(url_for(target, name=name))


@bp.get("/etudes/<name>/import")
def import_table(name: str):
    return import_page(name, study(name))


@bp.post("/etudes/<name>/import")
@editing
def import_post(name: str, folder: Path):
    upload = request.files.get("tableau")
    if upload is None or not upload.filename:
        return import_page(name, folder, "Choisissez le fichier du tableau des "
                                         "initiatives.", 400)
    data = upload.read(site().limits.max_bytes + 1)
    with site().locks[name]:
        try:
            workspace.save_table(folder, data, upload.filename, site().limits)
        except EssQpvError as exc:
            return import_page(name, folder, str(exc), 400)
    flash("Tableau importé. Vérifiez les colonnes reconnues.", "info")
    return redirect(url_for("columns.columns", name=name))


@bp.get("/etudes/<name>/parametres")
def parameters(name: str):
    folder = study(name)
    return without_table(name, folder) or _parameters_page(name,
                                                             workspace.settings(folder))


def _parameters_page(name: str, data: dict, error: str | None = None, status: int = 200):
    q, g = data.get("quartiers", {}), data.get("geocodage", {})
    values = {
        "titre": data.get("etude", {}).get("titre", ""),
        "source": q.get("source", DEFAULT_SOURCE), "comparer": q.get("comparer", ""),
        "distance": q.get("distance_m", DEFAULT_DISTANCE),
        "departements": ", ".join(map(str, q.get("departements", []))),
        "communes": ", ".join(map(str, q.get("communes", []))),
        "en_ligne": g.get("en_ligne", False), "url": g.get("url", DEFAULT_GEOCODER_URL),
        "score": g.get("score_minimal", DEFAULT_MIN_SCORE),
        "format": data.get("sorties", {}).get("format_impression", "A4"),
        "atlas": data.get("sorties", {}).get("atlas", False),
        "format_fiches": data.get("sorties", {}).get("format_fiches", "A4")}
    return page("parametres.html", name, status=status, step="studies.parameters", v=values,
                sources=[(k, SOURCES[k].label) for k in QPV_CHOICES],
                compare=[(k, SOURCES[k].label) for k in COMPARE_CHOICES],
                papers=list(PAPER_FORMATS), error=error)


@bp.post("/etudes/<name>/parametres")
@editing
def parameters_post(name: str, folder: Path):
    f = request.form
    offline = f.get("action") == "lancer_hors_ligne"
    with site().locks[name]:
        data = workspace.settings(folder)
        try:
            data["etude"] = {"titre": " ".join(f.get("titre", "").split())
                             or workspace.title_of(folder)}
            data["quartiers"] = {
                "source": choice(f.get("source"), QPV_CHOICES, "la génération des QPV"),
                "comparer": choice(f.get("comparer") or None, COMPARE_CHOICES,
                                    "la comparaison", optional=True),
                "distance_m": number(f.get("distance", ""), "la distance de proximité"),
                "departements": codes(f.get("departements", "")),
                "communes": codes(f.get("communes", ""))}
            data["geocodage"] = {
                "en_ligne": f.get("en_ligne") == "oui" and not offline,
                "url": safe_url(f.get("url") or DEFAULT_GEOCODER_URL),
                "score_minimal": number(f.get("score", ""), "le score minimal")}
            data["sorties"] = {"format_impression": choice(
                f.get("format"), list(PAPER_FORMATS), "le format d'impression"),
                "atlas": f.get("atlas") == "oui",
                "format_fiches": choice(f.get("format_fiches") or "A4", list(PAPER_FORMATS),
                                         "le format des fiches")}
            if not data["geocodage"]["url"]:
                raise EssQpvError("l'adresse du géocodeur doit commencer par http:// ou "
                                  "https://.")
            workspace.save_settings(folder, data)
        except EssQpvError as exc:
            return _parameters_page(name, data, str(exc), 400)
    if f.get("action") in ("lancer", "lancer_hors_ligne"):
        jobs.start(folder, mark=site().keys.job_mark(folder))
        return redirect(url_for("studies.progress", name=name))
    flash("Paramètres enregistrés.", "info")
    return redirect(url_for("studies.parameters", name=name))


@bp.get("/etudes/<name>/analyse")
def progress(name: str):
    folder = study(name)
    return page("progression.html", name, step="studies.progress", state=state(folder),
                labels=jobs.LABELS)


@bp.get("/etudes/<name>/etat")
def state_json(name: str):
    return state(study(name))


@bp.post("/etudes/<name>/annuler")
def cancel(name: str):
    jobs.cancel(study(name))
    flash("Analyse annulée.", "info")
    return redirect(url_for("studies.progress", name=name))


@bp.post("/etudes/<name>/lancer")
def launch(name: str):
    folder = study(name)
    if (refused := without_table(name, folder)) is not None:
        return refused
    jobs.start(folder, mark=site().keys.job_mark(folder))
    return redirect(url_for("studies.progress", name=name))
