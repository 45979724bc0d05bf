"""``ess-qpv link`` on big tables: read, linked and written chunk by chunk, with the same
answers as the whole-table path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.link import synthetic_sites
from geo import cli
from geo.qpv import load_qpv
from tests.outputs import read_output


def test_streamed_link_gives_the_same_answers(tmp_path, capsys):
    qpv = load_qpv()
    points = synthetic_sites(qpv, 3000, seed=7)
    table = pd.DataFrame({"id": [f"S{i}" for i in range(len(points))],
                          "lon": [p.x for p in points], "lat": [p.y for p in points]})
    table.loc[5, ["lon", "lat"]] = np.nan
    table.to_csv(tmp_path / "sites.csv", index=False, sep=";")
    table.to_parquet(tmp_path / "sites.parquet")
    assert cli.main(["link", str(tmp_path / "sites.csv"), "-o",
                     str(tmp_path / "whole.csv")]) == 0
    assert cli.main(["link", str(tmp_path / "sites.parquet"), "-o",
                     str(tmp_path / "flux.parquet"), "--coeurs", "2"]) == 0
    assert "reliées par morceaux" in capsys.readouterr().out
    whole = read_output(tmp_path / "whole.csv")
    flux = pd.read_parquet(tmp_path / "flux.parquet")
    assert len(flux) == len(whole) == 3000
    for column in ("code_qp", "nom_qp", "relation", "nearest_code_qp"):
        assert (flux[column].fillna("").astype(str) == whole[column]).all(), column
    distance = pd.to_numeric(whole["distance_m"], errors="coerce")
    assert np.allclose(flux["distance_m"], distance, equal_nan=True, atol=0)
    assert set(whole["relation"]) >= {"implanted", "nearby", "none", "not_located"}
    # GeoParquet: the points of its geometry column
    import geopandas as gpd

    sites = gpd.GeoDataFrame(table[["id"]], geometry=gpd.points_from_xy(table["lon"],
                                                                         table["lat"]), crs=4326)
    sites.to_parquet(tmp_path / "sites.geoparquet")
    assert cli.main(["link", str(tmp_path / "sites.geoparquet"), "-o",
                     str(tmp_path / "geo.csv"), "--lon-column", "geometry_x",
                     "--lat-column", "geometry_y", "--coeurs", "1"]) == 0
    geo = read_output(tmp_path / "geo.csv")
    assert (geo["relation"] == whole["relation"]).all()


def test_per_row_projection_and_refusals(tmp_path, capsys):
    from pyproj import Transformer

    qpv = load_qpv()
    reunion = qpv[qpv["insee_dep"] == "974"].geometry.iloc[0].representative_point()
    paris = qpv[qpv["insee_dep"] == "75"].geometry.iloc[0].representative_point()
    rows = []
    for point, epsg in ((reunion, 2975), (paris, 2154)):
        x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(point.x, point.y)
        rows.append({"x": f"{x:.1f}", "y": f"{y:.1f}", "epsg": str(epsg)})
    rows.append({"x": "[ND]", "y": "[ND]", "epsg": "2154"})
    pd.DataFrame(rows).to_csv(tmp_path / "g.csv", sep=";", index=False)
    assert cli.main(["link", str(tmp_path / "g.csv"), "-o", str(tmp_path / "o.csv"),
                     "--lon-column", "x", "--lat-column", "y", "--crs-column", "epsg",
                     "--coeurs", "1"]) == 0
    out = read_output(tmp_path / "o.csv")
    assert list(out["relation"]) == ["implanted", "implanted", "not_located"]
    assert out["code_qp"][0].startswith("QN974") and out["code_qp"][1].startswith("QN075")
    capsys.readouterr()
    code = cli.main(["link", str(tmp_path / "g.csv"), "-o", str(tmp_path / "p.csv"),
                     "--crs-column", "epsg", "--per-qpv", str(tmp_path / "q.csv")])
    assert code == 2 and "(option --per-qpv)" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def hard_points(qpv, n: int = 12) -> pd.DataFrame:
    """Points on the shared boundary of two quartiers and inside the overlap of two rounded
    polygons (the bundled coordinates are rounded to ~11 m), taken from the real QPV."""
    import shapely

    geoms = qpv.geometry.values
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    a, b = a[a < b], b[a < b]
    shared = shapely.intersection(geoms[a], geoms[b])
    points = shapely.point_on_surface(shared)
    overlap = shapely.area(shared) > 0
    pick = np.r_[np.flatnonzero(overlap)[: n // 2], np.flatnonzero(~overlap)[: n // 2]]
    return pd.DataFrame({"id": [f"H{i}" for i in range(len(pick))],
                         "lon": shapely.get_x(points[pick]),
                         "lat": shapely.get_y(points[pick])})


def test_every_path_agrees_on_shared_boundaries_and_overlaps(tmp_path, capsys):
    """One rule: a point is in every quartier that contains it, in the order of the QPV
    table; the whole-table path, the streamed one and the panorama's engine agree."""
    from geo.link import link_points
    from geo.stream import place

    qpv = load_qpv()
    table = hard_points(qpv)
    path = tmp_path / "durs.csv"
    table.to_csv(path, sep=";", index=False)
    assert cli.main(["link", str(path), "-o", str(tmp_path / "whole.csv")]) == 0
    assert cli.main(["link", str(path), "-o", str(tmp_path / "flux.csv"), "--flux",
                     "--coeurs", "2"]) == 0
    capsys.readouterr()
    whole, flux = read_output(tmp_path / "whole.csv"), read_output(tmp_path / "flux.csv")
    for column in ("code_qp", "nom_qp", "relation", "qpv_nearby", "nearest_code_qp"):
        assert list(whole[column]) == list(flux[column]), column
    several = whole["code_qp"].str.contains(";")
    assert several.sum() >= 3  # the hard points are in two quartiers at once
    codes = whole.loc[several, "code_qp"].str.split(";")
    order = {c: i for i, c in enumerate(qpv["code_qp"])}
    assert all([order[c] for c in cs] == sorted(order[c] for c in cs) for cs in codes)
    # the panorama's engine counts each establishment in every quartier that holds it
    placed = place(table["lon"].to_numpy(), table["lat"].to_numpy(), qpv)
    import shapely

    links = link_points(shapely.points(table["lon"], table["lat"]), qpv)
    assert list(placed.inside_rows) == list(links.implanted["site"])
    assert list(placed.inside_qpv) == list(links.implanted["qpv"])


def test_streaming_is_a_mode_of_the_study_at_every_door(tmp_path, capsys):
    """The study file, the Python API and the CLI run the same streamed study; what it
    cannot write is refused before any work, named in each door's words."""
    from geo.study import StreamedResult, Streaming, Study, run_study

    table = hard_points(load_qpv())
    table.to_csv(tmp_path / "durs.csv", sep=";", index=False)
    assert cli.main(["link", str(tmp_path / "durs.csv"), "-o", str(tmp_path / "cli.csv"),
                     "--flux", "--coeurs", "1"]) == 0
    (tmp_path / "etude.toml").write_text(
        '[entrees]\ninitiatives = "durs.csv"\npar_morceaux = true\n'
        '[sorties]\ndossier = "resultats"\ntableau = "flux.csv"\nrapport = ""\ncarte = ""\n'
        'carte_autonome = ""\nintegration = ""\ncarte_impression = ""\nprovenance = ""\n',
        encoding="utf-8")
    assert cli.main(["run", str(tmp_path / "etude.toml")]) == 0
    assert "reliées par morceaux" in capsys.readouterr().out
    run = run_study(Study(initiatives=tmp_path / "durs.csv", stream=Streaming(workers=1),
                          outputs={"tableau": tmp_path / "api.parquet"}))
    assert isinstance(run, StreamedResult) and run.rows == len(table)
    by_cli = read_output(tmp_path / "cli.csv")
    by_file = read_output(tmp_path / "resultats" / "flux.csv")
    by_api = pd.read_parquet(tmp_path / "api.parquet")
    for column in ("code_qp", "relation", "qpv_nearby"):
        assert list(by_cli[column]) == list(by_file[column]) == list(by_api[column]), column
    assert by_cli["code_qp"].str.contains(";").sum() >= 3
    # refused in the study file's words, nothing written
    text = (tmp_path / "etude.toml").read_text(encoding="utf-8")
    (tmp_path / "etude.toml").write_text(text.replace('rapport = ""', 'rapport = "r.xlsx"')
                                         .replace("flux.csv", "autre.csv"), encoding="utf-8")
    assert cli.main(["run", str(tmp_path / "etude.toml")]) == 2
    assert "(clé [sorties] rapport)" in capsys.readouterr().err
    assert not (tmp_path / "resultats" / "autre.csv").exists()
    # a map needs the whole table
    table.to_parquet(tmp_path / "durs.parquet")
    assert cli.main(["map", str(tmp_path / "durs.parquet"), "-o",
                     str(tmp_path / "carte.html")]) == 2
    assert "tableau lu en entier" in capsys.readouterr().err
    assert not (tmp_path / "carte.html").exists()


def test_the_panorama_counts_hard_points_as_the_study_does(tmp_path):
    """SIRENE rows on shared boundaries and in overlaps (Lambert-93, as INSEE writes them):
    the panorama's per-quartier counts, local and with Dask, equal the whole-table
    study's on the same coordinates; its files appear together."""
    import zipfile

    from pyproj import Transformer

    from geo.study import PanoramaStudy, Study, run_panorama, run_study
    from tests.sirene_files import GEOLOC_HEADER, UL_HEADER

    qpv = load_qpv()
    metropole = qpv[qpv["insee_dep"].str.len() == 2].reset_index(drop=True)
    points = hard_points(metropole, n=16)
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(points["lon"],
                                                                      points["lat"])
    sirens = [f"{100000000 + i:09d}" for i in range(len(points))]
    geoloc = pd.DataFrame({c: "" for c in GEOLOC_HEADER}, index=points.index)
    geoloc["siret"] = [s + "00011" for s in sirens]
    geoloc["x"], geoloc["y"] = [repr(float(v)) for v in x], [repr(float(v)) for v in y]
    geoloc["epsg"] = "2154"
    geoloc.to_csv(tmp_path / "geoloc.csv", sep=";", index=False)
    units = pd.DataFrame({c: "" for c in UL_HEADER}, index=points.index)
    units["siren"], units["statutDiffusionUniteLegale"] = sirens, "O"
    units["etatAdministratifUniteLegale"] = "A"
    units["economieSocialeSolidaireUniteLegale"] = "O"
    units["categorieJuridiqueUniteLegale"] = "9220"
    with zipfile.ZipFile(tmp_path / "ul.zip", "w") as z:
        z.writestr("StockUniteLegale_utf8.csv", units.to_csv(index=False))
    # the study, on the very same Lambert-93 numbers
    pd.DataFrame({"id": points["id"], "x": geoloc["x"], "y": geoloc["y"]}).to_csv(
        tmp_path / "durs.csv", sep=";", index=False)
    from geo.vocabulary import Columns

    whole = run_study(Study(initiatives=tmp_path / "durs.csv",
                            columns=Columns(lon="x", lat="y", crs="EPSG:2154")))
    expected = whole.result.per_qpv.set_index("code_qp")["n_implanted"]
    assert (whole.result.sites["code_qp"].str.contains(";")).sum() >= 3
    engines = ["local"]
    try:
        import dask.distributed  # noqa: F401

        engines.append("dask")
    except ImportError:
        pass
    for engine in engines:
        out = tmp_path / engine
        out.mkdir()
        run = run_panorama(PanoramaStudy(
            geoloc=tmp_path / "geoloc.csv", units=tmp_path / "ul.zip", engine=engine,
            workers=1, chunk_rows=1000,
            outputs={"classeur": out / "p.xlsx", "par_quartier": out / "q.csv",
                     "carte": out / "c.html"}))
        counts = run.result.per_qpv.set_index("code_qp")["etablissements_ess_implantes"]
        both = counts.index.intersection(expected.index)
        # every quartier the study reports (those of its sites' départements) is counted
        assert len(both) == len(expected) > 0
        assert (counts[both] == expected[both]).all(), engine
        assert counts.sum() > len(points)  # the hard points count in two quartiers
        assert sorted(p.name for p in out.iterdir()) == ["c.html", "p.xlsx", "q.csv"]
        assert len(run.written) == 3


@pytest.mark.parametrize("kind", [".csv", ".zip"])
@pytest.mark.parametrize("bad", ["casse;;;", ";" * 30 + "=1+1 <script> {{ 7*7 }} ../" * 9])
def test_a_row_with_the_wrong_number_of_fields_is_named_by_its_line(tmp_path, capsys, kind,
                                                                     bad):
    """A real address export (BAL) with one row cut short or overfull, streamed as a CSV and
    zipped: the message names the file and the line, however long the row."""
    import zipfile

    lines = (Path(__file__).parent / "data" / "adresses-54084.csv").read_text(
        encoding="utf-8").splitlines(keepends=True)
    lines.insert(299, bad + "\n")
    name = tmp_path / f"bal{kind}"
    if kind == ".zip":
        with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("adresses.csv", "".join(lines))
    else:
        name.write_text("".join(lines), encoding="utf-8")
    code = cli.main(["link", str(name), "--flux", "-o", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    fields = len(bad.split(";"))
    assert code == 2, err
    assert f"fichier {name.name}, ligne 300 : {fields} champs au lieu des 19" in err, err
    assert "Traceback" not in err and "49" not in err
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("distance", [0.0, 300.0, 1000.0])
def test_the_grid_keeps_every_point_the_engine_could_link(distance):
    """The grid that spares the engine far points (geo.prefilter) keeps every point within
    the distance of a quartier, measured as the engine measures (in each territory's
    projection), in metropolitan France and overseas, as far north as Dunkirk; it drops
    points more than 8 km from every quartier."""
    import shapely
    from pyproj import Transformer

    from geo.prefilter import near_quartiers
    from geo.territories import TERRITORIES, territory_of_departement

    qpv = load_qpv()
    rng = np.random.default_rng(7)
    territory = qpv["insee_dep"].map(territory_of_departement)
    checked = 0
    for key, t in TERRITORIES.items():
        polys = qpv[territory == key]
        if polys.empty:
            continue
        metric = polys.to_crs(t.crs).geometry
        # points on each quartier's outline pushed out by the distance (a hair less)
        ring = shapely.segmentize(metric.boundary.to_numpy(), 50)
        xy = shapely.get_coordinates(ring)
        xy = xy[rng.choice(len(xy), min(len(xy), 4000), replace=False)]
        angle = rng.uniform(0, 2 * np.pi, len(xy))
        pushed = xy + 0.999 * distance * np.column_stack([np.cos(angle), np.sin(angle)])
        lon, lat = Transformer.from_crs(t.crs, 4326, always_xy=True).transform(*pushed.T)
        # the engine links those within the distance (the push may go inwards: inside)
        points = shapely.points(pushed)
        close = shapely.dwithin(points[:, None], metric.to_numpy()[None, :],
                                distance + 1e-6).any(axis=1)
        assert close.all()
        assert near_quartiers(lon, lat, qpv, distance).all(), key
        checked += len(xy)
    assert checked > 20_000
    # far from every quartier: the Landes forest, the countryside of Haute-Vienne and Loiret
    far_lon, far_lat = np.array([-0.75, 0.9, 2.6]), np.array([44.2, 46.0, 48.05])
    far = shapely.points(far_lon, far_lat)
    nearest = shapely.distance(far[:, None], qpv.geometry.to_numpy()[None, :]).min(axis=1)
    assert (nearest > 0.1).all()  # degrees: more than 8 km
    assert not near_quartiers(far_lon, far_lat, qpv, distance).any()
    assert not near_quartiers(np.array([np.nan]), np.array([45.0]), qpv, distance).any()


def test_cells_settle_only_points_the_engine_would_settle_the_same_way():
    """geo.prefilter.settle puts a point in a quartier by its cell only where the engine
    would put it in that single quartier: never on shared boundaries or in overlaps (the
    hard points, a quartier drawn twice); it says « in none » only of points the engine
    puts in none; points spread over the quartiers' boxes get the engine's answer."""
    import shapely

    from geo.link import link_points
    from geo.prefilter import OUTSIDE, UNDECIDED, settle

    qpv = load_qpv()
    hard = hard_points(qpv[qpv["insee_dep"].str.len() == 2].reset_index(drop=True), n=16)
    assert (settle(hard["lon"].to_numpy(), hard["lat"].to_numpy(), qpv) == UNDECIDED).all()
    # a quartier drawn twice, the copy moved 40 m east (0.0005°): the overlap is the engine's
    big = int(shapely.area(qpv.geometry.to_numpy()).argmax())
    twice = pd.concat([qpv, qpv.iloc[[big]]], ignore_index=True)
    twice.loc[len(qpv), "geometry"] = shapely.transform(twice.geometry.iloc[big],
                                                        lambda xy: xy + [0.0005, 0])
    overlap = shapely.intersection(twice.geometry.iloc[big], twice.geometry.iloc[-1])
    x0, y0, x1, y1 = overlap.bounds
    grid = np.random.default_rng(1).uniform([x0, y0], [x1, y1], (5000, 2))
    inner = grid[shapely.contains_xy(overlap, grid[:, 0], grid[:, 1])]
    assert len(inner) > 1000
    assert (settle(inner[:, 0], inner[:, 1], twice) == UNDECIDED).all()
    assert (settle(inner[:, 0], inner[:, 1], qpv) >= 0).any()
    # on the outlines (the engine puts a point on a boundary inside): never « in none »
    edge = shapely.get_coordinates(shapely.segmentize(qpv.geometry.boundary.to_numpy(), 1e-4))
    assert len(edge) > 100_000
    assert (settle(edge[:, 0], edge[:, 1], qpv) != OUTSIDE).all()
    rng = np.random.default_rng(3)
    b = shapely.bounds(qpv.geometry.to_numpy())
    pick = rng.integers(0, len(qpv), 40_000)
    lon = rng.uniform(b[pick, 0] - 0.002, b[pick, 2] + 0.002)
    lat = rng.uniform(b[pick, 1] - 0.002, b[pick, 3] + 0.002)
    verdict = settle(lon, lat, qpv)
    assert (verdict >= 0).sum() > 2_000 and (verdict == OUTSIDE).sum() > 5_000
    links = link_points(shapely.points(lon, lat), qpv, distance=0, nearest=False)
    pairs = links.implanted
    engine = np.full(len(lon), OUTSIDE)
    engine[pairs["site"].to_numpy()] = pairs["qpv"].to_numpy()
    several = pairs["site"][pairs["site"].duplicated()].to_numpy()
    engine[several] = UNDECIDED  # in several quartiers: never settled by a cell
    decided = verdict != UNDECIDED
    assert (verdict[decided] == engine[decided]).all()


def test_only_points_on_a_boundary_or_in_an_overlap_are_left_to_the_engine():
    """The points of a cell on a boundary are settled one by one: only those within a few
    metres of an outline (or in several quartiers) are left to the engine, never one in
    the middle of a boundary cell (110 m by 70 m)."""
    import shapely

    from geo.prefilter import UNDECIDED, settle

    qpv = load_qpv()
    rng = np.random.default_rng(5)
    polys = qpv.geometry.to_numpy()
    b = shapely.bounds(polys)
    pick = rng.integers(0, len(qpv), 40_000)
    lon = rng.uniform(b[pick, 0] - 0.002, b[pick, 2] + 0.002)
    lat = rng.uniform(b[pick, 1] - 0.002, b[pick, 3] + 0.002)
    left = np.flatnonzero(settle(lon, lat, qpv) == UNDECIDED)
    points = shapely.points(lon[left], lat[left])
    tree = shapely.STRtree(polys)
    within = tree.query(points, predicate="intersects")
    several = np.bincount(within[0], minlength=len(left)) > 1
    # 6e-5° is under 7 m anywhere in France
    edge = shapely.STRtree(shapely.boundary(polys)).query(points, predicate="dwithin",
                                                          distance=6e-5)
    close = np.zeros(len(left), dtype=bool)
    close[edge[0]] = True
    assert (close | several).all() and len(left) < 1000


def test_a_chunk_is_placed_the_same_with_or_without_the_cells(monkeypatch):
    """The panorama's placing of a big chunk (cells settle most points, the engine the
    rest, nearby quartiers for some rows only) gives the pairs the engine alone gives, in
    its order: on shared boundaries, in overlaps and around the quartiers."""
    import shapely

    from geo import stream

    qpv = load_qpv().copy()  # its own grids
    rng = np.random.default_rng(5)
    b = shapely.bounds(qpv.geometry.to_numpy())
    pick = rng.integers(0, len(qpv), 30_000)
    hard = hard_points(qpv[qpv["insee_dep"].str.len() == 2].reset_index(drop=True), n=16)
    lon = np.r_[rng.uniform(b[pick, 0] - 0.01, b[pick, 2] + 0.01), hard["lon"], np.nan]
    lat = np.r_[rng.uniform(b[pick, 1] - 0.01, b[pick, 3] + 0.01), hard["lat"], 45.0]
    near = rng.random(len(lon)) < 0.2
    monkeypatch.setattr(stream, "SETTLE_FROM", 10**9)
    alone = stream.place(lon, lat, qpv, 300.0, False, near)
    monkeypatch.setattr(stream, "SETTLE_FROM", 0)
    cells = stream.place(lon, lat, qpv, 300.0, False, near)
    from geo.prefilter import settled_ready

    assert settled_ready(qpv)
    for name in ("implanted", "inside_rows", "inside_qpv", "near_rows", "near_qpv"):
        assert np.array_equal(getattr(alone, name), getattr(cells, name)), name
    assert len(np.unique(alone.inside_rows)) < len(alone.inside_rows)  # in two quartiers
    assert len(alone.inside_rows) > 2_000 and len(alone.near_rows) > 500


def test_nearby_pairs_alone_are_those_of_the_engine():
    """The panorama asks only for the nearby pairs of its ESS establishments, each pair
    measured once: the same pairs, distances and order as link_points gives, in every
    territory, for points inside, in the band, beyond it and not located."""
    import shapely

    from geo.link import link_points, nearby_points

    qpv = load_qpv()
    points = synthetic_sites(qpv, 4000, seed=11)
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    lon[::97], lat[::97] = np.nan, np.nan
    for distance in (300.0, 1000.0):
        engine = link_points(shapely.points(lon, lat), qpv, distance=distance).nearby
        alone = nearby_points(lon, lat, qpv, distance=distance)
        assert len(engine) > 300
        pd.testing.assert_frame_equal(alone, engine)
        assert (alone["distance_m"] > 0).all() and (alone["distance_m"] <= distance).all()


def test_a_reader_left_open_says_nothing_at_exit(tmp_path):
    """A chunk reader left open (a notebook that took the first chunk only) is closed at
    the interpreter's exit, silently: no « Exception ignored … ImportError » under the
    output, whatever the format."""
    import os
    import subprocess
    import sys
    import zipfile

    from tests.servers import TEST_DATA

    source = TEST_DATA / "annuaire_national.csv"
    ROOT = Path(__file__).resolve().parents[1]  # noqa: N806 - the checkout, to import geo
    with zipfile.ZipFile(tmp_path / "annuaire.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(source, "annuaire.csv")
    pd.read_csv(source, sep=";", dtype=str).to_parquet(tmp_path / "annuaire.parquet")
    for path in (source, tmp_path / "annuaire.zip", tmp_path / "annuaire.parquet"):
        code = ("import sys\nfrom geo.stream import read_chunks, read_tables\n"
                f"kept = [read_chunks({str(path)!r}, chunk_rows=5), "
                f"read_tables({str(path)!r}, chunk_rows=5)]\n"
                "for reader in kept:\n    next(reader)\n"
                "sys.modules['kept'] = kept  # alive until the interpreter's exit\n")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=tmp_path, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr
        assert done.stderr == "", (path.name, done.stderr)
