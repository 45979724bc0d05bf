"""The geocoder's answers kept on disk: one SQLite row per (geocoder, normalised query,
filters), written after each chunk, so an interrupted run resumes and a second run asks
nothing."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
import unicodedata
import warnings
from collections.abc import Iterable
from pathlib import Path

from . import settings
from ._errors import EssQpvError
from .geoclient import BadAnswer, checked_answer, is_answer


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
        """Keep the geocoder's answers (found or not); a row it failed on
        (``result_status`` ``error``, ``skipped``…) is never kept: it is asked again."""
        try:
            self.db.executemany(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(k, url, q, p, c, json.dumps(r, ensure_ascii=False), time.time())
                 for k, q, p, c, r in answers if is_answer(r)])
            self.db.commit()
        except sqlite3.OperationalError as exc:
            raise self._busy(exc) from exc

    def close(self) -> None:
        self.db.close()


#: Seconds a run waits for a cache that another program holds.
LOCK_WAIT = 30.0


def _stored(text) -> dict | None:
    """A cached answer, ``None`` when the row is damaged or holds a failure (kept by
    earlier versions): both are asked again, then replaced."""
    try:
        answer = json.loads(text)
        return checked_answer(answer) if isinstance(answer, dict) and is_answer(
            answer) else None
    except (TypeError, ValueError, BadAnswer):
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
