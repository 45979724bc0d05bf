"""A real addok geocoder (the engine of the national address service) on 127.0.0.1.

Redis from Debian, addok in its own virtualenv (``.addok-venv``, made by tests/setup.sh; its
pins clash with ours), configured with tests/data/addok.conf that mirrors the national
service. Data: real BAN records (New Caledonia) and a few **fictional streets** placed inside
real QPV, so that address → quartier can be tested end to end.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import requests
import shapely
from pyproj import Transformer

from geo.qpv import load_qpv
from tests.servers import TEST_DATA

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("ESS_QPV_ADDOK_VENV", ROOT / ".addok-venv"))
CONFIG = TEST_DATA / "addok.conf"
NOUMEA = TEST_DATA / "excerpt_noumea_98818.ndjson"
CALEDONIA = TEST_DATA / "adresses-addok-france-simplified.ndjson.gz"

#: Fictional streets (names say so) inside real QPV 2024: (street, commune, INSEE code,
#: postcode, QPV code, département).
FICTIONAL = [
    ("Allée de l'Exemple Fictif", "Saint-Denis", "93066", "93200", "QN09338M"),
    ("Rue Imaginaire des Essais", "Bordeaux", "33063", "33300", "QN03307M"),
    ("Impasse du Jeu de Données", "Toulouse", "31555", "31400", "QN03109M"),
    ("Rue Fictive de la Goutte", "Paris", "75118", "75018", "QN07511M"),
    ("Avenue Inventée des Tests", "Villeurbanne", "69266", "69100", "QN06901M"),
    ("Rue du Doublon Fictif", "Saint-Denis", "93066", "93200", "QN09340I"),
    ("Rue du Doublon Fictif", "Bordeaux", "33063", "33100", "QN03309M"),
]
MUNICIPALITIES = {"93066": ("Saint-Denis", "93200", 2.3596, 48.9362),
                  "33063": ("Bordeaux", "33000", -0.5792, 44.8378),
                  "31555": ("Toulouse", "31000", 1.4442, 43.6045),
                  "75118": ("Paris 18e Arrondissement", "75018", 2.3488, 48.8925),
                  "69266": ("Villeurbanne", "69100", 4.8798, 45.7719)}


def fictional_records() -> list[dict]:
    """addok import records of the fictional streets, numbers 1–20 inside their QPV."""
    qpv = load_qpv().set_index("code_qp")
    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    records = []
    for code, (name, postcode, lon, lat) in MUNICIPALITIES.items():
        x, y = to_l93.transform(lon, lat)
        records.append({"id": code, "type": "municipality", "name": name.split(" ")[0]
                        if code.startswith("751") else name, "postcode": [postcode],
                        "citycode": code, "lon": lon, "lat": lat, "x": round(x, 2),
                        "y": round(y, 2), "population": 100000, "city": name.split(" ")[0]
                        if code.startswith("751") else name,
                        "context": f"{code[:2]}, fictif", "importance": 0.6})
    for n, (street, city, citycode, postcode, code) in enumerate(FICTIONAL):
        polygon = qpv.geometry[code]
        centre = polygon.representative_point()
        numbers = {}
        for k in range(1, 21):
            p = shapely.Point(centre.x + (k - 10) * 0.00003, centre.y)
            p = p if polygon.contains(p) else centre
            x, y = to_l93.transform(p.x, p.y)
            numbers[str(k)] = {"id": f"{citycode}_fict{n}_{k:05d}", "lon": round(p.x, 6),
                               "lat": round(p.y, 6), "x": round(x, 2), "y": round(y, 2)}
        x, y = to_l93.transform(centre.x, centre.y)
        records.append({"id": f"{citycode}_fict{n}", "type": "street", "name": street,
                        "postcode": postcode, "citycode": [citycode], "lon": round(centre.x, 6),
                        "lat": round(centre.y, 6), "x": round(x, 2), "y": round(y, 2),
                        "city": [city], "context": f"{citycode[:2]}, fictif",
                        "importance": 0.5, "housenumbers": numbers})
    return records


#: Seconds a server may take to start.
STARTUP = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Addok:
    """Redis + addok (imported) + gunicorn; ``url`` is the geocoder root."""

    def __init__(self, workdir: Path, *, full_caledonia: bool = False,
                 with_filter_bug: bool = False) -> None:
        if not (VENV / "bin" / "addok").exists():
            raise RuntimeError(f"addok is not installed in {VENV}: run tests/setup.sh")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.redis_port = free_port()
        self.processes: list[subprocess.Popen] = []
        self.processes.append(subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        try:
            self.config = self._config(workdir / "addok.conf", bug=False)
            self._wait_redis()
            self._import(full_caledonia)
            self.url = self._serve(self.config)
            self.buggy_url = self._serve(self._config(workdir / "addok-bug.conf", bug=True)) \
                if with_filter_bug else None
        except BaseException:
            self.stop()  # never leave redis or gunicorn behind
            raise

    def _config(self, path: Path, *, bug: bool) -> Path:
        text = CONFIG.read_text(encoding="utf-8")
        text = text.replace('"port": 6390', f'"port": {self.redis_port}')
        text = re.sub(r'LOG_DIR = "[^"]*"', f'LOG_DIR = "{self.workdir / "logs"}"', text)
        if bug:  # the plain addok-csv 1.1.0 behaviour: HTTP 500 on filter columns
            text = text.split("# Workaround")[0] + 'ID_FIELD = "id"\n'
        (self.workdir / "logs").mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def _env(self, config: Path) -> dict:
        return {**os.environ, "ADDOK_CONFIG_MODULE": str(config)}

    def _wait_redis(self) -> None:
        self._wait(self.processes[0], "redis-server", lambda: socket.create_connection(
            ("127.0.0.1", self.redis_port), timeout=0.5).close())

    @staticmethod
    def _wait(process: subprocess.Popen, name: str, ready) -> None:
        """Wait until ``ready()`` stops raising; a loaded machine (two suites at once) may
        take long to start a server, a dead one is said at once."""
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} stopped at start (exit {process.returncode})")
            try:
                if ready() is not False:
                    return
            except (OSError, requests.RequestException):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not start within {STARTUP} s")

    def _import(self, full_caledonia: bool) -> None:
        data = b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n"
                        for r in fictional_records())
        data += (gzip.decompress(CALEDONIA.read_bytes()) if full_caledonia
                 else NOUMEA.read_bytes())
        addok = str(VENV / "bin" / "addok")
        for command, stdin in (([addok, "batch"], data), ([addok, "ngrams"], None)):
            subprocess.run(command, input=stdin, env=self._env(self.config), check=True,
                           capture_output=True, cwd=self.workdir)

    def _serve(self, config: Path) -> str:
        port = free_port()
        self.processes.append(subprocess.Popen(
            [str(VENV / "bin" / "gunicorn"), "-b", f"127.0.0.1:{port}", "--no-control-socket",
             "--workers", "2", "addok.http.wsgi"], env=self._env(config), cwd=self.workdir,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{port}"
        self._wait(self.processes[-1], "addok (gunicorn)", lambda: requests.get(
            f"{url}/search/", params={"q": "a"}, timeout=2).ok)
        return url

    def stop(self) -> None:
        for p in reversed(self.processes):
            p.terminate()
        for p in self.processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
