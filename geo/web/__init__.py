"""The web page of ``ess-qpv serve``: a study from a spreadsheet to its map and report,
in the browser, one page per step.

An app factory (:func:`create_app`) with one blueprint per part: ``studies`` (list, new,
table, parameters, run), ``columns``, ``review``, ``files`` (results and downloads) and
``auth``; :mod:`.guards` puts the request checks, headers and error pages on every answer.

The page edits a study folder (:mod:`geo.web.workspace`) and starts its run (:mod:`geo.web.jobs`);
it never sequences the steps itself. Flask renders our own templates with autoescaping
(user text is never compiled as a template nor inserted as HTML); Flask-WTF checks a CSRF
token on every form; every answer carries a Content-Security-Policy. Bound to the loopback
address, the server also refuses requests for another host name (DNS rebinding); bound to
any other address, it asks for a password.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from . import auth, columns, files, guards, review, studies
from .common import TEMPLATES, Site
from .security import Keys
from .workspace import Limits


def create_app(root: Path, *, password: str | None = None, limits: Limits | None = None,
               local: bool = True, keys: Keys | None = None) -> Flask:
    """The web application on the studies folder ``root``; ``keys``: the server's keys
    (kept outside ``root``, see :mod:`geo.web.security`)."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    limits = limits or Limits()
    keys = keys or Keys(root)
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=None)
    app.config.update(
        SECRET_KEY=keys.secret, MAX_CONTENT_LENGTH=limits.max_bytes + 256 * 1024,
        WTF_CSRF_TIME_LIMIT=None, SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_NAME="ess_qpv")
    app.jinja_env.autoescape = True  # every template, whatever its name
    app.extensions["essqpv"] = Site(root=root, limits=limits, keys=keys, password=password,
                                    local=local, tag=keys.session_tag(password))
    CSRFProtect(app)
    guards.install(app)
    for part in (auth, files, studies, columns, review):
        app.register_blueprint(part.bp)
    return app
