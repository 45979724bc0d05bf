"""The study's Excel report: French sheets and headers, numbers as numbers, text as text.

Sheets: *Initiatives* (one row per site, enriched), *Par quartier*, *Par territoire*,
*Impact* (indicators summed per quartier, commune, département and in all, population and
rates, with the counting rule in notes under the table; when the study has indicators or
population), *Par année* (how the initiatives spread; when it has years), *À vérifier*
(geocoding review and sites that could not be placed) and *Sources* (data, dates,
licences, parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import write_workbook
from ..link import LinkResult
from ..sources import source_label
from ..tables import french
from ..vocabulary import ROLE_FR, VALUE_LABELS

SHEETS = ("Initiatives", "Par quartier", "Par territoire", "Impact", "Par année", "À vérifier",
          "Sources")
#: Heading of the notes written under a table.
NOTES_HEADING = "Notes"


def report_tables(result: LinkResult, *, review: pd.DataFrame | None = None,
                  sources: dict | None = None, numeric: list[str] | None = None,
                  impact: pd.DataFrame | None = None, years: pd.DataFrame | None = None,
                  notes: Sequence[str] = ()) -> dict[str, pd.DataFrame]:
    """The report's sheets as tables with French headers (*Impact* and *Par année* only
    when ``impact`` and ``years`` hold rows).

    ``numeric`` names the user's columns to write as numbers (coordinates, radius,
    indicators); the others stay text, so codes keep their leading zeros. ``notes``: lines
    about how the indicators were read (:attr:`geo.indicators.Measures.report`), under the
    counting rule in the *Impact* sheet's notes.
    """
    from ..impact import NOTES, french_impact, french_years

    sites = pd.DataFrame(result.sites.drop(columns=result.sites.geometry.name))
    for column in numeric or []:
        if column in sites:
            sites[column] = numbers_kept(sites[column])
    for column, cells in result.typed_numbers.items():
        if column in sites and column not in (numeric or []):
            sites[column] = typed_kept(sites[column], cells)
    sites = french(sites, "sites")
    per_qpv = french(result.per_qpv, "par_quartier")
    if notes_by_theme := theme_notes(result.per_qpv):
        per_qpv = with_notes(per_qpv, notes_by_theme)
    per_territory = french(result.per_territory, "par_territoire")
    sheets = {"Initiatives": sites, "Par quartier": per_qpv, "Par territoire": per_territory}
    if impact is not None and len(impact):
        sheets["Impact"] = with_notes(french_impact(impact), (*NOTES, *notes))
    if years is not None and len(years):
        sheets["Par année"] = french_years(years)
    sheets["À vérifier"] = to_check(result, review)
    sheets["Sources"] = sources_table(sources or {})
    return sheets


def with_notes(table: pd.DataFrame, notes: tuple[str, ...]) -> pd.DataFrame:
    """``table`` with an empty row, then :data:`NOTES_HEADING` and one note per row, in
    its first column (the notes read under the table in Excel)."""
    first = table.columns[0]
    lines = ["", NOTES_HEADING, *notes]
    extra = pd.DataFrame({first: lines}, columns=table.columns).astype(object)
    extra.loc[0, first] = None
    return pd.concat([table.astype(object), extra], ignore_index=True)


#: The *Par quartier* sheet's note when an initiative of several themes counts in each.
SEVERAL_THEMES_COUNTED = (
    "Colonnes par thème\u00a0: une initiative à plusieurs thèmes («\u00a0A\u00a0; B\u00a0») "
    "est comptée dans chacun, aussi la somme de ces colonnes peut-elle dépasser le nombre "
    "d’initiatives de la relation (sur la carte, un site à plusieurs thèmes porte le symbole "
    "du premier).")


def theme_notes(per_qpv: pd.DataFrame) -> tuple[str, ...]:
    """The notes of the per-quartier table's columns by theme (``n_<relation>:<theme>``):
    :data:`SEVERAL_THEMES_COUNTED` when, for some quartier and relation, they add up to
    more than the relation's count."""
    for column in [c for c in per_qpv.columns if str(c).startswith("n_") and ":" not in c]:
        themed = [c for c in per_qpv.columns if str(c).startswith(f"{column}:")]
        if themed and (per_qpv[themed].sum(axis=1) > per_qpv[column]).any():
            return (SEVERAL_THEMES_COUNTED,)
    return ()


def to_check(result: LinkResult, review: pd.DataFrame | None) -> pd.DataFrame:
    """Rows that need a human look: the review (doubtful addresses, sites not placed),
    then other remarks."""
    rows = []
    for r in (review if review is not None else pd.DataFrame()).itertuples(index=False):
        score = pd.to_numeric(pd.Series([r.score]), errors="coerce").iloc[0]
        rows.append({"Ligne": r.ligne, "Clé": r.cle, "Site": getattr(r, "nom", ""),
                     "Problème": VALUE_LABELS["statut"].get(str(r.statut), str(r.statut)),
                     "Détail": r.motif, "Adresse saisie": r.adresse_saisie,
                     "Adresse proposée": r.adresse_proposee,
                     "Score": None if pd.isna(score) else round(float(score), 2)})
    seen = {row["Ligne"] for row in rows}
    for issue in result.issues:
        if issue.row in seen:
            continue
        rows.append({"Ligne": issue.row, "Clé": "", "Site": "", "Problème": "lecture",
                     "Détail": f"{issue.column or ''} : {issue.message}".lstrip(" :"),
                     "Adresse saisie": "", "Adresse proposée": "", "Score": None})
    columns = ["Ligne", "Clé", "Site", "Problème", "Détail", "Adresse saisie", "Adresse proposée",
               "Score"]
    return pd.DataFrame(rows, columns=columns).sort_values("Ligne", kind="stable")


def sources_table(info: dict) -> pd.DataFrame:
    """Data sources, dates, licences and parameters as two columns."""
    rows = [
        ("Outil", info.get("outil", "")),
        ("Date d'exécution", french_date(info.get("date", ""))),
        ("Quartiers prioritaires", info.get("qpv_source", "")),
        ("Origine des contours", info.get("qpv_origine", "")),
        ("Date des contours", info.get("qpv_date", "")),
        ("Crédit", info.get("qpv_credit", "")),
    ]
    if info.get("population"):
        rows.append(("Population des quartiers", info["population"]))
    for key, value in (info.get("parametres") or {}).items():
        shown = source_label(value) if key in SOURCE_PARAMETERS else plain(value)
        rows.append((f"Paramètre : {PARAMETERS.get(key, key)}", shown))
    rows += [
        ("Licence des données publiques", "Licence Ouverte / Etalab 2.0"),
        ("À créditer", "ANCT, INSEE (quartiers prioritaires) ; Base Adresse Nationale "
                       "(géocodage)"),
    ]
    return pd.DataFrame(rows, columns=["Élément", "Valeur"])


#: Whole numbers from this size on are shown by a spreadsheet in exponent form
#: (« 1,23457E+13 »): a workbook's such cells (identifiers) stay as their text shows them.
_LONG_WHOLE = 1e11


def typed_kept(values: pd.Series, cells: pd.DataFrame) -> pd.Series:
    """``values`` (text) with the cells a workbook held as numbers (``cells``: ``value``
    and ``text``, :class:`geo.indicators.TypedNumbers`) numbers again, while they still
    show that text; long whole numbers (identifiers) stay text.

    >>> cells = pd.DataFrame({"value": [1.5, 12345678900011.0], "text": ["1.5", "12345678900011"]})
    >>> typed_kept(pd.Series(["1.5", "12345678900011", "01004"]), cells).tolist()
    [1.5, '12345678900011', '01004']
    """
    out = values.astype(object).copy()
    cells = cells.reindex(values.index)
    same = (cells["text"] == values.astype(str).str.strip()).to_numpy(dtype=bool)
    number = cells["value"].to_numpy(dtype=float)
    keep = same & ~((number == np.trunc(number)) & (np.abs(number) >= _LONG_WHOLE))
    out[keep] = number[keep]
    return out


def numbers_kept(values: pd.Series) -> pd.Series:
    """Numbers written the French way (``1 234,5``) or not, as numbers; a cell that is no
    number keeps its text (nothing typed is lost), an empty one stays empty.

    >>> numbers_kept(pd.Series(["1 234,5", "12", "", "12 k€"])).tolist()
    [1234.5, 12.0, None, '12 k€']
    """
    from ..columns import parse_numbers

    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    parsed = parse_numbers(text.str.replace(r"\s", "", regex=True))
    out = pd.Series(parsed, index=values.index, dtype=object)
    out[pd.isna(parsed)] = text[pd.isna(parsed)]
    return out.where(text != "", None)


#: The run's parameters as the *Sources* sheet names them.
PARAMETERS = {"initiatives": "tableau des initiatives", "distance_m": "distance de proximité "
              "(m)", "quartiers": "source des quartiers", "comparaison": "génération comparée",
              "indicateurs": "indicateurs", "taille_symboles": "taille des symboles selon",
              "periodes": "périodes de la carte à imprimer",
              "quartiers_rapportes": "quartiers des tableaux par quartier et par territoire",
              "arrondi_contours_m": "arrondi des contours des quartiers (m)",
              "sites_limite_incertaine": "sites à la limite incertaine (à moins de l'arrondi "
                                         "d'une limite de quartier)"}


#: The parameters that name a QPV source (shown by its label, not its key).
SOURCE_PARAMETERS = ("quartiers", "comparaison")

_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre")


def french_date(iso: str) -> str:
    """An ISO timestamp as a French reader writes it (« 5 décembre 2026 à 10 h 12 »).

    >>> french_date("2026-12-05T10:12:00+01:00")
    '5 décembre 2026 à 10 h 12'
    """
    from datetime import datetime

    try:
        when = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso or "")
    return f"{when.day} {_MONTHS[when.month - 1]} {when.year} à {when.hour} h {when.minute:02d}"


def plain(value) -> str:
    """A parameter as a person reads it: yes/no, numbers without a useless « .0 », the
    columns as « rôle : colonne », a list of columns as « a », « b ».

    >>> plain(False), plain(300.0), plain({"lon": "x", "address": ["a", "b"]})
    ('non', '300', 'longitude (ou X) : « x » ; adresse : « a », « b »')
    >>> plain(["emplois", "benevoles"])
    '« emplois », « benevoles »'
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    if isinstance(value, dict):
        return " ; ".join(f"{ROLE_FR.get(k, k)} : {plain_list(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return plain_list(value)
    return str(value)


def plain_list(value) -> str:
    items = value if isinstance(value, list | tuple) else [value]
    return ", ".join(f"« {v} »" for v in items)


def write_report(path: str | Path, result: LinkResult, *,
                 review: pd.DataFrame | None = None, sources: dict | None = None,
                 numeric: list[str] | None = None, impact: pd.DataFrame | None = None,
                 years: pd.DataFrame | None = None, notes: Sequence[str] = ()) -> Path:
    """Write the Excel report (see the module docstring for its sheets); ``review``: the
    study's review (:attr:`geo.study.StudyResult.review`); ``impact`` and ``years``: its
    :attr:`~geo.study.StudyResult.impact` and :attr:`~geo.study.StudyResult.years`;
    ``notes``: how its indicators were read."""
    return write_workbook(report_tables(result, review=review, sources=sources,
                                        numeric=numeric, impact=impact, years=years,
                                        notes=notes), path)
