"""French territories, their metric projections, and which territory a place belongs to.

Distances in metres are only right in a projected CRS made for the place: Lambert-93 for
metropolitan France and Corsica, the official local UTM projection for each overseas territory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Territory:
    """A territory with its official metric CRS and a lon/lat box around it (EPSG:4326)."""

    key: str
    name: str
    crs: str
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


#: Territories where QPV exist (or may be geocoded), with their official projected CRS.
TERRITORIES: dict[str, Territory] = {
    t.key: t
    for t in (
        Territory("metropole", "France métropolitaine", "EPSG:2154", (-5.8, 41.2, 10.0, 51.3)),
        Territory("971", "Guadeloupe", "EPSG:5490", (-61.9, 15.8, -60.9, 16.6)),
        Territory("972", "Martinique", "EPSG:5490", (-61.3, 14.3, -60.7, 14.95)),
        Territory("973", "Guyane", "EPSG:2972", (-54.7, 2.0, -51.5, 6.0)),
        Territory("974", "La Réunion", "EPSG:2975", (55.1, -21.5, 55.9, -20.8)),
        Territory("975", "Saint-Pierre-et-Miquelon", "EPSG:4467", (-56.5, 46.7, -56.1, 47.2)),
        Territory("976", "Mayotte", "EPSG:4471", (44.9, -13.1, 45.4, -12.5)),
        Territory("977", "Saint-Barthélemy", "EPSG:5490", (-63.0, 17.8, -62.7, 18.0)),
        Territory("978", "Saint-Martin", "EPSG:5490", (-63.2, 18.0, -62.9, 18.2)),
        Territory("986", "Wallis-et-Futuna", "EPSG:32701", (-178.3, -14.4, -176.0, -13.1)),
        Territory("987", "Polynésie française", "EPSG:3297", (-155.0, -28.0, -134.0, -7.0)),
        Territory("988", "Nouvelle-Calédonie", "EPSG:3163", (163.5, -22.9, 168.2, -19.5)),
    )
}


def normalise_departement(code: str) -> str:
    """The official form of a département code: ``"01"``, ``"2A"``, ``"974"``.

    >>> normalise_departement("1"), normalise_departement("033"), normalise_departement("02a")
    ('01', '33', '2A')
    """
    code = str(code).strip().upper()
    if len(code) == 3 and code.startswith("0"):
        code = code[1:]
    return code.zfill(2) if code.isdigit() and len(code) < 2 else code


def territory_of_departement(dep: str) -> str:
    """Return the territory key of a département code (``"33"``, ``"2A"``, ``"974"``)."""
    dep = str(dep).strip().upper().lstrip("0")
    if dep in TERRITORIES:
        return dep
    return "metropole"


def metric_crs(territory: str) -> str:
    """Return the official projected CRS (metres) of a territory key or département code.

    >>> metric_crs("33"), metric_crs("974")
    ('EPSG:2154', 'EPSG:2975')
    """
    return TERRITORIES[territory_of_departement(territory)].crs


def territory_of_points(lon: np.ndarray, lat: np.ndarray) -> pd.Series:
    """Return the territory key of each lon/lat point (EPSG:4326), or ``None`` outside France.

    Boxes do not overlap, so each point falls in at most one.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = np.full(len(lon), None, dtype=object)
    for key, t in TERRITORIES.items():
        x0, y0, x1, y1 = t.bbox
        inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        out[inside] = key
    return pd.Series(out)


def departement_of_qpv_code(code: str) -> str:
    """Return the département of a QPV code, 2015 (``QP066007``) or 2024 (``QN03301I``) alike.

    >>> departement_of_qpv_code("QN03301I"), departement_of_qpv_code("QP971001")
    ('33', '971')
    """
    return normalise_departement(str(code)[2:5])


def commune_of_insee(code: str) -> str:
    """Map a Paris / Lyon / Marseille arrondissement code to its commune code; others unchanged.

    >>> commune_of_insee("75118"), commune_of_insee("69381"), commune_of_insee("13201")
    ('75056', '69123', '13055')
    """
    code = str(code).strip()
    if "75101" <= code <= "75120":
        return "75056"
    if "69381" <= code <= "69389":
        return "69123"
    if "13201" <= code <= "13216":
        return "13055"
    return code


#: Names of the départements (Code officiel géographique), for tables and legends.
DEPARTEMENTS: dict[str, str] = {
    "01": "Ain", "02": "Aisne", "03": "Allier", "04": "Alpes-de-Haute-Provence",
    "05": "Hautes-Alpes",
    "06": "Alpes-Maritimes", "07": "Ardèche", "08": "Ardennes", "09": "Ariège", "10": "Aube",
    "11": "Aude", "12": "Aveyron", "13": "Bouches-du-Rhône", "14": "Calvados", "15": "Cantal",
    "16": "Charente", "17": "Charente-Maritime", "18": "Cher", "19": "Corrèze",
    "2A": "Corse-du-Sud", "2B": "Haute-Corse", "21": "Côte-d'Or", "22": "Côtes-d'Armor",
    "23": "Creuse", "24": "Dordogne", "25": "Doubs", "26": "Drôme", "27": "Eure",
    "28": "Eure-et-Loir", "29": "Finistère", "30": "Gard", "31": "Haute-Garonne", "32": "Gers",
    "33": "Gironde", "34": "Hérault", "35": "Ille-et-Vilaine", "36": "Indre",
    "37": "Indre-et-Loire", "38": "Isère", "39": "Jura", "40": "Landes", "41": "Loir-et-Cher",
    "42": "Loire", "43": "Haute-Loire", "44": "Loire-Atlantique", "45": "Loiret", "46": "Lot",
    "47": "Lot-et-Garonne", "48": "Lozère", "49": "Maine-et-Loire", "50": "Manche", "51": "Marne",
    "52": "Haute-Marne", "53": "Mayenne", "54": "Meurthe-et-Moselle", "55": "Meuse",
    "56": "Morbihan", "57": "Moselle", "58": "Nièvre", "59": "Nord", "60": "Oise", "61": "Orne",
    "62": "Pas-de-Calais", "63": "Puy-de-Dôme", "64": "Pyrénées-Atlantiques",
    "65": "Hautes-Pyrénées", "66": "Pyrénées-Orientales", "67": "Bas-Rhin", "68": "Haut-Rhin",
    "69": "Rhône", "70": "Haute-Saône", "71": "Saône-et-Loire", "72": "Sarthe", "73": "Savoie",
    "74": "Haute-Savoie", "75": "Paris", "76": "Seine-Maritime", "77": "Seine-et-Marne",
    "78": "Yvelines", "79": "Deux-Sèvres", "80": "Somme", "81": "Tarn", "82": "Tarn-et-Garonne",
    "83": "Var", "84": "Vaucluse", "85": "Vendée", "86": "Vienne", "87": "Haute-Vienne",
    "88": "Vosges", "89": "Yonne", "90": "Territoire de Belfort", "91": "Essonne",
    "92": "Hauts-de-Seine", "93": "Seine-Saint-Denis", "94": "Val-de-Marne", "95": "Val-d'Oise",
    "971": "Guadeloupe", "972": "Martinique", "973": "Guyane", "974": "La Réunion",
    "975": "Saint-Pierre-et-Miquelon", "976": "Mayotte", "977": "Saint-Barthélemy",
    "978": "Saint-Martin", "986": "Wallis-et-Futuna", "987": "Polynésie française",
    "988": "Nouvelle-Calédonie",
}
