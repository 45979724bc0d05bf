"""The départements and communes a print map draws, projected once per CRS and cut and
simplified to each frame (IGN ADMIN EXPRESS)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import shapely

from .drawing import Projected, cut


@lru_cache(maxsize=8)
def from_degrees(crs: str):
    """The transformation from EPSG:4326 to ``crs`` (x, y order), made once."""
    from pyproj import Transformer

    return Transformer.from_crs(4326, crs, always_xy=True)


@lru_cache(maxsize=8)
def projected_outlines(crs: str) -> tuple[Projected, Projected]:
    """The départements and communes for the maps drawn in ``crs``: each shape projected
    once, for every page that shows it (an atlas's hundred pages share their borders)."""
    from ..outlines import communes, departements

    return (Projected(departements().geometry.values, crs),
            Projected(communes().geometry.values, crs))


@lru_cache(maxsize=16)
def background(box: tuple[float, float, float, float], crs: str, tolerance: float = 0.0
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The départements and communes around ``box`` (EPSG:4326) drawn in ``crs``: tables of
    ``code``, ``nom``, their name's spot (``label_x``, ``label_y``) and their shapes
    (``geometry``; a GeoDataFrame's checks cost more than a page draws from it), cut to the
    frame and simplified to ``tolerance`` metres (what the page cannot show: a page's file
    holds no outline beyond its frame nor finer than its print); shared by the maps of the
    same frame, never modified."""
    from ..outlines import communes, departements

    x, y = from_degrees(crs).transform(np.array([box[0], box[2], box[2], box[0]]),
                                       np.array([box[1], box[1], box[3], box[3]]))
    grow = (x.max() - x.min()) * 0.05
    frame_m = (x.min() - grow, y.min() - grow, x.max() + grow, y.max() + grow)
    near = shapely.box(box[0] - 0.05, box[1] - 0.05, box[2] + 0.05, box[3] + 0.05)
    out = []
    for layer, projected in zip((departements(), communes()), projected_outlines(crs), strict=True):
        rows = np.sort(layer.sindex.query(near, predicate="intersects"))
        shapes, spots = projected.take(rows, tolerance)
        shapes, keep = cut(shapes, frame_m, 0.0)
        out.append(pd.DataFrame({"code": layer["code"].to_numpy()[rows][keep],
                                 "nom": layer["nom"].to_numpy()[rows][keep],
                                 "label_x": spots[keep, 0], "label_y": spots[keep, 1],
                                 "geometry": shapes}))
    return out[0], out[1]
