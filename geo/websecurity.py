"""The web server's keys and guards: what ``ess-qpv serve`` trusts, and what it never takes
from the studies folder.

A studies folder is meant to be passed around, so nothing that grants access lives in it: the
key that signs session cookies and marks this server's runs is kept in the user's
configuration folder (``$ESS_QPV_CONFIG`` overrides it), one per studies folder. A session is
bound to the password it was opened with (changing the password closes every session); failed
logins slow down per client; after a login, only a path of this site is followed; one server
at a time serves a folder (a lock the system releases when the process ends).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from pathlib import Path

import platformdirs

from ._errors import EssQpvError

#: Environment variable that overrides the per-user configuration folder.
CONFIG_ENV = "ESS_QPV_CONFIG"
#: The lock file of a served folder, in the folder's own state directory.
LOCK_FILE = "serveur.lock"
MIN_PASSWORD = 8
#: Failed logins a client may make before each new attempt waits (doubling each time).
FREE_FAILURES = 3
MAX_WAIT = 300.0


def config_dir() -> Path:
    """The per-user configuration folder (``$ESS_QPV_CONFIG`` overrides it)."""
    return Path(os.environ.get(CONFIG_ENV) or platformdirs.user_config_dir("ess-qpv"))


def server_dir(root: Path) -> Path:
    """Where the keys of the server of the studies folder ``root`` are kept (outside it),
    readable by its owner only."""
    digest = hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:20]
    path = config_dir() / "serveurs" / digest
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise EssQpvError(f"dossier de configuration inutilisable : {path} ({exc.strerror}) ; "
                          f"choisissez-en un avec la variable {CONFIG_ENV}.") from exc
    return path


def secret_key(folder: Path) -> bytes:
    """The server's key, made once (atomically: two servers starting together read the same
    key; a damaged key file is replaced)."""
    path = folder / "secret"
    for _ in range(3):
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            text = ""
        if re.fullmatch(r"[0-9a-f]{64}", text):
            return bytes.fromhex(text)
        tmp = folder / f".secret-{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32))
        try:
            if text or path.exists():  # damaged: replace it
                os.replace(tmp, path)
            else:
                os.link(tmp, path)  # fails if another server made it meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    raise EssQpvError(f"clé du serveur illisible : {path} ; supprimez ce fichier.")


class Keys:
    """The server's key and what derives from it."""

    def __init__(self, root: Path) -> None:
        self.folder = server_dir(root)
        self.secret = secret_key(self.folder)

    def _sign(self, *parts: str) -> str:
        return hmac.new(self.secret, "\0".join(parts).encode(), hashlib.sha256).hexdigest()

    def session_tag(self, password: str | None) -> str:
        """What a session records of the password it was opened with."""
        return self._sign("session", password or "")

    def job_mark(self, folder: Path) -> str:
        """The mark of a run this server started in ``folder`` (a received folder carries
        none that this server would accept)."""
        return self._sign("run", str(Path(folder).resolve()))


def check_password(password: str) -> None:
    """Refuse a password that is short or made of one repeated character."""
    kept = password.strip()
    if len(kept) < MIN_PASSWORD or len(set(kept)) < 3:
        raise EssQpvError(f"mot de passe trop faible : {MIN_PASSWORD} caractères au moins, "
                          "hors espaces, et pas un seul caractère répété.")


class Throttle:
    """Failed logins per client: after :data:`FREE_FAILURES`, each new attempt waits twice
    as long as the one before (up to :data:`MAX_WAIT` seconds); a success clears it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}

    def wait(self, client: str) -> float:
        """Seconds before ``client`` may try again (0: now)."""
        with self._lock:
            count, last = self._failures.get(client, (0, 0.0))
        if count < FREE_FAILURES:
            return 0.0
        return max(0.0, last + min(MAX_WAIT, 2.0 ** (count - FREE_FAILURES)) - time.time())

    def failed(self, client: str) -> None:
        with self._lock:
            count, _ = self._failures.get(client, (0, 0.0))
            self._failures[client] = (count + 1, time.time())
            if len(self._failures) > 10_000:  # bounded memory under a flood of addresses
                oldest = sorted(self._failures.items(), key=lambda kv: kv[1][1])[:5_000]
                for key, _ in oldest:
                    self._failures.pop(key, None)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.~%?=&+-]*")


def local_path(target: str | None) -> str:
    """``target`` if it is a path of this site, else ``/`` (never another site: no scheme,
    no ``//``, no backslash, no white space or control character that a browser drops).

    >>> local_path("/etudes/x/"), local_path("//evil.example"), local_path("/\\t/evil.example")
    ('/etudes/x/', '/', '/')
    """
    text = str(target or "")
    return text if _LOCAL_PATH.fullmatch(text) else "/"


class FolderLock:
    """One server per studies folder: held while the server runs, released by the system
    when its process ends, even killed."""

    def __init__(self, root: Path) -> None:
        from filelock import FileLock

        from .workspace import STATE_DIR

        path = Path(root) / STATE_DIR / LOCK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(path, timeout=0)
        self.root = root

    def __enter__(self) -> FolderLock:
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout:
            raise EssQpvError(f"un autre serveur ess-qpv sert déjà le dossier {self.root} ; "
                              "ouvrez sa page, ou arrêtez-le avant d'en lancer un autre.") \
                from None
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()
