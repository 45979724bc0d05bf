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
  and homonym communes.

Where every row comes from is said in ``tests/data/README.md``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from geo.outlines import commune_of_points
from geo.qpv import load_qpv
from tests.servers import TEST_DATA

NATIONAL = TEST_DATA / "annuaire_national.csv"
GEOCODED = TEST_DATA / "annuaire_geocode_avant.csv"
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


if __name__ == "__main__":
    frame, _ = national()
    frame.to_csv(NATIONAL, sep=";", index=False)
    frame, _ = geocoded()
    frame.to_csv(GEOCODED, sep=";", index=False)
