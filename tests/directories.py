"""Builds the two real-data directories of ``tests/data/`` that issue 31 asks the tool to be
trusted on (run ``python -m tests.directories`` to write them again; the tests read the
written files, so that they do not drift with the bundled data):

- ``annuaire_national.csv``: sites all over France, overseas included, at their real
  coordinates (Base Adresse Locale, the national address service's answers and
  documentation examples, points inside real quartiers), some of whose coordinates were then
  moved: to another département, to a homonym commune overseas, latitude and longitude
  swapped, the minus sign of a longitude lost;
- ``annuaire_geocode_avant.csv``: a directory placed earlier by the national address
  service (its ``result_*`` columns), with low scores, an answer coarser than the address
  and homonym communes;
- ``annuaire_national_grand.csv``: a national directory of 3 747 sites shaped like the
  national directory of the SIAE (issue 32): sites inside real quartiers, a few hundred
  metres outside them and in ordinary towns, overseas included, with the SIAE's kinds as
  their type (two kinds for some), so that the national print aggregates them.

Where every row comes from is said in ``tests/data/README.md``.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.outlines import commune_of_points
from geo.qpv import load_qpv
from tests.servers import TEST_DATA

NATIONAL = TEST_DATA / "annuaire_national.csv"
GEOCODED = TEST_DATA / "annuaire_geocode_avant.csv"
LARGE = TEST_DATA / "annuaire_national_grand.csv"
COLUMNS = ["id", "nom", "adresse", "code_postal", "commune", "code_insee", "latitude",
           "longitude"]
#: Communes with a quartier of their own (one commune per quartier), by INSEE code.
QUARTIER_COMMUNES = {
    "59350": "Lille", "13055": "Marseille", "31555": "Toulouse", "33063": "Bordeaux",
    "35238": "Rennes", "44109": "Nantes", "38185": "Grenoble", "29019": "Brest",
    "67482": "Strasbourg", "34172": "Montpellier", "93066": "Saint-Denis",
    "97411": "Saint-Denis", "97209": "Fort-de-France", "97302": "Cayenne",
    "57463": "Metz", "80021": "Amiens", "87085": "Limoges", "79191": "Niort",
}


def quartier_sites() -> pd.DataFrame:
    """One site per commune of :data:`QUARTIER_COMMUNES`: the representative point of its
    first quartier that lies in that commune alone (QPV 2024, bundled), named after it."""
    qpv = load_qpv(progress=False)
    rows = []
    for code, name in QUARTIER_COMMUNES.items():
        own = qpv[qpv["insee_com"].astype(str) == code]
        for _, quartier in own.iterrows():
            point = quartier.geometry.representative_point()
            if commune_of_points(np.array([point.x]), np.array([point.y]))[0] == code:
                rows.append({"id": f"Q-{code}", "nom": f"Maison de quartier {quartier.nom_qp}",
                             "adresse": "", "code_postal": "", "commune": name,
                             "code_insee": code, "latitude": f"{point.y:.6f}",
                             "longitude": f"{point.x:.6f}", "qpv": quartier.code_qp})
                break
    return pd.DataFrame(rows)


def address_sites() -> pd.DataFrame:
    """Sites at real addresses with their published coordinates."""
    rows = []
    search = pd.read_csv(TEST_DATA / "ban_api_examples_official" / "search.csv", dtype=str)
    reverse = pd.read_csv(TEST_DATA / "ban_api_examples_official" / "reverse.csv", dtype=str)
    for i, (s, r) in enumerate(zip(search.itertuples(), reverse.itertuples(), strict=True)):
        assert s.nom == r.name
        rows.append({"id": f"E{i + 1}", "nom": s.nom, "adresse": s.adresse,
                     "code_postal": s.postcode, "commune": s.city, "code_insee": "",
                     "latitude": r.lat, "longitude": r.lon})
    bal = pd.read_csv(TEST_DATA / "adresses-54084.csv", sep=";", dtype=str,
                      keep_default_na=False)
    for i, b in enumerate(bal.iloc[::60].itertuples()):
        rows.append({"id": f"B{i + 1}", "nom": f"Association {b.voie_nom} {b.numero}",
                     "adresse": f"{b.numero} {b.voie_nom}", "code_postal": "54910",
                     "commune": b.commune_nom, "code_insee": b.commune_insee,
                     "latitude": b.lat, "longitude": b.long})
    for kind in ("housenumber", "street", "locality"):
        answer = json.loads((TEST_DATA / "ban_api_responses" / f"search_{kind}.json")
                            .read_text(encoding="utf-8"))["features"][0]
        p, (lon, lat) = answer["properties"], answer["geometry"]["coordinates"]
        rows.append({"id": f"A-{kind}", "nom": f"Structure {p['name']}",
                     "adresse": p["name"], "code_postal": p["postcode"], "commune": p["city"],
                     "code_insee": p["citycode"], "latitude": f"{lat:.6f}",
                     "longitude": f"{lon:.6f}"})
    noumea = [json.loads(line) for line in (TEST_DATA / "excerpt_noumea_98818.ndjson")
              .read_text(encoding="utf-8").splitlines()]
    streets = [r for r in noumea if r.get("type") == "street" and r.get("housenumbers")][:2]
    for i, street in enumerate(streets):
        number, place = next(iter(street["housenumbers"].items()))
        rows.append({"id": f"N{i + 1}", "nom": f"Association {street['name']}",
                     "adresse": f"{number} {street['name']}", "code_postal": "98800",
                     "commune": "Nouméa", "code_insee": "98818",
                     "latitude": f"{place['lat']:.6f}", "longitude": f"{place['lon']:.6f}"})
    return pd.DataFrame(rows)


def national() -> tuple[pd.DataFrame, dict[str, str]]:
    """The national directory and, for each row whose coordinates were moved, the words
    its review cause must hold."""
    table = pd.concat([address_sites(), quartier_sites()], ignore_index=True).set_index("id")
    point = table[["latitude", "longitude"]].copy()
    moved = {}

    def move(row: str, lat: str, lon: str, cause: str) -> None:
        table.loc[row, ["latitude", "longitude"]] = [lat, lon]
        moved[row] = cause

    # another row's coordinates, in another département
    move("E2", *point.loc["A-housenumber"], "département 78")
    move("Q-13055", *point.loc["Q-59350"], "département 59")
    move("B3", *point.loc["Q-57463"], "département 57")
    # a homonym overseas: Saint-Denis (93) placed in Saint-Denis de La Réunion
    move("Q-93066", *point.loc["Q-97411"], "département 974")
    # latitude and longitude swapped; a lost minus sign on a western longitude
    move("Q-31555", point.loc["Q-31555", "longitude"], point.loc["Q-31555", "latitude"],
         "inversées")
    move("Q-29019", point.loc["Q-29019", "latitude"],
         point.loc["Q-29019", "longitude"].lstrip("-"), "signe moins perdu")
    # overseas, a lost sign leaves France: said all the same
    move("Q-97411", point.loc["Q-97411", "latitude"].lstrip("-"),
         point.loc["Q-97411", "longitude"], "signe moins perdu sur la latitude")
    return table.reset_index()[COLUMNS], moved


def geocoded() -> tuple[pd.DataFrame, dict[str, str]]:
    """The directory geocoded earlier and, for each doubtful answer, the words its review
    cause must hold."""
    table = pd.concat([address_sites(), quartier_sites()], ignore_index=True)
    table = table[~table["id"].str.startswith("N")].set_index("id")  # the service has no 988
    table["result_label"] = (table["adresse"] + " " + table["code_postal"] + " "
                             + table["commune"]).str.strip()
    table["result_score"] = "0.93"
    table["result_type"] = np.where(table["adresse"].str.match(r"^\d"), "housenumber",
                                    np.where(table["adresse"] == "", "municipality", "street"))
    table.loc["A-locality", "result_type"] = "locality"
    table["result_citycode"] = table["code_insee"]
    # the schools' communes (Villers-lès-Nancy, Vandœuvre-lès-Nancy, Heillecourt,
    # Champigneulles), as the service names them
    table.loc[["E1", "E2", "E3", "E4"], "result_citycode"] = ["54578", "54547", "54257",
                                                              "54115"]
    # the service's own answers, as it gave them
    for kind in ("housenumber", "street", "locality"):
        answer = json.loads((TEST_DATA / "ban_api_responses" / f"search_{kind}.json")
                            .read_text(encoding="utf-8"))["features"][0]["properties"]
        table.loc[f"A-{kind}", ["result_label", "result_score", "result_citycode"]] = [
            answer["label"], f"{answer['score']:.4f}", answer["citycode"]]
    point = table[["latitude", "longitude"]].copy()
    doubts = {}

    def answer(row: str, cause: str, **values: str) -> None:
        for key, value in values.items():
            table.loc[row, key] = value
        doubts[row] = cause

    answer("B2", "score 0,31", result_score="0.31")
    answer("E3", "score 0,42", result_score="0.42")
    answer("E4", "numéro non trouvé", result_type="municipality",
           result_label="54250 Champigneulles")
    # homonyms: the service took one Saint-Denis for the other, and placed it there
    answer("Q-93066", "97411", result_citycode="97411", result_label="97400 Saint-Denis",
           latitude=point.loc["Q-97411", "latitude"],
           longitude=point.loc["Q-97411", "longitude"])
    answer("Q-97411", "93066", result_citycode="93066", result_label="93200 Saint-Denis",
           latitude=point.loc["Q-93066", "latitude"],
           longitude=point.loc["Q-93066", "longitude"])
    return table.reset_index().drop(columns="qpv"), doubts


#: The kinds of structure of the national SIAE directory (insertion par l'activité économique,
#: and the other kinds its directory lists) and roughly their shares of its sites.
SIAE_KINDS = {
    "Atelier et chantier d'insertion": 0.38, "Entreprise d'insertion": 0.21,
    "Association intermédiaire": 0.14, "Entreprise adaptée": 0.08,
    "Entreprise de travail temporaire d'insertion": 0.07,
    "Groupement d'employeurs pour l'insertion et la qualification": 0.04,
    "Entreprise d'insertion par le travail indépendant": 0.03,
    "Organisation porteuse de clauses sociales": 0.03,
    "Entreprise adaptée de travail temporaire": 0.02,
}
#: How many sites: inside a quartier, 50 to 600 m outside one, in a town (any commune).
LARGE_COUNTS = {"in": 1400, "near": 1050, "town": 1550}
#: Words of the made-up names (the only invented part of the rows, with the kinds drawn).
_NAME_WORDS = ("Tremplin", "Régie de quartier", "Jardins", "Ressourcerie", "Recyclerie",
               "Atelier", "Chantier", "Passerelle", "Réemploi", "Bâtiment", "Solidarité",
               "Emploi", "Cycles", "Repères", "Envol", "Cap", "Horizons", "Relais")


def _metric(frame: gpd.GeoDataFrame) -> str:
    """A metric CRS for ``frame`` (Lambert-93 in metropolitan France, else UTM)."""
    x, y = frame.geometry.iloc[0].representative_point().coords[0]
    return "EPSG:2154" if -6 < x < 10 and 41 < y < 52 else str(frame.estimate_utm_crs())


def _points_by_quartier(qpv: gpd.GeoDataFrame, counts: np.ndarray, rng, near: bool
                        ) -> gpd.GeoDataFrame:
    """``counts[i]`` points drawn uniformly inside quartier ``i`` (``near``: in the ring
    from 50 to 600 m around it), with the quartier's code."""
    out = []
    for _, part in qpv.assign(n=counts)[counts > 0].groupby(
            qpv["insee_dep"].str[:2].where(qpv["insee_dep"].str[:2] != "97",
                                           qpv["insee_dep"])[counts > 0]):
        crs = _metric(part)
        shapes = part.to_crs(crs).geometry.buffer(0)
        if near:
            shapes = shapes.buffer(600).difference(shapes.buffer(50))
        drawn = shapes.sample_points(part["n"].to_numpy(), rng=rng).to_crs(4326)
        out.append(gpd.GeoDataFrame({"code_qp": part["code_qp"].to_numpy()},
                                    geometry=drawn.to_numpy(), crs=4326).explode(
                                        index_parts=False))
    return pd.concat(out, ignore_index=True)


def _town_points(n: int, rng) -> gpd.GeoDataFrame:
    """``n`` points within 1 km of towns of 5 000 inhabitants or more (GeoNames), the
    towns drawn with a weight of their population to the power 0.6, with the town's name
    and its commune's INSEE code by name in the town's département (``""`` when it cannot
    be told)."""
    from geo.cities import cities
    from geo.communes import communes, name_key
    from geo.outlines import departement_of_points

    towns = cities(5000)
    weight = towns["population"].to_numpy(float) ** 0.6
    pick = rng.choice(len(towns), size=n, p=weight / weight.sum())
    angle, reach = rng.uniform(0, 2 * np.pi, n), 1000 * np.sqrt(rng.uniform(0, 1, n))
    lat0 = towns.geometry.y.to_numpy()[pick]
    lat = lat0 + reach * np.sin(angle) / 111_320
    lon = towns.geometry.x.to_numpy()[pick] + reach * np.cos(angle) / (
        111_320 * np.cos(np.radians(lat0)))
    dep = departement_of_points(lon, lat)
    table = communes().assign(key=lambda c: c["nom"].map(name_key))
    by_name = {}
    for code, key in zip(table["code"], table["key"], strict=True):
        by_name.setdefault((code[:3] if code.startswith("97") else code[:2], key),
                           []).append(code)
    codes = [next(iter(by_name.get((d, name_key(towns["nom"].iloc[k])), [])), "")
             if len(by_name.get((d, name_key(towns["nom"].iloc[k])), [])) == 1 else ""
             for d, k in zip(dep, pick, strict=True)]
    return gpd.GeoDataFrame({"code_insee": codes, "commune": towns["nom"].to_numpy()[pick]},
                            geometry=gpd.points_from_xy(lon, lat), crs=4326)


def national_large(seed: int = 32) -> pd.DataFrame:
    """The national directory of :data:`LARGE_COUNTS` sites (see ``tests/data/README.md``):
    ``id``, ``nom``, ``type`` (one or two SIAE kinds joined by ``|``), ``commune``,
    ``code_insee``, ``latitude``, ``longitude``."""
    from geo.outlines import communes

    rng = np.random.default_rng(seed)
    qpv = load_qpv(progress=False).reset_index(drop=True)
    parts = []
    for kind, near in (("in", False), ("near", True)):
        chosen = rng.choice(len(qpv), size=LARGE_COUNTS[kind])
        points = _points_by_quartier(qpv, np.bincount(chosen, minlength=len(qpv)), rng, near)
        points["code_insee"] = commune_of_points(points.geometry.x.to_numpy(),
                                                 points.geometry.y.to_numpy())
        parts.append(points.drop(columns="code_qp"))
    town = _town_points(LARGE_COUNTS["town"], rng)
    # a town's point in a commune with quartiers takes that commune (its outline is known)
    known = commune_of_points(town.geometry.x.to_numpy(), town.geometry.y.to_numpy())
    town["code_insee"] = np.where(known != "", known, town["code_insee"])
    sites = pd.concat([*parts, town], ignore_index=True)
    sites = sites[sites["code_insee"] != ""].reset_index(drop=True)
    # the outline's name (« La Courneuve »), else the town's (GeoNames: « Le Blanc »)
    names = communes().drop_duplicates("code").set_index("code")["nom"]
    sites["commune"] = sites["code_insee"].map(names).fillna(sites["commune"])
    kinds, share = list(SIAE_KINDS), np.array(list(SIAE_KINDS.values()))
    first = rng.choice(len(kinds), size=len(sites), p=share / share.sum())
    second = rng.choice(len(kinds), size=len(sites), p=share / share.sum())
    two = (rng.uniform(size=len(sites)) < 0.12) & (second != first)
    words = rng.choice(len(_NAME_WORDS), size=len(sites))
    commune = sites["commune"].to_numpy()
    return pd.DataFrame({
        "id": [f"S{i + 1:04d}" for i in range(len(sites))],
        "nom": [f"{_NAME_WORDS[w]} {c}" for w, c in zip(words, commune, strict=True)],
        "type": [kinds[a] + (f"|{kinds[b]}" if t else "")
                 for a, b, t in zip(first, second, two, strict=True)],
        "commune": commune, "code_insee": sites["code_insee"].to_numpy(),
        "latitude": [f"{v:.5f}" for v in sites.geometry.y],
        "longitude": [f"{v:.5f}" for v in sites.geometry.x]})


if __name__ == "__main__":
    frame, _ = national()
    frame.to_csv(NATIONAL, sep=";", index=False)
    frame, _ = geocoded()
    frame.to_csv(GEOCODED, sep=";", index=False)
    national_large().to_csv(LARGE, sep=";", index=False)
