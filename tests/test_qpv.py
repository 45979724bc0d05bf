"""Loading, normalising, repairing and filtering the real QPV boundaries."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely
from matplotlib.path import Path as RingPath

from geo import qpv
from geo._errors import InputError
from tests.servers import QP2015_OCC, QP2024_GZ, TEST_DATA, qp2015_occitanie


@pytest.fixture(scope="module")
def raw2024() -> gpd.GeoDataFrame:
    return gpd.read_file(f"/vsigzip/{QP2024_GZ}")


def test_bundled_default_is_the_national_2024_file():
    frame = qpv.load_qpv()
    assert len(frame) == 1584
    assert list(frame.columns) == qpv.COLUMNS
    assert frame.crs.to_epsg() == 4326
    assert frame["code_qp"].is_unique
    assert set(frame["generation"]) == {"2024"}
    assert frame.geometry.is_valid.all()
    assert set(frame.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    info = qpv.qpv_info(frame)
    assert info["count"] == 1584 and info["repaired"] == 586 and info["all_valid"]


@pytest.mark.parametrize(("dep", "count"), [("93", 75), ("33", 25), ("69", 48), ("75", 21),
                                            ("974", 57), ("2A", 3), ("02A", 3)])
def test_filter_by_departement(dep, count):
    assert len(qpv.load_qpv(departement=dep)) == count


def test_filter_matches_departement_extracts():
    extract = gpd.read_file(TEST_DATA / "qp2024_dep93_4dp.geojson")
    assert sorted(qpv.load_qpv(departement="93")["code_qp"]) == sorted(extract["code_qp"])


def test_filter_by_commune_accepts_arrondissements():
    paris = qpv.load_qpv(commune="75056")
    assert len(paris) == 21
    assert len(qpv.load_qpv(commune="75118")) == 21  # an arrondissement means Paris
    # A QPV straddling two communes is found from either.
    assert "QN03301I" in set(qpv.load_qpv(commune="33162")["code_qp"])
    assert "QN03301I" in set(qpv.load_qpv(commune="33069")["code_qp"])


def test_filter_by_bbox():
    frame = qpv.load_qpv(bbox=(2.35, 48.88, 2.36, 48.89))
    assert "QN07511M" in set(frame["code_qp"])
    assert len(frame) < 5


def test_multi_commune_fields_are_semicolon_joined():
    row = qpv.load_qpv(departement="33").set_index("code_qp").loc["QN03301I"]
    assert row["insee_com"] == "33069;33162"
    assert row["communes"] == "Le Bouscat;Eysines"
    assert row["insee_dep"] == "33"


def test_2015_occitanie_lower_case_layout():
    frame = qpv.load_qpv("bundled-2015-occitanie")
    # the exact outlines: one invalid (the copy rounded to 4 decimals had 32)
    assert len(frame) == 105 and frame.attrs["invalid"] == 1
    assert frame.geometry.is_valid.all()
    row = frame.set_index("code_qp").loc["QP066007"]
    assert (row["nom_qp"], row["insee_com"], row["communes"], row["insee_dep"],
            row["generation"]) == ("Bas-Vernet Nouveau QPV", "66136", "Perpignan", "66", "2015")


def test_2015_official_upper_case_shapefile_layout(tmp_path):
    """The official 2015 shapefile: CODE_QP, NOM_QP, COMMUNE_QP in a zipped layer."""
    occ = gpd.read_file(f"/vsigzip/{QP2015_OCC}")
    official = gpd.GeoDataFrame(
        {"CODE_QP": occ["code_qp"], "NOM_QP": occ["nom_qp"], "COMMUNE_QP": occ["commune_qp"]},
        geometry=occ.geometry, crs=occ.crs)
    folder = tmp_path / "shp"
    folder.mkdir()
    layer = "QP_METROPOLEOUTREMER_WGS84_EPSG4326"
    official.to_file(folder / f"{layer}.shp")
    archive = tmp_path / "qp-politiquedelaville-shp.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f"qp-politiquedelaville-shp/{f.name}")
    frame = qpv.load_qpv(str(archive))
    assert len(frame) == 105
    assert set(frame["generation"]) == {"2015"}
    row = frame.set_index("code_qp").loc["QP030016"]
    assert (row["nom_qp"], row["communes"], row["insee_dep"], row["insee_com"]) == (
        "Centre Ville - Arboux", "La Grand-Combe", "30", "")


def test_2024_official_layout_from_geopackage_in_lambert93(tmp_path, raw2024):
    """Same data written as GeoPackage in Lambert-93: reprojected back to EPSG:4326."""
    path = tmp_path / "qpv.gpkg"
    raw2024[raw2024["insee_dep"] == "69"].to_crs(2154).to_file(path, layer="qpv")
    frame = qpv.load_qpv(str(path))
    assert len(frame) == 48 and frame.crs.to_epsg() == 4326
    assert frame.total_bounds[0] == pytest.approx(4.6962, abs=1e-3)


def test_repair_keeps_points_inside_invalid_polygons(raw2024):
    """A point inside the original ring (even-odd rule, no GEOS) stays inside once repaired."""
    repaired = qpv.load_qpv().set_index("code_qp")
    invalid = raw2024[~raw2024.is_valid]
    assert len(invalid) == 586
    rng = np.random.default_rng(0)
    checked = 0
    for code, geom in zip(invalid["code_qp"][:60], invalid.geometry[:60], strict=True):
        polygon = geom if geom.geom_type == "Polygon" else max(geom.geoms, key=lambda p: p.area)
        ring = RingPath(np.asarray(polygon.exterior.coords))
        x0, y0, x1, y1 = polygon.bounds
        pts = np.column_stack([rng.uniform(x0, x1, 400), rng.uniform(y0, y1, 400)])
        inside = ring.contains_points(pts)
        # keep points well clear of the ring, where the even-odd rule is unambiguous
        far = shapely.distance(shapely.points(pts), polygon.exterior) > 2e-4
        holes = shapely.contains_xy(shapely.Polygon(polygon.exterior), pts[:, 0], pts[:, 1])
        sel = inside & far & holes
        for holed in polygon.interiors:
            sel &= ~RingPath(np.asarray(holed.coords)).contains_points(pts)
        if sel.any():
            target = repaired.loc[code, "geometry"]
            assert shapely.contains_xy(target, pts[sel, 0], pts[sel, 1]).all(), code
            checked += 1
    assert checked > 40


def test_known_points_fall_in_known_quartiers():
    frame = qpv.load_qpv()
    hits = frame[frame.contains(shapely.Point(2.3540, 48.8870))]
    assert list(hits["code_qp"]) == ["QN07511M"]  # Goutte d'Or, an invalid ring upstream
    hits = frame[frame.contains(shapely.Point(2.3587, 48.9362))]
    assert list(hits["code_qp"]) == ["QN09338M"]


def test_missing_file_names_it():
    with pytest.raises(InputError, match="introuvable"):
        qpv.load_qpv("/nulle/part/qpv.geojson")


def test_file_without_code_column_is_refused(tmp_path):
    path = tmp_path / "autre.geojson"
    gpd.GeoDataFrame({"nom": ["x"]}, geometry=[shapely.box(0, 45, 1, 46)], crs=4326).to_file(path)
    with pytest.raises(InputError, match="code QPV"):
        qpv.load_qpv(str(path))


def test_key_figures_join_the_2015_boundaries():
    figures = qpv.load_key_figures()
    frame = qpv.load_qpv("bundled-2015-occitanie")
    assert set(frame["code_qp"]) == set(figures.index)
    assert figures["pop_mun"].sum() == 358011


def test_repaired_quartiers_are_kept_ready_in_the_cache(tmp_path, isolated_cache):
    import os

    source = tmp_path / "qpv2015.geojson"
    source.write_bytes(qp2015_occitanie())
    reads = []

    def read():
        reads.append(1)
        return qpv.read_boundaries(source)

    attrs = {"source": "essai", "label": "essai", "credit": "", "origin": "", "date": None}
    first = qpv._prepared(source, read, "2015", attrs)
    ready = list(isolated_cache.rglob("*.parquet"))
    assert len(ready) == 1 and first.attrs["invalid"] > 0  # the file's invalid rings
    again = qpv._prepared(source, read, "2015", attrs)
    assert len(reads) == 1  # the second load read the cache, not the file
    assert again.attrs == first.attrs and list(again.columns) == list(first.columns)
    assert again.geometry.equals(first.geometry) and again.drop(columns="geometry").equals(
        first.drop(columns="geometry"))
    assert again.geometry.is_valid.all()
    # a damaged cache is made again; a changed file gets its own entry
    ready[0].write_bytes(b"not parquet")
    assert qpv._prepared(source, read, "2015", attrs).geometry.equals(first.geometry)
    assert len(reads) == 2
    os.utime(source, ns=(1, 1))
    qpv._prepared(source, read, "2015", attrs)
    assert len(reads) == 3 and len(list(isolated_cache.rglob("*.parquet"))) == 2
