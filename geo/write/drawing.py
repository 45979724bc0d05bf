"""Drawing helpers shared by the print, the atlas and the fiches (no knowledge of a study)."""

from __future__ import annotations

import numpy as np
import shapely
from matplotlib.path import Path


def compound_path(geoms: np.ndarray) -> Path | None:
    """One matplotlib path of every polygon in ``geoms`` (rings oriented so that holes stay
    holes under the non-zero rule); ``None`` when there is none."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]
    if not len(parts):
        return None
    rings = shapely.get_rings(shapely.orient_polygons(parts))
    coords, index = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(index, minlength=len(rings))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[counts > 0]
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    codes[starts] = Path.MOVETO
    codes[starts + counts[counts > 0] - 1] = Path.CLOSEPOLY
    return Path(coords, codes)


def shaped(extent: tuple, w: float, h: float) -> tuple:
    """``extent`` widened to the shape of a ``w`` × ``h`` box (nothing cut, no blank band
    on the page)."""
    x0, y0, x1, y1 = extent
    ew, eh = x1 - x0, y1 - y0
    if ew / eh < w / h:
        grow = (eh * w / h - ew) / 2
        return x0 - grow, y0, x1 + grow, y1
    grow = (ew * h / w - eh) / 2
    return x0, y0 - grow, x1, y1 + grow
