"""Reading the user's table: formats, encodings, coordinates, row-level problems."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geo._errors import InputError
from geo.initiatives import read_initiatives
from geo.vocabulary import Columns

# points in their own communes (Ambérieu-en-Bugey, La Salle-les-Alpes): coordinates that
# contradict their commune are not used (geo.placecheck)
ROWS = ("id;nom;code_commune;latitude;longitude\n"
        "01;Épicerie;01004;45,96;5,36\n02;Café;05161;44.94;6.57\n")


@pytest.mark.parametrize(("sep", "encoding"), [(";", "utf-8"), (",", "utf-8-sig"),
                                               ("\t", "cp1252"), (";", "utf-8-sig")])
def test_csv_separators_and_encodings(tmp_path, sep, encoding):
    text = ROWS.replace("45,96", "45.96").replace("5,36", "5.36").replace(";", sep)
    path = tmp_path / "sites.csv"
    path.write_bytes(text.encode(encoding))
    sites = read_initiatives(path).sites
    assert list(sites.columns) == ["id", "nom", "code_commune", "latitude", "longitude",
                                   "geometry"]
    assert sites["nom"][0] == "Épicerie"
    assert list(sites["code_commune"]) == ["01004", "05161"]  # leading zeros kept
    assert list(sites["id"]) == ["01", "02"]
    assert sites.geometry[0].equals(shapely.Point(5.36, 45.96))


def test_decimal_commas(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(ROWS, encoding="utf-8")
    result = read_initiatives(path)
    assert result.sites.geometry[0].equals(shapely.Point(5.36, 45.96))
    assert result.issues == []


def test_xlsx_keeps_text_codes(tmp_path):
    path = tmp_path / "sites.xlsx"
    pd.DataFrame({"identifiant": ["007"], "lat": ["48.887"], "lon": ["2.354"],
                  "commune": ["75118"]}).to_excel(path, index=False)
    result = read_initiatives(path)
    assert result.id_column == "identifiant"
    assert result.sites["identifiant"][0] == "007"
    assert result.sites.geometry[0].equals(shapely.Point(2.354, 48.887))


def test_geojson_and_gpkg_in_another_crs(tmp_path):
    frame = gpd.GeoDataFrame({"nom": ["a", "b"]}, geometry=[shapely.Point(2.354, 48.887),
                             shapely.box(2.35, 48.88, 2.36, 48.89)], crs=4326)
    frame.to_file(tmp_path / "s.geojson")
    frame.to_crs(2154).to_file(tmp_path / "s.gpkg")
    for name in ("s.geojson", "s.gpkg"):
        result = read_initiatives(tmp_path / name)
        assert result.sites.crs.to_epsg() == 4326
        assert result.sites.geometry[0].distance(shapely.Point(2.354, 48.887)) < 1e-7
        assert result.sites.geometry[1].within(shapely.box(2.35, 48.88, 2.36, 48.89))
        assert [i.row for i in result.issues] == [2]  # polygon → interior point, reported


def test_lambert93_columns_with_crs(tmp_path):
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(2.354, 48.887)
    path = tmp_path / "l93.csv"
    path.write_text(f"nom;x;y\nGoutte d'Or;{x:.1f};{y:.1f}\n", encoding="utf-8")
    point = read_initiatives(path, columns=Columns(crs="2154")).sites.geometry[0]
    assert (point.x, point.y) == pytest.approx((2.354, 48.887), abs=1e-5)
    # metres without a stated CRS are recognised as Lambert-93, and the report says so
    found = read_initiatives(path)
    assert found.sites.geometry[0].equals_exact(point, 1e-9)
    assert any("Lambert-93" in line for line in found.detection)
    path.write_text("nom;x;y\nLoin;5000000;200\n", encoding="utf-8")
    with pytest.raises(InputError, match="pas en degrés"):
        read_initiatives(path)


def test_row_problems_are_reported_and_rows_kept(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(
        "id;nom;latitude;longitude\n"
        "1;Ok;48.887;2.354\n"
        "2;Inversé;2.354;48.887\n"
        "3;Vide;;\n"
        "4;Texte;quarante;2.3\n"
        "5;Berlin;52.52;13.40\n"
        "1;Ok;48.887;2.354\n", encoding="utf-8")
    result = read_initiatives(path)
    assert len(result.sites) == 6
    assert list(result.sites.geometry.notna()) == [True, False, False, False, False, True]
    messages = {i.row: (i.column, i.message) for i in result.issues}
    assert "inversées" in messages[3][1] and messages[3][0] == "longitude/latitude"
    assert "manquantes" in messages[4][1]
    assert messages[5] == ("latitude", "coordonnée « quarante » n'est pas un nombre : "
                                       "site non localisé")
    assert "hors de France" in messages[6][1]
    assert "ligne 2" in messages[7][1] and "doublon" in messages[7][1]


def test_named_columns_must_exist(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(ROWS, encoding="utf-8")
    with pytest.raises(InputError, match=r"« lng ».*colonnes présentes"):
        read_initiatives(path, columns=Columns(lon="lng"))


@pytest.mark.parametrize(("name", "content", "message"), [
    ("vide.csv", b"", "vide"),
    ("mal.csv", b'a;b\n1;"2\n', "mal formée"),
    ("texte.pdf", b"%PDF", "format d'entrée inconnu"),
    ("faux.xlsx", b"PK\x03\x04pas un classeur", "archive zip abîmée"),
])
def test_unreadable_files_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as exc:
        read_initiatives(path)
    assert str(path) in str(exc.value)


def test_rerun_on_enriched_file_drops_own_columns(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("nom;latitude;longitude;code_qp;nom_qp;relation;distance_m;nearest_code_qp;"
                    "qpv_nearby;qpv_served\nA;48.887;2.354;X;Y;none;12;X;;\n", encoding="utf-8")
    assert list(read_initiatives(path).sites.columns) == ["nom", "latitude", "longitude",
                                                          "geometry"]


def test_site_identifiers_must_be_unique_but_initiatives_may_repeat(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("id_initiative;id_site;nom;latitude;longitude\n"
                    "A;A-1;Conciergerie;48.887;2.354\n"
                    "A;A-2;Conciergerie;44.84;-0.57\n"
                    "B;A-2;Autre;45.76;4.85\n", encoding="utf-8")
    issues = read_initiatives(path).issues
    assert [(i.row, i.column) for i in issues] == [(4, "id_site")]
    assert "« A-2 » en double (déjà ligne 3)" in issues[0].message


def test_real_bal_file_semicolons_crlf_long_lat():
    """A real Base Adresse Locale export: ``;``, CRLF, ``long``/``lat`` next to ``x``/``y``."""
    from tests.servers import TEST_DATA

    result = read_initiatives(TEST_DATA / "adresses-54084.csv")
    sites = result.sites
    assert len(sites) == 486 and sites.geometry.notna().all()
    assert result.coordinate_columns == ("long", "lat")
    x0, y0, x1, y1 = sites.total_bounds
    assert (x0, y0, x1, y1) == pytest.approx((5.8273, 49.3214, 5.8423, 49.3315), abs=1e-3)
    assert sites["commune_insee"].eq("54084").all()
