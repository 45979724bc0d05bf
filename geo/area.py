"""The territory a study looks at: départements or communes.

A territory never changes the geometry (a site is linked against the whole QPV generation, so
a quartier across the border still counts); it selects what is reported and drawn, and tells
for each site whether it lies inside.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np

from ._errors import InputError
from .territories import DEPARTEMENTS, TERRITORIES, commune_of_insee, normalise_departement

#: Département codes that can be studied: the COG départements and the overseas
#: collectivités that hold QPV or may be geocoded.
KNOWN_DEPARTEMENTS = set(DEPARTEMENTS) | {k for k in TERRITORIES if k != "metropole"}


def _codes(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(";", ",").split(",")
    return [str(v).strip() for v in value if str(v).strip()]


@dataclass(frozen=True)
class StudyArea:
    """Départements and/or communes studied (empty: the whole generation)."""

    departements: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()

    @classmethod
    def of(cls, departements=None, communes=None) -> StudyArea:
        """Build from codes (lists or ``","``-separated text), normalised and checked.

        Raises
        ------
        InputError
            An unknown département code (parameter ``departement``).
        """
        deps = tuple(dict.fromkeys(normalise_departement(d) for d in _codes(departements)))
        unknown = [d for d in deps if d not in KNOWN_DEPARTEMENTS]
        if unknown:
            raise InputError(f"code de département inconnu : {', '.join(unknown)} (codes "
                             "attendus : 01 à 95, 2A, 2B, 971 à 976, 977, 978, 986 à 988).",
                             parameters=("departement",))
        bad = [c for c in _codes(communes) if not (len(c) == 5 and c[:2].isalnum())]
        if bad:
            raise InputError(f"code commune INSEE invalide : {', '.join(bad)} (cinq "
                             "caractères, par exemple 93066).", parameters=("commune",))
        coms = tuple(dict.fromkeys(commune_of_insee(c.upper()) for c in _codes(communes)))
        return cls(deps, coms)

    def __bool__(self) -> bool:
        return bool(self.departements or self.communes)

    @property
    def label(self) -> str:
        """French description, e.g. ``départements 33, 93``."""
        parts = []
        if self.departements:
            parts.append(("département " if len(self.departements) == 1 else "départements ")
                         + ", ".join(self.departements))
        if self.communes:
            parts.append(("commune " if len(self.communes) == 1 else "communes ")
                         + ", ".join(self.communes))
        return " ; ".join(parts) or "tout le fichier"

    def qpv_mask(self, qpv: gpd.GeoDataFrame) -> np.ndarray:
        """Which QPV of ``qpv`` are in the area (all when the area is empty).

        Raises
        ------
        InputError
            A commune that holds no QPV of this generation (parameter ``commune``).
        """
        if not self:
            return np.ones(len(qpv), dtype=bool)
        keep = np.zeros(len(qpv), dtype=bool)
        if self.departements:
            keep |= qpv["insee_dep"].isin(self.departements).to_numpy()
        if self.communes:
            per_qpv = qpv["insee_com"].str.split(";")
            held = {c for codes in per_qpv for c in codes}
            missing = [c for c in self.communes if c not in held]
            if missing:
                raise InputError(
                    f"aucun quartier prioritaire de cette génération dans la commune "
                    f"{', '.join(missing)} (code INSEE inconnu ou commune sans QPV).",
                    parameters=("commune",))
            wanted = set(self.communes)
            keep |= per_qpv.map(lambda codes: bool(wanted & set(codes))).to_numpy()
        return keep

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Whether each point (EPSG:4326) lies in the area, by the bundled outlines."""
        from . import outlines

        lon, lat = np.asarray(lon, float), np.asarray(lat, float)
        if not self:
            return np.ones(len(lon), dtype=bool)
        inside = np.zeros(len(lon), dtype=bool)
        deps = set(self.departements)
        coms = set(self.communes)
        # A commune without outline (Saint-Martin, Polynesia) is stood in for by its territory.
        known = set(outlines.communes()["code"])
        deps |= {c[:3] for c in coms if c not in known}
        if deps:
            inside |= np.isin(outlines.departement_of_points(lon, lat), list(deps))
        if coms & known:
            inside |= np.isin(outlines.commune_of_points(lon, lat), list(coms & known))
        return inside
