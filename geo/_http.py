"""One configured HTTP session for every web service the package talks to."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from . import settings


def session(*, attempts: int | None = None, backoff: float | None = None,
            read_attempts: int | None = None) -> requests.Session:
    """Return a session that retries connection errors, 429 and 5xx answers with growing waits.

    ``Retry-After`` headers are honoured; the number of attempts is bounded
    (defaults: :data:`geo.settings.MAX_ATTEMPTS`, :data:`geo.settings.BACKOFF` seconds);
    ``read_attempts`` bounds apart the attempts on a server that accepts the connection and
    does not answer in time (each one waits the whole read timeout).
    """
    attempts = attempts or settings.MAX_ATTEMPTS
    backoff = settings.BACKOFF if backoff is None else backoff
    retry = Retry(
        total=attempts - 1,
        connect=attempts - 1,
        # False: a read timeout is raised as such at once (the caller decides what next)
        read=min(attempts, read_attempts or attempts) - 1 or False,
        status=attempts - 1,
        backoff_factor=backoff,
        backoff_jitter=backoff / 4,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # POST of the geocoder's batch endpoint is idempotent too
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    s = requests.Session()
    s.headers["User-Agent"] = settings.USER_AGENT
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s
