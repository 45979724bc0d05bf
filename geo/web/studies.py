"""A study from its creation to its run: the list of studies, a new one, its table,
its parameters (written to its study file), and its run (started, followed, cancelled)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, flash, redirect, request, url_for

from .. import typography
from .._errors import EssQpvError
from .._validate import safe_url
from ..parameters import LEGENDS, PARAMETER, PARAMETERS, Parameter
from ..sources import SOURCES
from . import jobs, workspace
from .common import choice, codes, editing, number, page, site, state, study, without_table

bp = Blueprint("studies", __name__)

QPV_CHOICES = list(PARAMETER["source"].offered)
#: The parameters the form sets, from their one declaration (:mod:`geo.parameters`).
FORM = tuple(p for p in PARAMETERS if p.field)
#: The form's groups: a fieldset's legend (none: not in a fieldset) and its parameters,
#: one per study-file section, in the order of the declarations.
GROUPS = tuple((LEGENDS.get(section), tuple(p for p in FORM if p.section == section))
               for section in dict.fromkeys(p.section for p in FORM))


def options(p: Parameter) -> list[tuple[str, str]]:
    """The menu of ``p`` on the form: value and French label (a QPV source's label, else
    the value), its empty choice first."""
    values = p.choices or p.offered or ()
    empty = [("", p.web.empty)] if p.web and p.web.empty else []
    return empty + [(v, SOURCES[v].label if v in SOURCES else v) for v in values]


def import_page(name: str, folder: Path, error: str | None = None, status: int = 200):
    try:
        current = workspace.table_path(folder)
    except EssQpvError as exc:  # a received table out of the folder: a new one replaces it
        current, error = None, error or str(exc)
    return page("import.html", name, status=status, step="studies.import_table",
                limits=site().limits, current=current, error=error)


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
            _, _, dropped = workspace.save_table(folder, data, upload.filename,
                                                 site().limits)
        except EssQpvError as exc:
            return import_page(name, folder, str(exc), 400)
    flash("Tableau importé. Vérifiez les colonnes reconnues.", "info")
    if dropped:
        flash(dropped_message(dropped), "info")
    return redirect(url_for("columns.columns", name=name))


def dropped_message(dropped: list) -> str:
    """The decisions of the review that a new table took away, in French."""
    n = len(dropped)
    head = ("1 décision de la relecture a été retirée" if n == 1 else
            f"{n} décisions de la relecture ont été retirées")
    listed = " ; ".join(f"« {r.key[:100]} » : {r.reason}" for r in dropped[:10])
    more = "" if n <= 10 else (" ; et 1 autre" if n == 11 else f" ; et {n - 10} autres")
    return (f"{head}, {'son site' if n == 1 else 'leur site'} n'étant plus le même dans le "
            f"nouveau tableau — {listed}{more}. Les autres décisions sont gardées.")


@bp.get("/etudes/<name>/parametres")
def parameters(name: str):
    folder = study(name)
    return without_table(name, folder) or _parameters_page(name,
                                                             workspace.settings(folder),
                                                             folder=folder)


def _national(url: str | None) -> bool:
    return not url or url.rstrip("/") == str(PARAMETER["geocoder_url"].default).rstrip("/")


def _geocoder_mark_file(folder: Path) -> Path:
    return workspace.confined(folder, folder / workspace.STATE_DIR / "geocodeur-accepte",
                              "la marque du géocodeur accepté")


def accepted_geocoder(folder: Path) -> str | None:
    """The geocoder other than the national one that the person accepted on this server
    for ``folder``'s study (its study file's ``url``), else ``None``: a received folder's
    own geocoder gets no address before the person ticks the box."""
    url = workspace.settings(folder).get("geocodage", {}).get("url")
    if _national(url):
        return None
    try:
        mark = _geocoder_mark_file(folder).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return url if mark == site().keys.geocoder_mark(folder, url) else None


def _accept_geocoder(folder: Path, url: str | None) -> None:
    """Record (or forget) that the person accepted ``url`` for ``folder``."""
    from ..io import atomic_path

    path = _geocoder_mark_file(folder)
    if url is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(exist_ok=True)
    with atomic_path(path, defer=False) as tmp:
        tmp.write_text(site().keys.geocoder_mark(folder, url), encoding="utf-8")


def start_run(folder: Path) -> None:
    """Start ``folder``'s study as this server's run."""
    jobs.start(folder, mark=site().keys.job_mark(folder), geocoder=accepted_geocoder(folder))


def _parameters_page(name: str, data: dict, error: str | None = None, status: int = 200,
                     folder: Path | None = None):
    values = form_values(data)
    values.update(
        autre_geocodeur=not _national(values["url"]),
        geocodeur_accepte=bool(accepted_geocoder(folder)) if folder else False,
        fiches=bool(data.get("sorties", {}).get("fiches", True)))
    return page("parametres.html", name, status=status, step="studies.parameters", v=values,
                groups=GROUPS, options={p.field: options(p) for p in FORM if p.control ==
                                        "select"},
                fiches_up_to=workspace.FICHES_UP_TO, error=error)


def form_values(data: dict) -> dict:
    """The form's fields as the study file ``data`` sets them (its defaults elsewhere)."""
    values = {}
    for p in FORM:
        value = data.get(p.section, {}).get(p.key, p.default)
        values[p.field] = ", ".join(map(str, value)) if p.kind is list else value
    return values


def form_value(p: Parameter, form) -> object:
    """The study-file value of ``p`` from the posted ``form``, checked."""
    text = form.get(p.field)
    longest = p.web.max_length if p.web else None
    if longest and len(text or "") > longest:
        raise EssQpvError(f"{p.what} trop long : {longest} caractères au plus (reçu : "
                          f"{typography.number(len(text))}) ; rien n'a été enregistré.")
    if p.kind is bool:
        return text == "oui"
    if p.kind is float:
        return number(text or "", p.what)
    if p.kind is list:
        return codes(text or "")
    if p.choices or p.offered:
        return choice(text or p.default, list(p.choices or p.offered), p.what,
                      optional=p.default is None)
    return text


def form_section(form, name: str, **given) -> dict:
    """The study file's section ``name`` from the posted ``form`` (``given``: values set
    otherwise)."""
    return {p.key: given[p.key] if p.key in given else form_value(p, form)
            for p in FORM if p.section == name}


@bp.post("/etudes/<name>/parametres")
@editing
def parameters_post(name: str, folder: Path):
    f = request.form
    offline = f.get("action") == "lancer_hors_ligne"
    with site().locks[name]:
        data = workspace.settings(folder)
        before = data.get("geocodage", {}).get("url")
        try:
            data["etude"] = form_section(f, "etude", titre=" ".join(
                str(form_value(PARAMETER["title"], f) or "").split())
                or workspace.title_of(folder))
            data["quartiers"] = form_section(f, "quartiers")
            if data["quartiers"]["toute_la_france"] and (data["quartiers"]["departements"]
                                                         or data["quartiers"]["communes"]):
                raise EssQpvError("toute la France ou un territoire (départements, "
                                  "communes) : les tableaux par quartier ne peuvent couvrir "
                                  "que l'un des deux.")
            online = PARAMETER["geocode"]
            data["geocodage"] = form_section(f, "geocodage", en_ligne=form_value(online, f)
                                             and not offline, url=safe_url(
                f.get("url") or PARAMETER["geocoder_url"].default))
            data["sorties"] = {**form_section(f, "sorties"), "fiches": workspace.OUTPUT_FILES[
                "fiches"] if f.get("fiches") == "oui" else ""}
            url = data["geocodage"]["url"]
            if not url:
                raise EssQpvError("l'adresse du géocodeur doit commencer par http:// ou "
                                  "https://.")
            # the person's say: the box (shown ticked once accepted), or an address they
            # typed themselves here rather than the one a received study file came with
            accepted = not _national(url) and (f.get("accepter_geocodeur") == "oui"
                                               or url != before)
            if not _national(url) and data["geocodage"]["en_ligne"] and not accepted:
                raise EssQpvError(f"le géocodeur « {url} » que nomme le fichier de l'étude "
                                  "n'est pas le service national : cochez la case qui accepte "
                                  "d'y envoyer les adresses, ou remettez l'adresse du service "
                                  "national.")
            workspace.save_settings(folder, data)
            _accept_geocoder(folder, url if accepted else None)
        except EssQpvError as exc:
            return _parameters_page(name, data, str(exc), 400, folder=folder)
    if f.get("action") in ("lancer", "lancer_hors_ligne"):
        start_run(folder)
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
    start_run(folder)
    return redirect(url_for("studies.progress", name=name))
