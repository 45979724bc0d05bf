"""The review step: a person accepts, corrects or places the doubtful addresses; each
decision goes to the study's corrections file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for

from .._errors import EssQpvError
from ..sources import DEFAULT_SOURCE, SOURCES
from ..write import reviewmap
from . import jobs, workspace
from .common import editing, number, page, site, study

bp = Blueprint("review", __name__)


@bp.get("/etudes/<name>/relecture")
def review(name: str):
    folder = study(name)
    rows = workspace.review(folder)
    records = rows.astype(object).where(rows.notna(), "").astype(str).to_dict("records")
    for r in records:
        r["ancre"] = _anchor(r["cle"])
        r["fond"] = url_for("review.background", name=name, anchor=r["ancre"])
    return page("relecture.html", name, step="review.review", rows=records,
                ran=jobs.state(folder).get("etat") == jobs.DONE)


@bp.post("/etudes/<name>/relecture")
@editing
def review_post(name: str, folder: Path):
    f = request.form
    key, action = f.get("cle", ""), f.get("action", "")
    rows = workspace.review(folder)
    match = rows[rows["cle"].astype(str) == key]
    if match.empty:
        abort(404)
    asked = str(match["adresse_saisie"].iloc[0])
    # the decision records which site it is for: it is applied only while the site is
    # still there with that name and address
    site_name = str(match["nom"].fillna("").iloc[0]) if "nom" in match else ""
    anchor = _anchor(key)
    try:
        with site().locks[name]:
            if action == "accepter":
                workspace.decide(folder, key, asked=asked, name=site_name, accept=True)
                message = f"Proposition acceptée pour « {asked} »."
            elif action == "corriger":
                address = f.get("adresse_corrigee", "").strip()
                if not address:
                    raise EssQpvError("écrivez l'adresse corrigée avant de valider.")
                workspace.decide(folder, key, asked=asked, name=site_name, address=address[:300])
                message = f"Adresse corrigée enregistrée pour « {asked} »."
            elif action == "placer":
                point = (number(f.get("latitude", ""), "la latitude"),
                         number(f.get("longitude", ""), "la longitude"))
                if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
                    raise EssQpvError("latitude entre -90 et 90, longitude entre -180 et "
                                      "180.")
                workspace.decide(folder, key, asked=asked, name=site_name, point=point)
                message = f"Point placé pour « {asked} »."
            elif action == "effacer":
                workspace.decide(folder, key)
                message = f"Décision effacée pour « {asked} »."
            else:
                abort(400)
    except EssQpvError as exc:
        flash(str(exc), "erreur")
        return redirect(url_for("review.review", name=name) + "#" + anchor)
    flash(message + " Relancez l'analyse pour l'appliquer.", "info")
    return redirect(url_for("review.review", name=name) + "#" + anchor)


@bp.get("/etudes/<name>/relecture/fond/<anchor>.json")
def background(name: str, anchor: str):
    """What the small map of one review item shows, offline: the site's point (or the place
    its address names) and the bundled outlines around it, as GeoJSON."""
    from ..qpv import load_qpv

    folder = study(name)
    rows = workspace.review(folder)
    records = rows.astype(object).where(rows.notna(), "").astype(str).to_dict("records")
    row = next((r for r in records if _anchor(r["cle"]) == anchor), None)
    if row is None:
        abort(404)
    view = reviewmap.view_of(row)
    # the study's quartiers when bundled; a download is not fetched for a background
    source = workspace.settings(folder).get("quartiers", {}).get("source") or DEFAULT_SOURCE
    if source not in SOURCES or not SOURCES[source].bundled:
        source = DEFAULT_SOURCE
    return jsonify(point=view.point, cadre=view.bounds,
                   contours=reviewmap.background(view, load_qpv(source, progress=False)))


def _anchor(key: str) -> str:
    """An HTML id for a review row (the key itself is user text)."""
    return "ligne-" + hashlib.sha256(key.encode()).hexdigest()[:12]
