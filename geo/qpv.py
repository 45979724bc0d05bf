"""Official QPV boundaries as one clean GeoDataFrame, whatever the source.

``load_qpv`` reads a named source (bundled copy or official download, see
:mod:`geo.sources`) or any local file or URL, normalises its fields, repairs invalid
geometries and returns polygons in EPSG:4326 with the columns of :data:`COLUMNS`.
"""

from __future__ import annotations

import functools
import logging
import zipfile
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import settings, sources
from ._errors import EssQpvError, InputError
from .confine import check_format, regular_file, with_sidecars
from .geometry import repair
from .territories import commune_of_insee, departement_of_qpv_code, normalise_departement
from .vocabulary import GENERATIONS

log = logging.getLogger(__name__)

#: The normalised schema. ``insee_com`` and ``communes`` hold ``;``-joined values, because a
#: QPV may straddle several communes and every output format (CSV, GeoPackage) takes text.
COLUMNS = ["code_qp", "nom_qp", "insee_com", "communes", "insee_dep", "generation", "geometry"]

# Field names seen in the official 2024 file, the official 2015 shapefile and the Occitanie
# 2015 file, lower-cased; the first present wins.
_FIELDS = {
    "code_qp": ("code_qp", "code_quartier", "codeqpv"),
    "nom_qp": ("lib_qp", "nom_qp", "libqpv", "nom"),
    "insee_com": ("insee_com", "code_commune", "listedepcom", "code_insee"),
    "communes": ("lib_com", "commune_qp", "nom_commune", "listelibdepcom"),
    "insee_dep": ("insee_dep", "code_departement", "code_dep"),
}
_READABLE = (".geojson", ".json", ".shp", ".gpkg")


def load_qpv(
    source: str | Path = sources.DEFAULT_SOURCE,
    *,
    departement: str | Iterable[str] | None = None,
    commune: str | Iterable[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    generation: str | None = None,
    refresh: bool = False,
    progress: bool = True,
) -> gpd.GeoDataFrame:
    """Load QPV boundaries, normalised and repaired, in EPSG:4326.

    Parameters
    ----------
    source
        A key of :data:`geo.sources.SOURCES` (``"bundled-2024"``, the default and offline;
        ``"bundled-2015-occitanie"``; ``"2024"`` or ``"2015"`` for the official downloads),
        a local path (GeoJSON, ``.geojson.gz``, zipped or plain shapefile, GeoPackage) or a URL.
    departement, commune
        Keep the QPV of these département codes (``"33"``, ``"2A"``, ``"974"``) or commune
        INSEE codes (arrondissement codes of Paris, Lyon, Marseille are accepted).
    bbox
        Keep the QPV intersecting this box: min lon, min lat, max lon, max lat (EPSG:4326).
    generation
        ``"2024"`` or ``"2015"``; guessed from the QPV codes when not given.
    refresh
        Re-validate a cached official download with the server.
    progress
        Show a progress bar while downloading.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`COLUMNS`; ``attrs`` record the source, its origin and date, and how
        many geometries were repaired.
    """
    qpv = _load_source(str(source), refresh=refresh, progress=progress, generation=generation)
    qpv = qpv.copy()
    qpv.attrs = dict(qpv.attrs)
    return filter_qpv(qpv, departement=departement, commune=commune, bbox=bbox)


def _load_source(source: str, *, refresh: bool, progress: bool, generation: str | None):
    """One way down for every kind of source: locate its file (:func:`geo.sources.locate`),
    then read, repair and normalise it once (:func:`_prepared`)."""
    if source in sources.SOURCES and sources.SOURCES[source].bundled:
        return _load_bundled(source)
    found = sources.locate(source, refresh=refresh, progress=progress, check=read_boundaries)
    downloaded = found.path != Path(source).expanduser()

    def read() -> gpd.GeoDataFrame:
        if downloaded:  # a cached download that no longer reads is fetched again next time
            return _read_cached(found.path, lambda p: read_boundaries(p, layer=found.layer))
        return read_boundaries(found.path, layer=found.layer)

    return _prepared(found.path, read, generation or found.generation, found.attrs)


def _read_cached(path: Path, read) -> gpd.GeoDataFrame:
    """Read a cached download; one that no longer reads (left by an older version, damaged
    on disk) is removed, so the next run downloads it again instead of failing for good."""
    try:
        return read(path)
    except EssQpvError as exc:
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".json").unlink(missing_ok=True)
        raise EssQpvError(f"la copie en cache des QPV ne se lit pas ({exc}) : elle a été "
                          "supprimée ; relancez pour la télécharger à nouveau.") from exc


@functools.cache
def _load_bundled(key: str) -> gpd.GeoDataFrame:
    found = sources.locate(key)
    return _prepared(found.path, lambda: read_boundaries(found.path), found.generation,
                     found.attrs)


#: What the prepared QPV hold (2: the outlines' rounding, ``precision_m``): a change makes
#: new ones.
_PREPARED_FORMAT = 2


def _prepared(path: Path, read, generation: str | None, attrs: dict) -> gpd.GeoDataFrame:
    """The QPV of a bundled or downloaded file, repaired and normalised once, then kept
    ready in the cache as GeoParquet. The cache name holds the file's path, size and date,
    the generation and the versions of ess-qpv and GEOS that repaired it: any change makes
    a new one. A cache that cannot be read or written is only skipped."""
    import hashlib
    import warnings

    from . import __version__
    from .io import atomic_path

    stat = path.stat()
    key = hashlib.sha256(repr((
        str(path.resolve()), stat.st_size, stat.st_mtime_ns, generation, attrs,
        __version__, shapely.geos_version_string, gpd.__version__,
        _PREPARED_FORMAT)).encode()).hexdigest()
    ready = settings.cache_dir() / "qpv" / "prepares" / f"{key[:24]}.parquet"
    if ready.is_file():
        try:
            return gpd.read_parquet(ready)
        except Exception:  # damaged or written by another pyarrow: made again below
            ready.unlink(missing_ok=True)
    qpv = _finish(read(), generation, attrs)
    try:
        ready.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings(), atomic_path(ready, defer=False) as tmp:
            warnings.simplefilter("ignore")  # GeoParquet's note on its own version
            qpv.to_parquet(tmp)
    except OSError as exc:
        log.info("QPV prêts non gardés en cache (%s)", exc)
    return qpv


def _finish(raw: gpd.GeoDataFrame, generation: str | None, attrs: dict) -> gpd.GeoDataFrame:
    # Repair before normalising: features that share a code are merged there, and a union
    # of invalid rings fails.
    repaired = repair_geometries(raw)
    qpv = normalise(repaired, generation=generation, origin=attrs["source"])
    qpv.attrs.update(attrs, invalid=repaired.attrs["invalid"],
                     precision_m=rounding_m(raw.geometry.values))
    return qpv


#: Metres in a degree of latitude (and of longitude at the equator).
_METRES_PER_DEGREE = 111_320.0


def rounding_m(geometries) -> float:
    """The step, in metres, that the coordinates of ``geometries`` (degrees) were rounded
    to (``0.0`` when they keep more than five decimals): a point closer than this to a
    boundary may lie on either side of the exact one.

    >>> import shapely
    >>> round(rounding_m([shapely.box(2.3512, 48.8566, 2.3601, 48.8601)]), 1)
    11.1
    >>> rounding_m([shapely.box(2.351234567, 48.85, 2.36, 48.86)])
    0.0
    """
    coords = shapely.get_coordinates(np.asarray(geometries, dtype=object))[:200_000]
    if not len(coords):
        return 0.0
    for decimals in (2, 3, 4, 5):
        scaled = coords * 10.0 ** decimals
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6):
            return _METRES_PER_DEGREE / 10 ** decimals
    return 0.0


def read_boundaries(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a boundary file as it is: GeoJSON (optionally gzipped), shapefile, GeoPackage, or a
    ZIP archive holding one of them (``layer`` names the member when there are several)."""
    path = Path(path)
    name = path.name.lower()
    target, read_layer = str(path), None
    what = "le fichier des contours"
    if zipfile.is_zipfile(path):
        member = _pick_member(path, layer)
        check_format(path, what=what, member=member)
        target = f"/vsizip/{path}/{member}"
    else:
        for part in with_sidecars(path):
            regular_file(part, what=what)
        check_format(path, what=what)
    if zipfile.is_zipfile(path):
        pass
    elif name.endswith(".gz"):
        target = f"/vsigzip/{path}"
    elif name.endswith(".gpkg"):
        import fiona  # here only: it loads boto3 and its sessions (a tenth of a second)

        layers = fiona.listlayers(str(path))
        read_layer = layer if layer in layers else layers[0]
    try:
        frame = gpd.read_file(target, layer=read_layer)
    except Exception as exc:  # pyogrio raises several types for unreadable data
        raise InputError(f"fichier illisible comme données géographiques ({exc}).",
                         path=str(path)) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.isna().all():
        raise InputError("ce fichier n'a pas de géométries : un tableau n'est pas un fichier "
                         "de contours de QPV (.geojson, .gpkg, .shp ou .zip attendus).",
                         path=str(path))
    if frame.crs is None:
        minx, miny, maxx, maxy = frame.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise InputError("le fichier n'indique pas son système de coordonnées.",
                             path=str(path))
        frame = frame.set_crs(4326)
    return frame.to_crs(4326) if frame.crs.to_epsg() != 4326 else frame


def _pick_member(path: Path, layer: str | None) -> str:
    with zipfile.ZipFile(path) as z:
        members = [m for m in z.namelist() if m.lower().endswith(_READABLE)
                   and not Path(m).name.startswith(".")]
    if layer:
        wanted = [m for m in members if Path(m).stem.lower() == layer.lower()]
        if wanted:
            return wanted[0]
    if len(members) == 1:
        return members[0]
    if not members:
        raise InputError("l'archive ne contient aucun fichier GeoJSON, shapefile ou GeoPackage.",
                         path=str(path))
    raise InputError(
        f"l'archive contient plusieurs couches ({', '.join(members)}) ; "
        "indiquez laquelle lire.", path=str(path))


def normalise(raw: gpd.GeoDataFrame, *, generation: str | None = None,
              origin: str = "") -> gpd.GeoDataFrame:
    """Return the boundaries with the columns of :data:`COLUMNS`, whatever the source layout.

    Multi-commune lists (comma-separated upstream) become ``;``-joined; a missing
    ``insee_dep`` is derived from the QPV code; features sharing a code are merged.
    """
    lower = {c.lower(): c for c in raw.columns}

    def column(role: str) -> pd.Series | None:
        for name in _FIELDS[role]:
            if name in lower:
                return raw[lower[name]]
        return None

    codes = column("code_qp")
    if codes is None:
        raise InputError("aucune colonne de code QPV (code_qp, CODE_QP) dans le fichier.",
                         path=origin)
    codes = codes.astype("string").str.strip()
    out = pd.DataFrame({"code_qp": codes})
    names = column("nom_qp")
    out["nom_qp"] = names.astype("string").str.strip() if names is not None else ""
    out["insee_com"] = _joined(column("insee_com"))
    out["communes"] = _joined(column("communes"))
    deps = column("insee_dep")
    derived = codes.map(departement_of_qpv_code)
    if deps is None:
        out["insee_dep"] = derived
    else:
        deps = deps.astype("string").fillna("").map(normalise_departement)
        out["insee_dep"] = deps.where(deps != "", derived)
    if generation is None:
        generation = _guess_generation(codes)
    out["generation"] = str(generation)
    qpv = gpd.GeoDataFrame(out, geometry=raw.geometry.values, crs=raw.crs)
    qpv = qpv[qpv["code_qp"].notna() & (qpv["code_qp"] != "") & qpv.geometry.notna()]
    if qpv["code_qp"].duplicated().any():
        qpv = qpv.dissolve(by="code_qp", aggfunc="first", as_index=False)[COLUMNS]
    for col in COLUMNS[:-1]:
        qpv[col] = qpv[col].fillna("").astype(str)
    return qpv.reset_index(drop=True)[COLUMNS]


def _joined(values: pd.Series | None) -> pd.Series | str:
    if values is None:
        return ""
    return values.fillna("").astype(str).map(
        lambda v: ";".join(p.strip() for p in v.replace(";", ",").split(",") if p.strip())
    )


def _guess_generation(codes: pd.Series) -> str:
    prefixes = codes.dropna().str[:2].str.upper().value_counts()
    if prefixes.empty:
        return ""
    return {g.prefix: g.key for g in GENERATIONS}.get(prefixes.index[0], "")


def repair_geometries(qpv: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Make every geometry valid, keeping only its polygonal parts.

    Real QPV files hold self-intersecting rings (more so once coordinates are rounded).
    ``shapely.make_valid`` (linework method, which keeps the area) fixes them; lines or
    points it leaves behind are dropped. ``attrs["invalid"]`` counts the repaired ones.
    """
    geoms, repaired = repair(qpv.geometry.values)
    out = qpv.copy()
    out.geometry = gpd.GeoSeries(geoms, index=qpv.index, crs=qpv.crs)
    out.attrs["invalid"] = repaired
    return out


def filter_qpv(
    qpv: gpd.GeoDataFrame,
    *,
    departement: str | Iterable[str] | None = None,
    commune: str | Iterable[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Keep the QPV of the given départements, communes (INSEE codes) or lon/lat box."""
    keep = np.ones(len(qpv), dtype=bool)
    if departement is not None:
        deps = {normalise_departement(d) for d in _as_list(departement)}
        keep &= qpv["insee_dep"].isin(deps).to_numpy()
    if commune is not None:
        wanted = {commune_of_insee(c) for c in _as_list(commune)}
        keep &= qpv["insee_com"].map(lambda v: bool(wanted & set(v.split(";")))).to_numpy()
    if bbox is not None:
        keep &= qpv.geometry.intersects(shapely.box(*bbox)).to_numpy()
    out = qpv[keep].reset_index(drop=True)
    out.attrs = dict(qpv.attrs)
    return out


def _as_list(value: str | Iterable[str]) -> list[str]:
    if isinstance(value, str):
        return [v for v in value.replace(";", ",").split(",") if v.strip()]
    return [str(v) for v in value]


def qpv_info(qpv: gpd.GeoDataFrame) -> dict:
    """Summarise loaded boundaries: source, generation, counts, repairs, extent."""
    return {
        "source": qpv.attrs.get("source"),
        "label": qpv.attrs.get("label"),
        "origin": qpv.attrs.get("origin"),
        "credit": qpv.attrs.get("credit"),
        "date": qpv.attrs.get("date"),
        "generation": ", ".join(sorted(set(qpv["generation"]))),
        "count": len(qpv),
        "repaired": qpv.attrs.get("invalid", 0),
        "all_valid": bool(shapely.is_valid(qpv.geometry.values).all()),
        "per_departement": qpv["insee_dep"].value_counts().sort_index(key=_dep_sort_key).to_dict(),
        "bounds": tuple(round(float(b), 4) for b in qpv.total_bounds),
    }


def _dep_sort_key(deps: pd.Index) -> pd.Index:
    """Départements in the official order (01…19, 2A, 2B, 21…95, 971…); any other text
    (a hostile file) after them, as text."""
    def key(d) -> tuple:
        text = str(d).replace("2A", "20.1").replace("2B", "20.2")
        try:
            return (0, float(text), "")
        except ValueError:
            return (1, 0.0, str(d))
    return deps.map(key)


def load_key_figures() -> pd.DataFrame:
    """Return the INSEE key figures of the 2015 QPV of Occitanie, indexed by ``code_qp``.

    ``pop_mun`` is the municipal population of the quartier; the column dictionary is
    ``qpv2015_occitanie_chiffres_cles_dictionnaire.csv`` in the bundled data.
    """
    path = settings.bundled_path("qpv2015_occitanie_chiffres_cles.csv")
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"code_qp": str}).set_index("code_qp")
