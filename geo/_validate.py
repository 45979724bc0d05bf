"""Checks of user values that reach a page: web addresses."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlparse

from ._errors import InputError


def safe_url(value: str) -> str:
    """Return ``value`` if it is an http(s) address, else ``""`` (``javascript:`` and the like
    are refused); a bare ``www.`` address gets ``https://``.

    >>> safe_url("www.example.org"), safe_url("javascript:alert(1)")
    ('https://www.example.org', '')
    """
    text = str(value or "").strip()
    if text.lower().startswith("www."):
        text = "https://" + text
    parsed = urlparse(text)
    if parsed.scheme.lower() in ("http", "https") and parsed.netloc and not any(
            c in text for c in "\"'<> \\{}"):
        return text
    return ""


_SCHEME = re.compile(r"^\s*([a-zA-Z][\w+.-]*:|//|\\\\)")


def check_embed_url(url: str | None) -> str:
    """Return ``url`` if an ``<iframe>`` may point to it: an http(s) address or a relative
    path (the map's file name); refuse ``javascript:``, ``data:`` and the like."""
    text = str(url or "")
    relative = bool(text) and not _SCHEME.match(text) and not any(
        c in text for c in "\"'<>{}\x00\n\r\t")
    if not (safe_url(text) or relative):
        raise InputError(f"adresse de la carte « {text} » refusée pour l'extrait à intégrer : "
                         "indiquez une adresse http(s) ou le nom du fichier de la carte.",
                         parameters=("embed_url",))
    return text


def slug(name: str, *, limit: int = 60, default: str = "etude") -> str:
    """A safe file or folder name for ``name``: ASCII letters, digits and dashes, nothing
    else (no ``..``, no separator, never absolute).

    >>> slug("../Épicerie {{ 7*7 }} <script>"), slug("=1+1"), slug("///")
    ('epicerie-7-7-script', '1-1', 'etude')
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:limit].strip("-")
    return text or default
