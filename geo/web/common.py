"""What every page of the web app shares: the site it serves (studies folder, limits,
keys), the study a URL names, the page frame, the guard of forms that change a study, and
the small parsers of form fields."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
from flask import abort, current_app, flash, redirect, render_template, url_for

from .._errors import EssQpvError
from ..study import STEPS
from . import jobs, workspace
from .security import Keys, Throttle
from .workspace import Limits

TEMPLATES = Path(str(resources.files("geo").joinpath("templates", "web")))
#: The steps of a study, in order: (endpoint, French label).
FLOW = [("studies.import_table", "Import"), ("columns.columns", "Colonnes"),
        ("studies.parameters", "Paramètres"), ("studies.progress", "Analyse"),
        ("review.review", "Relecture"), ("files.results", "Résultats")]


@dataclass
class Site:
    """What the app serves: the studies folder, the upload limits, the server's keys, the
    password (``None`` on the loopback address) and one lock per study."""

    root: Path
    limits: Limits
    keys: Keys
    password: str | None
    local: bool
    tag: str
    throttle: Throttle = field(default_factory=Throttle)
    #: The ids of the sessions closed by a logout (their cookies open nothing any more).
    closed_sessions: set[str] = field(default_factory=set)
    locks: defaultdict[str, threading.Lock] = field(
        default_factory=lambda: defaultdict(threading.Lock))


def site() -> Site:
    """The site of the app handling the request."""
    return current_app.extensions["essqpv"]


def study(name: str) -> Path:
    """The folder of the study a URL names (404 when there is none)."""
    try:
        return workspace.folder_of(site().root, name)
    except workspace.NotFound:
        abort(404)


def page(template: str, name: str | None = None, status: int = 200, **context):
    """A page of the app, in the frame of its study's steps."""
    folder = site().root / name if name else None
    context.setdefault("title", workspace.title_of(folder) if folder else "Études")
    return render_template(template, flow=FLOW, study_name=name, **context), status


def without_table(name: str, folder: Path):
    """Send to the import page a study that has no table yet."""
    if workspace.table_path(folder) is None:
        return redirect(url_for("studies.import_table", name=name))
    return None


def editing(view):
    """A form that changes a study: refused (back to the run) while the study runs."""
    @functools.wraps(view)
    def checked(name: str):
        folder = study(name)
        if jobs.running(folder):
            flash("Une analyse est en cours : attendez la fin ou annulez-la avant de "
                  "modifier l'étude.", "erreur")
            return redirect(url_for("studies.progress", name=name))
        return view(name, folder)
    return checked


def state(folder: Path) -> dict:
    """The run's state as the page shows it (labels, elapsed time)."""
    current = dict(jobs.state(folder))
    current["libelle"] = jobs.LABELS.get(current.get("etat"), "pas encore lancée")
    current["etape_libelle"] = STEPS.get(current.get("etape", ""), "démarrage")
    if current.get("debut"):
        current["duree"] = round((current.get("fin") or time.time()) - current["debut"], 1)
    current.pop("pid", None)
    return current


def cell(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def choice(value, choices: list[str], what: str, optional: bool = False):
    if optional and not value:
        return None
    if value not in choices:
        raise EssQpvError(f"choix impossible pour {what}.")
    return value


def number(text: str, what: str) -> float:
    try:
        value = float(str(text).replace(",", ".").strip())
    except ValueError:
        raise EssQpvError(f"{what} doit être un nombre (trouvé : « {text} »).") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise EssQpvError(f"{what} doit être un nombre fini.")
    return value


def codes(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,;]+", text.strip()) if c]
