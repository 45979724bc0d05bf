"""Coordinates checked against their own address (issue 31, items 1 and 2): a directory whose
rows carry coordinates that somebody else computed — another département, a homonym
overseas, a swap, a lost sign, an earlier geocoder's doubtful answers — sends exactly those
rows to the review with their cause; they are not counted in any quartier until a person
corrects or accepts them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.placecheck import contradictions
from geo.qpv import load_qpv
from geo.study import Geocoding, Study, run_study
from tests.servers import TEST_DATA

#: A real Base Adresse Locale (Mont-Bonvillers, 54084): every point in its own commune.
BAL = TEST_DATA / "adresses-54084.csv"


def real_directory() -> pd.DataFrame:
    """The real addresses as a directory of sites: name, address, postcode, commune,
    INSEE code and the coordinates the commune published."""
    bal = pd.read_csv(BAL, sep=";", dtype=str, keep_default_na=False)
    return pd.DataFrame({
        "id": [f"S{i:03d}" for i in range(len(bal))],
        "nom": [f"Site {i}" for i in range(len(bal))],
        "adresse": (bal["numero"] + " " + bal["voie_nom"]).str.strip(),
        "code_postal": "54910", "commune": bal["commune_nom"],
        "code_insee": bal["commune_insee"], "latitude": bal["lat"], "longitude": bal["long"]})


def isere_quartier_point() -> tuple[float, float]:
    """A point inside a real quartier of Isère (38)."""
    qpv = load_qpv()
    inside = qpv[qpv["insee_dep"] == "38"].geometry.iloc[0].representative_point()
    return inside.x, inside.y


def test_real_addresses_are_never_contradicted():
    table = real_directory()
    found = contradictions(table["longitude"].astype(float).to_numpy(),
                           table["latitude"].astype(float).to_numpy(),
                           postcode=table["code_postal"], citycode=table["code_insee"],
                           city=table["commune"])
    assert found == {}


def test_a_directory_with_moved_coordinates_sends_exactly_those_to_the_review(tmp_path):
    table = real_directory().head(60).copy()
    x, y = isere_quartier_point()
    moved = {
        # another département: coordinates of Lille for an address in Meurthe-et-Moselle
        3: ("50.6292", "3.0573", "département 59"),
        # a homonym overseas: Saint-Denis 93200, coordinates of Saint-Denis de La Réunion
        10: ("-20.8823", "55.4504", "département 974"),
        # latitude and longitude swapped
        20: (table.at[20, "longitude"], table.at[20, "latitude"], "inversées"),
        # the red team's case: Vénissieux (69200) placed in a quartier of Isère
        30: (f"{y:.6f}", f"{x:.6f}", "département 38"),
        # a lost minus sign: Bordeaux at +0.58 falls in Dordogne
        40: ("44.8400", "0.5800", "signe moins perdu sur la longitude"),
    }
    table.loc[10, ["code_postal", "commune", "code_insee"]] = ["93200", "Saint-Denis", ""]
    table.loc[30, ["code_postal", "commune", "code_insee"]] = ["69200", "Vénissieux", ""]
    table.loc[40, ["code_postal", "commune", "code_insee"]] = ["33000", "Bordeaux", "33063"]
    for row, (lat, lon, _) in moved.items():
        table.loc[row, ["latitude", "longitude"]] = [lat, lon]
    source = tmp_path / "annuaire.csv"
    table.to_csv(source, sep=";", index=False)
    run = run_study(Study(initiatives=source, outputs={"relecture": tmp_path / "revue.csv"}))
    review = run.review.set_index("cle")
    contradicted = {table.at[row, "id"]: cause for row, (_, _, cause) in moved.items()
                    if cause != "inversées"}
    # a swap that leaves France is said as such before the address is compared
    assert set(review.index) == set(contradicted) | {table.at[20, "id"]}
    for key, cause in contradicted.items():
        assert cause in review.loc[key, "motif"], review.loc[key, "motif"]
        assert review.loc[key, "statut"] == "a_verifier"
        assert review.loc[key, "latitude_proposee"] != ""  # its own point, to accept
    assert "inversées" in review.loc[table.at[20, "id"], "motif"]
    sites = run.result.sites.set_index("id")
    for key in review.index:
        assert sites.loc[key, "relation"] == "not_located"
    # no contradicted site counts in a quartier, the Isère one included
    assert not run.result.long["id_initiative"].isin(review.index).any()
    written = pd.read_csv(tmp_path / "revue.csv", sep=";", dtype=str, keep_default_na=False)
    assert set(written["cle"]) == set(review.index)


def test_accepted_or_corrected_at_the_review_the_site_counts(tmp_path):
    x, y = isere_quartier_point()
    table = pd.DataFrame({"id": ["V1", "V2"], "nom": ["Régie", "Atelier"],
                          "adresse": ["5 avenue Jean Jaurès", "2 rue de la Paix"],
                          "code_postal": ["69200", "69200"],
                          "commune": ["Vénissieux", "Vénissieux"],
                          "latitude": [f"{y:.6f}"] * 2, "longitude": [f"{x:.6f}"] * 2})
    source = tmp_path / "sites.csv"
    table.to_csv(source, sep=";", index=False)
    first = run_study(Study(initiatives=source))
    assert set(first.review["cle"]) == {"V1", "V2"}
    decisions = first.review.copy()
    decisions.loc[decisions["cle"] == "V1", "accepter"] = "oui"  # « yes, it is there »
    decisions.loc[decisions["cle"] == "V2", ["latitude", "longitude"]] = ["45.7000", "4.8800"]
    decisions.to_csv(tmp_path / "corrections.csv", sep=";", index=False)
    again = run_study(Study(initiatives=source,
                            geocoding=Geocoding(corrections=tmp_path / "corrections.csv")))
    assert again.review.empty
    sites = again.result.sites.set_index("id")
    assert sites.loc["V1", "relation"] == "implanted"  # accepted: its own point counts
    assert sites.loc["V2", "relation"] != "not_located"  # corrected: placed in Vénissieux


@pytest.mark.parametrize("hostile", ["{{ 7*7 }}", "<script>", "=1+1", "../"])
def test_hostile_addresses_are_compared_never_run(hostile):
    found = contradictions(np.array([3.0573]), np.array([50.6292]),
                           postcode=pd.Series([hostile]), citycode=pd.Series([hostile]),
                           city=pd.Series([hostile]))
    assert found == {}  # nothing checkable: never a claim
    found = contradictions(np.array([3.0573]), np.array([50.6292]),
                           postcode=pd.Series(["69200"]), city=pd.Series([hostile]))
    assert list(found.values())[0].count(hostile) == 1  # said as typed, once


def test_an_earlier_geocoders_doubts_reach_the_review(tmp_path):
    """A directory geocoded earlier with the national service's CSV answer (result_score,
    result_type, result_citycode): its low scores, municipality-only answers for a street
    address and answers in another commune go to the review, like the tool's own."""
    table = real_directory().head(40).copy()
    table["result_label"] = table["adresse"] + " 54910 Mont-Bonvillers"
    table["result_score"] = "0.93"
    table["result_type"] = "housenumber"
    table["result_citycode"] = table["code_insee"]
    doubtful = {
        2: ("0.31", "housenumber", "54084", "score 0,31 inférieur à 0,6"),
        7: ("0.88", "municipality", "54084", "numéro non trouvé"),
        12: ("0.91", "housenumber", "57463", "commune différente (57463 au lieu de 54084)"),
    }
    for row, (score, kind, city, _) in doubtful.items():
        table.loc[row, ["result_score", "result_type", "result_citycode"]] = [score, kind,
                                                                            city]
    source = tmp_path / "geocode_avant.csv"
    table.to_csv(source, sep=";", index=False)
    run = run_study(Study(initiatives=source))
    review = run.review.set_index("cle")
    assert set(review.index) == {table.at[row, "id"] for row in doubtful}
    for row, (*_, cause) in doubtful.items():
        motif = review.loc[table.at[row, "id"], "motif"]
        assert "géocodage antérieur douteux" in motif and cause in motif, motif
    assert (run.result.sites.set_index("id").loc[list(review.index), "relation"]
            == "not_located").all()
    # a study that asks for less certainty keeps the low score
    run = run_study(Study(initiatives=source, geocoding=Geocoding(min_score=0.3)))
    assert table.at[2, "id"] not in set(run.review["cle"])


# --------------------------------------------------------------------------- rounded outlines


def _inside_by(code: str, metres: float, qpv) -> tuple[float, float]:
    """A point ``metres`` inside the boundary of quartier ``code`` (EPSG:4326)."""
    from geo.geometry import to_metric

    row = qpv[qpv["code_qp"] == code]
    metric = to_metric(row.geometry, "EPSG:2154")[0]
    inner = metric.buffer(-metres)
    ring = inner.exterior if inner.geom_type == "Polygon" else max(
        inner.geoms, key=lambda g: g.area).exterior
    point = ring.interpolate(0.37, normalized=True)
    import geopandas as gpd

    back = gpd.GeoSeries([point], crs=2154).to_crs(4326).iloc[0]
    return back.x, back.y


def test_a_site_closer_to_a_rounded_boundary_than_its_rounding_is_uncertain(tmp_path):
    """The bundled 2024 outlines are rounded to 4 decimals (~11 m): a site 3 m inside a
    boundary is « limite incertaine », one 150 m inside is not; with exact outlines (the
    bundled 2015 of Occitanie) no site is."""
    from geo.qpv import load_qpv

    qpv = load_qpv("bundled-2024")
    assert 11 < qpv.attrs["precision_m"] < 11.2
    rows = []
    for name, metres in (("Trois mètres", 3.0), ("Cent cinquante mètres", 150.0)):
        x, y = _inside_by("QN09328M", metres, qpv)  # Franc Moisin, Saint-Denis
        rows.append({"nom": name, "latitude": f"{y:.7f}", "longitude": f"{x:.7f}"})
    source = tmp_path / "sites.csv"
    pd.DataFrame(rows).to_csv(source, sep=";", index=False)
    run = run_study(Study(initiatives=source, outputs={"rapport": tmp_path / "r.xlsx"}))
    sites = run.result.sites.set_index("nom")
    assert sites.loc["Trois mètres", "relation"] == "implanted"
    assert sites.loc["Trois mètres", "boundary_uncertain"] == "oui"
    assert sites.loc["Cent cinquante mètres", "boundary_uncertain"] == ""
    assert run.result.summary()["uncertain"] == 1
    review = run.review.set_index("nom")
    assert list(review.index) == ["Trois mètres"]
    assert review.loc["Trois mètres", "statut"] == "limite_incertaine"
    assert "qpv download --generation 2024" in review.loc["Trois mètres", "motif"]
    sources = pd.read_excel(tmp_path / "r.xlsx", sheet_name="Sources", dtype=str,
                            keep_default_na=False)
    said = [" ".join(row) for row in sources.to_numpy().tolist()]
    assert any("limite incertaine" in line and line.rstrip().endswith("1") for line in said), \
        said
    # the exact 2015 outlines of Occitanie: nothing is uncertain
    exact = load_qpv("bundled-2015-occitanie")
    assert exact.attrs["precision_m"] == 0.0
    code = exact["code_qp"].iloc[0]
    x, y = _inside_by(code, 3.0, exact)
    pd.DataFrame([{"nom": "Exact", "latitude": f"{y:.7f}", "longitude": f"{x:.7f}"}]).to_csv(
        source, sep=";", index=False)
    run = run_study(Study(initiatives=source, qpv_source="bundled-2015-occitanie"))
    assert run.result.sites["relation"].tolist() == ["implanted"]
    assert "boundary_uncertain" not in run.result.sites and run.review.empty


def test_red_team_cases_of_the_second_round():
    """Saint-Martin and Saint-Barthélemy keep Guadeloupe's postcodes and have no commune in
    the 2018 table; a point in the right département but deep in another commune (which
    holds a quartier) contradicts its address."""
    cases = [  # lon, lat, postcode, commune, INSEE code, contradicted?
        (-63.03146, 18.06835, "97150", "Saint-Martin", "97801", False),
        (-63.09592, 18.05995, "97150", "Saint-Martin", "", False),
        (-63.09592, 18.05995, "", "Saint-Martin", "", False),
        (-62.8498, 17.8962, "97133", "Saint-Barthélemy", "97701", False),
        (-0.5792, 44.8378, "33120", "Arcachon", "", True),  # in Bordeaux
        (4.8320, 45.7597, "69480", "Anse", "", True),  # in Lyon
        (2.3590, 48.9362, "75011", "Paris", "75111", True),  # in Saint-Denis
        (2.3522, 48.8566, "75004", "Paris", "75104", False),
        (-0.5792, 44.8378, "33000", "Bordeaux", "33063", False),
    ]
    lon = np.array([c[0] for c in cases])
    lat = np.array([c[1] for c in cases])
    found = contradictions(lon, lat, postcode=pd.Series([c[2] for c in cases]),
                           city=pd.Series([c[3] for c in cases]),
                           citycode=pd.Series([c[4] for c in cases]))
    assert set(found) == {i for i, c in enumerate(cases) if c[5]}, found
    assert "commune Bordeaux" in found[4] and "commune Lyon" in found[5]


def test_an_earlier_geocoders_french_decimals_and_cedex_codes(tmp_path):
    """Saved by French Excel, « 0,93 » is a good score; a CEDEX postcode says nothing of
    the place."""
    table = real_directory().head(6).copy()
    table["result_score"] = "0,93"
    table["result_type"] = "housenumber"
    table["result_citycode"] = table["code_insee"]
    table["result_postcode"] = "54910"
    table.loc[3, "code_postal"] = "54919"  # a CEDEX-like code of the same département
    source = tmp_path / "geocode_avant.csv"
    table.to_csv(source, sep=";", index=False)
    run = run_study(Study(initiatives=source))
    assert run.review.empty, run.review[["cle", "motif"]]
