"""Rows settled in their own projection (:mod:`geo.sourcecells`) say what the engine says:
points inside, around and far from real quartiers, some within centimetres of a boundary
or of the distance, each in INSEE's projection for its territory; and the panorama counts
the same with the cells as without."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geo import sourcecells
from geo.link import link_points
from geo.outlines import in_france
from geo.qpv import load_qpv
from geo.sirene import panorama
from tests.sirene_files import anchors, places, write_samples


@pytest.fixture(scope="module")
def qpv():
    return load_qpv()


@pytest.fixture(scope="module")
def grids(qpv):
    return sourcecells.prepare(qpv, 300.0)


def _points(qpv, rng) -> pd.DataFrame:
    """Points as the tests' files place them, and others at a few centimetres or metres
    from a quartier's boundary or from 300 m of it, outward from a vertex."""
    p = places(qpv, 20_000, rng)
    a = anchors(qpv)
    pick = rng.integers(0, len(a["code"]), 6000)
    # beyond a vertex, outward: at the boundary, and around the margin and the distance
    offset = rng.choice([0.01, 1.0, 1.99, 2.01, 3.0, 297.9, 298.1, 299.99, 300.01, 302.1],
                        len(pick))
    xy = a["vertex"][pick] + a["away"][pick] * offset[:, None]
    edge = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "epsg": a["epsg"][pick]})
    # and sweeps over Paris and its suburbs, and over Brittany's coasts and the sea, in
    # Lambert-93
    sweep = pd.DataFrame({"x": np.r_[rng.uniform(640_000, 660_000, 6000),
                                     rng.uniform(60_000, 300_000, 6000)],
                          "y": np.r_[rng.uniform(6_855_000, 6_875_000, 6000),
                                     rng.uniform(6_700_000, 6_900_000, 6000)],
                          "epsg": 2154})
    return pd.concat([p[["x", "y", "epsg"]], edge, sweep], ignore_index=True)


def test_settled_rows_get_the_engines_answer(qpv, grids):
    points = _points(qpv, np.random.default_rng(7))
    x, y = points["x"].to_numpy(), points["y"].to_numpy()
    epsg = points["epsg"].to_numpy().astype(np.int64)
    near = np.arange(len(x)) % 2 == 0  # half the rows ask for their nearby quartiers
    state, quartier, near_rows, near_qpv = sourcecells.settle(x, y, epsg, near, grids)
    lon, lat = np.full(len(x), np.nan), np.full(len(x), np.nan)
    for code in np.unique(epsg):
        at = epsg == code
        lon[at], lat[at] = Transformer.from_crs(int(code), 4326, always_xy=True).transform(
            x[at], y[at])
    links = link_points(shapely.points(lon, lat), qpv, distance=300.0, nearest=False)
    inside = links.implanted
    settled = np.flatnonzero(state != sourcecells.UNDECIDED)
    # most rows are settled: the test is about them
    assert len(settled) > 0.6 * len(x)
    for kind in (sourcecells.ABROAD, sourcecells.FAR, sourcecells.INSIDE):
        assert (state == kind).sum() > 500
    assert len(near_rows) > 500
    # abroad as France's outline says; located otherwise
    france = in_france(lon, lat)
    assert not france[state == sourcecells.ABROAD].any()
    assert france[(state == sourcecells.FAR) | (state == sourcecells.INSIDE)].all()
    # the quartiers each settled row is in
    engine_inside = {(s, q) for s, q in inside[["site", "qpv"]].itertuples(index=False)
                     if state[s] != sourcecells.UNDECIDED}
    ours = {(s, quartier[s]) for s in np.flatnonzero(state == sourcecells.INSIDE)}
    assert engine_inside == ours
    # and the quartiers near the rows that asked for them
    nearby = links.nearby
    engine_near = {(s, q) for s, q in nearby[["site", "qpv"]].itertuples(index=False)
                   if state[s] != sourcecells.UNDECIDED and near[s]}
    assert engine_near == set(zip(near_rows.tolist(), near_qpv.tolist(), strict=True))
    # the boundary's own points, and those at 300 m give or take centimetres, are left
    # to the engine
    edge = slice(20_000, 26_000)
    assert (state[edge] == sourcecells.UNDECIDED).mean() > 0.5


def test_the_panorama_counts_the_same_with_the_cells(qpv, tmp_path):
    files = write_samples(tmp_path, qpv, n=3000, seed=11)
    sourcecells._GRIDS.clear()
    without = panorama(files["geoloc"], files["units"], qpv, workers=1, chunk_rows=700)
    sourcecells.prepare(qpv, 300.0)
    with_cells = panorama(files["geoloc"], files["units"], qpv, workers=1, chunk_rows=700)
    for name in ("per_qpv", "per_territory", "agreement", "disagreements"):
        pd.testing.assert_frame_equal(getattr(without, name), getattr(with_cells, name))
    assert without.counts == with_cells.counts
    assert with_cells.per_qpv["etablissements_ess_proximite"].sum() > 50
    # the cells settled most rows of the file
    geo = pd.read_csv(files["geoloc"], sep=";", dtype=str, keep_default_na=False)
    given = ~geo["x"].isin(["", "[ND]"])
    state, *_ = sourcecells.settle(
        geo["x"].where(given, "nan").astype(float).to_numpy(),
        geo["y"].where(given, "nan").astype(float).to_numpy(),
        geo["epsg"].astype(np.int64).to_numpy(), np.ones(len(geo), dtype=bool),
        sourcecells.ready(qpv, 300.0))
    assert (state != sourcecells.UNDECIDED).sum() > 0.5 * given.sum()
