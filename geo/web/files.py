"""What a study gives back: the results page (its tables as the report holds them) and
every output file, downloaded or, for the self-contained map, shown in a sandbox; and our
own scripts, style sheet and Leaflet's files."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from flask import Blueprint, abort, request, send_file

from ..io import french_numbers, recover
from ..vocabulary import OUTPUTS
from .common import TEMPLATES, cell, page, state, study
from .workspace import OUTPUT_FILES, confined, result_file, results_folder

bp = Blueprint("files", __name__)

#: Our own scripts and style sheet, served from the package.
ASSETS = {"app.css": "text/css", "app.js": "text/javascript",
          "relecture.js": "text/javascript"}
#: The fiches' maps, in a zip made on request from their folder.
FICHE_MAPS = ("fiches_cartes", "Télécharger les cartes des fiches (PNG et SVG, archive zip)")
#: The page's download links: the declared outputs that have one, the fiches' maps after
#: the fiches.
DOWNLOADS = {key: label for o in OUTPUTS if o.download for key, label in (
    [(o.key, o.download)] + ([FICHE_MAPS] if o.key == "fiches" else []))}
#: Rows of each table shown in the results page (the report holds them all).
TABLE_ROWS = 1000


@bp.get("/ressources/<path:name>")
def asset(name: str):
    if name in ASSETS:
        return send_file(TEMPLATES / name, mimetype=ASSETS[name], max_age=0)
    local = _vendor(name)
    if local is None:
        abort(404)
    return send_file(local, max_age=3600)


@bp.get("/favicon.ico")
def favicon():
    return "", 204


@bp.get("/etudes/<name>/resultats")
def results(name: str):
    folder = study(name)
    current = state(folder)
    # every file read here stays in the study folder (a received one may hold links out)
    recover(results_folder(folder))  # a run killed while its files appeared: its new set
    report = result_file(folder, "rapport")
    if not report.is_file():
        return page("resultats.html", name, step="files.results", ready=False, state=current)
    tables = _report_tables(str(report), report.stat().st_mtime_ns)
    snippet_path = result_file(folder, "integration")
    snippet = snippet_path.read_text(encoding="utf-8") if snippet_path.is_file() else ""
    return page("resultats.html", name, step="files.results", ready=True, state=current,
                made=_made(result_file(folder, "provenance")),
                tables=tables, snippet=snippet, downloads=DOWNLOADS,
                summary=current.get("resume") or {}, limit=TABLE_ROWS)


@bp.get("/etudes/<name>/fichiers/<key>")
def output(name: str, key: str):
    folder = study(name)
    if key not in DOWNLOADS and key not in OUTPUT_FILES or key == "dossier":
        abort(404)
    recover(results_folder(folder))
    if key == "fiches_cartes":
        return _fiche_maps_zip(folder)
    path = result_file(folder, key)
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


def _fiche_maps_zip(study_folder: Path):
    """The maps of the per-initiative pages in one zip, made on request from their folder
    (only the PNG and SVG files the run wrote there, never a link out of the study)."""
    import io
    import zipfile

    from ..write.fiches import fiche_images_folder, fiche_maps

    folder = fiche_images_folder(results_folder(study_folder) / OUTPUT_FILES["fiches"])
    files = sorted(confined(study_folder, path, "une carte des fiches")
                   for path in fiche_maps(folder))
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

    from ..write.report import french_date

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


@lru_cache(maxsize=16)
def _report_tables(path: str, mtime: int
                   ) -> dict[str, tuple[list[str], list[list[str]], int, list[str]]]:
    """The report's per-site, per-quartier, impact and per-territory sheets (first rows), as
    text, with the notes written under a table: the page shows what the report holds, its
    numbers written as the downloaded CSV writes them (« 48,799456 »)."""
    from ..write.report import NOTES_HEADING

    book = pd.read_excel(path, sheet_name=None, dtype=object, keep_default_na=False)
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
        frame = french_numbers(frame)
        out[name] = ([str(c) for c in frame.columns],
                     [[cell(v) for v in row] for row in frame.head(TABLE_ROWS).itertuples(
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
