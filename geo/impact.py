"""What the initiatives bring to the quartiers: their indicators summed per quartier,
commune, département and for the whole study; how they spread over the years; the
quartiers' population and the rates it gives.

The counting rule, written once here and in the report's notes (:data:`NOTES`):

- *implanted* and *nearby* sum the values of the **sites** (a site in two overlapping
  quartiers counts in each; above the quartier, a site counts once, and a site implanted in
  one of a commune's quartiers is not also counted nearby in that commune);
- *serving* sums the values of the **initiatives** that serve the quartier (an initiative's
  value is the sum over its sites), each once per quartier and once in every total;
- a sum only adds the values filled in; it stays blank when none is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import InputError
from .indicators import Measures
from .link import LinkResult, territory_names
from .typography import plural
from .vocabulary import QPV_CODE, Relation, find_column

_IMPLANTED, _NEARBY, _SERVED = Relation.IMPLANTED, Relation.NEARBY, Relation.SERVED
#: The three relations summed, with the unit each counts (site or initiative).
RELATIONS = ((_IMPLANTED, "_site"), (_NEARBY, "_site"), (_SERVED, "id_initiative"))
#: The report's notes under the Impact sheet.
NOTES = (
    "Implantées : somme des valeurs des sites situés dans le quartier (un site dans deux "
    "quartiers qui se chevauchent compte dans chacun).",
    "À proximité : somme des valeurs des sites à moins de la distance de proximité du "
    "quartier, sans y être.",
    "Y intervenant : somme des valeurs des initiatives qui déclarent intervenir dans le "
    "quartier ou dont le rayon d'intervention l'atteint ; la valeur d'une initiative est la "
    "somme de ses sites ; une initiative qui intervient dans plusieurs quartiers compte une "
    "fois dans chacun, et une seule fois dans chaque total.",
    "Communes, départements et ensemble : chaque site et chaque initiative y comptent une "
    "seule fois ; un site implanté dans un quartier de la commune n'y est pas aussi compté "
    "« à proximité ».",
    "Une somme n'additionne que les valeurs renseignées ; elle reste vide si aucune ne l'est "
    "(jamais 0 par défaut).",
    "Population : population municipale des quartiers (source indiquée) ; pour une commune, "
    "un département ou l'ensemble, somme de tous leurs quartiers, donnée seulement quand "
    "chacun est connu. Taux : pour 1 000 habitants des quartiers.",
)


@dataclass
class Population:
    """Population of quartiers by code, with where it comes from (dated)."""

    values: pd.Series
    source: str

    def __bool__(self) -> bool:
        return bool(len(self.values))


#: The bundled INSEE key figures (QPV 2015 of Occitanie).
BUNDLED_SOURCE = ("INSEE, données démographiques 2015 des quartiers prioritaires (QPV 2015), "
                  "population municipale")


def bundled_population() -> Population:
    """The population of the 2015 quartiers of Occitanie (INSEE key figures, bundled)."""
    from .qpv import load_key_figures

    figures = load_key_figures()
    return Population(pd.to_numeric(figures["pop_mun"], errors="coerce").dropna(),
                      BUNDLED_SOURCE)


def read_population(path: str | Path, *, source: str | None = None) -> Population:
    """The population column of an INSEE table by quartier (CSV or Excel): the code column
    is the one holding QPV codes (``QN…``/``QP…``), the population the one named like
    ``pop_mun``/``population``/``habitants``."""
    from .indicators import parse_amounts
    from .initiatives import read_table

    path = Path(path)
    table, first_row, _ = read_table(path)
    columns = [str(c) for c in table.columns]
    code = next((c for c in columns if table[c].astype(str).str.strip().str.upper()
                 .str.fullmatch(QPV_CODE.pattern).mean() >= 0.8), None)
    if code is None:
        raise InputError("aucune colonne de codes de quartier (QN… ou QP…) ; colonnes "
                         f"présentes : {', '.join(columns)}.", path=path.name,
                         parameters=("chiffres_cles",))
    pop = find_column(columns, "population")
    if pop is None:
        raise InputError("aucune colonne de population (pop_mun, population, habitants…) ; "
                         f"colonnes présentes : {', '.join(columns)}.", path=path.name,
                         parameters=("chiffres_cles",))
    values, bad = parse_amounts(table[pop])
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(f"« {table[pop].iat[k]} » n'est pas une population lisible.",
                         path=path.name, row=k + first_row, column=pop,
                         parameters=("chiffres_cles",))
    series = pd.Series(values, index=table[code].astype(str).str.strip().str.upper())
    series = series[~series.index.duplicated()].dropna()
    return Population(series, source or f"{path.name} (colonne « {pop} »)")


def population_for(qpv: gpd.GeoDataFrame, extra: Population | None = None) -> Population:
    """The population of ``qpv``'s quartiers: a table given by the study first, then the
    bundled INSEE figures; sources named for the codes they cover."""
    sources, values = [], pd.Series(dtype=float)
    for part in (extra, bundled_population()):
        if part is None:
            continue
        covered = part.values.reindex(qpv["code_qp"]).dropna()
        covered = covered[~covered.index.isin(values.index)]
        if len(covered):
            values = pd.concat([values, covered])
            sources.append(part.source)
    return Population(values, " ; ".join(sources))


def repeated_values(measures: Measures, ids: pd.Series) -> list[str]:
    """A French line per indicator whose value is the same on every site of initiatives
    with several sites: often the initiative's total typed on each row, which the sums
    would count once per site."""
    lines = []
    several = ids.duplicated(keep=False).to_numpy()
    if not several.any():
        return lines
    for column in measures.columns:
        values = measures.values[column].to_numpy()[several]
        groups = pd.Series(values).groupby(ids.to_numpy()[several])
        same = groups.agg(lambda v: v.notna().all() and v.nunique() == 1)
        if same.any():
            names = ", ".join(map(str, same[same].index[:3]))
            lines.append(f"« {column} » : même valeur sur chaque site de "
                         f"{plural(int(same.sum()), 'initiative à plusieurs sites')} "
                         f"({names}) ; si c'est le total de "
                         "l'initiative, écrivez-le sur un seul de ses sites (les sommes "
                         "additionnent les sites)")
    return lines


# --------------------------------------------------------------------------- sums


def _groups(qpv: gpd.GeoDataFrame, in_area: np.ndarray) -> dict[str, pd.DataFrame]:
    """For each level, the (quartier position, key) pairs of the quartiers studied."""
    positions = np.flatnonzero(in_area)
    studied = qpv.iloc[positions]
    out = {"quartier": pd.DataFrame({"_qpv": positions, "key": studied["code_qp"].to_numpy()})}
    for level, column in (("commune", "insee_com"), ("departement", "insee_dep")):
        keys = pd.Series(studied[column].to_numpy(), index=positions).str.split(";").explode()
        keys = keys[keys.fillna("") != ""]
        out[level] = pd.DataFrame({"_qpv": keys.index.to_numpy(), "key": keys.to_numpy()})
    out["etude"] = pd.DataFrame({"_qpv": positions, "key": "ensemble"})
    return out


def _pairs(long: pd.DataFrame, groups: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """For each relation, the distinct (key, unit) pairs: a site or an initiative."""
    out = {}
    for relation, unit in RELATIONS:
        part = long.loc[long["relation"] == relation, [unit, "_qpv"]].merge(groups, on="_qpv")
        out[relation] = part[["key", unit]].drop_duplicates()
    implanted = pd.MultiIndex.from_frame(out[_IMPLANTED])
    near = out[_NEARBY]
    out[_NEARBY] = near[~pd.MultiIndex.from_frame(near).isin(implanted)]
    return out


def impact_table(result: LinkResult, qpv: gpd.GeoDataFrame, measures: Measures,
                 ids: pd.Series, *, population: Population | None = None) -> pd.DataFrame:
    """One row per quartier that holds, is near or is served by sites, then per commune,
    département and for the whole study: counts, each indicator summed over the sites
    implanted, the sites nearby and the initiatives serving (see the module's rule), the
    population where known and rates per 1 000 inhabitants.

    ``qpv`` is the generation ``result`` was linked with; ``ids`` the initiative of each
    site (:func:`geo.initiatives.initiative_ids`). Columns keep internal names
    (``emplois:implanted``…); :func:`french_impact` names them for a reader.
    """
    qpv = qpv.reset_index(drop=True)
    in_area = result.qpv_in_area if result.qpv_in_area is not None else np.ones(len(qpv),
                                                                                 bool)
    long = result.long
    site_values = measures.values.reset_index(drop=True)
    initiative_values = site_values.groupby(ids.to_numpy(), sort=False).sum(min_count=1)
    pop = population.values if population else pd.Series(dtype=float)
    pop_by_qpv = pd.Series(pop.reindex(qpv["code_qp"]).to_numpy(), index=qpv.index)
    names = dict(zip(qpv["code_qp"], qpv["nom_qp"], strict=True))
    communes = dict(zip(qpv["code_qp"], qpv["communes"].str.replace(";", ", "), strict=True))
    rows = []
    for level, groups in _groups(qpv, in_area).items():
        pairs = _pairs(long, groups)
        keys = pd.Index(pd.concat([p["key"] for p in pairs.values()]).unique())
        if not len(keys):
            continue
        table = pd.DataFrame(index=keys)
        table.insert(0, "niveau", level)
        table["code"] = keys if level != "etude" else ""
        if level == "quartier":
            table["nom"] = [names.get(k, "") for k in keys]
            table["communes"] = [communes.get(k, "") for k in keys]
        elif level == "etude":
            table["nom"], table["communes"] = "Ensemble de l'étude", ""
        else:
            known = territory_names(qpv, level)
            table["nom"] = [known.get(k, "") for k in keys]
            table["communes"] = ""
        by_key = groups.assign(pop=pop_by_qpv.reindex(groups["_qpv"]).to_numpy()) \
            .groupby("key")["pop"]
        # a territory's population is known only when each of its quartiers' is
        people = by_key.sum().where(by_key.count() == by_key.size())
        table["population"] = people.reindex(keys).to_numpy()
        for relation, _ in RELATIONS:
            table[f"n:{relation}"] = pairs[relation].groupby("key").size().reindex(
                keys, fill_value=0).to_numpy()
        present = pd.concat([
            pairs[_IMPLANTED].assign(id_initiative=ids.to_numpy()[
                pairs[_IMPLANTED]["_site"].to_numpy()])[["key", "id_initiative"]],
            pairs[_SERVED]]).drop_duplicates()
        table["n:initiatives"] = present.groupby("key").size().reindex(
            keys, fill_value=0).to_numpy()
        for column in measures.columns:
            for relation, unit in RELATIONS:
                values = site_values[column] if unit == "_site" else initiative_values[column]
                part = pairs[relation]
                summed = pd.Series(values.reindex(part[unit]).to_numpy(),
                                   index=part["key"].to_numpy())
                table[f"{column}:{relation}"] = summed.groupby(level=0).sum(
                    min_count=1).reindex(keys).to_numpy()
        per_thousand = 1000 / table["population"].where(table["population"] > 0)
        table["taux:initiatives"] = (table["n:initiatives"] * per_thousand).round(2)
        for column in measures.columns:
            table[f"taux:{column}"] = (table[f"{column}:{_IMPLANTED}"] * per_thousand).round(2)
        if level != "etude":
            table = table.sort_values(["n:initiatives", "code"], ascending=[False, True],
                                      kind="stable")
        rows.append(table)
    if not rows:
        return pd.DataFrame(columns=["niveau", "code", "nom", "communes", "population"])
    out = pd.concat(rows, ignore_index=True)
    out["source_population"] = np.where(out["population"].notna(),
                                        population.source if population else "", "")
    return out


#: Headers of the impact table's fixed columns.
IMPACT_HEADERS = {
    "niveau": "Niveau", "code": "Code", "nom": "Nom", "communes": "Commune(s)",
    "population": "Population (habitants)", "source_population": "Source de la population",
    f"n:{_IMPLANTED}": "Sites implantés", f"n:{_NEARBY}": "Sites à proximité",
    f"n:{_SERVED}": "Initiatives y intervenant",
    "n:initiatives": "Initiatives implantées ou y intervenant",
    "taux:initiatives": "Initiatives implantées ou y intervenant pour 1 000 habitants",
}
_SUFFIX = {_IMPLANTED: "sites implantés", _NEARBY: "sites à proximité",
           _SERVED: "initiatives y intervenant"}
LEVELS = {"quartier": "quartier", "commune": "commune", "departement": "département",
          "etude": "ensemble"}


def french_impact(table: pd.DataFrame) -> pd.DataFrame:
    """The impact table as a reader sees it (French headers and levels)."""
    def header(column: str) -> str:
        if column in IMPACT_HEADERS:
            return IMPACT_HEADERS[column]
        name, _, what = column.rpartition(":")
        if name == "taux":
            return f"{what} (sites implantés) pour 1 000 habitants"
        if what in _SUFFIX:
            return f"{name} – {_SUFFIX[what]}"
        return column

    out = table.copy()
    out["niveau"] = out["niveau"].map(LEVELS).fillna(out["niveau"])
    order = [c for c in out.columns if c != "source_population"]
    order.insert(order.index("population") + 1, "source_population")
    return out[order].rename(columns=header)


# --------------------------------------------------------------------------- years


def years_table(result: LinkResult, qpv: gpd.GeoDataFrame, measures: Measures,
                ids: pd.Series) -> pd.DataFrame:
    """How the initiatives spread: per year, the sites and initiatives open (opened that
    year or before, not closed before it), those new that year, the quartiers reached and
    the indicators of the open sites; then the same per quartier (sites implanted, nearby,
    initiatives serving, indicators of the sites implanted). Sites without a year are left
    out (counted in the study's rows under « année inconnue »)."""
    start = measures.start
    if start is None or not np.isfinite(start).any():
        return pd.DataFrame()
    end = measures.end if measures.end is not None else np.full(len(start), np.nan)
    known = np.isfinite(start)
    last = np.nanmax(np.r_[start[known], end[np.isfinite(end)]])
    years = np.arange(int(np.nanmin(start)), int(last) + 1)
    open_ = (start[:, None] <= years[None, :]) & ~(end[:, None] < years[None, :])
    new = start[:, None] == years[None, :]
    site_ids = ids.to_numpy()
    first_year = pd.Series(start).groupby(site_ids).min()
    long = result.long
    values = measures.values.reset_index(drop=True)
    rows = []
    relation = result.sites["relation"].to_numpy()
    implanted = long[long["relation"] == _IMPLANTED]
    for k, year in enumerate(years):
        is_open = open_[:, k]
        row = {"niveau": "etude", "code": "", "nom": "Ensemble de l'étude", "annee": year,
               "n:open": int(is_open.sum()), "n:new": int(new[:, k].sum()),
               "n:initiatives_open": int(pd.unique(site_ids[is_open]).size),
               "n:initiatives_new": int((first_year == year).sum()),
               f"n:{_IMPLANTED}": int((is_open & (relation == _IMPLANTED)).sum()),
               f"n:{_NEARBY}": int((is_open & (relation == _NEARBY)).sum()),
               "n:quartiers": int(implanted.loc[is_open[implanted["_site"].to_numpy()],
                                                "_qpv"].nunique())}
        for column in measures.columns:
            row[f"{column}:open"] = values[column][is_open].sum(min_count=1)
        rows.append(row)
    out = pd.DataFrame(rows)
    in_area = result.qpv_in_area if result.qpv_in_area is not None else np.ones(len(qpv),
                                                                                 bool)
    qpv = qpv.reset_index(drop=True)
    pairs = _pairs(long, pd.DataFrame({"_qpv": np.flatnonzero(in_area),
                                       "key": qpv["code_qp"].to_numpy()[in_area]}))
    names = dict(zip(qpv["code_qp"], qpv["nom_qp"], strict=True))
    site_of_initiative = pd.Series(np.arange(len(site_ids)), index=site_ids)
    parts = []
    for code in sorted(pd.concat([p["key"] for p in pairs.values()]).unique()):
        counts = {}
        for rel, unit in RELATIONS:
            part = pairs[rel][pairs[rel]["key"] == code]
            if unit == "_site":
                sites = part["_site"].to_numpy()
                counts[f"n:{rel}"] = open_[sites].sum(axis=0)
                if rel == _IMPLANTED:
                    for column in measures.columns:
                        v = values[column].to_numpy()[sites]
                        m = open_[sites] & np.isfinite(v)[:, None]
                        sums = np.where(m, v[:, None], 0).sum(axis=0)
                        counts[f"{column}:{_IMPLANTED}"] = np.where(m.any(axis=0), sums, np.nan)
            else:  # an initiative serves while one of its sites is open
                served = [open_[site_of_initiative.loc[[i]].to_numpy()].any(axis=0)
                          for i in part["id_initiative"]]
                counts[f"n:{_SERVED}"] = np.sum(served, axis=0) if served else np.zeros(
                    len(years), int)
        frame = pd.DataFrame({"niveau": "quartier", "code": code, "nom": names.get(code, ""),
                              "annee": years, **counts})
        reached = (frame[[f"n:{r}" for r, _ in RELATIONS]].sum(axis=1) > 0).to_numpy()
        if reached.any():
            parts.append(frame.iloc[int(np.argmax(reached)):])
    unknown = int((~known).sum())
    if unknown:
        out = pd.concat([out, pd.DataFrame([{"niveau": "etude", "code": "",
                                             "nom": "Ensemble de l'étude",
                                             "annee": "année inconnue", "n:open": unknown}])],
                        ignore_index=True)
    return pd.concat([out, *parts], ignore_index=True)


YEAR_HEADERS = {
    "niveau": "Niveau", "code": "Code", "nom": "Nom", "annee": "Année",
    "n:open": "Sites ouverts", "n:new": "Sites ouverts dans l'année",
    "n:initiatives_open": "Initiatives présentes",
    "n:initiatives_new": "Initiatives arrivées dans l'année",
    f"n:{_IMPLANTED}": "Sites implantés en QPV", f"n:{_NEARBY}": "Sites à proximité d'un QPV",
    "n:quartiers": "Quartiers avec un site implanté",
    f"n:{_SERVED}": "Initiatives y intervenant",
}


def french_years(table: pd.DataFrame) -> pd.DataFrame:
    """The per-year table as a reader sees it."""
    def header(column: str) -> str:
        if column in YEAR_HEADERS:
            return YEAR_HEADERS[column]
        name, _, what = column.rpartition(":")
        return f"{name} – " + {"open": "sites ouverts", _IMPLANTED: "sites implantés"}.get(
            what, what)

    out = table.copy()
    if "niveau" in out:
        out["niveau"] = out["niveau"].map(LEVELS).fillna(out["niveau"])
    return out.rename(columns=header)
