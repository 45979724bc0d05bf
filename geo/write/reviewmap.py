"""The review's small maps without the network: where each doubtful site is shown, and the
bundled outlines around it (départements, communes holding a quartier, quartiers), clipped
to the surroundings so that a page carries a few kilobytes, not the 13 MB of France.

A site is shown at its point (the one a person placed, else the one proposed); without one,
at the commune or the département its typed address names (« … 69200 Vénissieux »).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from ..outlines import communes, departements
from ..placecheck import address_area

#: Half the side (degrees) of the area served around a point: about 5 km, ten times what
#: the small map shows at its first zoom.
AROUND_POINT = 0.05
#: Margin (degrees) around the outline of the commune or département an address names.
AROUND_AREA = 0.02
#: Coordinates are sent with this many decimals (about 10 cm).
DECIMALS = 6
#: Layers of the background, drawn in this order (the last on top); ``adresse`` is the
#: outline of the place the typed address names, so that a point elsewhere shows it.
LAYERS = ("departement", "commune", "quartier", "adresse")
#: France's mainland, the view when an address names no place.
MAINLAND = (-5.2, 41.3, 9.6, 51.1)
#: Over an area wider than this (degrees), only départements are drawn: the communes and
#: quartiers of a whole country would not read in a small map and would weigh a megabyte.
DETAIL_UP_TO = 3.0
_POSTCODE_AND_CITY = re.compile(r"\b(?P<post>\d{5})\b\s*(?P<city>[^\d,;]*)")


@dataclass(frozen=True)
class View:
    """What one small map shows.

    ``point``: (lat, lon) of the site, or ``None``; ``bounds``: ((south, west), (north,
    east)) to frame when there is no point; ``areas``: the boxes (min lon, min lat, max lon,
    max lat) whose outlines are served; ``named``: the outline of the commune (or else the
    département) the typed address names, if any.
    """

    point: tuple[float, float] | None
    bounds: tuple[tuple[float, float], tuple[float, float]]
    areas: tuple[tuple[float, float, float, float], ...]
    named: shapely.Geometry | None = None


def number(text: object) -> float | None:
    """A coordinate as written in a review or corrections file (« 45,7 » or « 45.7 »)."""
    try:
        value = float(str(text).strip().replace(",", "."))
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def view_of(row: dict) -> View:
    """The view of one review row (``latitude``/``longitude`` decided by a person, else
    ``latitude_proposee``/``longitude_proposee``, and ``adresse_saisie``)."""
    point = None
    for lat_key, lon_key in (("latitude", "longitude"),
                             ("latitude_proposee", "longitude_proposee")):
        lat, lon = number(row.get(lat_key, "")), number(row.get(lon_key, ""))
        if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
            point = (lat, lon)
            break
    areas = []
    if point is not None:
        lat, lon = point
        areas.append((lon - AROUND_POINT, lat - AROUND_POINT, lon + AROUND_POINT,
                      lat + AROUND_POINT))
    named = _named_area(str(row.get("adresse_saisie", "")))
    if named is not None:
        x0, y0, x1, y1 = shapely.bounds(named).tolist()
        areas.append((x0 - AROUND_AREA, y0 - AROUND_AREA, x1 + AROUND_AREA, y1 + AROUND_AREA))
    frame = areas[-1] if areas else MAINLAND
    if not areas:
        areas.append(MAINLAND)
    return View(point, ((frame[1], frame[0]), (frame[3], frame[2])), tuple(areas), named)


def _named_area(address: str) -> shapely.Geometry | None:
    """The outline of the commune (where it is bundled) or else the département that the
    postcode and commune ending a typed address name."""
    found = list(_POSTCODE_AND_CITY.finditer(address))  # the last: a house number comes first
    if not found:
        return None
    city = re.sub(r"\s+cedex\s*$", "", found[-1].group("city").strip(), flags=re.IGNORECASE)
    return address_area(postcode=found[-1].group("post"), city=city)


def background(view: View, quartiers: gpd.GeoDataFrame) -> dict:
    """The outlines within the view's areas as a GeoJSON FeatureCollection (EPSG:4326);
    each feature's ``couche`` is one of :data:`LAYERS`, with its ``code`` and ``nom``.

    ``quartiers``: the study's QPV (``code_qp``, ``nom_qp``)."""
    boxes = [shapely.box(*area) for area in view.areas]
    whole = shapely.union_all(boxes)
    # simplified for the widest area drawn: invisible at the scale of the small map
    widest = max(max(a[2] - a[0], a[3] - a[1]) for a in view.areas)
    tolerance = widest / 1000
    frames = (("departement", departements(), "code", "nom"),
              ("commune", communes(), "code", "nom"),
              ("quartier", quartiers, "code_qp", "nom_qp"))
    if widest > DETAIL_UP_TO:
        frames = frames[:1]
    if view.named is not None:
        named = gpd.GeoDataFrame({"code": [""], "nom": ["lieu de l'adresse"]},
                                 geometry=[shapely.boundary(view.named)], crs=4326)
        frames += (("adresse", named, "code", "nom"),)
    features = []
    for layer, frame, code, name in frames:
        near = frame.iloc[frame.sindex.query(whole, predicate="intersects")]
        for geometry, c, n in zip(near.geometry.values, near[code], near[name], strict=True):
            if layer == "quartier":  # whole (small): a filled cut would draw the cut
                part = geometry
            else:  # lines only, cut to the areas: no false border along a cut
                line = shapely.boundary(geometry) if layer != "adresse" else geometry
                part = shapely.union_all([shapely.clip_by_rect(line, *a) for a in view.areas])
            part = shapely.simplify(part, tolerance, preserve_topology=True)
            if part.is_empty:
                continue
            part = shapely.set_precision(part, 10 ** -DECIMALS)
            if part.is_empty:
                continue
            features.append({"type": "Feature",
                             "properties": {"couche": layer, "code": str(c),
                                            "nom": "" if pd.isna(n) else str(n)},
                             "geometry": shapely.geometry.mapping(part)})
    return {"type": "FeatureCollection", "features": features}
