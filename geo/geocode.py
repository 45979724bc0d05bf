"""Addresses to coordinates with the Base Adresse Nationale (or any addok) geocoder.

Batch first: rows are sent in chunks to ``POST /search/csv/``; a chunk that keeps failing is
retried one address at a time with ``GET /search/``. Every answer is kept in a SQLite cache
(keyed by geocoder, normalised query and filters) as soon as its chunk is done, so a run that
is interrupted resumes where it stopped and a second run makes no request at all. Each row gets
a status, ``ok``, ``a_verifier`` (with the reason) or ``non_trouve``; doubtful rows go to a review
file that doubles as the corrections file of the next run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import sqlite3
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import requests

from . import _http, settings
from ._errors import EssQpvError, InputError
from .territories import commune_of_insee
from .vocabulary import (
    ADDRESS_PARTS,
    DEFAULT_CHUNK,
    DEFAULT_GEOCODER_URL,
    DEFAULT_MIN_SCORE,
    GeocodeStatus,
    find_column,
)

log = logging.getLogger(__name__)

DEFAULT_URL = DEFAULT_GEOCODER_URL
#: Two candidates closer than this in score make the match ambiguous.
AMBIGUITY_MARGIN = 0.05
#: The national service allows 50 requests per second and per IP address.
MAX_RATE = 50.0

STATUS_OK, STATUS_REVIEW, STATUS_NOT_FOUND = GeocodeStatus.OK, GeocodeStatus.REVIEW, \
    GeocodeStatus.NOT_FOUND
STATUS_GIVEN, STATUS_CORRECTED, STATUS_NO_ADDRESS = GeocodeStatus.GIVEN, \
    GeocodeStatus.CORRECTED, GeocodeStatus.NO_ADDRESS
STATUS_OFFLINE = GeocodeStatus.OFFLINE

#: Columns added to the user's table.
GEOCODE_COLUMNS = ["geocode_status", "geocode_score", "geocode_label", "geocode_type",
                   "geocode_citycode", "geocode_note"]
#: The review file: what was asked and proposed, then the four columns a person fills in
#: (it is read back as the corrections file).
REVIEW_COLUMNS = ["cle", "ligne", "adresse_saisie", "statut", "motif", "adresse_proposee",
                  "score", "latitude_proposee", "longitude_proposee", "accepter",
                  "adresse_corrigee", "latitude", "longitude"]
_RESULT_FIELDS = ("latitude", "longitude", "result_label", "result_score", "result_score_next",
                  "result_type", "result_id", "result_postcode", "result_citycode",
                  "result_city", "result_status")
_TYPE_RANK = {"housenumber": 0, "street": 1, "locality": 2, "municipality": 3}
_HOUSENUMBER = re.compile(r"^\s*\d+\s*(bis|ter|quater|[a-z])?\b", re.IGNORECASE)


# --------------------------------------------------------------------------- cache


class GeocodeCache:
    """Answers of the geocoder, one row per (geocoder, normalised query, filters).

    Stored in SQLite (``geocode.sqlite`` in :func:`geo.settings.cache_dir` by default);
    written after each chunk, so an interrupted run keeps what was done.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else settings.cache_dir() / "geocode.sqlite"
        try:
            self.db = self._open()
        except sqlite3.OperationalError as exc:
            raise self._busy(exc) from exc
        except sqlite3.DatabaseError as exc:
            # A damaged cache only costs requests: set it aside, say so, start a new one.
            aside = _free_name(self.path.with_name(self.path.name + ".corrompu"))
            os.replace(self.path, aside)
            warnings.warn(f"cache de géocodage illisible ({exc}) : mis de côté sous {aside.name}"
                          " et recréé ; les adresses seront redemandées.", stacklevel=2)
            self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        # another run (or a database browser, a backup) may hold the file: wait for it
        db = sqlite3.connect(self.path, timeout=LOCK_WAIT)
        try:
            db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, url TEXT, "
                       "query TEXT, postcode TEXT, citycode TEXT, result TEXT, saved REAL)")
            db.execute("SELECT key, result FROM answers LIMIT 1").fetchall()
            db.commit()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _busy(self, exc: Exception) -> EssQpvError:
        if "locked" in str(exc) or "busy" in str(exc):
            return EssQpvError(
                f"le cache de géocodage ({self.path}) est occupé par un autre programme depuis "
                f"{LOCK_WAIT:g} s (une autre analyse, un logiciel de base de données, une "
                "sauvegarde ?) ; fermez-le ou attendez la fin de l'autre analyse, puis "
                "relancez : rien n'a été perdu.")
        return EssQpvError(f"cache de géocodage inutilisable ({self.path} : {exc}) ; "
                           f"choisissez un autre dossier avec la variable "
                           f"{settings.CACHE_ENV}.")

    def get_many(self, keys: Iterable[str]) -> dict[str, dict]:
        keys = list(keys)
        out: dict[str, dict] = {}
        try:
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                rows = self.db.execute(
                    f"SELECT key, result FROM answers WHERE key IN "
                    f"({','.join('?' * len(part))})", part).fetchall()
                for key, text in rows:
                    answer = _stored(text)
                    if answer is not None:  # a damaged row is asked again, then replaced
                        out[key] = answer
        except sqlite3.OperationalError as exc:
            raise self._busy(exc) from exc
        return out

    def put_many(self, url: str, answers: list[tuple[str, str, str, str, dict]]) -> None:
        try:
            self.db.executemany(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(k, url, q, p, c, json.dumps(r, ensure_ascii=False), time.time())
                 for k, q, p, c, r in answers])
            self.db.commit()
        except sqlite3.OperationalError as exc:
            raise self._busy(exc) from exc

    def close(self) -> None:
        self.db.close()


#: Seconds a run waits for a cache that another program holds.
LOCK_WAIT = 30.0


def _stored(text) -> dict | None:
    """A cached answer, ``None`` when the row is damaged."""
    try:
        answer = json.loads(text)
        return _checked(answer) if isinstance(answer, dict) else None
    except (TypeError, ValueError, _BadAnswer):
        return None


def _free_name(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``…: the first that does not exist (a set-aside
    copy never overwrites an earlier one)."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def normalise_query(text: str) -> str:
    """Lower-case, accents and punctuation folded, spaces collapsed: the cache's view of a
    query (the geocoder ignores those differences too)."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def cache_key(url: str, query: str, postcode: str = "", citycode: str = "") -> str:
    """The canonical request: geocoder, normalised query and filters, hashed."""
    canonical = json.dumps([url.rstrip("/"), normalise_query(query), postcode.strip(),
                            citycode.strip()])
    return hashlib.sha256(canonical.encode()).hexdigest()


# --------------------------------------------------------------------------- client


@dataclass
class Stats:
    """What a geocoding run did."""

    requests: int = 0
    #: Rows answered from the cache.
    from_cache: int = 0
    #: Distinct queries to send, and those sent so far.
    pending: int = 0
    sent: int = 0
    fallback_rows: int = 0
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
        Seconds to wait for an answer to a batch (one address waits a quarter of it, at
        least 10 s); connecting waits :data:`CONNECT_TIMEOUT` seconds at most. A server
        that does not answer in time is tried again (:data:`READ_ATTEMPTS`, with a
        :class:`GeocoderWaitWarning`), then the run stops.
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
        read = self.timeout if path.endswith("/csv/") else max(10.0, self.timeout / 4)
        try:
            for attempt in range(READ_ATTEMPTS):
                try:
                    response = self.session.request(
                        method, self.url + path, timeout=(min(CONNECT_TIMEOUT, read), read),
                        **kw)
                    break
                except requests.ReadTimeout:
                    if attempt + 1 == READ_ATTEMPTS:
                        raise
                    warnings.warn(f"le géocodeur {self.url} ne répond pas depuis {read:g} s : "
                                  f"nouvel essai ({attempt + 2} sur {READ_ATTEMPTS}).",
                                  GeocoderWaitWarning, stacklevel=2)
        except requests.Timeout as exc:
            raise _Unreachable(f"pas de réponse en {read:g} s", detail=exc) from exc
        except requests.ConnectionError as exc:
            raise _Unreachable("connexion impossible", detail=exc) from exc
        except requests.RequestException as exc:
            raise _BadAnswer(f"réponse illisible ({type(exc).__name__})") from exc
        if response.status_code in _CONFIG_STATUSES:
            raise _ConfigError(f"HTTP {response.status_code} sur {path}")
        if response.status_code >= 400:
            raise _BadAnswer(f"HTTP {response.status_code}", response.status_code)
        if response.content.lstrip()[:1] == b"<":
            raise _ConfigError(f"page HTML au lieu d'une réponse du géocodeur sur {path}")
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
            raise _ConfigError("la réponse CSV n'a pas les colonnes de résultat ("
                               + ", ".join(missing) + ")")
        results: dict[int, dict] = {}
        for record in reader:
            try:
                results[int(record["_row"])] = _checked(
                    {k: record.get(k, "") or "" for k in _RESULT_FIELDS})
            except (KeyError, ValueError, TypeError) as exc:
                raise _BadAnswer("CSV de réponse illisible") from exc
        if sorted(results) != list(range(len(rows))):
            raise _BadAnswer(f"CSV incomplet : {len(results)} lignes reçues sur {len(rows)}")
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
            raise _BadAnswer("JSON de réponse illisible") from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("features"), list):
            raise _ConfigError("la réponse JSON n'est pas une liste de résultats (GeoJSON)")
        features = answer["features"]
        if not features:
            return {k: "" for k in _RESULT_FIELDS}
        try:
            best = features[0]
            props = best.get("properties", {})
            lon, lat = best.get("geometry", {}).get("coordinates", ["", ""])[:2]
            following = features[1]["properties"].get("score", "") if len(features) > 1 \
                else ""
        except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
            raise _BadAnswer("réponse JSON mal formée") from exc
        return _checked({
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


#: Why a row with an address got no coordinates when nothing was asked.
NOTE_OFFLINE = ("géocodage en ligne désactivé : adresse non cherchée (activez le géocodage en "
                "ligne, ou placez le site à la main)")
NOTE_UNREACHABLE = ("géocodeur injoignable (pas de réseau ?) : adresse non cherchée (relancez "
                    "plus tard, ou placez le site à la main)")
#: The statuses of the rows that go to the review: doubtful, or left without a place.
REVIEWED = (GeocodeStatus.REVIEW, GeocodeStatus.NOT_FOUND, GeocodeStatus.OFFLINE,
            GeocodeStatus.NO_ADDRESS)
#: The national service takes queries of 3 to 200 characters; others are not sent.
QUERY_LENGTH = (3, 200)


def _checked(result: dict) -> dict:
    """``result`` if it is an answer: none (no coordinates, no label), or coordinates in
    degrees with a score between 0 and 1; anything else is a malformed answer, never cached
    (a server that says ``lat=999`` is broken, not precise)."""
    result = {k: ("" if v is None else str(v)) for k, v in result.items()}
    if not result.get("latitude") and not result.get("longitude"):
        return result
    lat, lon, score = (_float(result.get(k)) for k in ("latitude", "longitude",
                                                         "result_score"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _BadAnswer(f"coordonnées impossibles dans la réponse ({result.get('latitude')!r}"
                         f", {result.get('longitude')!r})")
    if score is None or not 0 <= score <= 1:
        raise _BadAnswer(f"score impossible dans la réponse ({result.get('result_score')!r})")
    return result


class _Unreachable(Exception):
    """No answer at all: no connection, or none in time."""

    def __init__(self, message: str, *, detail: Exception | None = None) -> None:
        super().__init__(message)
        self.detail = detail


#: Answers that say the URL or the access is wrong, not the query: nothing is cached.
_CONFIG_STATUSES = (401, 403, 404, 405)


class _ConfigError(Exception):
    """The server answers, but not as an address API: wrong URL, proxy page, no access."""


class _BadAnswer(Exception):
    """An answer that is no result: an HTTP error, a malformed body. Never cached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------- assessment


def assess(row: dict, result: dict, *, min_score: float = DEFAULT_MIN_SCORE) -> tuple[str, str]:
    """Return the status of one answer and the reason (French) when it is not plain ``ok``."""
    if not result.get("latitude") or not result.get("result_label"):
        return STATUS_NOT_FOUND, "aucune adresse correspondante"
    reasons = []
    score = _float(result.get("result_score"))
    if score is None or score < min_score:
        reasons.append(f"score {score if score is not None else '?'} inférieur à {min_score:g}")
    kind = result.get("result_type", "")
    address = row.get("address", row["q"])
    if _HOUSENUMBER.match(address) and _TYPE_RANK.get(kind, 9) > 0:
        reasons.append(f"numéro non trouvé (réponse de type « {kind} »)")
    elif _TYPE_RANK.get(kind, 9) >= 3 and len(normalise_query(address).split()) > 1:
        reasons.append("seule la commune a été trouvée")
    postcode = row.get("check_postcode") or row.get("postcode")
    if postcode and result.get("result_postcode") and (
            postcode.strip() != result["result_postcode"].strip()):
        reasons.append(f"code postal différent ({result['result_postcode']} au lieu de "
                       f"{postcode})")
    citycode = row.get("check_citycode") or row.get("citycode")
    if citycode and result.get("result_citycode") and (
            commune_of_insee(citycode) != commune_of_insee(result["result_citycode"])):
        reasons.append(f"commune différente ({result['result_citycode']} au lieu de "
                       f"{citycode})")
    nxt = _float(result.get("result_score_next"))
    if score is not None and nxt and score - nxt < AMBIGUITY_MARGIN:
        reasons.append(f"deux réponses presque aussi probables ({score:.2f} et {nxt:.2f})")
    return (STATUS_REVIEW, " ; ".join(reasons)) if reasons else (STATUS_OK, "")


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


# --------------------------------------------------------------------------- the table


@dataclass
class GeocodeResult:
    """The user's table with coordinates and statuses, and what the run did."""

    table: pd.DataFrame
    review: pd.DataFrame
    stats: Stats
    lat_column: str
    lon_column: str


def default_address_columns(columns: list[str]) -> list[str]:
    """The parts of the address found by their usual names, in the registries' order."""
    found = [find_column(columns, role) for role in ADDRESS_PARTS]
    return list(dict.fromkeys(c for c in found if c))


def geocode(
    table: pd.DataFrame,
    *,
    address_columns: list[str] | None = None,
    postcode_column: str | None = None,
    citycode_column: str | None = None,
    check_columns: tuple[str | None, str | None] | None = None,
    lat_column: str | None = None,
    lon_column: str | None = None,
    id_column: str | None = None,
    geocoder: Geocoder | None = None,
    cache: GeocodeCache | None = None,
    corrections: pd.DataFrame | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
    force: bool = False,
    offline: bool = False,
    first_row: int = 2,
    progress: Callable[[int], None] | None = None,
    path: str = "",
) -> GeocodeResult:
    """Add coordinates to the rows of ``table`` that have an address and no coordinates.

    Parameters
    ----------
    table
        The user's rows (all columns text); every row and column is kept, in order.
    address_columns
        Columns joined into the query (default: ``adresse``, ``code_postal``, ``commune`` or
        their usual variants).
    postcode_column, citycode_column
        Filters sent to the geocoder (default: none). The row's postcode and INSEE code
        (these columns, else ``check_columns``, else found by their usual names) are always
        checked against the answer.
    lat_column, lon_column
        Where coordinates are read and written (default ``latitude`` / ``longitude``,
        created when absent). Rows that have both are not sent unless ``force``.
    corrections
        A review file from an earlier run, edited: a row whose ``latitude``/``longitude`` is
        filled takes them, ``accepter`` = ``oui`` takes the proposed point,
        ``adresse_corrigee`` replaces the query. Matched on ``cle``.
    min_score
        Scores below it are sent for review.
    offline
        Send nothing: use the cached answers only; other rows are left without coordinates
        (status ``non_geocode``).
    first_row
        Row number of the first data row, for messages (2 under a header line).
    """
    columns = [str(c) for c in table.columns]
    address_columns = address_columns or default_address_columns(columns)
    if not address_columns:
        raise InputError("aucune colonne d'adresse (adresse, code_postal, commune) ; "
                         "indiquez-les.", path=path, parameters=("address",))
    for column in address_columns + [c for c in (postcode_column, citycode_column) if c]:
        if column not in columns:
            raise InputError(f"la colonne « {column} » n'existe pas ; colonnes présentes : "
                             f"{', '.join(columns)}.", path=path, parameters=("address",))
    # The postcode and INSEE code of the row are checked against the answer; they are sent
    # as filters only when named (a wrong postcode as filter hides the right answer).
    given_checks = check_columns or (None, None)
    check_postcode = postcode_column or given_checks[0] or find_column(columns, "postcode")
    check_citycode = citycode_column or given_checks[1] or find_column(columns, "citycode")
    lat_column = lat_column or find_column(columns, "lat") or "latitude"
    lon_column = lon_column or find_column(columns, "lon") or "longitude"
    geocoder = geocoder or Geocoder()
    own_cache = cache is None
    cache = cache or GeocodeCache()
    out = table.copy()
    for column in (lat_column, lon_column):
        if column not in out:
            out[column] = ""
    earlier = out[[c for c in GEOCODE_COLUMNS if c in out]].copy()
    out = out.drop(columns=list(earlier.columns))
    n = len(out)
    keys_for_rows = row_keys(out, id_column or find_column(columns, "id"), first_row)
    text = out.astype(str).replace({"nan": "", "None": ""})
    addresses = text[address_columns].apply(lambda r: " ".join(v.strip() for v in r if
                                                                v.strip()), axis=1)
    def value(column: str | None, i: int) -> str:
        return text[column].iat[i].strip() if column else ""

    rows = [{"address": value(address_columns[0], i), "q": addresses.iat[i][:QUERY_LENGTH[1]],
             "postcode": value(postcode_column, i), "citycode": value(citycode_column, i),
             "check_postcode": value(check_postcode, i),
             "check_citycode": value(check_citycode, i)} for i in range(n)]
    fixes = _corrections(corrections, path)
    status = np.full(n, "", dtype=object)
    note = np.full(n, "", dtype=object)
    has_coords = (text[lat_column].str.strip() != "") & (text[lon_column].str.strip() != "")
    for i in range(n):
        fix = fixes.get(keys_for_rows[i])
        if fix and fix.get("address"):
            # the corrected address supersedes the row's own postcode and commune
            rows[i].update(q=fix["address"], address=fix["address"], check_postcode="",
                           check_citycode="")
        if fix and fix.get("point"):
            out.iat[i, out.columns.get_loc(lat_column)] = fix["point"][0]
            out.iat[i, out.columns.get_loc(lon_column)] = fix["point"][1]
            status[i], note[i] = STATUS_CORRECTED, "coordonnées corrigées à la main"
        elif has_coords.iat[i] and not force:
            status[i] = STATUS_GIVEN
        elif not rows[i]["q"]:
            status[i], note[i] = STATUS_NO_ADDRESS, "ni coordonnées ni adresse"
        elif len(rows[i]["q"]) < QUERY_LENGTH[0]:
            status[i], note[i] = STATUS_NOT_FOUND, (f"adresse trop courte pour être cherchée "
                                                    f"({QUERY_LENGTH[0]} caractères au moins)")
    todo = [i for i in range(n) if status[i] == ""]
    keys = {i: cache_key(geocoder.url, rows[i]["q"], rows[i]["postcode"], rows[i]["citycode"])
            for i in todo}
    known = cache.get_many(set(keys.values()))
    geocoder.stats.from_cache = sum(1 for i in todo if keys[i] in known)
    pending: dict[str, dict] = {}
    for i in todo:
        if keys[i] not in known:
            pending.setdefault(keys[i], rows[i])
    if offline:
        pending = {}
    geocoder.stats.pending = len(pending)
    if progress:
        progress(0)
    unanswered = NOTE_OFFLINE
    try:
        _run(geocoder, cache, pending, known, progress)
    except _Unreachable as exc:
        # No network is an ordinary situation: what was received is kept, the run goes on
        # and the sites left without an answer go to the review.
        log.info("geocoder %s: %r", geocoder.url, exc.detail or exc)
        unanswered = NOTE_UNREACHABLE
        left = len({keys[i] for i in todo if keys[i] not in known})
        warnings.warn(f"le géocodeur {geocoder.url} est injoignable ({exc}) : {left} adresse(s) "
                      "restent non géocodées (pas de réseau ?). Les réponses déjà reçues sont "
                      "gardées : relancez plus tard pour géocoder les autres, ou placez ces "
                      "sites à la main (fichier de relecture).", GeocoderUnreachableWarning,
                      stacklevel=2)
    finally:
        if own_cache:
            cache.close()
    for i in todo:
        if keys[i] not in known:
            status[i], note[i] = STATUS_OFFLINE, unanswered
    todo = [i for i in todo if keys[i] in known]
    score = np.full(n, np.nan)
    extra = {c: np.full(n, "", dtype=object) for c in ("label", "type", "citycode", "lat",
                                                     "lon")}
    for i in todo:
        result = known[keys[i]]
        status[i], note[i] = assess(rows[i], result, min_score=min_score)
        score[i] = _float(result.get("result_score")) or np.nan
        extra["label"][i] = result.get("result_label", "")
        extra["type"][i] = result.get("result_type", "")
        extra["citycode"][i] = result.get("result_citycode", "")
        extra["lat"][i], extra["lon"][i] = result.get("latitude", ""), result.get("longitude", "")
        fix = fixes.get(keys_for_rows[i])
        if status[i] == STATUS_OK or (fix and fix.get("accept") and extra["lat"][i]):
            if status[i] != STATUS_OK:
                status[i], note[i] = STATUS_CORRECTED, "proposition acceptée à la relecture"
            out.iat[i, out.columns.get_loc(lat_column)] = extra["lat"][i]
            out.iat[i, out.columns.get_loc(lon_column)] = extra["lon"][i]
        elif force and has_coords.iat[i]:
            pass  # a forced row that is doubtful keeps the coordinates it had
        else:
            out.iat[i, out.columns.get_loc(lat_column)] = ""
            out.iat[i, out.columns.get_loc(lon_column)] = ""
    if "geocode_status" in earlier:
        # A table geocoded before: its coordinates are "given" now, but they came from us.
        before = earlier["geocode_status"].astype(str).to_numpy()
        again = (status == STATUS_GIVEN) & np.isin(before, [STATUS_OK, STATUS_CORRECTED])
        for column, values in (("label", "geocode_label"), ("type", "geocode_type"),
                               ("citycode", "geocode_citycode")):
            if values in earlier:
                extra[column][again] = earlier[values].astype(object).to_numpy()[again]
        if "geocode_score" in earlier:
            score[again] = pd.to_numeric(earlier["geocode_score"], errors="coerce")[again]
        if "geocode_note" in earlier:
            note[again] = earlier["geocode_note"].astype(object).to_numpy()[again]
        status[again] = before[again]
    out["geocode_status"] = status
    out["geocode_score"] = np.round(score, 2)
    out["geocode_label"] = extra["label"]
    out["geocode_type"] = extra["type"]
    out["geocode_citycode"] = extra["citycode"]
    out["geocode_note"] = note
    # every row left without a place, whatever the reason, can be placed by a person
    review_rows = [i for i in range(n) if status[i] in REVIEWED]
    review = pd.DataFrame(columns=REVIEW_COLUMNS, data={
        "cle": [keys_for_rows[i] for i in review_rows],
        "ligne": [i + first_row for i in review_rows],
        "adresse_saisie": [rows[i]["q"] for i in review_rows],
        "statut": [status[i] for i in review_rows],
        "motif": [note[i] for i in review_rows],
        "adresse_proposee": [extra["label"][i] for i in review_rows],
        "score": [score[i] for i in review_rows],
        "latitude_proposee": [extra["lat"][i] for i in review_rows],
        "longitude_proposee": [extra["lon"][i] for i in review_rows],
        "accepter": "", "adresse_corrigee": "", "latitude": "", "longitude": "",
    })
    stats = geocoder.stats
    stats.counts = pd.Series(status).value_counts().to_dict()
    return GeocodeResult(out, review, stats, lat_column, lon_column)


def row_keys(table: pd.DataFrame, id_column: str | None, first_row: int) -> list[str]:
    """How corrections find their row: the identifier (plus a site number when several rows
    share it), else the row number."""
    if id_column and id_column in table:
        ids = table[id_column].astype(str).str.strip()
        rank = ids.groupby(ids).cumcount() + 1
        several = ids.map(ids.value_counts()) > 1
        return [f"{i}#{r}" if s else i for i, r, s in zip(ids, rank, several, strict=True)]
    return [f"ligne {i + first_row}" for i in range(len(table))]


def _corrections(frame: pd.DataFrame | None, path: str) -> dict[str, dict]:
    if frame is None:
        return {}
    if "cle" not in frame.columns:
        raise InputError("le fichier de corrections n'a pas de colonne « cle » (reprenez le "
                         "fichier de relecture produit par la commande).", path=path)
    fixes: dict[str, dict] = {}
    for n, row in enumerate(frame.astype(object).where(frame.notna(), "").astype(str)
                            .to_dict("records"), start=2):
        fix: dict = {}
        lat, lon = row.get("latitude", "").strip(), row.get("longitude", "").strip()
        if lat or lon:
            try:
                fix["point"] = (str(float(lat.replace(",", "."))), str(float(lon.replace(
                    ",", "."))))
            except ValueError as exc:
                raise InputError("latitude ou longitude corrigée illisible.", path=path, row=n,
                                 column="latitude") from exc
        if row.get("adresse_corrigee", "").strip():
            fix["address"] = row["adresse_corrigee"].strip()
        if row.get("accepter", "").strip().lower() in ("oui", "o", "x", "yes", "1", "vrai"):
            fix["accept"] = True
        if fix:
            fixes[row["cle"].strip()] = fix
    return fixes


def _run(geocoder: Geocoder, cache: GeocodeCache, pending: dict[str, dict],
         known: dict[str, dict], progress: Callable[[int], None] | None) -> None:
    """Send the pending queries chunk by chunk, saving each chunk's answers at once."""
    items = list(pending.items())
    for start in range(0, len(items), geocoder.chunk_size):
        chunk = items[start:start + geocoder.chunk_size]
        queries = [row for _, row in chunk]
        try:
            results = geocoder.batch(queries)
        except _ConfigError as exc:
            raise _misconfigured(geocoder, exc) from exc
        except _BadAnswer as exc:
            log.warning("batch of %d failed (%s), one request per address", len(chunk), exc)
            results = []
            for row in queries:
                try:
                    results.append(geocoder.search(row))
                except _ConfigError as err:
                    raise _misconfigured(geocoder, err) from err
                except (_BadAnswer, _Unreachable) as err:
                    # save what this chunk already answered before giving up: an error
                    # answer is never taken for « not found »
                    _save(cache, geocoder, chunk[:len(results)], results, known)
                    if isinstance(err, _Unreachable):
                        raise
                    raise _unreachable(geocoder, err, len(known)) from err
            geocoder.stats.fallback_rows += len(queries)
        _save(cache, geocoder, chunk, results, known)
        geocoder.stats.sent += len(chunk)
        if progress:
            progress(len(chunk))


def _save(cache: GeocodeCache, geocoder: Geocoder, chunk, results, known) -> None:
    cache.put_many(geocoder.url, [(k, r["q"], r["postcode"], r["citycode"], res)
                                  for (k, r), res in zip(chunk, results, strict=False)])
    for (k, _), res in zip(chunk, results, strict=False):
        known[k] = res


def _misconfigured(geocoder: Geocoder, exc: Exception) -> EssQpvError:
    return EssQpvError(
        f"le géocodeur {geocoder.url} ne répond pas comme l'API de la Base Adresse Nationale "
        f"({exc}) : vérifiez son adresse (par défaut {DEFAULT_URL}) et son accès. Aucune "
        "réponse de ce serveur n'a été gardée en cache.", parameters=("geocoder_url",))


def _unreachable(geocoder: Geocoder, exc: Exception, saved: int) -> EssQpvError:
    log.info("geocoder %s: %r", geocoder.url, getattr(exc, "detail", None) or exc)
    return EssQpvError(
        f"le géocodeur {geocoder.url} ne répond pas correctement ({exc}). "
        f"{saved} adresse(s) déjà géocodée(s) sont gardées en cache : relancez plus tard "
        "pour reprendre là où le géocodage s'est arrêté, ou lancez l'analyse sans géocoder "
        "et placez les sites à la main.")
