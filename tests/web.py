"""``ess-qpv serve`` started by the tests on 127.0.0.1, always stopped (with its runs)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.addok import free_port


class WebServer:
    """The real command in its own process; ``url`` is the page's root."""

    def __init__(self, root: Path, cache: Path, *args: str, env: dict | None = None,
                 url_host: str = "127.0.0.1") -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://{url_host}:{self.port}"
        self.log = root.parent / f"serve-{self.port}.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "geo.cli", "serve", str(root), "--port",
                 str(self.port), "--no-browser", *args],
                stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "ESS_QPV_CACHE": str(cache), **(env or {})})
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise

    def _wait(self) -> None:
        for _ in range(300):
            if self.process.poll() is not None:
                raise RuntimeError(f"ess-qpv serve stopped: {self.log.read_text()}")
            try:
                requests.get(self.url + "/", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("ess-qpv serve did not start")

    def stop_server_only(self) -> None:
        """Stop the server as a user does (its runs are suspended, to resume)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def stop(self) -> None:
        """Stop the server, then any run left behind (a killed server leaves them)."""
        self.stop_server_only()
        kill_runs(self.root)

    def session(self) -> Client:
        return Client(self.url)


def kill_runs(root: Path) -> None:
    for state in root.glob("*/.ess-qpv/etat.json"):
        try:
            pid = json.loads(state.read_text(encoding="utf-8")).get("pid")
        except (OSError, ValueError):
            continue
        if pid:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


class Client(requests.Session):
    """A browser-like HTTP client: keeps the cookie, reads each form's CSRF token."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.base = url
        self.token = ""

    def page(self, path: str, **kw) -> requests.Response:
        r = self.get(self.base + path, timeout=30, **kw)
        found = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        if found:
            self.token = found.group(1)
        return r

    def post_form(self, path: str, data: dict | None = None, *, token: bool = True,
                  **kw) -> requests.Response:
        data = dict(data or {})
        if token:
            data["csrf_token"] = self.token
        return self.post(self.base + path, data=data, timeout=60, **kw)

    def wait(self, study: str, timeout: float = 120) -> dict:
        """Poll the run's state until it is no longer running."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self.get(f"{self.base}/etudes/{study}/etat", timeout=10).json()
            if state.get("etat") != "en_cours":
                return state
            time.sleep(0.2)
        raise AssertionError(f"run of {study} still running after {timeout} s")
