"""Names placed where they fit (geo/write/printlabels.py): a point's name slid along above
its point to stay inside a small map, an area's name moved to another spot of its area, a
name set smaller rather than dropped."""

from __future__ import annotations

import matplotlib
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from geo.write.printlabels import Label, area_spots, place


def _axes(width_in: float = 1.0):
    fig = Figure(figsize=(width_in, width_in), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1), xlim=(0, 100), ylim=(0, 100))
    return fig, ax


def test_a_name_wider_than_half_its_map_is_slid_inside_it():
    """A point at three tenths of a small map, a name of nearly its width: no classic
    position holds it (right or left of the point, or centred above it), slid along above
    the point it stays inside the map."""
    with matplotlib.rc_context({"font.family": "DejaVu Sans"}):
        fig, ax = _axes()
        label = Label(1, "Fort-de-France", 30, 50, {"fontsize": 6.5, "fontweight": "bold"})
        done = place(ax, [label])
        assert done.placed == ["Fort-de-France"]
        box = done.boxes[0]
        inside = ax.get_window_extent()
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1
        point = ax.transData.transform((30, 50))
        assert box.x0 < point[0] < box.x1  # over or under its point, not beside it


def test_an_area_name_moves_to_a_free_spot_of_its_area():
    """An area whose own spot is taken (a symbol there) gets its name centred at another
    point inside it, without a leader; a name with nowhere to go is still dropped."""
    fig, ax = _axes(3.0)
    area = shapely.box(0, 10, 100, 40)
    middle = area.centroid
    taken = Bbox.from_extents(*ax.transData.transform((42, 15)),
                              *ax.transData.transform((58, 35)))
    spots = area_spots(area, middle.x, middle.y)
    assert spots and all(area.contains(shapely.Point(p)) for p in spots)
    label = Label(1, "MEURTHE-ET-MOSELLE", middle.x, middle.y, {"fontsize": 6},
                  leader=False, centred=True, spots=spots)
    done = place(ax, [label], obstacles=[taken])
    assert done.placed == ["MEURTHE-ET-MOSELLE"]
    centre = ax.transData.inverted().transform(done.boxes[0].get_points().mean(axis=0))
    assert area.contains(shapely.Point(centre))
    assert not ax.lines  # no leader
    dropped = place(ax, [Label(1, "MOSELLE", middle.x, middle.y, {"fontsize": 6},
                               leader=False, centred=True)], obstacles=[taken])
    assert dropped.dropped == ["MOSELLE"]


def test_a_name_is_set_smaller_rather_than_dropped():
    """A name that fits nowhere at its size, but at a smaller one allowed, is set at the
    largest size that fits; without ``smaller`` it is dropped."""
    fig, ax = _axes()
    name = "Saint-Laurent-du-Maroni"
    assert place(ax, [Label(1, name, 50, 50, {"fontsize": 7})]).dropped == [name]
    fig, ax = _axes()
    done = place(ax, [Label(1, name, 50, 50, {"fontsize": 7}, smaller=4.5)])
    assert done.placed == [name]
    sizes = {t.get_fontsize() for t in ax.texts}
    assert sizes and max(sizes) < 7 and min(sizes) >= 4.5
