"""Download a file once into the cache, the careful way.

The body is streamed to a temporary file in the cache folder, checked (size, sha256, expected
format), then moved into place, so a partial or wrong file never sits at the final path. A JSON
file beside it records the URL, the date, the size, the sha256 and the HTTP validators
(ETag, Last-Modified) used by ``refresh`` to re-validate without downloading again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import requests
from tqdm.auto import tqdm

from . import _http, settings
from ._errors import DownloadError, OfflineError

log = logging.getLogger(__name__)


class CacheFallbackWarning(UserWarning):
    """The service could not be reached and an earlier cached copy is used instead."""


def cached_path(url: str) -> Path:
    """Return where the cache keeps the file downloaded from ``url``."""
    folder = settings.cache_dir() / "downloads"
    name = Path(urlparse(url).path).name or "download"
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return folder / f"{digest}-{name}"


def read_metadata(path: Path) -> dict | None:
    """Return the metadata recorded beside a cached file, or ``None`` if there is none."""
    meta = path.with_name(path.name + ".json")
    try:
        return json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def fetch(
    url: str,
    *,
    kind: str | None = None,
    refresh: bool = False,
    progress: bool = True,
    path: Path | None = None,
    session: requests.Session | None = None,
    check: Callable[[Path], object] | None = None,
) -> Path:
    """Return the local path of ``url``, downloading it into the cache when needed.

    Parameters
    ----------
    url
        Address of the file.
    kind
        Expected format, checked before the file is kept: ``"zip"``, ``"json"`` or ``None``
        (anything but an HTML page).
    refresh
        Re-validate a cached copy with the server (ETag / Last-Modified); download again if
        it changed.
    progress
        Show a progress bar while downloading.
    path
        Where to keep the file; defaults to :func:`cached_path` of ``url``.
    session
        HTTP session; one with bounded retries is made by default.
    check
        Reads the downloaded file (still at its temporary path) and raises if it is not
        usable: only a file that passes enters the cache.

    Raises
    ------
    DownloadError
        The download failed and there is no cached copy to fall back on.
    """
    path = path or cached_path(url)
    meta = read_metadata(path) if has_copy(path) else None
    if meta is not None and not refresh:
        return path
    session = session or _http.session()
    try:
        return _download(url, path, kind=kind, meta=meta, progress=progress, session=session,
                         check=check)
    except DownloadError as exc:
        if meta is None:
            raise
        warnings.warn(
            f"{exc} — utilisation de la copie en cache du {meta.get('downloaded', '?')} ({path}).",
            CacheFallbackWarning,
            stacklevel=2,
        )
        return path


def file_sha256(path: Path) -> str:
    """``"sha256:…"`` of the file at ``path``."""
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return f"sha256:{sha.hexdigest()}"


def has_copy(path: Path) -> bool:
    """Whether the cache holds an intact copy at ``path`` (with its metadata, the same size
    and sha256 as when downloaded); a damaged copy is removed, with a warning."""
    meta = read_metadata(path) if path.exists() else None
    if meta is None:
        return False
    if _intact(path, meta):
        return True
    warnings.warn(f"copie en cache {path.name} altérée (empreinte sha256 différente de celle "
                  "du téléchargement) : supprimée ; elle sera téléchargée de nouveau.",
                  CacheFallbackWarning, stacklevel=3)
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".json").unlink(missing_ok=True)
    return False


def _intact(path: Path, meta: dict) -> bool:
    """Whether the cached file is still the one downloaded (size, then sha256)."""
    try:
        if meta.get("size") is not None and path.stat().st_size != meta["size"]:
            return False
        return not meta.get("sha256") or file_sha256(path) == meta["sha256"]
    except OSError:
        return False


def _download(
    url: str,
    path: Path,
    *,
    kind: str | None,
    meta: dict | None,
    progress: bool,
    session: requests.Session,
    check: Callable[[Path], object] | None = None,
) -> Path:
    headers = {}
    if meta:
        if meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
    path.parent.mkdir(parents=True, exist_ok=True)
    last_error: DownloadError | None = None
    # urllib3 retries failed connections and 5xx answers; this loop retries bodies cut short.
    for attempt in range(settings.MAX_ATTEMPTS):
        if attempt:
            time.sleep(settings.BACKOFF * 2 ** (attempt - 1))
        try:
            return _attempt(url, path, kind=kind, headers=headers, meta=meta,
                            progress=progress, session=session, check=check)
        except _Truncated as exc:
            last_error = DownloadError(str(exc))
            log.info("download of %s cut short, retrying (%s)", url, exc)
    assert last_error is not None
    raise last_error


class _Truncated(Exception):
    pass


def _attempt(url, path, *, kind, headers, meta, progress, session, check) -> Path:
    try:
        response = session.get(url, headers=headers, stream=True, timeout=settings.TIMEOUT)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise OfflineError(f"Impossible de joindre {url} ({type(exc).__name__}).") from exc
    except requests.RequestException as exc:
        raise DownloadError(f"Échec du téléchargement de {url} : {exc}") from exc
    with response:
        if response.status_code == 304 and meta is not None:
            meta["checked"] = _now()
            _write_metadata(path, meta)
            return path
        if response.status_code >= 400:
            raise DownloadError(
                f"Le serveur a répondu HTTP {response.status_code} pour {url}."
            )
        expected = response.headers.get("Content-Length")
        expected = int(expected) if expected and expected.isdigit() else None
        sha = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=path.suffix)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, tqdm(
                total=expected, unit="o", unit_scale=True, desc=path.name[13:] or path.name,
                disable=not progress, leave=False,
            ) as bar:
                try:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        out.write(chunk)
                        sha.update(chunk)
                        size += len(chunk)
                        bar.update(len(chunk))
                except (requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ConnectionError) as exc:
                    raise _Truncated(
                        f"Téléchargement de {url} interrompu après {size} octets"
                        + (f" sur {expected}" if expected else "") + "."
                    ) from exc
            if expected is not None and size != expected:
                raise _Truncated(
                    f"Téléchargement de {url} incomplet : {size} octets reçus sur {expected}."
                )
            _check_kind(tmp, kind, url)
            if check is not None:
                _check_readable(tmp, check, url)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    _write_metadata(path, {
        "url": url,
        "final_url": response.url,
        "downloaded": _now(),
        "checked": _now(),
        "size": size,
        "sha256": f"sha256:{sha.hexdigest()}",
        "etag": response.headers.get("ETag"),
        "last_modified": response.headers.get("Last-Modified"),
        "content_type": response.headers.get("Content-Type"),
    })
    log.info("downloaded %s (%d bytes) to %s", url, size, path)
    return path


def _check_kind(path: Path, kind: str | None, url: str) -> None:
    with open(path, "rb") as f:
        head = f.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        raise DownloadError(
            f"{url} a renvoyé une page HTML au lieu du fichier attendu "
            "(page d'erreur ou de maintenance du serveur) ; rien n'a été mis en cache."
        )
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except zipfile.BadZipFile as exc:
            raise DownloadError(
                f"{url} n'a pas renvoyé une archive ZIP valide ({exc}) ; rien n'a été mis en cache."
            ) from exc
        if bad is not None:
            raise DownloadError(f"L'archive reçue de {url} est corrompue ({bad}).")
    elif kind == "json":
        try:
            json.loads(path.read_bytes())
        except ValueError as exc:
            raise DownloadError(f"{url} n'a pas renvoyé du JSON valide ({exc}).") from exc


def _check_readable(path: Path, check: Callable[[Path], object], url: str) -> None:
    from ._errors import EssQpvError

    try:
        check(path)
    except EssQpvError as exc:
        raise DownloadError(f"le fichier reçu de {url} ne se lit pas ({exc}) ; téléchargement "
                            "incomplet ou fichier d'un autre format : rien n'a été mis en "
                            "cache.") from exc


def _write_metadata(path: Path, meta: dict) -> None:
    target = path.with_name(path.name + ".json")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".meta-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=2)
    os.replace(tmp, target)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
