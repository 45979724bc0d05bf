"""Logging in and out, when the page has a password (tries throttled per client; a session
closed by its logout is refused even if its cookie was kept)."""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, flash, redirect, request, session, url_for

from .common import page, site
from .security import local_path

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
        session["id"] = secrets.token_hex(16)
        return redirect(suite)
    site().throttle.failed(client)
    return page("connexion.html", status=403, title="Connexion", suite=suite,
                error="Mot de passe incorrect.")


@bp.post("/deconnexion")
def logout():
    """Close this session (POST with the form's token): its cookie, even copied, no longer
    opens the page while this server runs."""
    site().closed_sessions.add(str(session.get("id", "")))
    session.clear()
    flash("Session fermée : le mot de passe sera demandé de nouveau.", "info")
    return redirect(url_for("auth.login"))


@bp.app_context_processor
def logged_in() -> dict:
    """Whether the page shows the logout button (a password, a session opened with it)."""
    here = site()
    return {"connecte": bool(here.password) and hmac.compare_digest(
        str(session.get("ok", "")), here.tag)}
