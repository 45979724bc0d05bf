"""``ess-qpv qpv …`` from the user's side: output, files, exit codes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest

from geo import cli

ROOT = Path(__file__).resolve().parents[1]


def test_info_prints_the_bundled_summary(capsys):
    assert cli.main(["qpv", "info"]) == 0
    out = capsys.readouterr().out
    assert "Quartiers : 1584" in out
    assert "Géométries réparées : 586 (après réparation : toutes valides)" in out
    assert "La Réunion" in out


@pytest.mark.parametrize(("dep", "count"), [("93", 75), ("33", 25), ("69", 48), ("75", 21)])
def test_export_departement_gpkg(tmp_path, dep, count, capsys):
    out = tmp_path / f"qpv{dep}.gpkg"
    assert cli.main(["qpv", "export", "--departement", dep, "-o", str(out)]) == 0
    frame = gpd.read_file(out)
    assert len(frame) == count and frame.is_valid.all()
    assert f"{count} quartiers exportés" in capsys.readouterr().out


def test_export_csv_has_wkt_and_geojson_roundtrips(tmp_path):
    csv, gj = tmp_path / "q.csv", tmp_path / "q.geojson"
    assert cli.main(["qpv", "export", "--commune", "33063", "-o", str(csv)]) == 0
    text = csv.read_text(encoding="utf-8-sig")  # the CSV convention: BOM, ";"
    assert text.splitlines()[0] == "code_qp;nom_qp;insee_com;communes;insee_dep;generation;geometry"
    assert "POLYGON" in text
    assert cli.main(["qpv", "export", "--commune", "33063", "-o", str(gj)]) == 0
    assert len(gpd.read_file(gj)) == text.count("\nQN")


def test_export_bbox(tmp_path):
    out = tmp_path / "paris.geojson"
    assert cli.main(["qpv", "export", "--bbox", "2.25,48.81,2.42,48.91", "-o", str(out)]) == 0
    frame = gpd.read_file(out)
    assert "QN07511M" in set(frame["code_qp"]) and set(frame["insee_dep"]) <= {"75", "92", "93",
                                                                              "94"}


@pytest.mark.parametrize("argv", [
    ["qpv", "export", "-o", "sortie.txt"],
    ["qpv", "export", "--bbox", "2.4,48.9,2.3", "-o", "x.gpkg"],
    ["qpv", "export", "--bbox", "2.4,48.9,2.3,48.8", "-o", "x.gpkg"],
    ["qpv", "info", "--source", "inexistant.geojson"],
    ["qpv", "export", "--source", "inexistant.geojson", "-o", "x.gpkg"],
])
def test_user_mistakes_are_one_french_line(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Erreur : ")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_unknown_option_is_french(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["qpv", "export", "--nimporte"])
    assert exc.value.code == 2
    assert "Erreur :" in capsys.readouterr().err


def test_console_script_runs_from_another_folder(tmp_path):
    exe = shutil.which("ess-qpv")
    assert exe, "the ess-qpv console script is installed with the package"
    result = subprocess.run([exe, "qpv", "info"], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "ESS_QPV_CACHE": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "Quartiers : 1584" in result.stdout


def test_wheel_ships_the_bundled_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("ess_qpv-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("qpv2024_france.geojson.gz", "qpv2015_occitanie.geojson.gz",
                 "qpv2015_occitanie_chiffres_cles.csv", "SOURCES.md"):
        assert f"geo/data/{name}" in names


def test_a_closed_pipe_is_not_an_error():
    """``ess-qpv qpv info | head -1``: the reader leaves early; no traceback, exit 0."""
    import shutil
    import subprocess

    process = subprocess.Popen([shutil.which("ess-qpv"), "qpv", "info"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert first.startswith(b"Source")
    assert process.returncode == 0 and b"Traceback" not in err and b"Error" not in err


def test_the_generations_offered_are_the_declared_ones(capsys):
    """`ess-qpv qpv download --generation` offers the generations of geo.vocabulary."""
    import pytest

    from geo.cli import main
    from geo.vocabulary import GENERATIONS

    with pytest.raises(SystemExit):
        main(["qpv", "download", "--generation", "1999"])
    err = capsys.readouterr().err
    for generation in GENERATIONS:
        assert f"'{generation.key}'" in err, err
