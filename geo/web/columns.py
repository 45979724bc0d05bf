"""The columns step: which column of the user's table holds what (from the one
declaration of the roles)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, redirect, request, url_for

from .._errors import EssQpvError
from ..vocabulary import COLUMN_KEYS, Columns
from ..vocabulary import ROLES as VOCABULARY_ROLES
from . import workspace
from .common import cell, editing, page, site, study, without_table

bp = Blueprint("columns", __name__)

#: Column roles offered on the columns page: Columns field → French label (from the one
#: declaration of the roles).
ROLES = {r.key: r.label[:1].upper() + r.label[1:] for r in VOCABULARY_ROLES if r.web}


@bp.get("/etudes/<name>/colonnes")
def columns(name: str):
    folder = study(name)
    return without_table(name, folder) or _columns_page(name, folder)


def _columns_page(name: str, folder: Path, given: Columns | None = None,
                  error: str | None = None, status: int = 200):
    table, detection, refusal = workspace.preview(folder, given)
    chosen = detection.columns if detection else (given or workspace.columns(folder))
    head = table.head(8)
    return page("colonnes.html", name, status=status, step="columns.columns",
                headers=[str(c) for c in table.columns],
                rows=[[cell(v) for v in row] for row in head.astype(object).itertuples(
                    index=False)], n_rows=len(table), roles=ROLES, chosen=chosen,
                indicators=detection.indicators if detection else (chosen.indicators or []),
                size_by=workspace.settings(folder).get("indicateurs", {}).get(
                    "taille_symboles", ""),
                report=detection.report if detection else [],
                error=error or refusal)


@bp.post("/etudes/<name>/colonnes")
@editing
def columns_post(name: str, folder: Path):
    given = Columns(**{role: request.form.get(role) or None for role in ROLES},
                    address=request.form.getlist("address") or None,
                    indicators=request.form.getlist("indicators") or None)
    size_by = request.form.get("size_by") or None
    with site().locks[name]:
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
    return redirect(url_for("studies.parameters", name=name))
