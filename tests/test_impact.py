"""What the initiatives bring: indicators read the French way, the Impact sheet checked
against an independent computation, years, population and rates."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geo import cli
from geo.indicators import parse_amounts, parse_years
from geo.qpv import load_qpv
from geo.study import Study, run_study
from geo.vocabulary import Columns

QPV = load_qpv("bundled-2024")


def _inside(code: str) -> tuple[float, float]:
    point = QPV.set_index("code_qp").geometry[code].representative_point()
    return point.x, point.y


def _near(code: str, metres: float) -> tuple[float, float]:
    """A point ``metres`` outside quartier ``code`` (measured in Lambert-93)."""
    shape = QPV.set_index("code_qp").geometry[[code]].to_crs(2154).make_valid().iloc[0]
    grown = shape.buffer(metres)
    ring = grown.exterior if grown.geom_type == "Polygon" else \
        max(grown.geoms, key=lambda g: g.area).exterior
    x, y = ring.coords[0]
    return Transformer.from_crs(2154, 4326, always_xy=True).transform(x, y)


def test_numbers_are_read_the_french_way():
    values, bad = parse_amounts(pd.Series(["1 234,5", "1\u202f200", "12", "3,5 €", "",
                                           "n.c.", "?", "1.234,5", "0.5", "12 k€", "10-15",
                                           "env. 5", "-3", "12 %"]))
    assert values[:5].tolist()[:4] == [1234.5, 1200.0, 12.0, 3.5]
    assert np.isnan(values[4]) and np.isnan(values[5]) and np.isnan(values[6])  # blank
    assert values[7] == 1234.5 and values[8] == 0.5
    assert bad.tolist() == [False] * 9 + [True] * 5
    years, bad = parse_years(pd.Series(["2015", "2016-03-01 00:00:00", "01/03/2017",
                                        "03/2018", "2019.0", "", "n.c.", "15", "3000",
                                        "hier"]))
    assert years[:5].tolist() == [2015, 2016, 2017, 2018, 2019]
    assert bad.tolist() == [False] * 7 + [True] * 3


def _table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).fillna("")


@pytest.fixture(scope="module")
def study_run(tmp_path_factory):
    """Sites placed by hand: two in Franc Moisin (QN09328M), one 150 m from it, an initiative
    with two sites serving two quartiers, blanks and French numbers."""
    folder = tmp_path_factory.mktemp("impact")
    franc = "QN09328M"
    other = "QN07511M"  # Goutte d'Or
    a, b = _inside(franc), _inside(other)
    n = _near(franc, 150)
    rows = [
        {"id": "A", "nom": "Régie A", "x": a[0], "y": a[1], "emplois": "1 234,5",
         "benevoles": "3", "annee": "2015", "qpv_servis": ""},
        {"id": "B", "nom": "Café B", "x": a[0] + 0.0001, "y": a[1], "emplois": "",
         "benevoles": "n.c.", "annee": "2018-05-01", "qpv_servis": ""},
        {"id": "C", "nom": "Garage C", "x": n[0], "y": n[1], "emplois": "2",
         "benevoles": "1", "annee": "2016", "qpv_servis": ""},
        {"id": "D", "nom": "Épicerie D", "x": b[0], "y": b[1], "emplois": "4",
         "benevoles": "10", "annee": "2017", "qpv_servis": f"{franc};{other}"},
        {"id": "D", "nom": "Épicerie D (2)", "x": b[0] + 0.0001, "y": b[1],
         "emplois": "1,5", "benevoles": "", "annee": "2020", "qpv_servis": franc},
    ]
    path = folder / "sites.csv"
    _table(rows).rename(columns={"x": "longitude", "y": "latitude",
                                 "id": "id_initiative"}).to_csv(path, sep=";", index=False)
    run = run_study(Study(initiatives=path, outputs={"rapport": folder / "rapport.xlsx"},
                          folder=folder))
    return run, rows, folder


def _independent(rows: list[dict], column: str) -> dict[str, dict[str, float]]:
    """The sums per quartier, from the rows and the QPV shapes directly (Lambert-93)."""
    sites = pd.DataFrame(rows)
    values, _ = parse_amounts(sites[column])
    points = gpd.GeoSeries(shapely.points(sites["x"], sites["y"]), crs=4326).to_crs(2154)
    shapes = QPV.geometry.to_crs(2154).make_valid()
    out: dict[str, dict[str, float]] = {}

    def add(code, relation, value):
        if not np.isnan(value):
            cell = out.setdefault(code, {})
            cell[relation] = cell.get(relation, 0.0) + value

    for k, point in enumerate(points):
        for q, shape in enumerate(shapes):
            code = QPV["code_qp"].iat[q]
            d = shape.distance(point)
            if d == 0:
                add(code, "implanted", values[k])
            elif d <= 300:
                add(code, "nearby", values[k])
    by_initiative = pd.Series(values).groupby(sites["id"].to_numpy()).sum(min_count=1)
    served = {(i, c) for i, codes in zip(sites["id"], sites["qpv_servis"], strict=True)
              for c in codes.split(";") if c}
    for initiative, code in served:
        add(code, "served", by_initiative[initiative])
    return out


def test_impact_sums_equal_an_independent_computation(study_run):
    run, rows, _ = study_run
    impact = run.impact.set_index(["niveau", "code"])
    for column in ("emplois", "benevoles"):
        expected = _independent(rows, column)
        assert expected  # the fixture places sites in and near quartiers
        for code, sums in expected.items():
            for relation in ("implanted", "nearby", "served"):
                got = impact.loc[("quartier", code), f"{column}:{relation}"]
                if relation in sums:
                    assert got == pytest.approx(sums[relation]), (column, code, relation)
                else:
                    assert np.isnan(got), (column, code, relation)  # blank, never 0
    franc = impact.loc[("quartier", "QN09328M")]
    assert franc["emplois:implanted"] == 1234.5  # B's blank is left out, not 0
    assert franc["emplois:served"] == 5.5  # D: 4 + 1,5, once although two sites serve it
    assert franc["n:served"] == 1 and franc["n:implanted"] == 2 and franc["n:nearby"] == 1
    whole = impact.loc[("etude", "")]
    assert whole["emplois:served"] == 5.5  # D serves two quartiers: once in the total
    assert whole["emplois:implanted"] == pytest.approx(1234.5 + 4 + 1.5)
    # the commune level counts each site once
    assert impact.loc[("commune", "93066"), "emplois:implanted"] == 1234.5


def test_the_report_has_the_impact_and_years_sheets_with_the_rule(study_run):
    _, _, folder = study_run
    book = openpyxl.load_workbook(folder / "rapport.xlsx")
    sheet = book["Impact"]
    header = [c.value for c in sheet[1]]
    assert "emplois – sites implantés" in header
    assert "emplois – initiatives y intervenant" in header
    notes = [r[0] for r in sheet.iter_rows(values_only=True)]
    assert "Notes" in notes
    assert any("une seule fois dans chaque total" in str(n) for n in notes)
    col = header.index("emplois – sites implantés") + 1
    values = [sheet.cell(r, col).value for r in range(2, sheet.max_row + 1)]
    assert 1234.5 in values  # a number, not text
    years = pd.read_excel(folder / "rapport.xlsx", sheet_name="Par année")
    whole = years[years["Niveau"] == "ensemble"].set_index("Année")
    assert whole.loc[2015, "Sites ouverts"] == 1 and whole.loc[2020, "Sites ouverts"] == 5
    assert whole.loc[2017, "Initiatives arrivées dans l'année"] == 1
    assert whole.loc[2020, "Initiatives arrivées dans l'année"] == 0  # D came in 2017
    assert whole.loc[2016, "emplois – sites ouverts"] == pytest.approx(1236.5)


def test_a_cell_that_is_no_number_is_refused_with_its_row(tmp_path, capsys):
    path = tmp_path / "sites.csv"
    path.write_text("nom;latitude;longitude;emplois\nA;48.9;2.35;3\nB;48.9;2.36;12 k€\n"
                    "C;48.9;2.37;4\nD;48.9;2.38;env. 5\nE;48.9;2.39;2\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert cli.main(["link", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "sites.csv" in err and "ligne 3" in err and "« emplois »" in err
    assert "12 k€" in err and "ligne 5" in err and "env. 5" in err  # the others too
    assert not out.exists()
    # a column named like an indicator that holds words is left as text, and said so
    path.write_text("nom;latitude;longitude;effectif\nA;48.9;2.35;10 à 19\n"
                    "B;48.9;2.36;moins de 5\n", encoding="utf-8")
    assert cli.main(["link", str(path), "-o", str(out)]) == 0
    assert "« effectif » non retenue comme indicateur" in capsys.readouterr().out


def test_a_declared_indicator_and_a_hostile_header(tmp_path, capsys):
    path = tmp_path / "sites.csv"
    x, y = _inside("QN09328M")
    path.write_text(f"nom;latitude;longitude;=1+1;heures\nA;{y};{x};3;10\n",
                    encoding="utf-8")
    report = tmp_path / "rapport.xlsx"
    folder = tmp_path
    run = run_study(Study(initiatives=path, outputs={"rapport": report}, folder=folder,
                          columns=Columns(indicators=["=1+1", "heures"])))
    assert run.impact.set_index("niveau").loc["etude", "heures:implanted"] == 10
    sheet = openpyxl.load_workbook(report)["Impact"]
    cells = [c for c in sheet[1] if str(c.value).startswith("=1+1")]
    assert cells and all(c.data_type == "s" for c in cells)  # text, never a formula
    assert cli.main(["link", str(path), "-o", str(tmp_path / "o.csv"), "--indicateur",
                     "absente"]) == 2
    assert "« absente »" in capsys.readouterr().err


def test_population_and_rates_for_occitanie_2015_and_a_user_table(tmp_path):
    q2015 = load_qpv("bundled-2015-occitanie").set_index("code_qp")
    code = "QP031009" if "QP031009" in q2015.index else q2015.index[0]
    point = q2015.geometry[code].representative_point()
    path = tmp_path / "sites.csv"
    path.write_text(f"nom;latitude;longitude;emplois\nA;{point.y};{point.x};10\n",
                    encoding="utf-8")
    run = run_study(Study(initiatives=path, qpv_source="bundled-2015-occitanie",
                          folder=tmp_path))
    from geo.qpv import load_key_figures

    pop = float(load_key_figures().loc[code, "pop_mun"])
    row = run.impact.set_index(["niveau", "code"]).loc[("quartier", code)]
    assert row["population"] == pop
    assert row["taux:emplois"] == pytest.approx(round(10 / pop * 1000, 2))
    assert row["taux:initiatives"] == pytest.approx(round(1 / pop * 1000, 2))
    assert "INSEE" in row["source_population"] and "2015" in row["source_population"]
    # a territory's population is its quartiers' sum, every one of them being known
    toulouse = [c for c in q2015.index[q2015["communes"] == "Toulouse"]]
    commune = run.impact.set_index(["niveau", "nom"]).loc[("commune", "Toulouse")]
    assert commune["population"] == pytest.approx(
        load_key_figures().loc[toulouse, "pop_mun"].astype(float).sum())
    # a table by quartier given by the study (2024 codes: no bundled figures)
    x, y = _inside("QN09328M")
    path.write_text(f"nom;latitude;longitude;emplois\nA;{y};{x};10\n", encoding="utf-8")
    figures = tmp_path / "chiffres.csv"
    figures.write_text("Code quartier;Libellé;Population municipale\nQN09328M;Franc Moisin;"
                       "25 000\nQN07511M;Goutte d'Or;20 000\n", encoding="utf-8")
    run = run_study(Study(initiatives=path, folder=tmp_path, key_figures=figures,
                          key_figures_source="INSEE, recensement 2020 (essai)"))
    row = run.impact.set_index(["niveau", "code"]).loc[("quartier", "QN09328M")]
    assert row["population"] == 25000 and row["taux:emplois"] == 0.4
    # Seine-Saint-Denis holds other quartiers, without a figure: no partial sum, a blank
    assert np.isnan(run.impact.set_index(["niveau", "code"]).loc[("departement", "93"),
                                                                  "population"])
    assert row["source_population"] == "INSEE, recensement 2020 (essai)"
    assert run.provenance["population"] == "INSEE, recensement 2020 (essai)"


def test_the_same_value_on_every_site_of_an_initiative_is_pointed_out(tmp_path, capsys):
    x, y = _inside("QN09328M")
    path = tmp_path / "sites.csv"
    path.write_text(f"id_initiative;nom;latitude;longitude;emplois\nX;A;{y};{x};12\n"
                    f"X;B;{y};{x + 0.001};12\nY;C;{y};{x + 0.002};3\nY;D;{y};{x + 0.003};4\n",
                    encoding="utf-8")
    assert cli.main(["link", str(path), "-o", str(tmp_path / "o.csv")]) == 0
    out = capsys.readouterr().out
    assert "« emplois » : même valeur sur chaque site de 1 initiative à plusieurs sites " \
        "(X)" in out
    assert "(X)" in out
