"""France's grid (:mod:`geo.landgrid`) answers as France's outline does, point for point:
around every territory, on the coasts and borders, on the outline itself and on the
cells' edges."""

from __future__ import annotations

import numpy as np
import shapely

from geo import landgrid
from geo.outlines import land_outline


def test_the_grid_answers_as_the_outline_does():
    land = land_outline()
    rng = np.random.default_rng(7)
    lon, lat = [], []
    for west, south, east, north in shapely.bounds(shapely.get_parts(land)):
        # each part's box and a degree around it
        lon.append(rng.uniform(west - 1, east + 1, 20_000))
        lat.append(rng.uniform(south - 1, north + 1, 20_000))
    # the outline's own vertices (on it: not contained), and points a hair away
    vertices = shapely.get_coordinates(shapely.boundary(land))[::7]
    for dx in (0.0, 1e-7, -1e-7):
        lon.append(vertices[:, 0] + dx)
        lat.append(vertices[:, 1] - dx)
    # points on the cells' edges and corners, where rounding picks the cell
    edges = rng.integers(0, 400, 20_000)
    lon.append(-5 + edges * landgrid.CELL)
    lat.append(np.r_[rng.uniform(42, 51, 10_000), 42 + edges[:10_000] * landgrid.CELL])
    lon.append(np.array([np.nan, 2.35, 500.0, -500.0]))
    lat.append(np.array([48.85, np.nan, 48.85, 95.0]))
    lon, lat = np.concatenate(lon), np.concatenate(lat)
    expected = np.zeros(len(lon), dtype=bool)
    known = np.isfinite(lon) & np.isfinite(lat)
    expected[known] = shapely.contains_xy(land, lon[known], lat[known])
    got = landgrid.in_france(lon, lat)
    assert expected.any() and not expected.all()
    assert np.array_equal(got, expected), np.flatnonzero(got != expected)[:10]
    # most points are settled by their cell, not by the outline
    first, table = landgrid.grid()
    assert (table == landgrid._EDGE).sum() < 0.05 * (table != landgrid._OUT).sum()
