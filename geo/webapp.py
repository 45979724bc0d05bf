"""The web page of ``ess-qpv serve``: a study from a spreadsheet to its map and report,
in the browser, one page per step.

The page edits a study folder (:mod:`geo.workspace`) and starts its run (:mod:`geo.jobs`);
it never sequences the steps itself. Flask renders our own templates with autoescaping
(user text is never compiled as a template nor inserted as HTML); Flask-WTF checks a CSRF
token on every form; every answer carries a Content-Security-Policy. Bound to the loopback
address, the server also refuses requests for another host name (DNS rebinding); bound to
any other address, it asks for a password.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import threading
import time
from collections import defaultdict
from functools import lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
from flask import (
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from . import jobs, workspace
from ._errors import EssQpvError
from ._validate import safe_url
from .sources import SOURCES
from .study import STEPS
from .vocabulary import (
    COLUMN_KEYS,
    DEFAULT_DISTANCE,
    DEFAULT_GEOCODER_URL,
    DEFAULT_MIN_SCORE,
    DEFAULT_SOURCE,
    OUTPUTS,
    PAPER_FORMATS,
    Columns,
)
from .vocabulary import ROLES as VOCABULARY_ROLES
from .websecurity import Keys, Throttle, local_path
from .workspace import OUTPUT_FILES, Limits

TEMPLATES = Path(str(resources.files("geo").joinpath("templates", "web")))
#: Our own scripts and style sheet, served from the package.
ASSETS = {"app.css": "text/css", "app.js": "text/javascript",
          "relecture.js": "text/javascript"}
#: The steps of a study, in order: (endpoint, French label).
FLOW = [("import_table", "Import"), ("columns", "Colonnes"), ("parameters", "Paramètres"),
        ("progress", "Analyse"), ("review", "Relecture"), ("results", "Résultats")]
#: Column roles offered on the columns page: Columns field → French label (from the one
#: declaration of the roles).
ROLES = {r.key: r.label[:1].upper() + r.label[1:] for r in VOCABULARY_ROLES if r.web}
QPV_CHOICES = [DEFAULT_SOURCE, "2024"]
COMPARE_CHOICES = ["bundled-2015-occitanie", "2015"]
#: Files the page offers, by output key: (French link text, shown in the page or
#: downloaded).
#: The fiches' maps, in a zip made on request from their folder.
FICHE_MAPS = ("fiches_cartes", "Télécharger les cartes des fiches (PNG et SVG, archive zip)")
#: The page's download links: the declared outputs that have one, the fiches' maps after
#: the fiches.
DOWNLOADS = {key: label for o in OUTPUTS if o.download for key, label in (
    [(o.key, o.download)] + ([FICHE_MAPS] if o.key == "fiches" else []))}
TABLE_ROWS = 1000
APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
           "img-src 'self' data: https://tile.openstreetmap.org; connect-src 'self'; "
           "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; "
           "object-src 'none'")
#: What a visitor reaches before giving the password.
OPEN_ENDPOINTS = ("login", "login_post", "asset", "favicon")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def create_app(root: Path, *, password: str | None = None, limits: Limits | None = None,
               local: bool = True, keys: Keys | None = None) -> Flask:
    """The web application on the studies folder ``root``; ``keys``: the server's keys
    (kept outside ``root``, see :mod:`geo.websecurity`)."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    limits = limits or Limits()
    keys = keys or Keys(root)
    tag = keys.session_tag(password)
    throttle = Throttle()
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=None)
    app.config.update(
        SECRET_KEY=keys.secret, MAX_CONTENT_LENGTH=limits.max_bytes + 256 * 1024,
        WTF_CSRF_TIME_LIMIT=None, SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_NAME="ess_qpv")
    app.jinja_env.autoescape = True  # every template, whatever its name
    CSRFProtect(app)
    locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    def study(name: str) -> Path:
        try:
            return workspace.folder_of(root, name)
        except workspace.NotFound:
            abort(404)

    def page(template: str, name: str | None = None, status: int = 200, **context):
        folder = root / name if name else None
        context.setdefault("title", workspace.title_of(folder) if folder else "Études")
        return render_template(template, flow=FLOW, study_name=name, **context), status

    def without_table(name: str, folder: Path):
        """Send to the import page a study that has no table yet."""
        if workspace.table_path(folder) is None:
            return redirect(url_for("import_table", name=name))
        return None

    def import_page(name: str, folder: Path, error: str | None = None, status: int = 200):
        return page("import.html", name, status=status, step="import_table", limits=limits,
                    current=workspace.table_path(folder), error=error)

    def editing(view):
        """A form that changes a study: refused (back to the run) while the study runs."""
        @functools.wraps(view)
        def checked(name: str):
            folder = study(name)
            if jobs.running(folder):
                flash("Une analyse est en cours : attendez la fin ou annulez-la avant de "
                      "modifier l'étude.", "erreur")
                return redirect(url_for("progress", name=name))
            return view(name, folder)
        return checked

    # ------------------------------------------------------------------ guards

    @app.before_request
    def guard():
        if local and urlsplit("//" + (request.host or "")).hostname not in LOCAL_HOSTS:
            return page("erreur.html", status=400, title="Adresse refusée",
                        message="Cette page ne répond qu'à l'adresse 127.0.0.1 ou localhost.")
        # a session opened with another password (changed since) is no session
        if password and not hmac.compare_digest(str(session.get("ok", "")), tag) \
                and request.endpoint not in OPEN_ENDPOINTS:
            return redirect(url_for("login", suite=local_path(request.full_path)))
        return None

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", APP_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return page("erreur.html", status=400, title="Formulaire refusé",
                    message="Ce formulaire n'a pas été accepté : son jeton de sécurité manque "
                            "ou a expiré. Revenez à la page, rechargez-la et recommencez.")

    @app.errorhandler(413)
    def too_large(exc):
        return page("erreur.html", status=413, title="Fichier trop volumineux",
                    message=f"Le fichier dépasse la limite de {limits.max_bytes / 1e6:.0f} Mo "
                            "(option --taille-max de ess-qpv serve).")

    @app.errorhandler(HTTPException)
    def http_error(exc):
        titles = {404: "Page introuvable", 405: "Action impossible"}
        return page("erreur.html", status=exc.code or 500,
                    title=titles.get(exc.code, "Requête refusée"),
                    message={404: "Cette page ou cette étude n'existe pas.",
                             405: "Cette adresse ne s'utilise pas ainsi."}.get(
                                 exc.code, "La requête n'a pas pu être traitée."))

    @app.errorhandler(Exception)
    def crash(exc):
        app.logger.exception("erreur inattendue")
        return page("erreur.html", status=500, title="Erreur inattendue",
                    message="Une erreur inattendue est survenue ; l'étude n'a pas été "
                            "modifiée. Le détail est dans la console du serveur.")

    # ------------------------------------------------------------------ pages

    @app.get("/connexion")
    def login():
        return page("connexion.html", title="Connexion", suite=local_path(
            request.args.get("suite", "/")))

    @app.post("/connexion")
    def login_post():
        given = request.form.get("mot_de_passe", "")
        suite = local_path(request.form.get("suite", "/"))
        client = request.remote_addr or ""
        wait = throttle.wait(client)
        if wait > 0:
            body, status = page("connexion.html", status=429, title="Connexion", suite=suite,
                                error=f"Trop d'essais : attendez {wait:.0f} s avant de "
                                      "réessayer.")
            return body, status, {"Retry-After": str(int(wait) + 1)}
        if password and hmac.compare_digest(given.encode(), password.encode()):
            throttle.succeeded(client)
            session.clear()
            session["ok"] = tag
            return redirect(suite)
        throttle.failed(client)
        return page("connexion.html", status=403, title="Connexion", suite=suite,
                    error="Mot de passe incorrect.")

    @app.get("/ressources/<path:name>")
    def asset(name: str):
        if name in ASSETS:
            return send_file(TEMPLATES / name, mimetype=ASSETS[name], max_age=0)
        local = _vendor(name)
        if local is None:
            abort(404)
        return send_file(local, max_age=3600)

    @app.get("/favicon.ico")
    def favicon():
        return "", 204

    @app.get("/")
    def index():
        rows = [(name, title, jobs.LABELS.get(jobs.state(root / name).get("etat"),
                                               "pas encore lancée"))
                for name, title in workspace.studies(root)]
        return page("etudes.html", title="Études", studies=rows)

    @app.get("/nouvelle")
    def new_study():
        return page("nouvelle.html", title="Nouvelle étude")

    @app.post("/nouvelle")
    def new_study_post():
        name = request.form.get("nom", "")
        try:
            folder = workspace.create(root, name)
        except EssQpvError as exc:
            return page("nouvelle.html", status=400, title="Nouvelle étude", error=str(exc),
                        value=name)
        flash(f"Étude créée dans le dossier « {folder.name} ».", "info")
        return redirect(url_for("import_table", name=folder.name))

    @app.get("/etudes/<name>/")
    def overview(name: str):
        folder = study(name)
        if (refused := without_table(name, folder)) is not None:
            return refused
        current = jobs.state(folder).get("etat")
        target = {jobs.RUNNING: "progress", jobs.DONE: "results"}.get(current, "parameters")
        return redirect(url_for(target, name=name))

    @app.get("/etudes/<name>/import")
    def import_table(name: str):
        return import_page(name, study(name))

    @app.post("/etudes/<name>/import")
    @editing
    def import_post(name: str, folder: Path):
        upload = request.files.get("tableau")
        if upload is None or not upload.filename:
            return import_page(name, folder, "Choisissez le fichier du tableau des "
                                             "initiatives.", 400)
        data = upload.read(limits.max_bytes + 1)
        with locks[name]:
            try:
                workspace.save_table(folder, data, upload.filename, limits)
            except EssQpvError as exc:
                return import_page(name, folder, str(exc), 400)
        flash("Tableau importé. Vérifiez les colonnes reconnues.", "info")
        return redirect(url_for("columns", name=name))

    @app.get("/etudes/<name>/colonnes")
    def columns(name: str):
        folder = study(name)
        return without_table(name, folder) or _columns_page(name, folder)

    def _columns_page(name: str, folder: Path, given: Columns | None = None,
                      error: str | None = None, status: int = 200):
        table, detection, refusal = workspace.preview(folder, given)
        chosen = detection.columns if detection else (given or workspace.columns(folder))
        head = table.head(8)
        return page("colonnes.html", name, status=status, step="columns",
                    headers=[str(c) for c in table.columns],
                    rows=[[_cell(v) for v in row] for row in head.astype(object).itertuples(
                        index=False)], n_rows=len(table), roles=ROLES, chosen=chosen,
                    indicators=detection.indicators if detection else (chosen.indicators or []),
                    size_by=workspace.settings(folder).get("indicateurs", {}).get(
                        "taille_symboles", ""),
                    report=detection.report if detection else [],
                    error=error or refusal)

    @app.post("/etudes/<name>/colonnes")
    @editing
    def columns_post(name: str, folder: Path):
        given = Columns(**{role: request.form.get(role) or None for role in ROLES},
                        address=request.form.getlist("address") or None,
                        indicators=request.form.getlist("indicators") or None)
        size_by = request.form.get("size_by") or None
        with locks[name]:
            table, detection, refusal = workspace.preview(folder, given)
            if refusal:
                return _columns_page(name, folder, given, refusal, 400)
            data = workspace.settings(folder)
            data["colonnes"] = {COLUMN_KEYS[role]: value for role, value in vars(given).items()
                                if value and role in COLUMN_KEYS}
            data["indicateurs"] = {"colonnes": given.indicators or [],
                                   **({"taille_symboles": size_by} if size_by else {})}
            try:
                workspace.save_settings(folder, data)
            except EssQpvError as exc:
                return _columns_page(name, folder, given, str(exc), 400)
        return redirect(url_for("parameters", name=name))

    @app.get("/etudes/<name>/parametres")
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
        return page("parametres.html", name, status=status, step="parameters", v=values,
                    sources=[(k, SOURCES[k].label) for k in QPV_CHOICES],
                    compare=[(k, SOURCES[k].label) for k in COMPARE_CHOICES],
                    papers=list(PAPER_FORMATS), error=error)

    @app.post("/etudes/<name>/parametres")
    @editing
    def parameters_post(name: str, folder: Path):
        f = request.form
        offline = f.get("action") == "lancer_hors_ligne"
        with locks[name]:
            data = workspace.settings(folder)
            try:
                data["etude"] = {"titre": " ".join(f.get("titre", "").split())
                                 or workspace.title_of(folder)}
                data["quartiers"] = {
                    "source": _choice(f.get("source"), QPV_CHOICES, "la génération des QPV"),
                    "comparer": _choice(f.get("comparer") or None, COMPARE_CHOICES,
                                        "la comparaison", optional=True),
                    "distance_m": _number(f.get("distance", ""), "la distance de proximité"),
                    "departements": _codes(f.get("departements", "")),
                    "communes": _codes(f.get("communes", ""))}
                data["geocodage"] = {
                    "en_ligne": f.get("en_ligne") == "oui" and not offline,
                    "url": safe_url(f.get("url") or DEFAULT_GEOCODER_URL),
                    "score_minimal": _number(f.get("score", ""), "le score minimal")}
                data["sorties"] = {"format_impression": _choice(
                    f.get("format"), list(PAPER_FORMATS), "le format d'impression"),
                    "atlas": f.get("atlas") == "oui",
                    "format_fiches": _choice(f.get("format_fiches") or "A4", list(PAPER_FORMATS),
                                             "le format des fiches")}
                if not data["geocodage"]["url"]:
                    raise EssQpvError("l'adresse du géocodeur doit commencer par http:// ou "
                                      "https://.")
                workspace.save_settings(folder, data)
            except EssQpvError as exc:
                return _parameters_page(name, data, str(exc), 400)
        if f.get("action") in ("lancer", "lancer_hors_ligne"):
            jobs.start(folder, mark=keys.job_mark(folder))
            return redirect(url_for("progress", name=name))
        flash("Paramètres enregistrés.", "info")
        return redirect(url_for("parameters", name=name))

    @app.get("/etudes/<name>/analyse")
    def progress(name: str):
        folder = study(name)
        return page("progression.html", name, step="progress", state=_state(folder),
                    labels=jobs.LABELS)

    @app.get("/etudes/<name>/etat")
    def state_json(name: str):
        return _state(study(name))

    @app.post("/etudes/<name>/annuler")
    def cancel(name: str):
        jobs.cancel(study(name))
        flash("Analyse annulée.", "info")
        return redirect(url_for("progress", name=name))

    @app.post("/etudes/<name>/lancer")
    def launch(name: str):
        folder = study(name)
        if (refused := without_table(name, folder)) is not None:
            return refused
        jobs.start(folder, mark=keys.job_mark(folder))
        return redirect(url_for("progress", name=name))

    @app.get("/etudes/<name>/relecture")
    def review(name: str):
        folder = study(name)
        rows = workspace.review(folder)
        records = rows.astype(object).where(rows.notna(), "").astype(str).to_dict("records")
        for r in records:
            r["ancre"] = _anchor(r["cle"])
        return page("relecture.html", name, step="review", rows=records,
                    ran=jobs.state(folder).get("etat") == jobs.DONE)

    @app.post("/etudes/<name>/relecture")
    @editing
    def review_post(name: str, folder: Path):
        f = request.form
        key, action = f.get("cle", ""), f.get("action", "")
        rows = workspace.review(folder)
        match = rows[rows["cle"].astype(str) == key]
        if match.empty:
            abort(404)
        asked = str(match["adresse_saisie"].iloc[0])
        anchor = _anchor(key)
        try:
            with locks[name]:
                if action == "accepter":
                    workspace.decide(folder, key, asked=asked, accept=True)
                    message = f"Proposition acceptée pour « {asked} »."
                elif action == "corriger":
                    address = f.get("adresse_corrigee", "").strip()
                    if not address:
                        raise EssQpvError("écrivez l'adresse corrigée avant de valider.")
                    workspace.decide(folder, key, asked=asked, address=address[:300])
                    message = f"Adresse corrigée enregistrée pour « {asked} »."
                elif action == "placer":
                    point = (_number(f.get("latitude", ""), "la latitude"),
                             _number(f.get("longitude", ""), "la longitude"))
                    if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
                        raise EssQpvError("latitude entre -90 et 90, longitude entre -180 et "
                                          "180.")
                    workspace.decide(folder, key, asked=asked, point=point)
                    message = f"Point placé pour « {asked} »."
                elif action == "effacer":
                    workspace.decide(folder, key)
                    message = f"Décision effacée pour « {asked} »."
                else:
                    abort(400)
        except EssQpvError as exc:
            flash(str(exc), "erreur")
            return redirect(url_for("review", name=name) + "#" + anchor)
        flash(message + " Relancez l'analyse pour l'appliquer.", "info")
        return redirect(url_for("review", name=name) + "#" + anchor)

    @app.get("/etudes/<name>/resultats")
    def results(name: str):
        folder = study(name)
        current = _state(folder)
        out = folder / OUTPUT_FILES["dossier"]
        report = out / OUTPUT_FILES["rapport"]
        if not report.is_file():
            return page("resultats.html", name, step="results", ready=False, state=current)
        tables = _report_tables(str(report), report.stat().st_mtime_ns)
        snippet_path = out / OUTPUT_FILES["integration"]
        snippet = snippet_path.read_text(encoding="utf-8") if snippet_path.is_file() else ""
        return page("resultats.html", name, step="results", ready=True, state=current,
                    made=_made(out / OUTPUT_FILES["provenance"]),
                    tables=tables, snippet=snippet, downloads=DOWNLOADS,
                    summary=current.get("resume") or {}, limit=TABLE_ROWS)

    @app.get("/etudes/<name>/fichiers/<key>")
    def output(name: str, key: str):
        folder = study(name)
        if key not in DOWNLOADS and key not in OUTPUT_FILES or key == "dossier":
            abort(404)
        if key == "fiches_cartes":
            return _fiche_maps_zip(folder / OUTPUT_FILES["dossier"])
        path = folder / OUTPUT_FILES["dossier"] / OUTPUT_FILES[key]
        if not path.is_file():
            abort(404)
        shown = key == "carte_autonome" and request.args.get("telecharger") is None
        response = send_file(path, as_attachment=not shown, download_name=path.name,
                             max_age=0)
        if shown:
            response.headers["Content-Security-Policy"] = _map_csp(
                str(path), path.stat().st_mtime_ns)
        else:
            response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    return app


# --------------------------------------------------------------------------- helpers


def _fiche_maps_zip(results: Path):
    """The maps of the per-initiative pages in one zip, made on request from their folder
    (only the PNG and SVG files the run wrote there, never a link out of it)."""
    import io
    import zipfile

    from .fiches import fiche_images_folder

    folder = fiche_images_folder(results / OUTPUT_FILES["fiches"])
    files = sorted(p for p in folder.glob("*") if p.suffix in (".png", ".svg")
                   and p.is_file() and not p.is_symlink()) if folder.is_dir() else []
    if not files:
        abort(404)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, f"{folder.name}/{path.name}")
    buffer.seek(0)
    response = send_file(buffer, mimetype="application/zip", as_attachment=True,
                         download_name="fiches-cartes.zip", max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _made(provenance: Path) -> str:
    """When the results were made (the run that wrote them), in French."""
    import json

    from .report import french_date

    try:
        return french_date(json.loads(provenance.read_text(encoding="utf-8"))["date"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _vendor(name: str) -> Path | None:
    """Leaflet's files from its Python package, for the review page's small maps."""
    import xstatic.pkg.leaflet as leaflet

    allowed = re.fullmatch(r"leaflet/(leaflet\.(js|css)|images/[\w-]+\.png)", name)
    if not allowed:
        return None
    path = Path(leaflet.BASE_DIR) / name.split("/", 1)[1]
    return path if path.is_file() else None


def _anchor(key: str) -> str:
    """An HTML id for a review row (the key itself is user text)."""
    return "ligne-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _cell(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _choice(value, choices: list[str], what: str, optional: bool = False):
    if optional and not value:
        return None
    if value not in choices:
        raise EssQpvError(f"choix impossible pour {what}.")
    return value


def _number(text: str, what: str) -> float:
    try:
        value = float(str(text).replace(",", ".").strip())
    except ValueError:
        raise EssQpvError(f"{what} doit être un nombre (trouvé : « {text} »).") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise EssQpvError(f"{what} doit être un nombre fini.")
    return value


def _codes(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,;]+", text.strip()) if c]


def _state(folder: Path) -> dict:
    """The run's state as the page shows it (labels, elapsed time)."""
    current = dict(jobs.state(folder))
    current["libelle"] = jobs.LABELS.get(current.get("etat"), "pas encore lancée")
    current["etape_libelle"] = STEPS.get(current.get("etape", ""), "démarrage")
    if current.get("debut"):
        current["duree"] = round((current.get("fin") or time.time()) - current["debut"], 1)
    current.pop("pid", None)
    return current


@lru_cache(maxsize=16)
def _report_tables(path: str, mtime: int
                   ) -> dict[str, tuple[list[str], list[list[str]], int, list[str]]]:
    """The report's per-site, per-quartier, impact and per-territory sheets (first rows), as
    text, with the notes written under a table: the page shows what the report holds."""
    from .report import NOTES_HEADING

    book = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
    out = {}
    for name in ("Initiatives", "Par quartier", "Impact", "Par territoire"):
        if name not in book:
            continue
        frame, notes = book[name], []
        first = frame.iloc[:, 0] if len(frame.columns) else pd.Series(dtype=str)
        if (first == NOTES_HEADING).any():
            at = int(np.flatnonzero((first == NOTES_HEADING).to_numpy())[0])
            notes = [str(v) for v in first.iloc[at + 1:] if str(v)]
            frame = frame.iloc[:max(at - 1, 0)]
        out[name] = ([str(c) for c in frame.columns],
                     [[_cell(v) for v in row] for row in frame.head(TABLE_ROWS).itertuples(
                         index=False)], len(frame), notes)
    return out


_INLINE_SCRIPT = re.compile(rb"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)


@lru_cache(maxsize=16)
def _map_csp(path: str, mtime: int) -> str:
    """The policy of a self-contained map shown in the page: its own inline scripts only
    (by hash), no connection, in a sandbox of its own (no access to the page's cookies)."""
    hashes = []
    for match in _INLINE_SCRIPT.finditer(Path(path).read_bytes()):
        attrs = match["attrs"].lower()
        if b"src=" in attrs or b"application/json" in attrs:
            continue
        digest = base64.b64encode(hashlib.sha256(match["body"]).digest()).decode()
        hashes.append(f"'sha256-{digest}'")
    return ("sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox; "
            f"default-src 'none'; script-src {' '.join(sorted(set(hashes)))}; "
            "style-src 'unsafe-inline'; img-src data: https:; font-src data:; "
            "frame-ancestors 'self'")
