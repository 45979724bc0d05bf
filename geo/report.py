"""The study's Excel report: French sheets and headers, numbers as numbers, text as text.

Sheets: *Initiatives* (one row per site, enriched), *Par quartier*, *Par territoire*,
*À vérifier* (geocoding review and sites that could not be placed) and *Sources* (data,
dates, licences, parameters).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .io import write_workbook
from .link import LinkResult
from .vocabulary import (
    QPV_HEADERS,
    SITE_HEADERS,
    TERRITORY_HEADERS,
    Evolution,
    Relation,
    TerritoryStatus,
)

RELATIONS_FR = {r.value: r.label for r in Relation}
EVOLUTION_FR = {e.value: e.label for e in Evolution}
TERRITORY_FR = {s.value: s.label for s in TerritoryStatus}
SHEETS = ("Initiatives", "Par quartier", "Par territoire", "À vérifier", "Sources")


def _by_theme(column: str) -> str:
    relation, _, theme = column[2:].partition(":")
    label = {"implanted": "Implantées", "nearby": "À proximité", "served": "Y intervenant"}
    return f"{label.get(relation, relation)} – {theme}"


def report_tables(result: LinkResult, *, review: pd.DataFrame | None = None,
                  sources: dict | None = None, numeric: list[str] | None = None
                  ) -> dict[str, pd.DataFrame]:
    """The report's sheets as tables with French headers.

    ``numeric`` names the user's columns to write as numbers (coordinates, radius); the
    others stay text, so codes keep their leading zeros.
    """
    sites = pd.DataFrame(result.sites.drop(columns=result.sites.geometry.name))
    for column in numeric or []:
        if column in sites:
            text = sites[column].astype(object).where(sites[column].notna(), "").astype(str)
            sites[column] = pd.to_numeric(text.str.replace(",", ".").str.strip(),
                                          errors="coerce")
    sites["relation"] = sites["relation"].map(RELATIONS_FR)
    if "territory_status" in sites:
        sites["territory_status"] = sites["territory_status"].map(TERRITORY_FR).fillna("")
    if "evolution" in sites:
        sites["evolution"] = sites["evolution"].map(EVOLUTION_FR).fillna("")
        sites["relation_compare"] = sites["relation_compare"].map(RELATIONS_FR).fillna("")
    sites = sites.rename(columns=SITE_HEADERS)
    per_qpv = result.per_qpv.rename(columns=lambda c: QPV_HEADERS.get(
        c, _by_theme(c) if c.startswith("n_") and ":" in c else c))
    per_territory = result.per_territory.copy()
    per_territory["niveau"] = per_territory["niveau"].map(
        {"departement": "département", "commune": "commune"})
    per_territory = per_territory.rename(columns=TERRITORY_HEADERS)
    return {
        "Initiatives": sites,
        "Par quartier": per_qpv,
        "Par territoire": per_territory,
        "À vérifier": to_check(result, review),
        "Sources": sources_table(sources or {}),
    }


#: The review's statuses, as a person reads them.
REVIEW_PROBLEMS = {"a_verifier": "adresse douteuse", "non_trouve": "adresse non trouvée",
                   "non_geocode": "adresse non géocodée", "sans_adresse": "ni adresse ni "
                   "coordonnées", "non_localise": "site non localisé"}


def to_check(result: LinkResult, review: pd.DataFrame | None) -> pd.DataFrame:
    """Rows that need a human look: the review (doubtful addresses, sites not placed),
    then other remarks."""
    rows = []
    for r in (review if review is not None else pd.DataFrame()).itertuples(index=False):
        score = pd.to_numeric(pd.Series([r.score]), errors="coerce").iloc[0]
        rows.append({"Ligne": r.ligne, "Clé": r.cle,
                     "Problème": REVIEW_PROBLEMS.get(str(r.statut), str(r.statut)),
                     "Détail": r.motif, "Adresse saisie": r.adresse_saisie,
                     "Adresse proposée": r.adresse_proposee,
                     "Score": None if pd.isna(score) else round(float(score), 2)})
    seen = {row["Ligne"] for row in rows}
    for issue in result.issues:
        if issue.row in seen:
            continue
        rows.append({"Ligne": issue.row, "Clé": "", "Problème": "lecture",
                     "Détail": f"{issue.column or ''} : {issue.message}".lstrip(" :"),
                     "Adresse saisie": "", "Adresse proposée": "", "Score": None})
    columns = ["Ligne", "Clé", "Problème", "Détail", "Adresse saisie", "Adresse proposée",
               "Score"]
    return pd.DataFrame(rows, columns=columns).sort_values("Ligne", kind="stable")


def sources_table(info: dict) -> pd.DataFrame:
    """Data sources, dates, licences and parameters as two columns."""
    rows = [
        ("Outil", info.get("outil", "")),
        ("Date d'exécution", info.get("date", "")),
        ("Quartiers prioritaires", info.get("qpv_source", "")),
        ("Origine des contours", info.get("qpv_origine", "")),
        ("Date des contours", info.get("qpv_date", "")),
        ("Crédit", info.get("qpv_credit", "")),
    ]
    for key, value in (info.get("parametres") or {}).items():
        rows.append((f"Paramètre : {key}", "" if value is None else str(value)))
    rows += [
        ("Licence des données publiques", "Licence Ouverte / Etalab 2.0"),
        ("À créditer", "ANCT, INSEE (quartiers prioritaires) ; Base Adresse Nationale "
                       "(géocodage)"),
    ]
    return pd.DataFrame(rows, columns=["Élément", "Valeur"])


def write_report(path: str | Path, result: LinkResult, *,
                 review: pd.DataFrame | None = None, sources: dict | None = None,
                 numeric: list[str] | None = None) -> Path:
    """Write the Excel report (see the module docstring for its sheets); ``review``: the
    study's review (:attr:`geo.study.StudyResult.review`)."""
    return write_workbook(report_tables(result, review=review, sources=sources,
                                        numeric=numeric), path)
