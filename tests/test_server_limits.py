"""``ess-qpv serve`` under slow clients (geo/web/security.py: create_server): the real server,
many connections that send their headers a byte every few seconds, and a normal request that
must still be answered at once. Every socket is closed and the server stopped, whatever
happens."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest
import requests

from geo.web.security import CONNECTIONS_PER_CLIENT, HEADER_SECONDS
from tests.web import WebServer


@pytest.fixture
def web(tmp_path, isolated_cache):
    server = WebServer(tmp_path / "etudes", isolated_cache)
    yield server
    server.stop()


@contextlib.contextmanager
def slow_clients(port: int, count: int, addresses: int):
    """``count`` connections from ``addresses`` addresses of this machine (127.0.0.10…),
    each having sent the first byte of its headers; closed on leaving."""
    sockets: list[socket.socket] = []
    try:
        for i in range(count):
            s = socket.socket()
            sockets.append(s)
            s.settimeout(2)
            s.bind((f"127.0.0.{10 + i % addresses}", 0))
            s.connect(("127.0.0.1", port))
            s.sendall(b"G")
        yield sockets
    finally:
        for s in sockets:
            s.close()


def dribble(sockets: list[socket.socket], text: bytes) -> int:
    """Send one more byte on each socket still open; how many took it."""
    took = 0
    for s in sockets:
        try:
            s.sendall(text)
            took += 1
        except OSError:
            pass
    return took


def closed(s: socket.socket) -> bool:
    """Whether the server has closed this connection (without waiting more than 0.1 s)."""
    s.settimeout(0.1)
    try:
        return s.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def answered_within(url: str, seconds: float) -> float:
    start = time.monotonic()
    r = requests.get(url + "/", timeout=seconds)
    took = time.monotonic() - start
    assert r.status_code == 200 and "Études" in r.text
    return took


def test_150_slow_connections_do_not_stop_a_normal_request(web):
    with slow_clients(web.port, 150, addresses=15) as sockets:
        for text in (b"E", b"T"):  # a header byte every few seconds
            time.sleep(1.5)
            assert dribble(sockets, text) == 150
        assert answered_within(web.url, 2) < 2


def test_one_client_holds_a_bounded_number_of_connections(web):
    with slow_clients(web.port, 150, addresses=1) as sockets:
        time.sleep(1.5)  # the server's accept loop has seen them all
        dribble(sockets, b"E")
        time.sleep(0.5)
        held = sum(not closed(s) for s in sockets)
        assert held <= CONNECTIONS_PER_CLIENT
        assert answered_within(web.url, 2) < 2  # another address is served at once


def test_headers_that_never_end_are_cut(web):
    with slow_clients(web.port, 5, addresses=5) as sockets:
        deadline = time.monotonic() + HEADER_SECONDS + 5
        while time.monotonic() < deadline and not all(closed(s) for s in sockets):
            dribble(sockets, b"E")  # a byte a second: never idle, never done
            time.sleep(0.9)
        assert all(closed(s) for s in sockets)
    assert answered_within(web.url, 2) < 2


# --------------------------------------------------------------------------- low items

PASSWORD = "trois mots longs"


@pytest.mark.parametrize("weak, why", [
    ("12345678", "8 caractères, il en faut 12 au moins"),
    ("123456789012", "rien que des chiffres"),
    ("motdepasse", "parmi les plus courants"),
    ("MotDePasse2024!", "parmi les plus courants"),
    ("password", "parmi les plus courants"),
    ("azertyui", "parmi les plus courants"),
    ("  onze  carac  ", "11 caractères"),
])
def test_weak_passwords_are_refused_saying_why(weak, why):
    from geo._errors import EssQpvError
    from geo.web.security import check_password

    with pytest.raises(EssQpvError, match=f"mot de passe trop faible : .*{why}"):
        check_password(weak)


def test_a_network_server_refuses_12345678(tmp_path):
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "geo.cli", "serve", str(tmp_path / "e"), "--host", "0.0.0.0",
         "--no-browser"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "ESS_QPV_MOT_DE_PASSE": "12345678"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "8 caractères, il en faut 12 au moins" in done.stderr
    assert "rien que des chiffres" in done.stderr


def test_a_configuration_inside_the_studies_folder_is_warned(tmp_path, isolated_cache):
    root = tmp_path / "etudes"
    server = WebServer(root, isolated_cache, env={"ESS_QPV_CONFIG": str(root / "config")})
    server.stop()
    assert "Attention : le dossier de configuration" in server.log.read_text(encoding="utf-8")
    server = WebServer(root, isolated_cache)  # the tests' own, outside the folder
    server.stop()
    assert "Attention : le dossier de configuration" not in server.log.read_text(
        encoding="utf-8")


def test_logout_closes_the_session_even_for_a_kept_cookie(tmp_path, isolated_cache):
    server = WebServer(tmp_path / "etudes", isolated_cache, "--host", "127.0.0.2",
                       env={"ESS_QPV_MOT_DE_PASSE": PASSWORD}, url_host="127.0.0.2")
    try:
        client = server.session()
        assert "Se déconnecter" not in client.page("/connexion").text
        r = client.post_form("/connexion", {"mot_de_passe": PASSWORD, "suite": "/"})
        assert "Nouvelle étude" in r.text and "Se déconnecter" in r.text
        kept = client.cookies.copy()
        client.page("/")
        r = client.post_form("/deconnexion", token=False)  # never without the form's token
        assert r.status_code == 400 and "Nouvelle étude" in client.page("/").text
        client.page("/")
        r = client.post_form("/deconnexion")
        assert r.url.endswith("/connexion") and "Session fermée" in r.text
        assert "/connexion" in client.page("/").url
        thief = server.session()
        thief.cookies.update(kept)
        assert "/connexion" in thief.page("/").url
    finally:
        server.stop()
