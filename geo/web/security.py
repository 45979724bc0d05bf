"""The web server's keys and guards: what ``ess-qpv serve`` trusts, and what it never takes
from the studies folder.

A studies folder is meant to be passed around, so nothing that grants access lives in it: the
key that signs session cookies and marks this server's runs is kept in the user's
configuration folder (``$ESS_QPV_CONFIG`` overrides it), one per studies folder. A session is
bound to the password it was opened with (changing the password closes every session); failed
logins slow down per client; after a login, only a path of this site is followed; one server
at a time serves a folder (a lock the system releases when the process ends).

The server itself (:func:`create_server`, waitress underneath) holds against slow clients: a
request's headers must arrive within :data:`HEADER_SECONDS` of its first byte and its body at
a minimal pace, a client address holds at most :data:`CONNECTIONS_PER_CLIENT` connections, and
the connections are polled (no ``select`` ceiling), :data:`CONNECTIONS` at most.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from pathlib import Path

import platformdirs

from .._errors import EssQpvError

#: Environment variable that overrides the per-user configuration folder.
CONFIG_ENV = "ESS_QPV_CONFIG"
#: The lock file of a served folder, in the folder's own state directory.
LOCK_FILE = "serveur.lock"
MIN_PASSWORD = 12
#: Passwords guessed first (compared without case, spaces, nor digits and signs around them).
COMMON_PASSWORDS = frozenset({
    "motdepasse", "motdepass", "mdp", "password", "passw0rd", "passwd", "pass", "azerty",
    "azertyui", "azertyuiop", "qwerty", "qwertyui", "qwertyuiop", "abcdef", "abcdefgh",
    "abc", "soleil", "bonjour", "salut", "jetaime", "doudou", "loulou", "chouchou", "coucou",
    "marseille", "paris", "france", "admin", "administrateur", "root", "secret", "welcome",
    "letmein", "iloveyou", "essqpv", "ess-qpv", "etudes", "quartier", "quartiers"})
#: Failed logins a client may make before each new attempt waits (doubling each time).
FREE_FAILURES = 3
MAX_WAIT = 300.0
#: Seconds a request's headers may take to arrive, from its first byte (slow clients).
HEADER_SECONDS = 10
#: Seconds a request's body may take beyond its size at :data:`BODY_RATE` bytes a second.
BODY_SECONDS = 30
BODY_RATE = 20_000
#: Seconds an idle connection (between requests) is kept open.
IDLE_SECONDS = 30
#: Connections the server holds at once, and of them from one client address.
CONNECTIONS = 500
CONNECTIONS_PER_CLIENT = 40


def config_dir() -> Path:
    """The per-user configuration folder (``$ESS_QPV_CONFIG`` overrides it)."""
    return Path(os.environ.get(CONFIG_ENV) or platformdirs.user_config_dir("ess-qpv"))


def config_inside(root: Path) -> Path | None:
    """The configuration folder when it lies inside the studies folder ``root`` (its key
    would travel with a copy of the folder), else ``None``."""
    config = config_dir().resolve()
    return config if config.is_relative_to(Path(root).resolve()) else None


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

    def geocoder_mark(self, folder: Path, url: str) -> str:
        """The mark that the person accepted to send ``folder``'s addresses to ``url`` (a
        received folder carries none that this server would accept)."""
        return self._sign("geocoder", str(Path(folder).resolve()), url)

    def job_mark(self, folder: Path) -> str:
        """The mark of a run this server started in ``folder`` (a received folder carries
        none that this server would accept)."""
        return self._sign("run", str(Path(folder).resolve()))


def check_password(password: str) -> None:
    """Refuse a password that is easy to guess, saying every reason why: fewer than
    :data:`MIN_PASSWORD` characters (spaces around it not counted), only digits, one repeated
    character, or a common password give or take digits and signs around it."""
    kept = password.strip()
    reasons = []
    if not kept:
        reasons.append("rien que des espaces")
    elif len(kept) < MIN_PASSWORD:
        plural = "s" if len(kept) > 1 else ""
        reasons.append(f"{len(kept)} caractère{plural}, il en faut {MIN_PASSWORD} au moins "
                       "(sans compter les espaces au début et à la fin)")
    core = re.sub(r"\s+", "", kept.casefold()).strip("0123456789!?.,;:-_*#@$€&+=/ ")
    if kept.isdigit():
        reasons.append("rien que des chiffres")
    elif kept and not core:
        reasons.append("rien que des chiffres et des signes")
    if len(kept) > 1 and len(set(kept)) == 1:
        reasons.append("un seul caractère répété")
    if core in COMMON_PASSWORDS or (kept.isdigit() and kept in "12345678901234567890"):
        reasons.append("un mot de passe parmi les plus courants")
    if reasons:
        raise EssQpvError("mot de passe trop faible : " + " ; ".join(reasons) + ". Choisissez "
                          "par exemple quatre mots sans rapport entre eux.")


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


# --------------------------------------------------------------------------- slow clients


def create_server(app, *, host: str, port: int, threads: int = 8, **options):
    """A waitress server for ``app`` on ``host``:``port`` that slow clients cannot stall:
    deadlines on each request's headers and body, a cap on the connections of one client
    address and on all connections (polled, so more than 1 024 file descriptors are no
    ceiling); ``options``: other waitress settings (``max_request_body_size``, ``ident``).
    Raises :class:`OSError` or :class:`ValueError` when it cannot listen there."""
    from waitress.adjustments import Adjustments
    from waitress.server import MultiSocketServer
    from waitress.task import ThreadedTaskDispatcher

    adj = Adjustments(host=host, port=port, threads=threads, connection_limit=CONNECTIONS,
                      channel_timeout=IDLE_SECONDS, cleanup_interval=1,
                      asyncore_use_poll=True, **options)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    channels: dict = {}
    servers = [_guarded_server_class()(app, channels, dispatcher=dispatcher, adj=adj,
                                       sockinfo=info) for info in adj.listen]
    if len(servers) == 1:
        return servers[0]
    return MultiSocketServer(channels, adj, [(s.effective_host, s.effective_port)
                                             for s in servers], dispatcher,
                             servers[-1].log_info)


@functools.cache
def _guarded_server_class():
    """waitress's TCP server and channel, with the deadlines and the per-client cap (built
    on first use: waitress is imported only by the server)."""
    from waitress.channel import HTTPChannel
    from waitress.server import TcpWSGIServer

    class Channel(HTTPChannel):
        _timed = None  # the request being received, timed since its first byte
        _since = 0.0
        _headers_at: float | None = None

        def received(self, data: bytes) -> bool:
            done = super().received(data)
            request, now = self.request, time.time()
            if request is not None and request is not self._timed:
                self._timed, self._since, self._headers_at = request, now, None
            if request is not None and request.headers_finished and self._headers_at is None:
                self._headers_at = now
            return done

        def overdue(self, now: float) -> bool:
            request = self.request
            if request is None or request is not self._timed:
                return False
            if self._headers_at is None:
                return now - self._since > HEADER_SECONDS
            return now - self._headers_at > BODY_SECONDS + request.content_length / BODY_RATE

    class Server(TcpWSGIServer):
        channel_class = Channel

        def maintenance(self, now: float) -> None:
            super().maintenance(now)
            for channel in list(self.active_channels.values()):
                if isinstance(channel, Channel) and channel.overdue(now):
                    channel.will_close = True

        def handle_accept(self) -> None:
            try:
                pair = self.accept()
            except OSError:
                return
            if pair is None:
                return
            conn, addr = pair
            client = addr[0] if isinstance(addr, tuple) else addr
            held = sum(1 for c in list(self.active_channels.values())
                       if isinstance(c.addr, tuple) and c.addr[0] == client)
            if held >= CONNECTIONS_PER_CLIENT:
                conn.close()
                return
            try:
                self.set_socket_options(conn)
            except OSError:
                conn.close()
                return
            self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)

    return Server
