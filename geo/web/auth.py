"""Logging in, when the page is served beyond the loopback address (a password, tries
throttled per client)."""

from __future__ import annotations

import hmac

from flask import Blueprint, redirect, request, session

from ..websecurity import local_path
from .common import page, site

bp = Blueprint("auth", __name__)


@bp.get("/connexion")
def login():
    return page("connexion.html", title="Connexion", suite=local_path(
        request.args.get("suite", "/")))


@bp.post("/connexion")
def login_post():
    given = request.form.get("mot_de_passe", "")
    suite = local_path(request.form.get("suite", "/"))
    client = request.remote_addr or ""
    wait = site().throttle.wait(client)
    if wait > 0:
        body, status = page("connexion.html", status=429, title="Connexion", suite=suite,
                            error=f"Trop d'essais : attendez {wait:.0f} s avant de "
                                  "réessayer.")
        return body, status, {"Retry-After": str(int(wait) + 1)}
    if site().password and hmac.compare_digest(given.encode(), site().password.encode()):
        site().throttle.succeeded(client)
        session.clear()
        session["ok"] = site().tag
        return redirect(suite)
    site().throttle.failed(client)
    return page("connexion.html", status=403, title="Connexion", suite=suite,
                error="Mot de passe incorrect.")
