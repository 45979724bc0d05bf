"""One configured HTTP session for every web service the package talks to, and a bound on
the whole of one exchange (:func:`deadline`), which ``requests`` does not have: its timeout
bounds each read, so a server that drips one byte at a time holds it for ever."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import requests
from requests.adapters import HTTPAdapter
from urllib3 import connection, connectionpool, poolmanager
from urllib3.exceptions import ConnectTimeoutError
from urllib3.util import Retry

from . import settings


def session(*, attempts: int | None = None, backoff: float | None = None,
            read_attempts: int | None = None) -> requests.Session:
    """Return a session that retries connection errors, 429 and 5xx answers with growing waits.

    ``Retry-After`` headers are honoured; the number of attempts is bounded
    (defaults: :data:`geo.settings.MAX_ATTEMPTS`, :data:`geo.settings.BACKOFF` seconds);
    ``read_attempts`` bounds apart the attempts on a server that accepts the connection and
    does not answer in time (each one waits the whole read timeout). Its requests honour a
    :func:`deadline` opened around them.
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
    adapter = _WatchedAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


# --------------------------------------------------------------------------- deadline


class Deadline:
    """The end of one exchange: when it comes, every connection used inside the
    :func:`deadline` block is shut down, which ends any read or write waiting on it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._connections: list[connection.HTTPConnection] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        """Seconds left (0 once past)."""
        return max(0.0, self.end - time.monotonic())

    def watch(self, conn: connection.HTTPConnection) -> None:
        with self._lock:
            if conn not in self._connections:
                self._connections.append(conn)
            if self.expired:
                _shut(conn)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for conn in self._connections:
                _shut(conn)


def _shut(conn: connection.HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        with suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Bound everything this thread's requests do inside the block (connecting, sending,
    every read of the headers and the body) by ``seconds`` in all.

    Past it, the connection is shut down: the request fails with a connection or reading
    error, and ``Deadline.expired`` says why.
    """
    bound = Deadline(seconds)
    previous = getattr(_current, "deadline", None)
    _current.deadline = bound
    bound._timer.start()
    try:
        yield bound
    finally:
        bound._timer.cancel()
        _current.deadline = previous


def _track(conn: connection.HTTPConnection) -> None:
    bound = getattr(_current, "deadline", None)
    if bound is not None:
        bound.watch(conn)


def _before_connecting(conn: connection.HTTPConnection) -> None:
    """No connecting past the deadline, nor waiting beyond it to connect."""
    bound = getattr(_current, "deadline", None)
    if bound is None:
        return
    if bound.expired:
        raise ConnectTimeoutError(conn, f"no connection within the {bound.seconds:g} s bound")
    if isinstance(conn.timeout, (int, float)):
        conn.timeout = min(conn.timeout, max(bound.remaining(), 0.001))


class _WatchedConnection(connection.HTTPConnection):
    def connect(self) -> None:
        _before_connecting(self)
        super().connect()
        _track(self)

    def request(self, *args, **kwargs) -> None:  # a kept-alive connection is used again
        _track(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(connection.HTTPSConnection):
    def connect(self) -> None:
        _before_connecting(self)
        super().connect()
        _track(self)

    def request(self, *args, **kwargs) -> None:
        _track(self)
        super().request(*args, **kwargs)


class _WatchedPool(connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """urllib3's pools, with connections that a :func:`deadline` can shut down."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy, **kwargs):
        manager = super().proxy_manager_for(proxy, **kwargs)
        # SOCKS proxies have pools of their own: left as they are
        if manager.pool_classes_by_scheme is poolmanager.pool_classes_by_scheme:
            manager.pool_classes_by_scheme = _POOLS
        return manager
