"""What every request goes through: the host check (DNS rebinding) and the password on
the network, the security headers and the French error pages."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Flask, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .._errors import EssQpvError
from .common import page, site
from .security import local_path

APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
           "img-src 'self' data: https://tile.openstreetmap.org; connect-src 'self'; "
           "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; "
           "object-src 'none'")
#: What a visitor reaches before giving the password.
OPEN_ENDPOINTS = ("auth.login", "auth.login_post", "files.asset", "files.favicon")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def guard():
    here = site()
    if here.local and urlsplit("//" + (request.host or "")).hostname not in LOCAL_HOSTS:
        return page("erreur.html", status=400, title="Adresse refusée",
                    message="Cette page ne répond qu'à l'adresse 127.0.0.1 ou localhost.")
    # a session opened with another password (changed since), or closed by its logout, is
    # no session
    if here.password and request.endpoint not in OPEN_ENDPOINTS and (
            not hmac.compare_digest(str(session.get("ok", "")), here.tag)
            or str(session.get("id", "")) in here.closed_sessions):
        return redirect(url_for("auth.login", suite=local_path(request.full_path)))
    return None


def headers(response):
    response.headers.setdefault("Content-Security-Policy", APP_CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def csrf_error(exc):
    return page("erreur.html", status=400, title="Formulaire refusé",
                message="Ce formulaire n'a pas été accepté : son jeton de sécurité manque "
                        "ou a expiré. Revenez à la page, rechargez-la et recommencez.")


def too_large(exc):
    return page("erreur.html", status=413, title="Fichier trop volumineux",
                message=f"Le fichier dépasse la limite de {site().limits.max_bytes / 1e6:.0f} "
                        "Mo (option --taille-max de ess-qpv serve).")


def http_error(exc):
    titles = {404: "Page introuvable", 405: "Action impossible"}
    return page("erreur.html", status=exc.code or 500,
                title=titles.get(exc.code, "Requête refusée"),
                message={404: "Cette page ou cette étude n'existe pas.",
                         405: "Cette adresse ne s'utilise pas ainsi."}.get(
                             exc.code, "La requête n'a pas pu être traitée."))


def refused(exc: EssQpvError):
    """A study the page cannot show as it is (a received folder's link out of it, a study
    file that does not read): the engine's French message, nothing read nor changed."""
    message = str(exc)
    return page("erreur.html", status=400, title="Étude refusée",
                message=f"{message[:1].upper()}{message[1:]}")


def crash(exc):
    from flask import current_app

    current_app.logger.exception("erreur inattendue")
    return page("erreur.html", status=500, title="Erreur inattendue",
                message="Une erreur inattendue est survenue ; l'étude n'a pas été "
                        "modifiée. Le détail est dans la console du serveur.")


def install(app: Flask) -> None:
    """Put the guards, headers and error pages on ``app``."""
    app.before_request(guard)
    app.after_request(headers)
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(413, too_large)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(EssQpvError, refused)
    app.register_error_handler(Exception, crash)
