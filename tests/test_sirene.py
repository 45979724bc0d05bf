"""``ess-qpv sirene``: INSEE's files in their exact formats, made up around real QPV (metropole
and the five overseas départements, each row in its own projection), checked against a count
made independently here with geopandas; the Dask engine gives the same tables; bad files
get French messages and leave nothing behind."""

from __future__ import annotations

import contextlib
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from geo import cli
from geo.outlines import in_france
from geo.qpv import load_qpv
from geo.sirene import panorama
from geo.stream import lonlat, read_chunks, read_tables
from tests.browser import Page, axe_violations, htmlcs_errors
from tests.sirene_files import write_samples


@pytest.fixture(scope="module")
def qpv():
    return load_qpv()


@pytest.fixture(scope="module")
def files(tmp_path_factory, qpv):
    return write_samples(tmp_path_factory.mktemp("sirene"), qpv, n=1500, seed=4)


def reference(files, qpv, distance=300.0) -> pd.DataFrame:
    """The per-quartier counts, computed here without the engine: geopandas joins, each
    territory in its own metric projection, QPV buffered by the distance."""
    geo = pd.read_csv(files["geoloc"], sep=";", dtype=str, keep_default_na=False)
    with zipfile.ZipFile(files["units"]) as z:
        units = pd.read_csv(z.open(z.namelist()[0]), dtype=str, keep_default_na=False)
    etab = pd.read_csv(files["establishments"], dtype=str, keep_default_na=False)
    active = set(etab.loc[etab["etatAdministratifEtablissement"] == "A", "siret"])
    ess = set(units.loc[(units["economieSocialeSolidaireUniteLegale"] == "O")
                        & (units["etatAdministratifUniteLegale"] == "A"), "siren"])
    geo = geo[geo["siret"].isin(active)]
    geo = geo[~geo["x"].isin(["", "[ND]"])].copy()
    geo["ess"] = geo["siret"].str[:9].isin(ess)
    frames = []
    for epsg, rows in geo.groupby("epsg"):
        lon, lat = Transformer.from_crs(int(epsg), 4326, always_xy=True).transform(
            rows["x"].astype(float).to_numpy(), rows["y"].astype(float).to_numpy())
        frames.append(gpd.GeoDataFrame(rows[["siret", "ess"]], crs=4326,
                                       geometry=gpd.points_from_xy(lon, lat)))
    points = pd.concat(frames, ignore_index=True)
    polys = qpv[["code_qp", "insee_dep", "geometry"]]
    inside = gpd.sjoin(points, polys, predicate="within")
    near = []
    crs_of = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
    for dep_crs in set(crs_of.values()) | {2154}:
        deps = [d for d, c in crs_of.items() if c == dep_crs]
        part = polys[polys["insee_dep"].isin(deps)] if deps else \
            polys[~polys["insee_dep"].isin(list(crs_of))]
        band = part.to_crs(dep_crs)
        band["geometry"] = band.buffer(distance, 64)
        hits = gpd.sjoin(points.to_crs(dep_crs), band, predicate="within")
        near.append(pd.DataFrame(hits[["siret", "ess", "code_qp"]]))
    near = pd.concat(near)
    near = near.merge(inside[["siret", "code_qp"]], on=["siret", "code_qp"], how="left",
                      indicator=True)
    near = near[near["_merge"] == "left_only"]
    out = pd.DataFrame(index=qpv["code_qp"])
    out["etablissements_ess_implantes"] = inside[inside["ess"]].groupby("code_qp").size()
    out["etablissements_ess_proximite"] = near[near["ess"]].groupby("code_qp").size()
    out["etablissements_actifs_implantes"] = inside.groupby("code_qp").size()
    return out.fillna(0).astype(int)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """The command's exit code, output and errors (its French warnings are in the errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_panorama_equals_an_independent_count(files, qpv, tmp_path, capsys, browser):
    out = tmp_path / "panorama.xlsx"
    # the made-up "far" establishments 3–8 km from an island's quartier may fall in the sea
    code, printed, err = run_cli(
        capsys, "sirene", files["geoloc"], "--unites-legales", files["units"],
        "--etablissements", files["establishments"], "-o", out, "--par-qpv",
        tmp_path / "par_qpv.csv", "--carte", tmp_path / "carte.html", "--morceaux",
        "1000", "--coeurs", "2")
    assert code == 0, err
    assert "coordonnées hors de France" in err and "Traceback" not in err
    got = pd.read_excel(out, sheet_name="Par quartier", dtype={"code_qp": str}).set_index(
        "code_qp")
    want = reference(files, qpv)
    columns = list(want.columns)
    assert (got[columns] == want[columns]).all().all()
    assert want["etablissements_ess_implantes"].sum() > 50  # the sample means something
    assert want["etablissements_ess_proximite"].sum() > 50
    overseas = got[got["insee_dep"].astype(str).str.len() == 3]
    assert overseas["etablissements_actifs_implantes"].sum() > 0
    # the ESS share, the families and the territories add up
    with_actives = got[got["etablissements_actifs_implantes"] > 0]
    assert np.allclose(with_actives["part_ess"], (with_actives["etablissements_ess_implantes"]
                       / with_actives["etablissements_actifs_implantes"]).round(4))
    families = [c for c in got.columns if c.startswith("implantes_") and "naf" not in c]
    assert (got[families].sum(axis=1) == got["etablissements_ess_implantes"]).all()
    territory = pd.read_excel(out, sheet_name="Par territoire", dtype={"code": str})
    france = territory[territory["niveau"] == "france"].iloc[0]
    assert france["etablissements_ess_implantes"] == want["etablissements_ess_implantes"].sum()
    reading = pd.read_excel(out, sheet_name="Lecture").set_index("mesure")["valeur"]
    geo = pd.read_csv(files["geoloc"], sep=";", dtype=str, keep_default_na=False)
    etab = pd.read_csv(files["establishments"], dtype=str, keep_default_na=False)
    active = geo["siret"].isin(set(etab.loc[etab["etatAdministratifEtablissement"] == "A",
                                            "siret"]))
    assert reading["non diffusibles"] == (active & (geo["x"] == "[ND]")).sum()
    assert reading["sans coordonnees"] == (active & (geo["x"] == "")).sum()
    given = active & ~geo["x"].isin(["", "[ND]"])
    lon, lat = lonlat(geo["x"].where(given, "nan").astype(float).to_numpy(),
                      geo["y"].where(given, "nan").astype(float).to_numpy(),
                      geo["epsg"].astype(int).to_numpy())
    abroad = given.to_numpy() & ~in_france(lon, lat)
    assert abroad.sum() > 0 and reading["coordonnees hors france"] == abroad.sum()
    assert reading["coordonnees hors zone epsg"] == 0
    agreement = pd.read_excel(out, sheet_name="Accord INSEE").set_index("mesure")["valeur"]
    assert 0.8 < agreement["part d'accord"] < 1
    assert "accord avec plg_qp24" in printed
    # the choropleth map is accessible like the other maps
    page = Page(browser, tmp_path / "carte.html", offline=True)
    assert axe_violations(page.page) == [] and htmlcs_errors(page.page) == []
    assert page.page.locator("table.essqpv-table tbody tr").count() == len(qpv)
    page.page.close()


def test_dask_engine_gives_the_same_tables(files, qpv):
    """Also with Dask's usual port taken (another panorama, another suite at the same
    time): the local cluster listens on a free port of this machine only."""
    import socket

    pytest.importorskip("dask.distributed")
    local = panorama(files["geoloc"], files["units"], qpv,
                     establishments=files["establishments"], chunk_rows=1000, workers=2)
    with socket.socket() as taken:
        with contextlib.suppress(OSError):  # already taken: the same situation
            taken.bind(("0.0.0.0", 8787))
            taken.listen()
        dask = panorama(files["geoloc"], files["units"], qpv,
                        establishments=files["establishments"], chunk_rows=1000, workers=2,
                        engine="dask")
    pd.testing.assert_frame_equal(local.per_qpv, dask.per_qpv)
    pd.testing.assert_frame_equal(local.per_territory, dask.per_territory)
    pd.testing.assert_frame_equal(local.disagreements, dask.disagreements)
    assert local.counts == dask.counts


def test_chunks_from_csv_zip_and_parquet_are_the_same(files, tmp_path):
    """The same rows whatever the format, and never more than ``chunk_rows`` at a time
    (Arrow's CSV batches hold a whole 16 MB block: ~200 000 rows of INSEE's file)."""
    def chunks(path):
        parts = list(read_chunks(path, chunk_rows=400))
        assert [len(p) for p in parts] == [400, 400, 400, 300], path.name
        return pd.concat(parts, ignore_index=True)

    whole = chunks(files["geoloc"])
    assert len(whole) == 1500 and whole["siret"].str.len().eq(14).all()
    with zipfile.ZipFile(tmp_path / "g.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(files["geoloc"], "geoloc.csv")
    pd.testing.assert_frame_equal(whole, chunks(tmp_path / "g.zip"))
    whole.to_parquet(tmp_path / "g.parquet")
    pd.testing.assert_frame_equal(whole, chunks(tmp_path / "g.parquet"))


def test_the_panorama_reads_chunks_of_the_rows_asked_at_most(files, qpv, tmp_path,
                                                             monkeypatch):
    """``--morceaux`` bounds memory for INSEE's zipped CSV too: every chunk the panorama
    reads holds ``chunk_rows`` rows at most (it held a whole 16 MB block)."""
    from geo import sirene

    with zipfile.ZipFile(tmp_path / "g.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(files["geoloc"], "geoloc.csv")
    seen: dict[str, list[int]] = {}

    def watching(read):
        def watched(path, **kw):
            for chunk in read(path, **kw):
                seen.setdefault(Path(path).name, []).append(len(chunk))
                yield chunk
        return watched

    monkeypatch.setattr(sirene, "read_chunks", watching(read_chunks))
    monkeypatch.setattr(sirene, "read_tables", watching(read_tables))
    result = panorama(tmp_path / "g.zip", files["units"], qpv, chunk_rows=250, workers=1)
    assert result.counts["lignes_lues"] == 1500
    assert max(seen["g.zip"]) == 250 and len(seen["g.zip"]) == 6
    assert max(seen[files["units"].name]) == 250


def test_an_unreadable_zip_is_let_go_before_its_message(files, tmp_path, monkeypatch):
    """Arrow's threads release what they took of a zip's member before the error leaves the
    reading (a release while the interpreter exits aborts the process, status -6)."""
    from geo import stream
    from geo._errors import InputError

    waits: list[tuple[bool, int]] = []

    class Watched(stream._Holds):
        def wait(self, timeout: float) -> bool:
            done = super().wait(timeout)
            waits.append((done, self.count))
            return done

    monkeypatch.setattr(stream, "_Holds", Watched)
    monkeypatch.setattr(stream, "_LET_GO", 3.0)
    lines = files["geoloc"].read_text(encoding="utf-8").splitlines()
    lines.insert(1200, "1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20")
    with zipfile.ZipFile(tmp_path / "g.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("geoloc.csv", "\n".join(lines * 40) + "\n")
    with pytest.raises(InputError, match="ligne 1201 : 20 champ"):
        for _ in read_chunks(tmp_path / "g.zip", chunk_rows=400):
            pass
    assert waits == [(True, 0)]


def _bad(tmp_path, files, name: str, text: str | bytes) -> tuple:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(("case", "message"), [
    ("columns", "colonnes absentes : x, y, epsg"),
    ("epsg", "code epsg inconnu : 9999"),
    ("zip", "archive zip tronquée"),
    ("siret", "siret invalide"),
])
def test_bad_files_get_french_messages(files, tmp_path, capsys, case, message):
    geoloc = files["geoloc"]
    units = files["units"]
    if case == "columns":
        geoloc = _bad(tmp_path, files, "pas_sirene.csv", "siret;adresse\n12345678901234;x\n")
    elif case == "epsg":
        text = files["geoloc"].read_text(encoding="utf-8").splitlines()
        row = text[5].split(";")
        row[4] = "9999"
        text[5] = ";".join(row)
        geoloc = _bad(tmp_path, files, "g.csv", "\n".join(text) + "\n")
    elif case == "zip":
        units = _bad(tmp_path, files, "ul.zip", files["units"].read_bytes()[:3000])
    elif case == "siret":
        geoloc = _bad(tmp_path, files, "g.csv", files["geoloc"].read_text(encoding="utf-8")
                      .replace("\n" + files["geoloc"].read_text().splitlines()[3][:14],
                               "\n=1+1<script>", 1))
    out = tmp_path / "panorama.xlsx"
    code, _, err = run_cli(capsys, "sirene", geoloc, "--unites-legales", units, "-o", out,
                           "--coeurs", "1")
    assert code == 2 and message in err, err
    assert "Traceback" not in err
    assert not out.exists()
    if case == "epsg":
        assert "ligne 6" in err and "colonne « epsg »" in err


def test_hostile_cells_of_insee_files_stay_text(files, tmp_path, capsys, browser):
    """Commune codes and INSEE's quartier codes reach the workbook and the map as text."""
    from openpyxl import load_workbook

    payloads = ["=1+1", "<script>alert(1)</script>", "{{ 7*7 }}", "../../etc/passwd"]
    geo = pd.read_csv(files["geoloc"], sep=";", dtype=str, keep_default_na=False)
    for k, payload in enumerate(payloads):
        geo.loc[k, "plg_code_commune"] = payload
        geo.loc[k + 10, "plg_qp24"] = payload
    geo.to_csv(tmp_path / "g.csv", sep=";", index=False)
    out = tmp_path / "p.xlsx"
    code, _, err = run_cli(capsys, "sirene", tmp_path / "g.csv", "--unites-legales",
                           files["units"], "-o", out, "--carte", tmp_path / "c.html",
                           "--coeurs", "1")
    assert code == 0, err
    sheet = load_workbook(out)["Par territoire"]
    cells = {c.value: c.data_type for row in sheet.iter_rows() for c in row
             if c.value in payloads}
    assert set(payloads) <= set(cells) and set(cells.values()) == {"s"}  # text, no formula
    assert not (tmp_path.parent / "etc").exists()
    page = Page(browser, tmp_path / "c.html", offline=True)
    assert page.dialogs == [] and page.errors == []
    page.page.close()


def test_a_departement_panorama_lists_its_own_quartiers_only(files, qpv, tmp_path, capsys):
    """« --departement 01 » listed every quartier of France, those outside with zeros that
    were never counted (issue 30); a département without quartiers printed « nan% »."""
    busiest = reference(files, qpv)["etablissements_actifs_implantes"]
    dep = qpv.set_index("code_qp").loc[busiest.idxmax(), "insee_dep"]
    out = tmp_path / "par_qpv.csv"
    code, printed, err = run_cli(
        capsys, "sirene", files["geoloc"], "--unites-legales", files["units"], "--par-qpv",
        out, "-o", tmp_path / "p.xlsx", "--departement", dep, "--coeurs", "1")
    assert code == 0, err
    got = pd.read_csv(out, sep=";", dtype=str)
    listed = set(got.iloc[:, 0])
    assert listed == set(qpv.loc[qpv["insee_dep"] == dep, "code_qp"])
    code, printed, err = run_cli(
        capsys, "sirene", files["geoloc"], "--unites-legales", files["units"], "--par-qpv",
        tmp_path / "spm.csv", "-o", tmp_path / "spm.xlsx", "--departement", "975",
        "--coeurs", "1")
    assert code == 0, err
    assert "nan" not in printed.lower() and "aucun quartier prioritaire" in printed
    assert "aucun établissement localisé à comparer" in printed


def test_a_wrong_siren_of_an_ess_unit_is_named_by_its_line(files, tmp_path):
    """Only the active ESS units are kept (by Arrow, before any other work); a wrong siren
    among them is still named by its own line in the file, not by its rank among them."""
    from geo._errors import InputError
    from geo.sirene import read_ess_units

    with zipfile.ZipFile(files["units"]) as z:
        units = pd.read_csv(z.open(z.namelist()[0]), dtype=str, keep_default_na=False)
    kept = np.flatnonzero(((units["economieSocialeSolidaireUniteLegale"] == "O")
                           & (units["etatAdministratifUniteLegale"] == "A")).to_numpy())
    row = int(kept[5])
    assert row > 5  # other units come before it
    units.loc[row, "siren"] = "12AB"
    units.to_csv(tmp_path / "ul.csv", index=False)
    with pytest.raises(InputError, match=rf"ligne {row + 2}, colonne « siren » : siren "
                                         "invalide : « 12AB »"):
        read_ess_units(tmp_path / "ul.csv", chunk_rows=300)
