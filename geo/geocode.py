"""Addresses to coordinates with the Base Adresse Nationale (or any addok) geocoder: the
table's side (which rows to ask, statuses, review, corrections), on the client of
:mod:`geo.geoclient` and the cache of :mod:`geo.geocache`.

Batch first: rows are sent in chunks to ``POST /search/csv/``; a chunk that keeps failing is
retried one address at a time with ``GET /search/``. Every answer is kept in a SQLite cache
(keyed by geocoder, normalised query and filters) as soon as its chunk is done, so a run that
is interrupted resumes where it stopped and a second run makes no request at all; the rows
the geocoder failed on (``result_status`` ``error``…) are never kept, and asked again. Each row gets
a status, ``ok``, ``a_verifier`` (with the reason) or ``non_trouve``; doubtful rows go to a review
file that doubles as the corrections file of the next run, keyed by what identifies each site
(:func:`row_keys`) and applied only to the site it was written for (:func:`match_corrections`).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._errors import EssQpvError, InputError
from .addresses import five_digits, join_address
from .columns import parse_numbers
from .geocache import GeocodeCache, cache_key, normalise_query
from .geoclient import (
    DEFAULT_URL,
    BadAnswer,
    ConfigError,
    Geocoder,
    GeocoderUnreachableWarning,
    Stats,
    Unreachable,
    as_float,
    is_answer,
)
from .territories import commune_of_insee
from .typography import french_spacing, number, plural, plural_form
from .vocabulary import (
    ADDRESS_PARTS,
    DEFAULT_MIN_SCORE,
    Detection,
    GeocodeStatus,
    find_column,
)

log = logging.getLogger(__name__)

#: Two candidates closer than this in score make the match ambiguous.
AMBIGUITY_MARGIN = 0.05

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
#: ``cle``, ``nom`` and ``adresse_saisie`` say which site a correction is for: it is applied
#: only while the table's row still has that name and that address (``ligne`` is a hint).
REVIEW_COLUMNS = ["cle", "ligne", "nom", "adresse_saisie", "statut", "motif",
                  "adresse_proposee", "score", "latitude_proposee", "longitude_proposee",
                  "accepter", "adresse_corrigee", "latitude", "longitude"]
_TYPE_RANK = {"housenumber": 0, "street": 1, "locality": 2, "municipality": 3}
_HOUSENUMBER = re.compile(r"^\s*\d+\s*(bis|ter|quater|[a-z])?\b", re.IGNORECASE)


#: Why a row with an address got no coordinates when nothing was asked.
NOTE_OFFLINE = ("géocodage en ligne désactivé : adresse non cherchée (activez le géocodage en "
                "ligne, ou placez le site à la main)")
NOTE_UNREACHABLE = ("géocodeur injoignable (pas de réseau\u202f?)\u00a0: adresse non cherchée "
                    "(relancez plus tard, ou placez le site à la main)")
#: Why a row the geocoder failed on (``result_status`` ``error``…) got no coordinates.
NOTE_FAILED = ("le géocodeur n'a pas traité cette adresse (statut « {} ») : elle sera "
               "redemandée au prochain lancement (ou placez le site à la main)")
#: The statuses of the rows that go to the review: doubtful, or left without a place.
REVIEWED = (GeocodeStatus.REVIEW, GeocodeStatus.NOT_FOUND, GeocodeStatus.OFFLINE,
            GeocodeStatus.NO_ADDRESS)
#: The national service takes queries of 3 to 200 characters; others are not sent.
QUERY_LENGTH = (3, 200)


# --------------------------------------------------------------------------- assessment


def assess(row: dict, result: dict, *, min_score: float = DEFAULT_MIN_SCORE) -> tuple[str, str]:
    """Return the status of one answer and the reason (French) when it is not plain ``ok``."""
    if not result.get("latitude") or not result.get("result_label"):
        return STATUS_NOT_FOUND, "aucune adresse correspondante"
    reasons = []
    score = as_float(result.get("result_score"))
    if score is None or score < min_score:
        reasons.append(f"score {number(score) if score is not None else '?'} inférieur à "
                       f"{number(min_score)}")
    kind = result.get("result_type", "")
    address = row.get("address", row["q"])
    if _HOUSENUMBER.match(address) and _TYPE_RANK.get(kind, 9) > 0:
        reasons.append(f"numéro non trouvé (réponse de type « {kind} »)")
    elif _TYPE_RANK.get(kind, 9) >= 3 and len(normalise_query(address).split()) > 1:
        reasons.append("seule la commune a été trouvée")
    postcode = five_digits(row.get("check_postcode") or row.get("postcode"))
    if postcode and result.get("result_postcode") and (
            postcode != five_digits(result["result_postcode"])):
        reasons.append(f"code postal différent ({result['result_postcode']} au lieu de "
                       f"{postcode})")
    citycode = five_digits(row.get("check_citycode") or row.get("citycode"))
    if citycode and result.get("result_citycode") and (
            commune_of_insee(citycode) != commune_of_insee(five_digits(
                result["result_citycode"]))):
        reasons.append(f"commune différente ({result['result_citycode']} au lieu de "
                       f"{citycode})")
    nxt = as_float(result.get("result_score_next"))
    if score is not None and nxt and score - nxt < AMBIGUITY_MARGIN:
        reasons.append(f"deux réponses presque aussi probables ({number(score)} et {number(nxt)})")
    return (STATUS_REVIEW, " ; ".join(reasons)) if reasons else (STATUS_OK, "")


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


@dataclass(frozen=True)
class GeocodeColumns:
    """Where :func:`geocode` reads and writes, decided once: the columns joined into the
    query, the filters sent (``postcode``, ``citycode``: only when named), the columns the
    answer is checked against, the coordinates (created when absent) and the identifier
    that keys the corrections."""

    address: list[str]
    lat: str
    lon: str
    postcode: str | None = None
    citycode: str | None = None
    check_postcode: str | None = None
    check_citycode: str | None = None
    id: str | None = None

    @classmethod
    def detected(cls, detection: Detection) -> GeocodeColumns:
        """The columns a detection decided (:func:`geo.columns.detect_columns`): its
        postcode and INSEE code found by name or content are checked, sent only when
        named."""
        found = detection.columns
        return cls(address=list(found.address or []), lat=found.lat or "latitude",
                   lon=found.lon or "longitude", postcode=found.postcode,
                   citycode=found.citycode, check_postcode=detection.found.get("postcode"),
                   check_citycode=detection.found.get("citycode"), id=found.id)


def geocode(
    table: pd.DataFrame,
    *,
    detection: Detection | None = None,
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
    corrections_path: str = "",
    doubts: Callable[[pd.DataFrame, np.ndarray],
                     dict[int, tuple[str, tuple[float, float] | None]]] | None = None,
) -> GeocodeResult:
    """Add coordinates to the rows of ``table`` that have an address and no coordinates.

    Parameters
    ----------
    table
        The user's rows (all columns text); every row and column is kept, in order.
    detection
        The columns recognised in ``table`` (:func:`geo.columns.detect_columns`), as a
        study passes them: every column below is taken from it (see
        :meth:`GeocodeColumns.detected`), and the ``*_column`` options are ignored.
    address_columns
        Without ``detection``: columns joined into the query (default: ``adresse``,
        ``code_postal``, ``commune`` or their usual variants).
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
        ``adresse_corrigee`` replaces the query. Matched on ``cle`` (see :func:`row_keys`),
        and applied only while the row keeps the ``adresse_saisie`` (and ``nom``) recorded
        with it; the others are not applied and are said in one
        :class:`CorrectionWarning` (counted in ``stats.refused_corrections``).
    min_score
        Scores below it are sent for review.
    offline
        Send nothing: use the cached answers only; other rows are left without coordinates
        (status ``non_geocode``).
    first_row
        Row number of the first data row, for messages (2 under a header line).
    path, corrections_path
        Names of the table and of the corrections file, for messages.
    doubts
        Judges the typed points kept (``out``, positions of the rows with coordinates
        given): position → (cause, point to propose or ``None``). Those rows keep their
        coordinates but are ``a_verifier`` and go to the review, as a study would send
        them (:func:`geo.initiatives.typed_point_doubts`).
    """
    columns = GeocodeColumns.detected(detection) if detection is not None else \
        _named_columns(table, address_columns, postcode_column, citycode_column,
                       check_columns, lat_column, lon_column, id_column)
    _check_columns(table, columns, path)
    geocoder = geocoder or Geocoder()
    run = _Rows.of(table, columns, first_row)
    fixes = _matched_corrections(run, corrections, corrections_path, geocoder)
    _set_unasked(run, fixes, force)
    todo = [i for i in range(run.n) if run.status[i] == ""]
    known = _answers(run, todo, geocoder, cache, offline=offline, progress=progress)
    todo = [i for i in todo if run.keys[i] in known]
    _assess_answers(run, todo, known, fixes, min_score=min_score, force=force)
    _keep_earlier(run)
    if doubts is not None:
        _add_doubts(run, doubts)
    geocoder.stats.counts = pd.Series(run.status).value_counts().to_dict()
    return GeocodeResult(run.result_table(), _review(run), geocoder.stats, columns.lat,
                         columns.lon)


def _named_columns(table: pd.DataFrame, address_columns: list[str] | None,
                   postcode_column: str | None, citycode_column: str | None,
                   check_columns: tuple[str | None, str | None] | None,
                   lat_column: str | None, lon_column: str | None,
                   id_column: str | None) -> GeocodeColumns:
    """The columns of a table not detected before: those named, else their usual names."""
    columns = [str(c) for c in table.columns]
    given_checks = check_columns or (None, None)
    return GeocodeColumns(
        address=address_columns or default_address_columns(columns),
        lat=lat_column or find_column(columns, "lat") or "latitude",
        lon=lon_column or find_column(columns, "lon") or "longitude",
        postcode=postcode_column, citycode=citycode_column,
        # The postcode and INSEE code of the row are checked against the answer; they are
        # sent as filters only when named (a wrong postcode as filter hides the right one).
        check_postcode=postcode_column or given_checks[0] or find_column(columns, "postcode"),
        check_citycode=citycode_column or given_checks[1] or find_column(columns, "citycode"),
        id=id_column or find_column(columns, "id"))


def _check_columns(table: pd.DataFrame, columns: GeocodeColumns, path: str) -> None:
    """An address to ask, and every column named present."""
    present = [str(c) for c in table.columns]
    if not columns.address:
        raise InputError("aucune colonne d'adresse (adresse, code_postal, commune) ; "
                         "indiquez-les.", path=path, parameters=("address",))
    for column in columns.address + [c for c in (columns.postcode, columns.citycode) if c]:
        if column not in present:
            raise InputError(f"la colonne « {column} » n'existe pas ; colonnes présentes : "
                             f"{', '.join(present)}.", path=path, parameters=("address",))


@dataclass
class _Rows:
    """One geocoding under way: the table (``out``, coordinates columns added), each row's
    query and what it became (status, note, score, the answer's details)."""

    out: pd.DataFrame
    earlier: pd.DataFrame
    columns: GeocodeColumns
    sites: SiteIdentities
    queries: list[dict]
    has_coords: pd.Series
    first_row: int
    status: np.ndarray = field(init=False)
    note: np.ndarray = field(init=False)
    score: np.ndarray = field(init=False)
    extra: dict[str, np.ndarray] = field(init=False)
    keys: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.n
        self.status = np.full(n, "", dtype=object)
        self.note = np.full(n, "", dtype=object)
        self.score = np.full(n, np.nan)
        self.extra = {c: np.full(n, "", dtype=object)
                      for c in ("label", "type", "citycode", "lat", "lon")}

    @property
    def n(self) -> int:
        return len(self.out)

    @classmethod
    def of(cls, table: pd.DataFrame, columns: GeocodeColumns, first_row: int) -> _Rows:
        """The table's rows as queries: the address typed, the filters (with the zero a
        spreadsheet dropped: « 1000 » finds nothing) and the values checked."""
        out = table.copy()
        for column in (columns.lat, columns.lon):
            if column not in out:
                out[column] = ""
        earlier = out[[c for c in GEOCODE_COLUMNS if c in out]].copy()
        out = out.drop(columns=list(earlier.columns))
        sites = identify_sites(out, id_column=columns.id, address_columns=columns.address,
                               first_row=first_row)
        text = out.astype(str).replace({"nan": "", "None": ""})

        def value(column: str | None, i: int) -> str:
            return text[column].iat[i].strip() if column else ""

        queries = [{"address": value(columns.address[0], i),
                    "q": sites.typed[i][:QUERY_LENGTH[1]],
                    "postcode": five_digits(value(columns.postcode, i)),
                    "citycode": five_digits(value(columns.citycode, i)),
                    "check_postcode": value(columns.check_postcode, i),
                    "check_citycode": value(columns.check_citycode, i)}
                   for i in range(len(out))]
        has_coords = (text[columns.lat].str.strip() != "") & (text[columns.lon].str.strip()
                                                              != "")
        return cls(out, earlier, columns, sites, queries, has_coords, first_row)

    def place(self, i: int, lat: object, lon: object) -> None:
        """Write a row's coordinates (empty strings: none)."""
        self.out.iat[i, self.out.columns.get_loc(self.columns.lat)] = lat
        self.out.iat[i, self.out.columns.get_loc(self.columns.lon)] = lon

    def result_table(self) -> pd.DataFrame:
        """The table with the geocoding columns (:data:`GEOCODE_COLUMNS`)."""
        out = self.out
        out["geocode_status"] = self.status
        out["geocode_score"] = np.round(self.score, 2)
        out["geocode_label"] = self.extra["label"]
        out["geocode_type"] = self.extra["type"]
        out["geocode_citycode"] = self.extra["citycode"]
        out["geocode_note"] = self.note
        return out


def _matched_corrections(run: _Rows, corrections: pd.DataFrame | None,
                         corrections_path: str, geocoder: Geocoder) -> dict[int, dict]:
    """The corrections that still find their site; the others are said in one warning."""
    shown = corrections_path or "fichier de corrections"
    fixes, refused = match_corrections(_corrections(corrections, shown), run.sites)
    geocoder.stats.refused_corrections = len(refused)
    if refused:
        # stacklevel: the caller of geocode()
        warnings.warn(refused_message(refused, shown), CorrectionWarning, stacklevel=3)
    return fixes


def _set_unasked(run: _Rows, fixes: dict[int, dict], force: bool) -> None:
    """The status of the rows not sent: placed by hand, with coordinates given, without an
    address or with one too short; a corrected address replaces the row's query."""
    status, note = run.status, run.note
    for i in range(run.n):
        fix = fixes.get(i)
        query = run.queries[i]
        if fix and fix.get("address"):
            # the corrected address supersedes the row's own postcode and commune
            query.update(q=fix["address"], address=fix["address"], check_postcode="",
                         check_citycode="")
        if fix and fix.get("point"):
            run.place(i, fix["point"][0], fix["point"][1])
            status[i], note[i] = STATUS_CORRECTED, "coordonnées corrigées à la main"
        elif run.has_coords.iat[i] and not force:
            status[i] = STATUS_GIVEN
            if fix and fix.get("accept"):  # typed coordinates kept although doubtful
                status[i], note[i] = STATUS_CORRECTED, "coordonnées du tableau acceptées à " \
                    "la relecture"
        elif not query["q"]:
            status[i], note[i] = STATUS_NO_ADDRESS, "ni coordonnées ni adresse"
        elif len(query["q"]) < QUERY_LENGTH[0]:
            status[i], note[i] = STATUS_NOT_FOUND, (f"adresse trop courte pour être cherchée "
                                                    f"({QUERY_LENGTH[0]} caractères au moins)")


def _answers(run: _Rows, todo: list[int], geocoder: Geocoder, cache: GeocodeCache | None, *,
             offline: bool, progress: Callable[[int], None] | None) -> dict[str, dict]:
    """The answers to the rows to ask, from the cache, else from the geocoder (not when
    ``offline``); a row left without one is ``non_geocode``, with why."""
    own_cache = cache is None
    cache = cache or GeocodeCache()
    queries = run.queries
    keys = run.keys
    keys.update({i: cache_key(geocoder.url, queries[i]["q"], queries[i]["postcode"],
                              queries[i]["citycode"]) for i in todo})
    known = cache.get_many(set(keys.values()))
    geocoder.stats.from_cache = sum(1 for i in todo if keys[i] in known)
    pending: dict[str, dict] = {}
    for i in todo:
        if keys[i] not in known:
            pending.setdefault(keys[i], queries[i])
    if offline:
        pending = {}
    geocoder.stats.offline = offline
    geocoder.stats.pending = len(pending)
    if progress:
        progress(0)
    unanswered = NOTE_OFFLINE
    failed: dict[str, str] = {}
    try:
        _run(geocoder, cache, pending, known, progress, failed)
    except Unreachable as exc:
        # No network is an ordinary situation: what was received is kept, the run goes on
        # and the sites left without an answer go to the review.
        log.info("geocoder %s: %r", geocoder.url, exc.detail or exc)
        unanswered = NOTE_UNREACHABLE
        geocoder.stats.unreachable = True
        # rows, as the summary counts them (two sites may share one address)
        left = sum(keys[i] not in known for i in todo)
        warnings.warn(french_spacing(
            f"le géocodeur {geocoder.url} est injoignable ({exc}) : "
            f"{plural(left, 'adresse')} {'reste' if left < 2 else 'restent'} "
            f"{plural_form(left, 'non géocodée')} (pas de réseau ?). Les réponses déjà "
            "reçues sont gardées : relancez plus tard pour géocoder les autres, ou placez "
            "ces sites à la main (fichier de relecture)."), GeocoderUnreachableWarning,
            stacklevel=3)  # the caller of geocode()
    finally:
        if own_cache:
            cache.close()
    for i in todo:
        if keys[i] in failed:
            # the geocoder failed on it: no « not found », and asked again next run
            run.status[i], run.note[i] = STATUS_OFFLINE, NOTE_FAILED.format(failed[keys[i]])
        elif keys[i] not in known:
            run.status[i], run.note[i] = STATUS_OFFLINE, unanswered
    geocoder.stats.failed = sum(1 for i in todo if keys[i] in failed)
    return known


def _assess_answers(run: _Rows, todo: list[int], known: dict[str, dict],
                    fixes: dict[int, dict], *, min_score: float, force: bool) -> None:
    """Each answer judged (:func:`assess`): a sure one, or one accepted at the review,
    places its row; a doubtful one leaves it unplaced (a forced row keeps its point)."""
    status, note, extra = run.status, run.note, run.extra
    for i in todo:
        result = known[run.keys[i]]
        status[i], note[i] = assess(run.queries[i], result, min_score=min_score)
        run.score[i] = as_float(result.get("result_score")) or np.nan
        extra["label"][i] = result.get("result_label", "")
        extra["type"][i] = result.get("result_type", "")
        extra["citycode"][i] = result.get("result_citycode", "")
        extra["lat"][i], extra["lon"][i] = result.get("latitude", ""), result.get("longitude", "")
        fix = fixes.get(i)
        if status[i] == STATUS_OK or (fix and fix.get("accept") and extra["lat"][i]):
            if status[i] != STATUS_OK:
                status[i], note[i] = STATUS_CORRECTED, "proposition acceptée à la relecture"
            run.place(i, extra["lat"][i], extra["lon"][i])
        elif force and run.has_coords.iat[i]:
            pass  # a forced row that is doubtful keeps the coordinates it had
        else:
            run.place(i, "", "")


def _keep_earlier(run: _Rows) -> None:
    """A table geocoded before: its coordinates are "given" now, but they came from us, so
    they keep the status, score, answer and note we wrote then."""
    earlier = run.earlier
    if "geocode_status" not in earlier:
        return
    before = earlier["geocode_status"].astype(str).to_numpy()
    again = (run.status == STATUS_GIVEN) & np.isin(before, [STATUS_OK, STATUS_CORRECTED])
    for column, values in (("label", "geocode_label"), ("type", "geocode_type"),
                           ("citycode", "geocode_citycode")):
        if values in earlier:
            run.extra[column][again] = earlier[values].astype(object).to_numpy()[again]
    if "geocode_score" in earlier:
        # read as the tool writes it in a CSV (« 0,87 ») or as a workbook holds it
        run.score[again] = parse_numbers(earlier["geocode_score"])[again]
    if "geocode_note" in earlier:
        run.note[again] = earlier["geocode_note"].astype(object).to_numpy()[again]
    run.status[again] = before[again]


def _add_doubts(run: _Rows, doubts: Callable) -> None:
    """Typed points judged doubtful: kept, but ``a_verifier``, with a point to propose."""
    for i, (why, point) in doubts(run.out, np.flatnonzero(run.status == STATUS_GIVEN)).items():
        run.status[i], run.note[i] = STATUS_REVIEW, why
        if point is not None:
            run.extra["lon"][i], run.extra["lat"][i] = f"{point[0]:.6f}", f"{point[1]:.6f}"


def _review(run: _Rows) -> pd.DataFrame:
    """The review file: every row left without a place, whatever the reason, can be placed
    by a person."""
    status, extra, sites = run.status, run.extra, run.sites
    rows = [i for i in range(run.n) if status[i] in REVIEWED]
    return pd.DataFrame(columns=REVIEW_COLUMNS, data={
        "cle": [sites.keys[i] for i in rows],
        "ligne": [i + run.first_row for i in rows],
        "nom": [sites.names[i] for i in rows],
        # the address as typed in the table (not a corrected one): what identifies the site
        "adresse_saisie": [sites.typed[i] for i in rows],
        "statut": [status[i] for i in rows],
        "motif": [run.note[i] for i in rows],
        "adresse_proposee": [extra["label"][i] for i in rows],
        "score": [run.score[i] for i in rows],
        "latitude_proposee": [extra["lat"][i] for i in rows],
        "longitude_proposee": [extra["lon"][i] for i in rows],
        "accepter": "", "adresse_corrigee": "", "latitude": "", "longitude": "",
    })


@dataclass(frozen=True)
class SiteIdentities:
    """What identifies each row of a table for the corrections: its key (:func:`row_keys`),
    its name and its address as typed (address parts joined), and its row number."""

    keys: list[str]
    names: list[str]
    typed: list[str]
    first_row: int
    #: The address parts joined as earlier versions did, each one kept even when the line
    #: held it already: a correction recorded then still finds its site.
    joined: list[str] = field(default_factory=list)


def identify_sites(table: pd.DataFrame, *, id_column: str | None,
                   address_columns: list[str] | None = None, first_row: int = 2
                   ) -> SiteIdentities:
    """The key, name and typed address of every row of ``table`` (see :func:`row_keys`);
    the name is the column found by its usual names (``nom``…), the address parts are
    ``address_columns`` (default: found by their usual names)."""
    columns = [str(c) for c in table.columns]
    name_column = find_column(columns, "name")
    parts = [c for c in (address_columns or default_address_columns(columns)) if c in table]
    wanted = list(dict.fromkeys(c for c in [id_column, name_column, *parts] if c
                                and c in table))
    cells = table[wanted].astype(object)
    text = cells.where(cells.notna(), "").astype(str).replace({"nan": "", "None": ""})
    n = len(table)
    names = [v.strip() for v in text[name_column]] if name_column else [""] * n
    rows = list(zip(*(text[c] for c in parts), strict=True)) if parts else [()] * n
    typed = [join_address(values) for values in rows]
    joined = [" ".join(v.strip() for v in values if v.strip()) for values in rows]
    if id_column and id_column in table:
        keys = _numbered([v.strip() for v in text[id_column]], None)
    else:
        keys = _named_keys(names, typed, first_row)
    return SiteIdentities(keys, names, typed, first_row, joined)


def _named_keys(names: list[str], addresses: list[str], first_row: int) -> list[str]:
    """Keys of a table without identifier: « name | address »."""
    return _numbered([" | ".join(p for p in (name, address) if p)
                      for name, address in zip(names, addresses, strict=True)], first_row)


def _numbered(base: list[str], first_row: int | None) -> list[str]:
    """``base`` with a site number where a key repeats (``#2``); an empty key is the row
    number when ``first_row`` is given."""
    counts = Counter(base)
    seen: Counter = Counter()
    keys = []
    for i, key in enumerate(base):
        if not key and first_row is not None:
            keys.append(f"ligne {i + first_row}")  # neither name nor address
            continue
        seen[key] += 1
        keys.append(f"{key}#{seen[key]}" if counts[key] > 1 else key)
    return keys


def row_keys(table: pd.DataFrame, id_column: str | None, first_row: int, *,
             address_columns: list[str] | None = None) -> list[str]:
    """How corrections find their site: the table's identifier when it has one, else the
    site's name and address as typed (« Beta | 12 rue X 31000 Toulouse »), with a site
    number when several rows share it (``#2``); the row number (« ligne 7 ») only for a
    row with neither name nor address."""
    return identify_sites(table, id_column=id_column, address_columns=address_columns,
                          first_row=first_row).keys


class CorrectionWarning(UserWarning):
    """Corrections not applied: their site changed or is no longer in the table."""


@dataclass(frozen=True)
class RefusedCorrection:
    """A correction that is not applied, and why (French)."""

    line: int
    key: str
    reason: str


#: The key of a row by its number, as every version writes it for a row without identifier.
_LINE_KEY = re.compile(r"ligne (\d{1,9})")


def _corrections(frame: pd.DataFrame | None, path: str) -> list[dict]:
    """The decisions of a corrections file, each with its line, key and what it recorded of
    its site (``asked``, ``name``: ``None`` when not recorded)."""
    if frame is None:
        return []
    if "cle" not in frame.columns:
        raise InputError("le fichier de corrections n'a pas de colonne « cle » (reprenez le "
                         "fichier de relecture produit par la commande).", path=path)
    fixes: list[dict] = []
    has_asked, has_name = "adresse_saisie" in frame.columns, "nom" in frame.columns
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
                                 column="latitude" if not _is_number(lat) else "longitude"
                                 ) from exc
            for column, value, bound in (("latitude", fix["point"][0], 90),
                                         ("longitude", fix["point"][1], 180)):
                if not -bound <= float(value) <= bound:  # also inf and nan
                    raise InputError(f"{column} corrigée « {row[column].strip()} » hors des "
                                     f"bornes : entre -{bound} et {bound} degrés (WGS 84, "
                                     "comme sur la page de relecture).",
                                     path=path, row=n, column=column)
        if row.get("adresse_corrigee", "").strip():
            fix["address"] = row["adresse_corrigee"].strip()
        if row.get("accepter", "").strip().lower() in ("oui", "o", "x", "yes", "1", "vrai"):
            fix["accept"] = True
        if fix:
            number = row.get("ligne", "").strip()
            fix.update(line=n, key=row["cle"].strip(),
                       asked=row["adresse_saisie"] if has_asked else None,
                       name=row["nom"].strip() if has_name else "",
                       row=int(number) if number.isdigit() and len(number) < 10 else None)
            fixes.append(fix)
    return fixes


def _rewritten(recorded: str, key: str) -> bool:
    """Whether ``recorded`` is the code ``key`` as a spreadsheet saves it read as a number:
    its leading zeros dropped (« 7 » for « 007 »), or rounded to the six digits of its
    exponent form (« 1,23457E+13 » for « 12345678900011 »).

    >>> _rewritten("1,23457E+13", "12345678900011"), _rewritten("7", "007")
    (True, True)
    >>> _rewritten("1,23457E+13", "12345978900011"), _rewritten("8", "007")
    (False, False)
    """
    if not key.isdigit():
        return False
    try:
        number = float(recorded.replace(",", "."))
    except ValueError:
        return False
    exact = float(key)
    if "e" in recorded.lower():
        return abs(number - exact) <= 5e-6 * exact
    return number == exact


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def match_corrections(fixes: list[dict], sites: SiteIdentities
                      ) -> tuple[dict[int, dict], list[RefusedCorrection]]:
    """The corrections that still hold, by row position, and those refused.

    A correction holds when its key names a row (or, for a key « ligne N » of a table
    without identifier, or a key a spreadsheet rewrote — a SIRET saved as
    « 1,23457E+13 », « 007 » as « 7 » —, the row at the line it recorded) whose address as
    typed, and name when recorded, are those the correction recorded. A key that names no
    row (the site left the table) or a row whose address or name changed (another site
    took its key) is refused: a decision taken for one site never lands on another.
    """
    where = {key: i for i, key in enumerate(sites.keys)}
    if sites.joined:  # the keys of earlier versions: name and address parts all joined
        earlier = _named_keys(sites.names, sites.joined, sites.first_row)
        for i, key in enumerate(earlier):
            where.setdefault(key, i)
    held: dict[int, dict] = {}
    refused: list[RefusedCorrection] = []
    for fix in fixes:
        key = fix["key"]
        i = where.get(key)
        by_number = False
        if i is None and (m := _LINE_KEY.fullmatch(key)):
            i = int(m[1]) - sites.first_row
            by_number = True
            if not 0 <= i < len(sites.keys):
                i = None
        if i is None and fix.get("row") is not None and fix.get("asked") is not None:
            # a key a spreadsheet rewrote (« 1,23457E+13 » for a SIRET, « 7 » for « 007 »):
            # the row at the recorded line, if its key reads so and it is still the site
            at = fix["row"] - sites.first_row
            if 0 <= at < len(sites.keys) and _rewritten(key, sites.keys[at]) \
                    and not _changed(fix, sites, at, True):
                i, by_number = at, True
        if i is None:
            refused.append(RefusedCorrection(fix["line"], key,
                                             "ce site n'est plus dans le tableau"))
            continue
        reason = _changed(fix, sites, i, by_number)
        if reason:
            refused.append(RefusedCorrection(fix["line"], key, reason))
        else:
            held[i] = fix
    return held, refused


def still_matching(table: pd.DataFrame, corrections: pd.DataFrame, *,
                   id_column: str | None, address_columns: list[str] | None,
                   first_row: int = 2) -> tuple[list[int], list[RefusedCorrection]]:
    """Which decisions of ``corrections`` (positions) still hold for ``table``, and those
    that do not (a new table imported: a decision never passes to another site)."""
    fixes = _corrections(corrections, "fichier de corrections")
    held, refused = match_corrections(fixes, identify_sites(
        table, id_column=id_column, address_columns=address_columns, first_row=first_row))
    return sorted(fix["line"] - 2 for fix in held.values()), refused


def _changed(fix: dict, sites: SiteIdentities, i: int, by_number: bool) -> str:
    """Why row ``i`` is not the site ``fix`` was recorded for (empty: it is)."""
    asked, typed = fix.get("asked"), sites.typed[i]
    if asked is None:
        # an old file without the address: only a key that identifies the site is trusted
        return ("la clé est un numéro de ligne et le fichier ne dit pas l'adresse saisie du "
                "site") if by_number else ""
    held = (typed, typed[:QUERY_LENGTH[1]], *sites.joined[i:i + 1])
    if normalise_query(asked) not in {normalise_query(t) for t in held}:
        return (f"l'adresse saisie a changé (« {_short(asked)} » dans les corrections, "
                f"« {_short(typed)} » dans le tableau)")
    name, now = fix.get("name", ""), sites.names[i]
    if name and normalise_query(name) != normalise_query(now):
        return (f"le nom a changé (« {_short(name)} » dans les corrections, « {_short(now)} » "
                "dans le tableau)")
    return ""


def _short(text: str, size: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= size else text[:size - 1] + "…"


def refused_message(refused: list[RefusedCorrection], path: str, *, shown: int = 10) -> str:
    """One French sentence for the corrections not applied, naming the file and lines."""
    n = len(refused)
    head = (f"{path} : 1 correction n'est pas appliquée" if n == 1 else
            f"{path} : {number(n)} corrections ne sont pas appliquées")
    listed = " ; ".join(f"ligne {r.line} (« {_short(r.key)} ») : {r.reason}"
                        for r in refused[:shown])
    more = n - shown
    rest = "" if more <= 0 else (" ; et 1 autre" if more == 1 else f" ; et {more} autres")
    return (f"{head} — {listed}{rest}. Vérifiez ces sites à la relecture et corrigez-les de "
            "nouveau si besoin.")


def _run(geocoder: Geocoder, cache: GeocodeCache, pending: dict[str, dict],
         known: dict[str, dict], progress: Callable[[int], None] | None,
         failed: dict[str, str] | None = None) -> None:
    """Send the pending queries chunk by chunk, saving each chunk's answers at once; the
    queries the geocoder failed on go to ``failed`` (with its status), never to the cache."""
    failed = {} if failed is None else failed
    items = list(pending.items())
    for start in range(0, len(items), geocoder.chunk_size):
        chunk = items[start:start + geocoder.chunk_size]
        queries = [row for _, row in chunk]
        try:
            results = geocoder.batch(queries)
        except ConfigError as exc:
            raise _misconfigured(geocoder, exc) from exc
        except BadAnswer as exc:
            log.warning("batch of %d failed (%s), one request per address", len(chunk), exc)
            results = []
            for row in queries:
                try:
                    results.append(geocoder.search(row))
                except ConfigError as err:
                    raise _misconfigured(geocoder, err) from err
                except (BadAnswer, Unreachable) as err:
                    # save what this chunk already answered before giving up: an error
                    # answer is never taken for « not found »
                    _save(cache, geocoder, chunk[:len(results)], results, known, failed)
                    if isinstance(err, Unreachable):
                        raise
                    raise _unreachable(geocoder, err, len(known)) from err
            geocoder.stats.fallback_rows += len(queries)
        _save(cache, geocoder, chunk, results, known, failed)
        geocoder.stats.sent += len(chunk)
        if progress:
            progress(len(chunk))


def _save(cache: GeocodeCache, geocoder: Geocoder, chunk, results, known, failed) -> None:
    """Cache and keep the answers; set aside the rows the geocoder failed on."""
    answers = [((k, r), res) for (k, r), res in zip(chunk, results, strict=False)
               if is_answer(res)]
    cache.put_many(geocoder.url, [(k, r["q"], r["postcode"], r["citycode"], res)
                                  for (k, r), res in answers])
    for (k, _), res in zip(chunk, results, strict=False):
        if is_answer(res):
            known[k] = res
        else:
            failed[k] = res.get("result_status", "") or "error"


def _misconfigured(geocoder: Geocoder, exc: Exception) -> EssQpvError:
    return EssQpvError(
        f"le géocodeur {geocoder.url} ne répond pas comme l'API de la Base Adresse Nationale "
        f"({exc}) : vérifiez son adresse (par défaut {DEFAULT_URL}) et son accès. Aucune "
        "réponse de ce serveur n'a été gardée en cache.", parameters=("geocoder_url",))


def _unreachable(geocoder: Geocoder, exc: Exception, saved: int) -> EssQpvError:
    log.info("geocoder %s: %r", geocoder.url, getattr(exc, "detail", None) or exc)
    return EssQpvError(french_spacing(
        f"le géocodeur {geocoder.url} ne répond pas correctement ({exc}). "
        f"{plural(saved, 'adresse déjà géocodée')} {'est gardée' if saved < 2 else 'sont gardées'}"
        " en cache : relancez plus tard pour reprendre là où le géocodage s'est arrêté, ou "
        "lancez l'analyse sans géocoder et placez les sites à la main."))
