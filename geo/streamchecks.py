"""The whole table's safeguards, applied to one chunk of a table read piece by piece.

A streamed study (:func:`geo.stream.stream_link`) must not state what a whole-table study
would refuse to: a cell that is no number, a point outside France (swapped, a lost minus
sign), typed coordinates that contradict the row's own postcode, INSEE code or commune
(:mod:`geo.placecheck`), or that an earlier geocoder doubted. Each such row is not located,
and its cause is written in its remark (``note_localisation``), in the words of
:func:`geo.initiatives.initiatives_from_table`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .vocabulary import Detection, GeocodeStatus, normal_name

#: The columns of the national address service's answer that an earlier geocoding leaves.
_EARLIER = ("result_score", "result_type", "result_citycode", "result_postcode",
            "result_label", "result_score_next")
#: The address roles a point is checked against.
_ADDRESS_ROLES = ("postcode", "citycode", "city")


@dataclass
class Checked:
    """A chunk's points as a study uses them, and why the others are not used."""

    #: Longitude and latitude (degrees, EPSG:4326); NaN where the point is not used.
    lon: np.ndarray
    lat: np.ndarray
    #: Each row's remark (``""`` for none), as the whole-table path writes it.
    notes: np.ndarray
    #: Rows whose typed point contradicts their address or an earlier geocoder doubted.
    set_aside: int = 0
    #: Rows whose point lies outside France and its overseas (swapped, a lost sign…).
    abroad: int = 0
    #: Rows whose coordinates are missing or no number.
    unreadable: int = 0


def check_columns(detection: Detection, columns: list[str]) -> list[str]:
    """The columns of a table that :func:`check_chunk` reads (coordinates, the address,
    an earlier geocoder's answer, our geocoding status), in the table's order."""
    found = detection.columns
    wanted = {found.lon, found.lat, *(found.address or [])[:1],
              *(detection.found.get(role) for role in _ADDRESS_ROLES), "geocode_status"}
    wanted |= {c for c in columns if normal_name(str(c)) in _EARLIER}
    return [c for c in columns if c in wanted]


def check_chunk(lon: np.ndarray, lat: np.ndarray, cells: pd.DataFrame,
                detection: Detection, *, first_row: int = 2, as_typed: bool = False
                ) -> Checked:
    """Judge one chunk's points as a whole-table study does.

    Parameters
    ----------
    lon, lat
        The chunk's points in degrees (EPSG:4326), NaN where unreadable or missing.
    cells
        The chunk's text cells: at least the columns :func:`check_columns` names.
    detection
        The columns found in the table (:func:`geo.columns.detect_columns`).
    first_row
        The line number of the chunk's first row in the file.
    as_typed
        Whether the coordinate cells are the points' degrees as typed (no projection):
        they are then read again as the whole table reads them, not written out.
    """
    from .initiatives import typed_point_doubts
    from .outlines import in_france

    found = detection.columns
    n = len(lon)
    lon, lat = np.array(lon, dtype=float), np.array(lat, dtype=float)
    notes = np.full(n, "", dtype=object)
    missing = ~(np.isfinite(lon) & np.isfinite(lat))
    if missing.any():
        notes[missing] = _unreadable(cells[found.lon][missing], cells[found.lat][missing])
    rows = np.flatnonzero(~missing)
    if "geocode_status" in cells:  # placed by our geocoder or a person: nothing to doubt
        status = cells["geocode_status"].astype(str).str.strip().to_numpy()
        typed = ~np.isin(status, [GeocodeStatus.OK.value, GeocodeStatus.CORRECTED.value])
        rows = np.flatnonzero(~missing & (typed | ~in_france(lon, lat)))
    # the cells as typed when they are the degrees, else the degrees they give
    degrees = cells if as_typed else cells.assign(**{found.lon: lon, found.lat: lat})
    plain = dataclasses.replace(detection, columns=dataclasses.replace(found, crs=None))
    doubts = typed_point_doubts(degrees, plain, rows=rows, first_row=first_row) \
        if len(rows) else {}
    set_aside = 0
    for i, (message, point) in doubts.items():
        notes[i] = message
        lon[i] = lat[i] = np.nan
        set_aside += point is not None
    return Checked(lon, lat, notes, set_aside=set_aside, abroad=len(doubts) - set_aside,
                   unreadable=int(missing.sum()))


def _unreadable(lon_text: pd.Series, lat_text: pd.Series) -> np.ndarray:
    """The remark of each row whose coordinates are missing or no number, as
    :func:`geo.initiatives.initiatives_from_table` words it."""
    from .columns import parse_numbers

    said = []
    for text in (lon_text, lat_text):
        text = text.astype(str).str.strip().to_numpy(dtype=object)
        shown = np.where(text == "", "vide", "« " + text + " » n'est pas un nombre")
        said.append(np.where(np.isnan(parse_numbers(pd.Series(text))),
                             "coordonnée " + shown + " : site non localisé", ""))
    both = np.where((said[0] != "") & (said[1] != ""), " ; ", "")
    notes = said[0] + both + said[1]
    empty = ((lon_text.astype(str).str.strip() == "")
             & (lat_text.astype(str).str.strip() == "")).to_numpy()
    notes[empty] = "coordonnées manquantes : site non localisé"
    return notes
