"""Where the map's scripts and style sheets come from, and the self-contained page.

One resolver maps each CDN address that folium (or :mod:`geo.write.maps`) writes to a local file
shipped by a Python package (the XStatic packages). The self-contained writer inlines every
script and style sheet of a page, and every image or font its CSS points to, so the page
opens with the network cut off (the base-map tiles aside).
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import re
from importlib import import_module
from pathlib import Path
from urllib.parse import urljoin

from .. import _http
from .._errors import EssQpvError

log = logging.getLogger(__name__)

#: CDN address patterns → (Python package holding the file, path inside its data folder).
#: The version in the address may differ from the packaged one when the API is the same
#: (folium writes Leaflet.markercluster 1.1.0; XStatic ships 1.4.1).
RESOLVER: list[tuple[re.Pattern, str, str]] = [
    (re.compile(r"^https://cdn\.jsdelivr\.net/npm/leaflet@1\.9\.\d+/dist/(?P<f>leaflet\.(js|css)"
                r"|images/[\w.-]+\.png)$"), "xstatic.pkg.leaflet", "{f}"),
    (re.compile(r"^https://cdnjs\.cloudflare\.com/ajax/libs/leaflet\.markercluster/1\.\d+\.\d+/"
                r"(?P<f>leaflet\.markercluster\.js|MarkerCluster(\.Default)?\.css)$"),
     "xstatic.pkg.leaflet_markercluster", "{f}"),
]


def resolve(url: str) -> Path | None:
    """Return the local packaged copy of a CDN address, or ``None`` if none is known."""
    for pattern, package, template in RESOLVER:
        match = pattern.match(url)
        if match:
            try:
                base = Path(import_module(package).BASE_DIR)
            except ImportError:
                return None
            path = base / template.format(**match.groupdict())
            return path if path.exists() else None
    return None


def _cached_download(url: str) -> Path | None:
    """A copy of an asset not shipped by any package: fetched once, when online, into the
    cache; ``None`` when offline and not cached."""
    from ..download import cached_path, fetch

    target = cached_path(url)
    if target.exists():
        return target
    try:
        return fetch(url, progress=False, session=_http.session(attempts=2))
    except EssQpvError as exc:
        log.info("asset %s unavailable: %s", url, exc)
        return None


def local_asset(url: str) -> Path | None:
    """The packaged copy of ``url``, else a cached download of it."""
    return resolve(url) or _cached_download(url)


_SCRIPT = re.compile(r'<script\s+src="(?P<url>https?://[^"]+)"\s*>\s*</script>')
_LINK = re.compile(r'<link\s+rel="stylesheet"\s+href="(?P<url>https?://[^"]+)"\s*/?>')
_CSS_URL = re.compile(r"url\((?P<q>['\"]?)(?P<url>[^)'\"]+)(?P=q)\)")


def external_assets(page: str) -> list[str]:
    """The addresses of the scripts and style sheets a page loads."""
    return [m.group("url") for m in _SCRIPT.finditer(page)] + [
        m.group("url") for m in _LINK.finditer(page)]


def self_contained(page: str) -> str:
    """Return ``page`` with every script, style sheet and CSS image or font inlined.

    Raises
    ------
    EssQpvError
        Some asset has no packaged copy and could not be downloaded (offline): the message
        lists them.
    """
    missing = [url for url in external_assets(page) if local_asset(url) is None]
    if missing:
        raise EssQpvError(
            "impossible de produire la carte autonome : ces fichiers ne sont fournis par "
            "aucun paquet installé et le réseau est inaccessible : " + ", ".join(missing))

    def script(match: re.Match) -> str:
        code = local_asset(match.group("url")).read_text(encoding="utf-8")
        code = code.replace("</script", "<\\/script")
        return f"<script>/* {match.group('url')} */\n{code}\n</script>"

    def style(match: re.Match) -> str:
        url = match.group("url")
        css = _inline_css_urls(local_asset(url).read_text(encoding="utf-8"), url)
        return f"<style>/* {url} */\n{css}\n</style>"

    page = _SCRIPT.sub(script, page)
    return _LINK.sub(style, page)


def _inline_css_urls(css: str, css_url: str) -> str:
    def data_uri(match: re.Match) -> str:
        ref = match.group("url").strip()
        if ref.startswith(("data:", "#")):
            return match.group(0)
        url = urljoin(css_url, ref)
        path = local_asset(url.split("?")[0].split("#")[0])
        if path is None:
            raise EssQpvError(f"image ou police introuvable hors ligne pour la carte autonome : "
                              f"{url}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        encoded = base64.b64encode(path.read_bytes()).decode()
        return f'url("data:{mime};base64,{encoded}")'

    return _CSS_URL.sub(data_uri, css)
