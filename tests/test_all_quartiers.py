"""A study may ask for every quartier of France in its per-quartier and per-territory tables
(issue 31, item 8): ``--toute-la-france``, ``[quartiers] toute_la_france = true`` or the web
page's box; without it, a local study reports the quartiers of its sites' départements."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from geo import cli
from geo import link as linking
from geo.initiatives import read_initiatives
from geo.qpv import load_qpv
from geo.studyfile import load_study


@pytest.fixture(scope="module")
def qpv():
    return load_qpv("bundled-2024")


@pytest.fixture
def niort(tmp_path, qpv):
    """Two sites in quartiers of Deux-Sèvres (79)."""
    points = [p.representative_point() for p in
              qpv[qpv["insee_dep"] == "79"].geometry.iloc[:2]]
    path = tmp_path / "niort.csv"
    pd.DataFrame({"nom": ["A", "B"], "latitude": [p.y for p in points],
                  "longitude": [p.x for p in points]}).to_csv(path, sep=";", index=False)
    return path


def test_link_reports_every_quartier_when_asked(niort, qpv):
    local = linking.link(read_initiatives(niort), qpv)
    assert len(local.per_qpv) == (qpv["insee_dep"] == "79").sum()
    whole = linking.link(read_initiatives(niort), qpv, whole_generation=True)
    assert len(whole.per_qpv) == len(qpv) and whole.qpv_in_area.all()
    assert whole.reported == linking.WHOLE_GENERATION
    assert whole.parameters["quartiers_rapportes"] == linking.WHOLE_GENERATION
    assert set(whole.per_territory["code"]) > set(local.per_territory["code"])


def _rows(path) -> int:
    return len(pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig"))


def test_every_door_asks_for_all_of_france(niort, qpv, tmp_path, capsys):
    out = tmp_path / "par_quartier.csv"
    assert cli.main(["link", str(niort), "-o", str(tmp_path / "sites.csv"),
                     "--per-qpv", str(out), "--toute-la-france"]) == 0
    assert _rows(out) == len(qpv)
    assert "Quartiers dans les tableaux (France entière (demandée par l'étude))" in \
        capsys.readouterr().out
    study = tmp_path / "etude.toml"
    study.write_text('[entrees]\ninitiatives = "niort.csv"\n[quartiers]\n'
                     'toute_la_france = true\n[sorties]\ncarte = ""\ncarte_autonome = ""\n'
                     'integration = ""\ncarte_impression = ""\n'
                     'par_quartier = "par_quartier.csv"\n', encoding="utf-8")
    assert load_study(study).all_quartiers
    assert cli.main(["run", str(study)]) == 0
    assert _rows(tmp_path / "resultats" / "par_quartier.csv") == len(qpv)
    # with a territory too: which one is meant is asked, in each door's words
    capsys.readouterr()
    assert cli.main(["link", str(niort), "-o", str(tmp_path / "s2.csv"), "--toute-la-france",
                     "--departement", "79"]) == cli.EXIT_ERROR
    assert "(option --toute-la-france, --departement, --commune)" in capsys.readouterr().err
    study.write_text(study.read_text(encoding="utf-8").replace(
        "toute_la_france = true", 'toute_la_france = true\ndepartements = ["79"]'),
        encoding="utf-8")
    assert cli.main(["run", str(study)]) == cli.EXIT_ERROR
    assert "clé [quartiers] toute_la_france" in capsys.readouterr().err


def test_the_web_parameters_have_the_box(niort, tmp_path):
    import io

    from geo.web import create_app

    app = create_app(tmp_path / "etudes")
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    slug = client.post("/nouvelle", data={"nom": "niort"}).headers["Location"].rstrip(
        "/").split("/")[-2]
    client.post(f"/etudes/{slug}/import", content_type="multipart/form-data",
                data={"tableau": (io.BytesIO(niort.read_bytes()), "niort.csv")})
    form = {"titre": "Niort", "source": "bundled-2024", "distance": "300",
            "departements": "", "communes": "", "score": "0.6", "format": "A4",
            "toute_la_france": "oui"}
    page = client.get(f"/etudes/{slug}/parametres").get_data(as_text=True)
    assert 'name="toute_la_france"' in page
    assert client.post(f"/etudes/{slug}/parametres", data=form).status_code == 302
    saved = tomllib.loads((tmp_path / "etudes" / slug / "etude.toml").read_text("utf-8"))
    assert saved["quartiers"]["toute_la_france"] is True
    assert 'name="toute_la_france" value="oui" checked' in client.get(
        f"/etudes/{slug}/parametres").get_data(as_text=True)
    r = client.post(f"/etudes/{slug}/parametres", data={**form, "departements": "79"})
    assert r.status_code == 400 and "toute la France ou un territoire" in r.get_data(
        as_text=True)
