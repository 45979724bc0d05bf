"""Where QPV boundaries come from: the official publications and the bundled copies.

Each official generation is published by the ANCT on data.gouv.fr. The current file of a
dataset is looked up through the data.gouv.fr API, so a re-upload (new resource URL) does not
break the tool; the last known URL is kept as a fallback.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import requests

from . import _http, settings
from ._errors import DownloadError, EssQpvError, InputError
from .download import CacheFallbackWarning, fetch, has_copy, read_metadata
from .vocabulary import DEFAULT_SOURCE

log = logging.getLogger(__name__)

#: data.gouv.fr dataset "Quartiers prioritaires de la politique de la ville (QPV)" (ANCT).
QPV_DATASET = "5a561801c751df42d7fca9b6"


@dataclass(frozen=True)
class QpvSource:
    """A named source of QPV boundaries."""

    key: str
    generation: str
    label: str
    credit: str
    #: File name inside the package's bundled data, for bundled sources.
    bundled: str | None = None
    #: data.gouv.fr resource id of the official file, and words its title or URL contains.
    resource: str | None = None
    match: tuple[str, ...] = ()
    #: Last known URL, used when the data.gouv.fr API cannot be reached.
    fallback_url: str | None = None
    #: Member (without extension) to read inside the downloaded archive.
    layer: str | None = None


SOURCES: dict[str, QpvSource] = {
    s.key: s
    for s in (
        QpvSource(
            key="bundled-2024",
            generation="2024",
            label="QPV 2024, France entière "
                  "(copie fournie avec l'outil, coordonnées arrondies à ~11 m)",
            credit="ANCT / INSEE – QPV 2024, Licence Ouverte / Etalab 2.0",
            bundled="qpv2024_france.geojson.gz",
        ),
        QpvSource(
            key="bundled-2015-occitanie",
            generation="2015",
            label="QPV 2015, Occitanie (copie fournie avec l'outil, contours exacts)",
            credit="ANCT / INSEE – QPV 2015, Licence Ouverte / Etalab 2.0",
            bundled="qpv2015_occitanie.geojson.gz",
        ),
        QpvSource(
            key="2024",
            generation="2024",
            label="QPV 2024, France entière (publication officielle ANCT sur data.gouv.fr)",
            credit="ANCT – QPV 2024, Licence Ouverte / Etalab 2.0",
            resource="942d4ee8-8142-4556-8ea1-335537ce1119",
            match=("geojson", "2024"),
            fallback_url="https://www.data.gouv.fr/fr/datasets/r/942d4ee8-8142-4556-8ea1-335537ce1119",
            layer="QP2024_France_Hexagonale_Outre_Mer_WGS84",
        ),
        QpvSource(
            key="2015",
            generation="2015",
            label="QPV 2015, France entière (publication officielle, shapefile)",
            credit="ANCT / CGET – QPV 2015, Licence Ouverte / Etalab 2.0",
            match=("qp-politiquedelaville-shp",),
            fallback_url=(
                "http://www.ville.gouv.fr/squelettes/carto/assets/qp-politiquedelaville-shp.zip"
            ),
            layer="QP_METROPOLEOUTREMER_WGS84_EPSG4326",
        ),
    )
}


def source_label(source: str | None) -> str:
    """A QPV source as a person reads it: a named source's label (« QPV 2024, France
    entière (…) » for ``bundled-2024``), anything else (a file, a link) as given.

    >>> source_label("bundled-2015-occitanie")
    "QPV 2015, Occitanie (copie fournie avec l'outil, contours exacts)"
    """
    named = SOURCES.get(source or "")
    return named.label if named else str(source or "")


def cache_file(source: QpvSource) -> Path:
    """Return where the downloaded archive of an official source is cached."""
    return settings.cache_dir() / "qpv" / f"qpv-{source.key}.zip"


def resolve_url(source: QpvSource, *, session: requests.Session | None = None) -> str:
    """Return the current download URL of an official source.

    Asks the data.gouv.fr API for the dataset's resources and picks the known resource id,
    or else the first resource whose title or URL holds every word of ``source.match``;
    falls back to ``source.fallback_url`` when the API cannot be reached or has no match.
    """
    session = session or _http.session(attempts=2)
    api = f"{settings.datagouv()}/api/1/datasets/{QPV_DATASET}/"
    try:
        response = session.get(api, timeout=settings.TIMEOUT)
        response.raise_for_status()
        resources_ = response.json().get("resources", [])
    except (requests.RequestException, ValueError) as exc:
        log.info("data.gouv.fr API unavailable (%s), using the known URL", exc)
        return _fallback(source)
    for res in resources_:
        if source.resource and res.get("id") == source.resource and res.get("url"):
            return res["url"]
    for res in resources_:
        text = f"{res.get('title', '')} {res.get('url', '')}".lower()
        if source.match and all(word in text for word in source.match) and res.get("url"):
            return res["url"]
    log.info("no matching resource in the data.gouv.fr dataset, using the known URL")
    return _fallback(source)


def _fallback(source: QpvSource) -> str:
    url = source.fallback_url
    if source.resource and url and url.startswith(f"{settings.DATAGOUV}/"):
        # Follow a data.gouv.fr mirror when one is configured.
        url = settings.datagouv() + url[len(settings.DATAGOUV):]
    assert url is not None
    return url


def fetch_official(source: QpvSource, *, refresh: bool = False, progress: bool = True,
                   check=None) -> Path:
    """Return the cached archive of an official source, downloading it when needed.

    Without network, an earlier cached copy is used with a :class:`CacheFallbackWarning`;
    with no cached copy either, an :class:`EssQpvError` names the offline alternatives.
    """
    target = cache_file(source)
    if has_copy(target) and not refresh:
        return target
    try:
        url = resolve_url(source)
        return fetch(url, kind="zip", refresh=refresh, progress=progress, path=target,
                     check=check)
    except DownloadError as exc:
        if has_copy(target):
            warnings.warn(f"{exc} — copie en cache utilisée.", CacheFallbackWarning, stacklevel=2)
            return target
        raise EssQpvError(
            f"Impossible de télécharger les QPV {source.generation} officiels ({exc}) et "
            "aucune copie n'est en cache. Sans réseau, utilisez la source par défaut "
            f"(« {DEFAULT_SOURCE} », QPV 2024 fournis avec l'outil) ou un fichier local "
            "avec --qpv CHEMIN."
        ) from exc


@dataclass(frozen=True)
class Located:
    """Where a QPV source's file is on this machine and what to say of it: ``attrs`` are
    the source, label, credit, origin and date every output records; ``layer`` names the
    member of an official archive; ``generation`` is known for named sources."""

    path: Path
    attrs: dict
    generation: str | None = None
    layer: str | None = None


def locate(source: str, *, refresh: bool = False, progress: bool = True,
           check=None) -> Located:
    """Find ``source`` on disk, downloading it when needed: a key of :data:`SOURCES`
    (bundled, or an official download kept in the cache), a URL (kept in the cache) or a
    local path. ``check(path)`` must read a downloaded file before it is kept."""
    named = SOURCES.get(source)
    if named is not None and named.bundled:
        return Located(settings.bundled_path(named.bundled), {
            "source": source, "label": named.label, "credit": named.credit,
            "origin": "données fournies avec l'outil (voir data/SOURCES.md)", "date": None},
            named.generation)
    if named is not None:
        def readable(p: Path):
            return check(p, layer=named.layer) if check else None

        path = fetch_official(named, refresh=refresh, progress=progress, check=readable)
        meta = read_metadata(path) or {}
        return Located(path, {"source": named.key, "label": named.label,
                              "credit": named.credit, "origin": meta.get("url", str(path)),
                              "date": meta.get("downloaded")}, named.generation, named.layer)
    if source.startswith(("http://", "https://")):
        path = fetch(source, refresh=refresh, progress=progress, check=check)
        meta = read_metadata(path) or {}
        return Located(path, {"source": source, "label": "Fichier téléchargé", "credit": "",
                              "origin": source, "date": meta.get("downloaded")})
    path = Path(source).expanduser()
    if not path.exists():
        raise InputError(
            "fichier de QPV introuvable. Donnez un chemin existant, une adresse http(s) ou "
            f"une des sources : {', '.join(SOURCES)}.", path=str(source))
    if path.is_dir():
        raise InputError("c'est un dossier : indiquez le fichier des contours (.geojson, "
                         ".gpkg, .shp, .zip).", path=str(source))
    return Located(path, {"source": str(path), "label": "Fichier local", "credit": "",
                          "origin": str(path.resolve()), "date": None})
