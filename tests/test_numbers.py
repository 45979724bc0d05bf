"""Numbers read as typed (issue 30): a workbook's numeric cells and a GeoJSON's numbers are
never read again from their text; text reads the French way only where unambiguous, and a
doubtful reading is said per column; cells a spreadsheet or a terminal would take for
commands stay inert."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from geo import cli
from geo._errors import InputError
from geo.cli._console import say, visible
from geo.indicators import read_amounts
from geo.initiatives import read_table
from geo.io import TEXT_MARK, inert, uninert, write_csv
from geo.qpv import load_qpv
from geo.study import Study, run_study
from geo.vocabulary import Columns

FRANC = "QN09328M"  # Franc Moisin, Saint-Denis


def _inside(code: str, shift: float = 0.0) -> tuple[float, float]:
    qpv = load_qpv("bundled-2024").set_index("code_qp")
    point = qpv.geometry[code].representative_point()
    return point.x + shift, point.y


def _workbook(path, rows: list[dict]) -> None:
    """Write ``rows`` as the cells of a real workbook: a Python number is a numeric cell, a
    string a text cell (openpyxl for .xlsx, odfpy for .ods)."""
    frame = pd.DataFrame(rows).astype(object)
    frame.to_excel(path, index=False, engine="odf" if path.suffix == ".ods" else "openpyxl")


def _sites(columns: dict[str, list]) -> list[dict]:
    n = len(next(iter(columns.values())))
    rows = []
    for i in range(n):
        x, y = _inside(FRANC, 0.00005 * i)
        rows.append({"nom": f"Site {i}", "siret": 12345678901234 + i, "code_adherent": "00042",
                     "latitude": y, "longitude": x, **{c: v[i] for c, v in columns.items()}})
    return rows


def _impact_sheet(report) -> pd.DataFrame:
    sheet = pd.read_excel(report, sheet_name="Impact", dtype=object)
    return sheet.set_index(sheet.columns[0])


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_numeric_cells_are_summed_as_typed(tmp_path, suffix):
    path = tmp_path / f"sites{suffix}"
    _workbook(path, _sites({"etp": [2.125, 1.5], "budget": [1.234, 0.75]}))
    report = tmp_path / "rapport.xlsx"
    run = run_study(Study(initiatives=path, outputs={"rapport": report}, folder=tmp_path))
    whole = run.impact.set_index("niveau").loc["etude"]
    assert whole["etp:implanted"] == pytest.approx(3.625)  # was 2 126.5
    assert whole["budget:implanted"] == pytest.approx(1.984)  # was 1 234.75
    sheet = _impact_sheet(report)
    assert sheet.loc["ensemble", "etp – sites implantés"] == pytest.approx(3.625)
    assert sheet.loc["ensemble", "budget – sites implantés"] == pytest.approx(1.984)
    assert not any("décimale" in line for line in run.detection.report)  # typed: never odd
    # identifiers and codes stay text as typed
    sites = pd.read_excel(report, sheet_name="Initiatives", dtype=object)
    assert sites["siret"].astype(str).tolist() == ["12345678901234", "12345678901235"]
    assert sites["code_adherent"].tolist() == ["00042", "00042"]
    table = read_table(path)[0]
    assert table["siret"].tolist() == ["12345678901234", "12345678901235"]
    assert table["code_adherent"].tolist() == ["00042", "00042"]


TEXTS = ["0.500", "1.234,5", "1 234,5", "1.234.567", "１２", "2.125", "1,234", "n.c."]
READ = [0.5, 1234.5, 1234.5, 1234567, 12, 2.125, 1.234, np.nan]


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_text_cells_read_the_french_way_only_where_unambiguous(tmp_path, suffix, capsys):
    path = tmp_path / f"sites{suffix}"
    _workbook(path, _sites({"emplois": TEXTS, "benevoles": [3] * len(TEXTS)}))
    report = tmp_path / "rapport.xlsx"
    run = run_study(Study(initiatives=path, outputs={"rapport": report}, folder=tmp_path))
    values = run.initiatives.measures.values["emplois"].to_numpy()
    np.testing.assert_array_equal(values, np.array(READ, dtype=float))
    whole = _impact_sheet(report).loc["ensemble"]
    assert whole["emplois – sites implantés"] == pytest.approx(np.nansum(READ))
    line = ("colonne « emplois » : 2 valeurs lues comme des décimales (« 2.125 » ligne 7 lu "
            "2,125 ; « 1,234 » ligne 8 lu 1,234) : vérifiez s'il s'agissait de milliers")
    assert line in run.initiatives.measures.report
    notes = _impact_sheet(report).index.astype(str).tolist()
    assert line in notes  # in the report's notes
    # and in the run's console summary
    assert cli.main(["link", str(path), "-o", str(tmp_path / "out.xlsx")]) == 0
    assert line in capsys.readouterr().out


def test_one_odd_cell_is_said_in_the_singular_and_typed_numbers_never():
    amounts = read_amounts(pd.Series(["2.125", "0.125", "1234.567", "12", "１,５００"]))
    assert amounts.odd.tolist() == [True, False, False, False, True]
    assert amounts.values.tolist() == [2.125, 0.125, 1234.567, 12.0, 1.5]
    table = pd.DataFrame({"etp": ["2.125", "3"]})
    from geo.columns import detect_columns
    from geo.indicators import read_measures

    measures = read_measures(table, detect_columns(table, Columns(indicators=["etp"])))
    assert measures.report == ["colonne « etp » : 1 valeur lue comme une décimale "
                               "(« 2.125 » ligne 2 lu 2,125) : vérifiez s'il s'agissait "
                               "de milliers"]


def test_ambiguous_groups_are_refused_not_guessed():
    amounts = read_amounts(pd.Series(["1 2 3", "12.34.567", "1.234,5.6", "1.234 567",
                                      "٣", "1 234"]))
    assert amounts.unreadable.tolist() == [True] * 5 + [False]
    assert amounts.values[-1] == 1234


def test_a_geojson_number_is_read_as_typed(tmp_path):
    x, y = _inside(FRANC)
    features = [{"type": "Feature", "geometry": {"type": "Point",
                                                 "coordinates": [x + 0.00005 * i, y]},
                 "properties": {"nom": f"Site {i}", "etp": v}}
                for i, v in enumerate([2.125, 1.5])]
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    run = run_study(Study(initiatives=path, folder=tmp_path))
    assert run.impact.set_index("niveau").loc["etude", "etp:implanted"] == pytest.approx(3.625)
    assert not any("décimale" in line for line in run.detection.report)  # typed: never odd


def test_the_web_preview_reads_typed_numbers(tmp_path):
    from geo.web import workspace

    path = tmp_path / "initiatives.xlsx"
    _workbook(path, _sites({"etp": [2.125, 1.5]}))
    (tmp_path / workspace.STUDY_FILE).write_text(
        '[entrees]\ninitiatives = "initiatives.xlsx"\n', encoding="utf-8")
    _, detection, refusal = workspace.preview(tmp_path)
    assert refusal is None
    assert not any("décimale" in line for line in detection.report)


def test_a_number_too_large_is_refused_with_its_cell(tmp_path, capsys):
    path = tmp_path / "sites.xlsx"
    _workbook(path, _sites({"emplois": ["3", "1" * 400]}))
    out = tmp_path / "out.xlsx"
    assert cli.main(["link", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "sites.xlsx" in err and "ligne 3" in err and "« emplois »" in err
    assert "hors d'échelle" in err and "400 caractères" in err and "1" * 100 not in err
    assert not out.exists()
    with pytest.raises(InputError, match="hors d'échelle"):
        run_study(Study(initiatives=path, folder=tmp_path))
    # a number typed in a cell, not finite or beyond 10^15, too
    _workbook(path, _sites({"emplois": [3, 1e16]}))
    with pytest.raises(InputError, match="hors d'échelle") as raised:
        run_study(Study(initiatives=path, folder=tmp_path))
    assert raised.value.row == 3 and raised.value.column == "emplois"


def test_a_stale_typed_number_is_not_used():
    table = pd.DataFrame({"etp": ["2.125"]})
    from geo.indicators import TYPED_NUMBERS, TypedNumbers

    table.attrs[TYPED_NUMBERS] = TypedNumbers.of(pd.DataFrame({"etp": [2.125]}), table)
    assert not read_amounts(table["etp"]).odd.any()
    table["etp"] = ["7.125"]  # another value written since: read from its text again
    amounts = read_amounts(table["etp"])
    assert amounts.values.tolist() == [7.125] and amounts.odd.all()


# --------------------------------------------------------------------------- output safety

RISKY = ["＝1+1", "＋1", "－1", "＠SUM(A1)", "\u200b=1+1", "\ufeff=1+1", "\u2060=1+1",
         "\u200b\u200d+1", "﹦1+1"]


def test_wide_and_invisible_formula_starts_are_written_as_text(tmp_path):
    frame = pd.DataFrame({"texte": RISKY + ["-3.5", "ok"], "＝x": ["a"] * (len(RISKY) + 2)})
    written = inert(frame)
    assert written["texte"].tolist() == [TEXT_MARK + t for t in RISKY] + ["-3.5", "ok"]
    assert list(written.columns) == ["texte", TEXT_MARK + "＝x"]
    path = tmp_path / "out.csv"
    write_csv(frame, path)
    back = read_table(path)[0]
    assert back["texte"].tolist() == RISKY + ["-3.5", "ok"]  # our own CSV reads back as typed
    assert list(back.columns) == ["texte", "＝x"]
    assert [uninert(TEXT_MARK + t) for t in RISKY] == RISKY


def test_control_characters_never_reach_the_terminal(tmp_path, capsys):
    assert visible("a\x1b[31mb\x07c\x9bd\re\u202ef") == "a␛[31mb␇c\\x9bd␍e\\u202ef"
    say("\x1b]0;titre\x07")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "␛]0;titre␇" in out
    path = tmp_path / "sites.csv"
    path.write_text("nom;latitude;longitude;emplois\nA;48.9;2.35;3\nB;48.9;2.36;4\n"
                    "C;48.9;2.37;\x1b[2J3 k\n",
                    encoding="utf-8")
    assert cli.main(["link", str(path), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "␛[2J3 k" in err

