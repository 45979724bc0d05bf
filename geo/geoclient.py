"""The client of a BAN-compatible geocoder (the national API, or a self-hosted addok):
batch requests to ``/search/csv/``, single ones to ``/search/``, retries, rate limit, and
every answer checked before anyone trusts it."""

from __future__ import annotations

import csv
import io
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import requests

from . import _http
from ._errors import InputError
from .typography import number, plural
from .vocabulary import DEFAULT_CHUNK, DEFAULT_GEOCODER_URL

DEFAULT_URL = DEFAULT_GEOCODER_URL
#: The national service allows 50 requests per second and per IP address.
MAX_RATE = 50.0

#: The fields of one answer, as the batch endpoint names them.
RESULT_FIELDS = ("latitude", "longitude", "result_label", "result_score", "result_score_next",
                  "result_type", "result_id", "result_postcode", "result_citycode",
                  "result_city", "result_status")
#: The batch endpoint's ``result_status`` of an answer, found or not (empty: a server that
#: does not say); any other (``error``, ``skipped``…) says the geocoder failed on that row.
ANSWERED = ("ok", "not-found", "")



@dataclass
class Stats:
    """What a geocoding run did."""

    requests: int = 0
    #: Requests the geocoder answered (any HTTP answer, an error too).
    answered: int = 0
    #: Whether online geocoding was off (nothing asked), and whether the geocoder could
    #: not be reached (its rows left unplaced, the run going on).
    offline: bool = False
    unreachable: bool = False
    #: Rows answered from the cache.
    from_cache: int = 0
    #: Distinct queries to send, and those sent so far.
    pending: int = 0
    sent: int = 0
    fallback_rows: int = 0
    #: Rows the geocoder failed on (``result_status`` ``error``…): asked again next run.
    failed: int = 0
    #: Corrections not applied: their site changed or is no longer in the table.
    refused_corrections: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class _RateLimiter:
    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self.next:
            time.sleep(self.next - now)
        self.next = max(now, self.next) + self.interval


class Geocoder:
    """A client of a BAN-compatible geocoder (the national API or a self-hosted addok).

    Parameters
    ----------
    url
        Root of the service; ``/search/`` and ``/search/csv/`` are appended.
    chunk_size
        Addresses per batch request (the service takes files up to 50 MB).
    timeout
        Seconds that one batch request may take in all: connecting, sending and receiving
        the whole answer (one address gets a quarter of it, at least 10 s); connecting
        waits :data:`CONNECT_TIMEOUT` seconds at most. A server that has not answered in
        full in time (silent, or dripping its answer) is cut and tried again
        (:data:`READ_ATTEMPTS`, with a :class:`GeocoderWaitWarning`), then the run goes
        on without it: a batch costs ``timeout * READ_ATTEMPTS`` seconds at most.
    rate
        At most this many requests per second.
    """

    def __init__(self, url: str = DEFAULT_URL, *, chunk_size: int = DEFAULT_CHUNK,
                 timeout: float = 60.0, rate: float = MAX_RATE,
                 session: requests.Session | None = None, attempts: int | None = None) -> None:
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise InputError(f"taille de lot « {chunk_size} » refusée : un nombre entier "
                             "d'adresses, au moins 1, est attendu.", parameters=("chunk_size",))
        if not str(url).lower().startswith(("http://", "https://")):
            raise InputError(f"adresse du géocodeur « {url} » refusée : une adresse http(s) "
                             "est attendue.", parameters=("geocoder_url",))
        self.url = url.rstrip("/")
        self.chunk_size = chunk_size
        self.timeout = timeout
        # a read that times out is tried again here, with a word to the user, not by urllib3
        self.session = session or _http.session(attempts=attempts, read_attempts=1)
        self.limiter = _RateLimiter(rate)
        self.stats = Stats()

    def _request(self, method: str, path: str, **kw) -> requests.Response:
        self.limiter.wait()
        self.stats.requests += 1
        # the whole exchange (connecting, sending, every read) is bounded by ``bound``
        bound = self.timeout if path.endswith("/csv/") else max(10.0, self.timeout / 4)
        try:
            for attempt in range(READ_ATTEMPTS):
                try:
                    response = self._exchange(method, path, bound, **kw)
                    break
                except requests.ReadTimeout:
                    if attempt + 1 == READ_ATTEMPTS:
                        raise
                    warnings.warn(f"le géocodeur {self.url} ne répond pas depuis "
                                  f"{number(bound)} s : nouvel essai ({attempt + 2} sur "
                                  f"{READ_ATTEMPTS}).",
                                  GeocoderWaitWarning, stacklevel=2)
        except requests.Timeout as exc:
            raise Unreachable(f"pas de réponse en {number(bound)} s", detail=exc) from exc
        except requests.ConnectionError as exc:
            raise Unreachable("connexion impossible", detail=exc) from exc
        except requests.RequestException as exc:
            raise BadAnswer(f"réponse illisible ({type(exc).__name__})") from exc
        self.stats.answered += 1
        if response.status_code in _CONFIG_STATUSES:
            raise ConfigError(f"HTTP {response.status_code} sur {path}")
        if response.status_code >= 400:
            raise BadAnswer(f"HTTP {response.status_code}", response.status_code)
        if response.content.lstrip()[:1] == b"<":
            raise ConfigError(f"page HTML au lieu d'une réponse du géocodeur sur {path}")
        return response

    def _exchange(self, method: str, path: str, bound: float, **kw) -> requests.Response:
        """One request and its whole body within ``bound`` seconds in all; past it, the
        connection is cut and :class:`requests.ReadTimeout` raised (a server that drips
        its answer byte by byte is as good as silent)."""
        with _http.deadline(bound) as watch:
            try:
                response = self.session.request(
                    method, self.url + path, timeout=(min(CONNECT_TIMEOUT, bound), bound),
                    **kw)
                response.content  # noqa: B018 - read within the deadline
            except requests.RequestException as exc:
                if watch.expired and not isinstance(exc, requests.ConnectTimeout):
                    raise requests.ReadTimeout(f"no whole answer in {bound:g} s") from exc
                raise
        return response

    def batch(self, rows: list[dict]) -> list[dict]:
        """Geocode ``rows`` (``q``, ``postcode``, ``citycode``) with one ``/search/csv/`` call;
        return one result dict per row, in order."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["_row", "q", "postcode", "citycode"])
        for i, row in enumerate(rows):
            writer.writerow([i, row["q"], row.get("postcode", ""), row.get("citycode", "")])
        form = [("columns", "q")]
        if any(r.get("postcode") for r in rows):
            form.append(("postcode", "postcode"))
        if any(r.get("citycode") for r in rows):
            form.append(("citycode", "citycode"))
        response = self._request("POST", "/search/csv/", data=form, files={
            "data": ("adresses.csv", buffer.getvalue().encode("utf-8"), "text/csv")})
        text = response.content.decode("utf-8-sig", errors="replace")
        reader = csv.DictReader(io.StringIO(text))
        missing = [f for f in ("_row", "latitude", "longitude", "result_score")
                   if f not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError("la réponse CSV n'a pas les colonnes de résultat ("
                               + ", ".join(missing) + ")")
        results: dict[int, dict] = {}
        # a server that reports statuses and leaves one empty has not answered that row
        says = "result_status" in (reader.fieldnames or [])
        for record in reader:
            try:
                result = {k: record.get(k, "") or "" for k in RESULT_FIELDS}
                if says and not result["result_status"].strip():
                    result["result_status"] = "sans statut"
                # a row the geocoder failed on is no answer: kept aside, never checked
                results[int(record["_row"])] = checked_answer(result) if is_answer(
                    result) else failed_row(result["result_status"])
            except (KeyError, ValueError, TypeError) as exc:
                raise BadAnswer("CSV de réponse illisible") from exc
        if sorted(results) != list(range(len(rows))):
            raise BadAnswer(f"CSV incomplet : {plural(len(results), 'ligne reçue')} sur "
                            f"{number(len(rows))}")
        return [results[i] for i in range(len(rows))]

    def search(self, row: dict) -> dict:
        """Geocode one address with ``GET /search/`` (the fallback of :meth:`batch`)."""
        params = {"q": row["q"], "limit": 2}
        for key in ("postcode", "citycode"):
            if row.get(key):
                params[key] = row[key]
        response = self._request("GET", "/search/", params=params)
        try:
            answer = response.json()
        except ValueError as exc:
            raise BadAnswer("JSON de réponse illisible") from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("features"), list):
            raise ConfigError("la réponse JSON n'est pas une liste de résultats (GeoJSON)")
        features = answer["features"]
        if not features:
            return {**{k: "" for k in RESULT_FIELDS}, "result_status": "not-found"}
        try:
            best = features[0]
            props = best.get("properties", {})
            lon, lat = best.get("geometry", {}).get("coordinates", ["", ""])[:2]
            following = features[1]["properties"].get("score", "") if len(features) > 1 \
                else ""
        except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
            raise BadAnswer("réponse JSON mal formée") from exc
        return checked_answer({
            "latitude": str(lat), "longitude": str(lon), "result_label": props.get("label", ""),
            "result_score": str(props.get("score", "")), "result_score_next": str(following),
            "result_type": props.get("type", ""), "result_id": props.get("id", ""),
            "result_postcode": props.get("postcode", ""),
            "result_citycode": props.get("citycode", ""), "result_city": props.get("city", ""),
            "result_status": "ok",
        })


#: Seconds to wait for the connection to a geocoder.
CONNECT_TIMEOUT = 10.0
#: Times a request that gets no answer in time is sent.
READ_ATTEMPTS = 2


class GeocoderWaitWarning(UserWarning):
    """The geocoder is slow to answer: the request is sent again."""


class GeocoderUnreachableWarning(UserWarning):
    """The geocoder could not be reached: the run goes on without it."""


def is_answer(result: dict) -> bool:
    """Whether ``result`` is the geocoder's answer (found or not), not its failure."""
    return str(result.get("result_status") or "").strip().lower() in ANSWERED


def failed_row(status: str) -> dict:
    """The result of a row the geocoder failed on (its ``result_status``, else ``error``)."""
    return {**{k: "" for k in RESULT_FIELDS},
            "result_status": str(status or "").strip()[:40] or "error"}


def checked_answer(result: dict) -> dict:
    """``result`` if it is an answer: none (no coordinates, no label), or coordinates in
    degrees with a score between 0 and 1; anything else is a malformed answer, never cached
    (a server that says ``lat=999`` is broken, not precise)."""
    result = {k: ("" if v is None else str(v)) for k, v in result.items()}
    if not result.get("latitude") and not result.get("longitude"):
        return result
    lat, lon, score = (as_float(result.get(k)) for k in ("latitude", "longitude",
                                                         "result_score"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadAnswer(f"coordonnées impossibles dans la réponse ({result.get('latitude')!r}"
                         f", {result.get('longitude')!r})")
    if score is None or not 0 <= score <= 1:
        raise BadAnswer(f"score impossible dans la réponse ({result.get('result_score')!r})")
    return result


class Unreachable(Exception):
    """No answer at all: no connection, or none in time."""

    def __init__(self, message: str, *, detail: Exception | None = None) -> None:
        super().__init__(message)
        self.detail = detail


#: Answers that say the URL or the access is wrong, not the query: nothing is cached.
_CONFIG_STATUSES = (401, 403, 404, 405)


class ConfigError(Exception):
    """The server answers, but not as an address API: wrong URL, proxy page, no access."""


class BadAnswer(Exception):
    """An answer that is no result: an HTTP error, a malformed body. Never cached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def as_float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number
