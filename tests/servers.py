"""Small real HTTP servers on 127.0.0.1 for the tests (no patching of ``requests``)."""

from __future__ import annotations

import gzip
import io
import json
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

#: Real official data copied into the repository for the tests (origin in tests/data/README.md).
TEST_DATA = Path(__file__).resolve().parent / "data"

ROOT_DATA = Path(__file__).resolve().parents[1] / "data"
QP2024_GZ = ROOT_DATA / "qpv2024_france.geojson.gz"
QP2015_OCC = ROOT_DATA / "qpv2015_occitanie.geojson.gz"


def qp2015_occitanie() -> bytes:
    """The bundled QPV 2015 of Occitanie (exact outlines, kept gzipped) as GeoJSON bytes."""
    import gzip

    return gzip.decompress(QP2015_OCC.read_bytes())
DATASET = "5a561801c751df42d7fca9b6"
RESOURCE_2024 = "942d4ee8-8142-4556-8ea1-335537ce1119"


def official_2024_zip() -> bytes:
    """A zip with the inner layout of the ANCT publication, holding the real QPV 2024 data."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson",
                   gzip.decompress(QP2024_GZ.read_bytes()))
        z.writestr("GEOJSON/LISEZMOI.txt", "Quartiers prioritaires 2024 (copie de test)\n")
    return buf.getvalue()


class _QuietServer(ThreadingHTTPServer):
    """Keeps a request's error for the test to see (``errors``) instead of printing it
    into the test's captured output; a client that left is not an error."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.errors: list[BaseException] = []

    def handle_error(self, request, client_address) -> None:
        import sys

        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            self.errors.append(error)


class Server:
    """A threaded HTTP server whose answers are set per path by the test.

    ``routes[path]`` is a list of answers used in turn (the last one repeats); an answer is
    a dict with ``status``, ``body`` (bytes), ``headers`` and optional ``truncate`` (send
    only this many bytes of the body while announcing its full length).
    """

    def __init__(self) -> None:
        self.routes: dict[str, list[dict]] = {}
        self.requests: list[tuple[str, str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.answer(self)

            def do_POST(self) -> None:
                server.answer(self)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def set(self, path: str, *answers: dict) -> None:
        self.routes[path] = list(answers)

    def hits(self, path: str) -> int:
        return sum(1 for _, p, _ in self.requests if p == path)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer, unless the client has left (a timeout it chose): nothing to report."""
        try:
            self._answer(handler)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        self.requests.append((handler.command, path, dict(handler.headers)))
        # The body is always read, as a real server does: closing a socket with unread
        # bytes resets the connection under the client while it still sends.
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        answers = self.routes.get(path)
        if not answers:
            handler.send_error(404)
            return
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if callable(answer):
            answer = answer(handler.command, handler.path, dict(handler.headers), body)
        if answer.get("delay"):
            time.sleep(answer["delay"])
        body = answer.get("body", b"")
        etag = answer.get("etag")
        if etag and handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.end_headers()
            return
        handler.send_response(answer.get("status", 200))
        for key, value in answer.get("headers", {}).items():
            handler.send_header(key, value)
        if etag:
            handler.send_header("ETag", etag)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        cut = answer.get("truncate")
        handler.wfile.write(body if cut is None else body[:cut])
        handler.wfile.flush()
        if cut is not None:
            handler.close_connection = True

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def datagouv_dataset(base_url: str, zip_path: str = "/files/qpv-2024-geojson.zip") -> bytes:
    """The data.gouv.fr API answer for the QPV dataset, pointing to the local zip."""
    return json.dumps({
        "id": DATASET,
        "title": "Quartiers prioritaires de la politique de la ville (QPV)",
        "resources": [
            {"id": "00000000-0000-0000-0000-000000000000", "title": "QPV 2024 (shapefile)",
             "format": "zip", "url": f"{base_url}/files/qpv-2024-shp.zip"},
            {"id": RESOURCE_2024, "title": "QPV 2024 (GeoJSON)", "format": "zip",
             "url": f"{base_url}{zip_path}"},
        ],
    }).encode()


def forward(target: str, **change):
    """An answer that relays the request to ``target`` (a real server), optionally changed:
    ``truncate_rows`` keeps only the first rows of a CSV body, ``delay`` waits first."""
    import requests

    def answer(method, path, headers, body):
        keep = {k: v for k, v in headers.items() if k.lower() in ("content-type",)}
        response = requests.request(method, target + path, headers=keep, data=body, timeout=30)
        content = response.content
        if change.get("truncate_rows") is not None:
            lines = content.split(b"\n")
            content = b"\n".join(lines[:change["truncate_rows"] + 1])
        return {"status": response.status_code, "body": content, "delay": change.get("delay"),
                "headers": {"Content-Type": response.headers.get("Content-Type", "")}}

    return answer
