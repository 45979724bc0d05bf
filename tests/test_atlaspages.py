"""The atlas's drawing core: outlines simplified once per scale without losing a small
commune, paths written to the PDF as reportlab would write them."""

from __future__ import annotations

import numpy as np
import shapely

from geo.write.drawing import Projected


def test_a_commune_smaller_than_the_tolerance_keeps_its_shape():
    """Simplified for a national page (a kilometre), a commune of a few hundred metres would
    vanish, and with it its name and its count: it stays whole; a large one is
    simplified, and the same array is given again for the next page of that scale."""
    small = shapely.box(2.35, 48.85, 2.352, 48.852)  # about 150 m × 220 m
    large = shapely.Point(2.0, 47.0).buffer(0.5, quad_segs=64)
    shapes = Projected(np.array([small, large], dtype=object), "EPSG:2154")
    simple, spots = shapes.take(np.array([0, 1]), 1000.0)
    assert not shapely.is_empty(simple[0])
    assert shapely.equals(simple[0], shapes.take(np.array([0]))[0][0])
    assert shapely.get_num_coordinates(simple[1]) < shapely.get_num_coordinates(
        shapes.take(np.array([1]))[0][0])
    assert shapes.take(np.array([1]), 1000.0)[0][0] is simple[1]
    assert np.isfinite(spots).all()


def test_a_path_is_written_with_the_pdf_operators_reportlab_writes():
    """The atlas's renderer writes a path's moves, lines, curves and closings at once:
    the same operators, in order, as reportlab's own call per point."""
    from geo.write.vectorpage import dots, pdf_path_code, polygons_path

    square = polygons_path(np.array([shapely.box(0, 0, 10, 10)], dtype=object),
                           lambda x, y: (x, y), fillColor=None)
    code = pdf_path_code(square)
    assert code.split()[-1] == "h" and code.split().count("l") == 4
    assert code.startswith("0.0 0.0 m") or code.startswith("10.0 0.0 m")
    circles = pdf_path_code(dots([5.0, 20.0], [5.0, 5.0], 1.5))
    assert circles.split().count("c") == 8 and circles.split().count("m") == 2
    assert "6.5 5.0 m" in circles  # each circle starts on its right
