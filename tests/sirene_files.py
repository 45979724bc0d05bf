"""Files in INSEE's SIRENE formats (headers verbatim), made up around real QPV 2024.

Establishments are placed inside real quartiers, 60–250 m outside them, or far from any, in
metropolitan France and in the five overseas départements, each with the projection INSEE
uses there (``epsg`` per row). Some have no coordinates, some are masked (``[ND]``). Used by
the tests (small samples) and by ``benchmarks/sirene.py`` (35 million rows).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

GEOLOC_HEADER = ["siret", "x", "y", "qualite_xy", "epsg", "plg_qp24", "plg_iris", "plg_zus",
                 "plg_qp15", "plg_qva", "plg_code_commune", "distance_precision",
                 "qualite_qp24", "qualite_iris", "qualite_zus", "qualite_qp15", "qualite_qva",
                 "y_latitude", "x_longitude"]
UL_HEADER = ["siren", "statutDiffusionUniteLegale", "etatAdministratifUniteLegale",
             "economieSocialeSolidaireUniteLegale", "categorieJuridiqueUniteLegale",
             "activitePrincipaleUniteLegale", "denominationUniteLegale"]
ETAB_HEADER = ["siren", "nic", "siret", "statutDiffusionEtablissement",
               "etatAdministratifEtablissement", "activitePrincipaleEtablissement",
               "trancheEffectifsEtablissement", "enseigne1Etablissement",
               "denominationUsuelleEtablissement", "codeCommuneEtablissement"]
#: The projection INSEE uses in each territory (département code → EPSG).
EPSG = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
CATEGORIES = ["9220", "9220", "9220", "9300", "8210", "5458", "6317", "5710", "5499"]
ACTIVITIES = ["88.10A", "94.99Z", "47.11F", "85.59A", "56.10A", "01.11Z", "90.01Z"]


def places(qpv, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` points (lon, lat): a third inside quartiers, a third just outside one (60–250 m
    beyond a vertex of its boundary), a third 3–8 km away; 15 % overseas; with the
    projection INSEE uses there, the commune and the code of their quartier."""
    a = anchors(qpv)
    pick = np.where(rng.random(n) < 0.15, rng.choice(np.flatnonzero(a["overseas"]), n),
                    rng.choice(np.flatnonzero(~a["overseas"]), n))
    kind = rng.integers(0, 3, n)[:, None]  # 0 inside, 1 near, 2 far
    inner, vertex, away = a["inner"][pick], a["vertex"][pick], a["away"][pick]
    outer = vertex + away * rng.uniform(60, 250, n)[:, None]
    far = inner + rng.choice([-1, 1], (n, 2)) * rng.uniform(3000, 8000, (n, 2))
    xy = np.where(kind == 0, inner, np.where(kind == 1, outer, far))
    epsg = a["epsg"][pick]
    lon, lat = np.empty(n), np.empty(n)
    for code in np.unique(epsg):
        at = epsg == code
        lon[at], lat[at] = Transformer.from_crs(int(code), 4326, always_xy=True).transform(
            xy[at, 0], xy[at, 1])
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "lon": lon, "lat": lat, "epsg": epsg,
                         "commune": a["commune"][pick],
                         "kind": kind[:, 0], "code_qp": a["code"][pick]})


def write_samples(folder: Path, qpv, n: int = 2000, seed: int = 0) -> dict[str, Path]:
    """Write a geolocation file (CSV ``;``), legal units (CSV ``,`` in a zip) and
    establishments (CSV ``,``) for ``n`` establishments; return their paths."""
    import zipfile

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    p = places(qpv, n, rng)
    n_units = max(1, int(n * 0.7))
    sirens = np.sort(100_000_000 + rng.choice(899_999_999, n_units, replace=False))
    unit = rng.integers(0, n_units, n)
    siret = [f"{sirens[u]:09d}{k:05d}" for k, u in enumerate(unit)]
    epsg = p["epsg"].to_numpy()
    xs = np.char.mod("%.1f", p["x"].to_numpy()).astype(object)
    ys = np.char.mod("%.1f", p["y"].to_numpy()).astype(object)
    empty = rng.random(n) < 0.03
    masked = rng.random(n) < 0.03
    xs[empty], ys[empty] = "", ""
    xs[masked & ~empty], ys[masked & ~empty] = "[ND]", "[ND]"
    geoloc = pd.DataFrame({c: "" for c in GEOLOC_HEADER}, index=range(n))
    geoloc["siret"] = siret
    geoloc["x"], geoloc["y"] = xs, ys
    geoloc["epsg"] = epsg.astype(str)
    geoloc["qualite_xy"] = "11"
    geoloc["plg_code_commune"] = p["commune"].to_numpy()
    # INSEE's own answer: the quartier of the points placed inside one, with 2 % mistakes
    insee = np.where(p["kind"].to_numpy() == 0, p["code_qp"].to_numpy(), "CSZ")
    wrong = rng.random(n) < 0.02
    insee[wrong] = np.where(insee[wrong] == "CSZ", p["code_qp"].to_numpy()[wrong], "CSZ")
    geoloc["plg_qp24"] = insee
    geoloc["y_latitude"] = np.char.mod("%.6f", p["lat"].to_numpy())
    geoloc["x_longitude"] = np.char.mod("%.6f", p["lon"].to_numpy())
    geoloc.to_csv(folder / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques"
                  "_sample.csv", sep=";", index=False)
    units = pd.DataFrame({
        "siren": [f"{s:09d}" for s in sirens], "statutDiffusionUniteLegale": "O",
        "etatAdministratifUniteLegale": np.where(rng.random(n_units) < 0.95, "A", "C"),
        "economieSocialeSolidaireUniteLegale": np.where(rng.random(n_units) < 0.4, "O", "N"),
        "categorieJuridiqueUniteLegale": rng.choice(CATEGORIES, n_units),
        "activitePrincipaleUniteLegale": rng.choice(ACTIVITIES, n_units),
        "denominationUniteLegale": [f"UNITE {i}" for i in range(n_units)]})
    with zipfile.ZipFile(folder / "StockUniteLegale_utf8.zip", "w",
                         zipfile.ZIP_DEFLATED) as z:
        z.writestr("StockUniteLegale_utf8.csv", units.to_csv(index=False))
    etab = pd.DataFrame({
        "siren": [s[:9] for s in siret], "nic": [s[9:] for s in siret], "siret": siret,
        "statutDiffusionEtablissement": "O",
        "etatAdministratifEtablissement": np.where(rng.random(n) < 0.9, "A", "F"),
        "activitePrincipaleEtablissement": rng.choice(ACTIVITIES, n),
        "trancheEffectifsEtablissement": "NN", "enseigne1Etablissement": "",
        "denominationUsuelleEtablissement": "",
        "codeCommuneEtablissement": p["commune"].to_numpy()})
    etab.to_csv(folder / "StockEtablissement_utf8.csv", index=False)
    return {"geoloc": folder / ("GeolocalisationEtablissement_Sirene_pour_etudes_"
                                "statistiques_sample.csv"),
            "units": folder / "StockUniteLegale_utf8.zip",
            "establishments": folder / "StockEtablissement_utf8.csv"}


# --------------------------------------------------------------------------- national size


def anchors(qpv) -> dict[str, np.ndarray]:
    """Per quartier of the SIRENE territories (metropolitan France and the five overseas
    départements; the overseas collectivities have business registers of their own), in
    INSEE's projection there: a point inside, a vertex of its boundary and the way out from
    it; with its EPSG code, commune and code."""
    keep = ((qpv["insee_dep"].str.len() < 3) | qpv["insee_dep"].isin(list(EPSG))).to_numpy()
    q = qpv[keep].reset_index(drop=True)
    epsg = q["insee_dep"].map(EPSG).fillna(2154).astype(int).to_numpy()
    inner, vertex = np.empty((len(q), 2)), np.empty((len(q), 2))
    for code in np.unique(epsg):
        at = epsg == code
        forward = Transformer.from_crs(4326, int(code), always_xy=True)
        polys = shapely.transform(q.geometry.to_numpy()[at], lambda xy, f=forward: np.column_stack(
            f.transform(xy[:, 0], xy[:, 1])))
        inner[at] = shapely.get_coordinates(shapely.point_on_surface(polys))
        vertex[at] = shapely.get_coordinates(shapely.get_point(shapely.get_exterior_ring(
            shapely.get_geometry(polys, 0)), 0))
    away = vertex - inner
    away /= np.maximum(np.hypot(away[:, 0], away[:, 1]), 1e-9)[:, None]
    return {"inner": inner, "vertex": vertex, "away": away, "epsg": epsg,
            "commune": q["insee_com"].astype(str).str.split(";").str[0].str.strip()
            .to_numpy(), "code": q["code_qp"].to_numpy(),
            "overseas": q["insee_dep"].isin(list(EPSG)).to_numpy()}


def geoloc_chunk(a: dict, n: int, first: int, n_units: int, rng: np.random.Generator
                 ) -> pd.DataFrame:
    """``n`` rows of the geolocation file (establishments ``first``…): 45 % in cities
    (inside, just outside or 0.5–3 km around a quartier), 45 % spread over metropolitan
    France, 10 % in the five overseas départements; 2 % without coordinates, 1 % masked."""
    metro, overseas = np.flatnonzero(~a["overseas"]), np.flatnonzero(a["overseas"])
    r = rng.random(n)
    spread = r < 0.45
    pick = np.where(r > 0.90, rng.choice(overseas, n), rng.choice(metro, n))
    kind = rng.integers(0, 3, n)
    inner, vertex, away = a["inner"][pick], a["vertex"][pick], a["away"][pick]
    jitter = rng.normal(0, 1, (n, 2)) * rng.uniform(500, 3000, n)[:, None]
    xy = np.where((kind == 0)[:, None], inner + rng.normal(0, 20, (n, 2)),
                  np.where((kind == 1)[:, None],
                           vertex + away * rng.uniform(20, 400, n)[:, None], inner + jitter))
    xy[spread] = np.column_stack([rng.uniform(120_000, 1_080_000, spread.sum()),
                                  rng.uniform(6_150_000, 7_080_000, spread.sum())])
    epsg = np.where(spread, 2154, a["epsg"][pick])
    x, y = np.char.mod("%.1f", xy[:, 0]).astype(object), np.char.mod("%.1f", xy[:, 1]
                                                                      ).astype(object)
    empty, masked = r % 0.01 < 0.0002, (r * 7) % 1 < 0.01
    x[empty], y[empty] = "", ""
    x[masked], y[masked] = "[ND]", "[ND]"
    # every row its own siret: the unit is the row's rank modulo the units, the NIC the
    # quotient (a file with a siret twice is refused)
    rows = np.arange(first, first + n)
    units = rows % n_units
    siret = np.char.add(np.char.zfill((100_000_000 + units).astype(str), 9),
                        np.char.zfill((rows // n_units).astype(str), 5))
    frame = pd.DataFrame({c: "" for c in GEOLOC_HEADER}, index=range(n))
    frame["siret"] = siret
    frame["x"], frame["y"], frame["epsg"] = x, y, epsg.astype(str)
    frame["qualite_xy"] = "11"
    frame["plg_qp24"] = np.where((kind == 0) & ~spread, a["code"][pick], "CSZ")
    frame["plg_code_commune"] = a["commune"][pick]
    return frame


def units_chunk(first: int, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Legal units ``first``… of ``StockUniteLegale``: 12 % of the ESS."""
    return pd.DataFrame({
        "siren": np.char.zfill((100_000_000 + np.arange(first, first + n)).astype(str), 9),
        "statutDiffusionUniteLegale": "O",
        "etatAdministratifUniteLegale": np.where(rng.random(n) < 0.9, "A", "C"),
        "economieSocialeSolidaireUniteLegale": np.where(rng.random(n) < 0.12, "O", "N"),
        "categorieJuridiqueUniteLegale": rng.choice(CATEGORIES, n),
        "activitePrincipaleUniteLegale": rng.choice(ACTIVITIES, n),
        "denominationUniteLegale": ""})
