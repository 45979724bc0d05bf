"""Package-wide settings: cache location, network politeness, official URLs."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

#: Environment variable that overrides the per-user cache folder.
CACHE_ENV = "ESS_QPV_CACHE"

#: Seconds to wait for a server to answer (connect, read).
TIMEOUT = (10, 60)

#: Attempts for one download before giving up (first try included).
MAX_ATTEMPTS = 4

#: First wait between attempts, in seconds; it doubles at each new attempt.
BACKOFF = 1.0

USER_AGENT = "ess-qpv (+https://pypi.org/project/ess-qpv/)"

#: data.gouv.fr site root (``$ESS_QPV_DATAGOUV`` overrides it, e.g. for a mirror).
DATAGOUV_ENV = "ESS_QPV_DATAGOUV"
DATAGOUV = "https://www.data.gouv.fr"


def datagouv() -> str:
    """Return the data.gouv.fr site root in use, without a trailing slash."""
    return (os.environ.get(DATAGOUV_ENV) or DATAGOUV).rstrip("/")


def bundled_path(name: str) -> Path:
    """Return the path of a file shipped in the package's bundled data."""
    try:
        base = Path(str(resources.files("geo.data")))
    except ModuleNotFoundError:  # ``geo`` imported from a checkout: the data sit beside it
        base = Path(__file__).resolve().parents[1] / "data"
    return base / name


def cache_dir() -> Path:
    """Return the per-user cache folder (``$ESS_QPV_CACHE`` overrides it), created if needed."""
    from ._errors import EssQpvError

    path = Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("ess-qpv"))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EssQpvError(f"dossier de cache inutilisable : {path} ({exc.strerror}) ; "
                          f"choisissez un dossier avec la variable {CACHE_ENV}.") from exc
    return path
