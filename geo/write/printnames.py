"""The names a print map may show, by priority: cities, places that hold sites, quartiers,
départements (placed once the page is laid out, :mod:`geo.write.printlabels`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ..typography import place_name
from .drawing import font_pt
from .printlayers import CURRENT, plain_text, qpv_style
from .printoutlines import from_degrees

#: An overseas inset names this many of its largest cities.
_INSET_CITIES = 3


def inset_cities(labels: list, size) -> list:
    """The names of an overseas inset: its main cities only (no quartier, no commune for
    its sites), small enough to fit its square."""
    from dataclasses import replace

    return [replace(label, style={**label.style, "fontsize": font_pt(size, 6.5)}, smaller=5.5)
            for label in labels
            if label.over_symbols and label.priority > CITY - _INSET_CITIES]


#: A wide map names at most this many communes for their sites (besides the cities).
_WIDE_PLACES = 12
#: Priority of the largest city of a map (the next ones a step lower each): above every
#: other name, placed over the symbols.
CITY = 10_000
#: Width of a map (kilometres) under which its villages are named, from 500 inhabitants
#: (a local study: the commune of its sites), and under which its towns are, from 5 000
#: (a département); wider, its cities from 15 000 (a region, the country).
_LOCAL_KM, _DEPARTEMENT_KM = 15, 300


def _smallest_city(box) -> int:
    """The population from which a map of ``box`` (EPSG:4326) names a city."""
    km = (box[2] - box[0]) * 111.3 * np.cos(np.radians((box[1] + box[3]) / 2))
    return 500 if km < _LOCAL_KM else 5000 if km < _DEPARTEMENT_KM else 15000



def city_names(box, crs: str, wide: bool, size, focus=None) -> list:
    """The names of the largest cities in ``box`` (EPSG:4326; in ``focus`` when given: an
    atlas page or a département's print names its own territory's cities), the most
    populous first: a wide map names the country's main cities, a département's map its
    main towns (from 5 000 inhabitants), a local map its villages (from 500)."""
    from ..cities import largest_cities
    from .printlabels import Label

    n = int((14 if wide else 10) * max(1.0, min(size) / 210))
    found = largest_cities(box, n, within=focus,
                           min_population=_smallest_city(box))
    if not len(found):
        return []
    x, y = from_degrees(crs).transform(
        found.geometry.x.to_numpy(), found.geometry.y.to_numpy())
    style = {"fontsize": font_pt(size, 8 if wide else 8.5), "fontweight": "bold",
             "color": "#1a1a1a"}
    return [Label(CITY - k, plain_text(name), px, py, style, over_symbols=True)
            for k, (name, px, py) in enumerate(zip(found["nom"], x, y, strict=True))]


#: Priority of the name of a commune that holds sites (plus their number): above the
#: other communes and the départements, below the quartiers and the sites' numbers.
_PLACE_WITH_SITES = 1000


def places_with_sites(labels: list) -> list:
    """Only the names of the communes that hold sites and of the five largest cities
    (small or repeated maps)."""
    return [label for label in labels if label.priority >= _PLACE_WITH_SITES
            and (not label.over_symbols or label.priority > CITY - 5)]


def map_names(layers, sites, sites_m, qpv, deps, coms, wide, size) -> list:
    """The names a map may show, by priority: on a close map, the quartiers that hold or
    neighbour sites, then the communes that hold sites, then the other communes; on a wide
    map, the communes that hold the most sites (the main cities), then the départements.
    ``sites_m``, ``qpv``, ``deps`` and ``coms`` are in the map's CRS (:func:`background`)."""
    from .printlabels import Label, area_spots

    out = []
    commune, departement = layers.places(sites)
    held = pd.Series(commune).value_counts() if len(sites) else pd.Series()
    held = held[held.index != ""]
    if wide:  # a wide map names the communes holding the most sites, not every one
        held = held.nlargest(_WIDE_PLACES, keep="first")
    held = held.to_dict()  # read once per commune of the frame: a dictionary, not a Series
    city = {"fontsize": font_pt(size, 7 if wide else 7.5), "color": "#1a1a1a"}
    bold, other = {**city, "fontweight": "bold"}, {**city, "color": "#555",
                                                   "fontsize": font_pt(size, 6.5)}
    for code, nom, lx, ly in zip(*(coms[c].to_numpy() for c in
                                   ("code", "nom", "label_x", "label_y")), strict=True):
        n = int(held.get(code, 0))
        if wide and not n:
            continue
        out.append(Label(_PLACE_WITH_SITES + n if n else 10, plain_text(nom), lx, ly,
                         bold if n else other, leader=bool(n)))
    if wide:
        holding = pd.Series(departement).value_counts().to_dict() if len(sites) else {}
        for code, nom, lx, ly, shape in zip(*(deps[c].to_numpy() for c in (
                "code", "nom", "label_x", "label_y", "geometry")), strict=True):
            n = int(holding.get(code, 0))
            # of equal rank, the smallest area first: it has the least room for its name
            small = 0.5 / (1 + shape.area / 1e9)
            out.append(Label((100 + n if n else 1) + small, plain_text(nom.upper()), lx, ly,
                             {"fontsize": font_pt(size, 5.8), "color": "#555"},
                             leader=False, centred=True, smaller=5.0,
                             spots=area_spots(shape, lx, ly)))
    metric = sites_m.geometry
    if layers.numbers is not None and len(sites):
        sx, sy = metric.x, metric.y
        for i, number in layers.numbers.reindex(sites.index).dropna().items():
            out.append(Label(5000, str(number), sx[i], sy[i],
                             {"fontsize": font_pt(size, 8.5), "fontweight": "bold"}, gap=5))
    if not wide and len(qpv):
        related = layers.emphasis or {}
        close = shapely.distance(np.asarray(qpv.geometry.values),
                                 shapely.union_all(metric.values)) < 400 \
            if len(sites) else np.zeros(len(qpv), dtype=bool)
        named = qpv[close | qpv["code_qp"].isin(list(related)).to_numpy()]
        for row in named.itertuples():  # at the point found inside its whole shape
            style = {"fontsize": font_pt(size, 6.5), "color": qpv_style(CURRENT)["edgecolor"],
                     "fontstyle": "italic"}
            if row.code_qp in related:  # the page's own quartiers: first, and darker
                style.update(fontsize=font_pt(size, 7.5), color="#1a1a1a", fontweight="bold")
            out.append(Label(3000 if row.code_qp in related else 2000,
                             plain_text(place_name(row.nom_qp)), row.spot_x, row.spot_y,
                             style))
    return out
