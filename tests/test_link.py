"""Linking on the real boundaries: exact at the boundary, in metres, for every territory."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geo import link as linking
from geo._errors import InputError
from geo.initiatives import read_initiatives
from geo.qpv import load_qpv


@pytest.fixture(scope="module")
def qpv() -> gpd.GeoDataFrame:
    return load_qpv()


def sites_file(tmp_path, rows: list[dict], name="sites.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, sep=";", index=False)
    return read_initiatives(path)


def test_matches_a_naive_check_on_random_points(qpv):
    """Implanted, nearby and nearest distance agree with a plain per-polygon computation."""
    sub = qpv[qpv["insee_dep"].isin(["93", "75", "92"])].reset_index(drop=True)
    rng = np.random.default_rng(42)
    x0, y0, x1, y1 = sub.total_bounds
    lon, lat = rng.uniform(x0, x1, 1500), rng.uniform(y0, y1, 1500)
    links = linking.link_points(shapely.points(lon, lat), sub, distance=300)
    polys = sub.to_crs(2154).geometry.values
    px, py = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
    for i in range(0, 1500, 7):
        d = np.array([shapely.Point(px[i], py[i]).distance(p) for p in polys])
        inside = set(np.flatnonzero(d == 0))
        assert set(links.implanted.loc[links.implanted["site"] == i, "qpv"]) == inside
        near = links.nearby[links.nearby["site"] == i]
        assert set(near["qpv"]) == set(np.flatnonzero((d > 0) & (d <= 300)))
        assert links.nearest_distance[i] == pytest.approx(d.min(), abs=1e-6)
        assert d[links.nearest_qpv[i]] == pytest.approx(d.min(), abs=1e-6)


@pytest.mark.parametrize("exact_up_to", [0, linking._EXACT_UP_TO], ids=["index", "direct"])
def test_far_points_nearest_is_exact(qpv, monkeypatch, exact_up_to):
    """Beyond the band the vertex search (many points) and the direct one (few points) are
    checked against an exhaustive one."""
    monkeypatch.setattr(linking, "_EXACT_UP_TO", exact_up_to)
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(-4.5, 7.5, 400), rng.uniform(42.5, 51, 400)
    links = linking.link_points(shapely.points(lon, lat), qpv, distance=300)
    metro = qpv[qpv["insee_dep"].str.len() < 3].to_crs(2154)
    px, py = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
    exact = shapely.STRtree(metro.geometry.values).query_nearest(
        shapely.points(px, py), return_distance=True, all_matches=False)[1]
    assert links.nearest_distance == pytest.approx(exact, abs=linking._TOLERANCE)


def test_inside_a_repaired_invalid_polygon(tmp_path, qpv):
    result = linking.link(sites_file(tmp_path, [
        {"nom": "Goutte d'Or", "latitude": 48.8870, "longitude": 2.3540}]), qpv)
    row = result.sites.iloc[0]
    assert (row["code_qp"], row["relation"], row["distance_m"]) == ("QN07511M", "implanted", 0)


def test_point_on_a_shared_boundary_is_in_both(tmp_path, qpv):
    a = qpv.set_index("code_qp").geometry["QN01332M"]
    b = qpv.set_index("code_qp").geometry["QN01350M"]
    shared = shapely.get_coordinates(a.intersection(b))[0]
    result = linking.link(sites_file(tmp_path, [
        {"nom": "limite", "latitude": shared[1], "longitude": shared[0]}]), qpv)
    row = result.sites.iloc[0]
    assert set(row["code_qp"].split(";")) == {"QN01332M", "QN01350M"}
    assert row["relation"] == "implanted"
    per_qpv = result.per_qpv.set_index("code_qp")
    assert per_qpv.loc[["QN01332M", "QN01350M"], "n_implanted"].tolist() == [1, 1]


def test_qpv_over_two_communes_counts_in_both(tmp_path, qpv):
    point = qpv.set_index("code_qp").geometry["QN03301I"].representative_point()
    result = linking.link(sites_file(tmp_path, [
        {"nom": "Bouscat", "latitude": point.y, "longitude": point.x}]), qpv)
    assert result.sites["code_qp"][0] == "QN03301I"
    communes = result.per_territory.query("niveau == 'commune'").set_index("code")
    assert communes.loc["33069", "n_implanted"] == 1 and communes.loc["33162", "n_implanted"] == 1
    deps = result.per_territory.query("niveau == 'departement'").set_index("code")
    assert deps.loc["33", ["nom", "n_qpv", "n_implanted"]].tolist() == ["Gironde", 25, 1]


@pytest.mark.parametrize(("city_code", "code_qp"), [("75118", "QN07511M"), ("69383", None),
                                                   ("13203", None)])
def test_arrondissement_codes_do_not_matter(tmp_path, qpv, city_code, code_qp):
    """Sites carry arrondissement codes, QPV the city code: the join is spatial."""
    commune = {"75118": "75056", "69383": "69123", "13203": "13055"}[city_code]
    target = qpv[qpv["insee_com"].str.contains(commune)].iloc[0]
    code_qp = code_qp or target["code_qp"]
    point = qpv.set_index("code_qp").geometry[code_qp].representative_point()
    result = linking.link(sites_file(tmp_path, [
        {"nom": "x", "citycode": city_code, "latitude": point.y, "longitude": point.x}]),
        load_qpv(commune=city_code))
    assert result.sites["code_qp"][0] == code_qp
    assert result.sites["citycode"][0] == city_code


def test_overseas_distance_in_local_metres(tmp_path, qpv):
    """250 m east of a Réunion QPV: nearby at 300 m, not at 200 m (EPSG:2975 metres)."""
    reunion = qpv[qpv["insee_dep"] == "974"].to_crs(2975)
    geom = reunion.set_index("code_qp").geometry["QN97403M"]
    vertex = shapely.get_coordinates(geom)[shapely.get_coordinates(geom)[:, 0].argmax()]
    lon, lat = Transformer.from_crs(2975, 4326, always_xy=True).transform(vertex[0] + 250,
                                                                         vertex[1])
    initiatives = sites_file(tmp_path, [{"nom": "Réunion", "latitude": lat, "longitude": lon}])
    near = linking.link(initiatives, qpv, distance=300).sites.iloc[0]
    assert (near["relation"], near["qpv_nearby"], near["distance_m"]) == (
        "nearby", "QN97403M", 250)
    far = linking.link(initiatives, qpv, distance=200).sites.iloc[0]
    assert (far["relation"], far["qpv_nearby"], far["distance_m"]) == ("none", "", 250)
    assert far["nearest_code_qp"] == "QN97403M"


def test_multi_site_initiative_gets_the_union(tmp_path, qpv):
    by_code = qpv.set_index("code_qp").geometry
    bordeaux = by_code["QN03301I"].representative_point()
    paris = by_code["QN07511M"].representative_point()
    rows = [
        {"id": "CONC", "nom": "Conciergerie", "theme": "conciergerie solidaire",
         "latitude": bordeaux.y, "longitude": bordeaux.x, "qpv_servis": ""},
        {"id": "CONC", "nom": "Conciergerie", "theme": "conciergerie solidaire",
         "latitude": paris.y, "longitude": paris.x, "qpv_servis": "QN09338M"},
        {"id": "CONC", "nom": "Conciergerie", "theme": "conciergerie solidaire",
         "latitude": 43.6045, "longitude": 1.4442, "qpv_servis": ""},  # Toulouse centre
        {"id": "SOLO", "nom": "Seule", "theme": "recyclerie", "latitude": "",
         "longitude": "", "qpv_servis": ""},
    ]
    result = linking.link(sites_file(tmp_path, rows), qpv)
    assert len(result.sites) == 4  # every input row is kept
    per = result.initiatives.set_index("id_initiative")
    assert per.loc["CONC", "n_sites"] == 3
    assert per.loc["CONC", "relation"] == "implanted"
    assert set(per.loc["CONC", "qpv_implanted"].split(";")) == {"QN03301I", "QN07511M"}
    assert per.loc["CONC", "qpv_served"] == "QN09338M"
    assert per.loc["SOLO", "relation"] == "not_located"
    by_qpv = result.per_qpv.set_index("code_qp")
    assert by_qpv.loc["QN07511M", "n_implanted:Conciergerie solidaire"] == 1
    assert by_qpv.loc["QN09338M", "n_served"] == 1
    # the quartiers of the sites' départements, those without initiatives too, and the one
    # served across a border (issue 31)
    studied = set(qpv.loc[qpv["insee_dep"].isin(["31", "33", "75"]), "code_qp"])
    assert set(result.per_qpv["code_qp"]) == studied | {"QN09338M"}
    assert result.per_qpv["n_initiatives"].sum() == 3


def test_served_by_code_name_and_radius(tmp_path, qpv):
    goutte = qpv.set_index("code_qp").geometry["QN07511M"].representative_point()
    rows = [{"nom": "a", "latitude": goutte.y, "longitude": goutte.x, "rayon_m": "1500",
             "qpv_servis": "qn09338m; Quartier Champ de Course ; Inconnu du bataillon"},
            {"nom": "b", "latitude": goutte.y, "longitude": goutte.x, "rayon_m": "",
             "qpv_servis": "Centre Ville"},
            {"nom": "c", "latitude": goutte.y, "longitude": goutte.x, "rayon_m": "",
             "qpv_servis": "Centre ville (Marignane); QN99999Z"}]
    result = linking.link(sites_file(tmp_path, rows), qpv)
    served = set(result.sites["qpv_served"][0].split(";"))
    assert {"QN09338M", "QN03301I"} <= served  # declared by code and by name
    within = result.long.query("ligne == 2 and origine == 'rayon'")
    assert len(within) > 1 and (within["distance_m"] <= 1500).all()
    assert "QN07511M" in set(within["code_qp"])
    messages = [(i.row, i.column, i.message) for i in result.issues]
    assert any(r == 2 and "Inconnu du bataillon" in m for r, c, m in messages)
    assert any(r == 3 and "ambigu" in m for r, c, m in messages)
    assert any(r == 4 and "QN99999Z" in m for r, c, m in messages)
    assert result.sites["qpv_served"][2] == "QN01329I"  # the name with its commune


def test_compare_generations_on_real_occitanie(tmp_path, qpv):
    q2015 = load_qpv("bundled-2015-occitanie")
    rows = []
    # Inside a 2015 quartier and a 2024 one overlapping it; inside 2015 only; 2024 only.
    for code in q2015["code_qp"]:
        p = q2015.set_index("code_qp").geometry[code].representative_point()
        rows.append({"nom": code, "latitude": p.y, "longitude": p.x})
    occitanie = qpv[qpv["insee_dep"].isin(set(q2015["insee_dep"]))]
    for p in occitanie.geometry.representative_point():
        rows.append({"nom": "2024", "latitude": p.y, "longitude": p.x})
    rows.append({"nom": "Paris", "latitude": 48.8870, "longitude": 2.3540})
    rows.append({"nom": "nulle part", "latitude": "", "longitude": ""})
    initiatives = sites_file(tmp_path, rows)
    result = linking.compare(initiatives.sites, qpv, q2015)
    counts = result["evolution"].value_counts()
    assert {"unchanged", "left", "entered", "not_covered", "not_located"} <= set(counts.index)
    assert result["evolution"].iloc[-2] == "not_covered"
    sites = initiatives.sites
    now = linking.link_points(sites.geometry, qpv, distance=0).implanted
    before = linking.link_points(sites.geometry, q2015, distance=0).implanted
    for i, status in enumerate(result["evolution"]):
        in_now, in_before = i in set(now["site"]), i in set(before["site"])
        if status == "entered":
            assert in_now and not in_before
        elif status == "left":
            assert in_before and not in_now
        elif status == "changed_qpv":
            assert in_now and in_before
    # the engine owns the comparison: the same columns, from its own match of the points
    linked = linking.link(initiatives, qpv, distance=300, previous=q2015).sites
    for column in result.columns:
        assert list(linked[column]) == list(result[column]), column
    assert list(linked.columns).index("evolution") < list(linked.columns).index(
        "note_localisation")


def test_negative_distance_is_refused(tmp_path, qpv):
    with pytest.raises(InputError, match="distance"):
        linking.link(sites_file(tmp_path, [{"nom": "a", "latitude": 1, "longitude": 1}]), qpv,
                     distance=-1)


def test_compare_tells_a_changed_quartier_from_the_same_one():
    current = gpd.GeoDataFrame({"code_qp": ["QN03101M", "QN03102N"], "insee_dep": ["31", "31"]},
                               geometry=[shapely.box(1.40, 43.60, 1.42, 43.62),
                                         shapely.box(1.50, 43.60, 1.52, 43.62)], crs=4326)
    previous = gpd.GeoDataFrame({"code_qp": ["QP031001", "QP031002"], "insee_dep": ["31", "31"]},
                                geometry=[shapely.box(1.401, 43.601, 1.421, 43.621),
                                          shapely.box(1.515, 43.615, 1.60, 43.70)], crs=4326)
    sites = gpd.GeoDataFrame(geometry=[shapely.Point(1.41, 43.61), shapely.Point(1.518, 43.618)],
                             crs=4326)
    result = linking.compare(sites, current, previous)
    assert list(result["evolution"]) == ["unchanged", "changed_qpv"]
    assert list(result["code_qp_compare"]) == ["QP031001", "QP031002"]


def test_large_inputs_split_in_threads_give_the_same_answers(qpv):
    """Past 20 000 sites the spatial queries run on two halves in threads."""
    rng = np.random.default_rng(3)
    sub = qpv[qpv["insee_dep"].isin(["93", "75"])].reset_index(drop=True)
    x0, y0, x1, y1 = sub.total_bounds
    points = shapely.points(rng.uniform(x0, x1, 30_000), rng.uniform(y0, y1, 30_000))
    whole = linking.link_points(points, sub)
    parts = [linking.link_points(points[:15_000], sub), linking.link_points(points[15_000:], sub)]
    for name in ("implanted", "nearby"):
        joined = pd.concat([getattr(parts[0], name), getattr(parts[1], name).assign(
            site=lambda f: f["site"] + 15_000)], ignore_index=True)
        pd.testing.assert_frame_equal(
            getattr(whole, name).sort_values(["site", "qpv"]).reset_index(drop=True),
            joined.sort_values(["site", "qpv"]).reset_index(drop=True))
    assert len(whole.implanted) > 1000
    np.testing.assert_allclose(whole.nearest_distance, np.r_[parts[0].nearest_distance,
                                                             parts[1].nearest_distance])


def test_a_local_study_reports_its_own_quartiers_a_national_one_all(tmp_path, qpv):
    """A Niort study listed the 1 584 quartiers of France (issue 31): with no territory
    given, the tables hold the quartiers of the départements that hold the sites (and any
    quartier a site serves across a border); sites in more than NATIONAL départements make
    a national study."""
    niort = qpv[qpv["insee_dep"] == "79"]
    served = qpv[qpv["insee_dep"] == "86"]["code_qp"].iloc[0]  # Vienne, next door
    points = [p.representative_point() for p in niort.geometry.iloc[:2]]
    table = pd.DataFrame({"nom": ["A", "B"], "latitude": [p.y for p in points],
                          "longitude": [p.x for p in points], "qpv_servis": [served, ""]})
    path = tmp_path / "niort.csv"
    table.to_csv(path, sep=";", index=False)
    result = linking.link(read_initiatives(path), qpv)
    assert set(result.per_qpv["code_qp"]) == set(niort["code_qp"]) | {served}
    assert result.reported == "département des sites : 79"
    assert result.parameters["quartiers_rapportes"] == "département des sites : 79"
    # a national directory
    deps = qpv.drop_duplicates("insee_dep").head(linking.NATIONAL + 1)
    points = [p.representative_point() for p in deps.geometry]
    table = pd.DataFrame({"nom": [f"S{i}" for i in range(len(points))],
                          "latitude": [p.y for p in points],
                          "longitude": [p.x for p in points]})
    table.to_csv(path, sep=";", index=False)
    result = linking.link(read_initiatives(path), qpv)
    assert len(result.per_qpv) == len(qpv)
    assert result.reported == f"France entière (sites dans {linking.NATIONAL + 1} départements)"
