"""The official-download path, against a local server replaying the real publication."""

from __future__ import annotations

import hashlib
import json

import pytest

from geo import cli, qpv, settings, sources
from geo._errors import EssQpvError
from geo.download import CacheFallbackWarning, read_metadata
from tests.servers import (
    RESOURCE_2024,
    datagouv_dataset,
    official_2024_zip,
    qp2015_occitanie,
)

API = f"/api/1/datasets/{sources.QPV_DATASET}/"
ZIP = "/files/qpv-2024-geojson.zip"


@pytest.fixture(scope="module")
def zip_bytes() -> bytes:
    return official_2024_zip()


@pytest.fixture
def datagouv(server, monkeypatch):
    """The local server stands for data.gouv.fr."""
    monkeypatch.setenv(settings.DATAGOUV_ENV, server.url)
    server.set(API, {"body": datagouv_dataset(server.url), "headers": {
        "Content-Type": "application/json"}})
    return server


def ok(body: bytes, **extra) -> dict:
    return {"body": body, "headers": {"Content-Type": "application/zip"}, **extra}


def cache_files(cache) -> list[str]:
    return sorted(p.name for p in cache.rglob("*") if p.is_file())


def test_download_success_is_cached_with_metadata(datagouv, zip_bytes, isolated_cache):
    datagouv.set(ZIP, ok(zip_bytes, etag='"v1"'))
    frame = qpv.load_qpv("2024", progress=False)
    assert len(frame) == 1584
    assert set(frame["generation"]) == {"2024"}
    assert frame.attrs["origin"] == f"{datagouv.url}{ZIP}"
    path = sources.cache_file(sources.SOURCES["2024"])
    meta = read_metadata(path)
    assert meta["sha256"] == "sha256:" + hashlib.sha256(zip_bytes).hexdigest()
    assert meta["size"] == len(zip_bytes) and meta["etag"] == '"v1"'
    assert meta["url"] == f"{datagouv.url}{ZIP}"
    # A second load is served from the cache: no request at all.
    before = len(datagouv.requests)
    assert len(qpv.load_qpv("2024", departement="93", progress=False)) == 75
    assert len(datagouv.requests) == before


def test_refresh_revalidates_with_etag(datagouv, zip_bytes):
    datagouv.set(ZIP, ok(zip_bytes, etag='"v1"'))
    qpv.load_qpv("2024", progress=False)
    path = sources.cache_file(sources.SOURCES["2024"])
    downloaded = read_metadata(path)["downloaded"]
    qpv.load_qpv("2024", refresh=True, progress=False)
    headers = [h for m, p, h in datagouv.requests if p == ZIP][-1]
    assert headers.get("If-None-Match") == '"v1"'
    assert read_metadata(path)["downloaded"] == downloaded  # 304: not downloaded again


def test_resource_found_by_title_after_reupload(server, monkeypatch, zip_bytes):
    monkeypatch.setenv(settings.DATAGOUV_ENV, server.url)
    dataset = json.loads(datagouv_dataset(server.url, "/files/new-upload.zip"))
    for res in dataset["resources"]:
        if res["id"] == RESOURCE_2024:
            res["id"] = "11111111-2222-3333-4444-555555555555"
    server.set(API, {"body": json.dumps(dataset).encode()})
    server.set("/files/new-upload.zip", ok(zip_bytes))
    assert len(qpv.load_qpv("2024", progress=False)) == 1584


def test_404_is_a_clear_error_and_nothing_is_cached(datagouv, isolated_cache):
    with pytest.raises(EssQpvError, match=r"HTTP 404.*--qpv CHEMIN"):
        qpv.load_qpv("2024", progress=False)
    assert not any(name.endswith(".zip") for name in cache_files(isolated_cache))


def test_500_then_success_is_retried(datagouv, zip_bytes):
    datagouv.set(ZIP, {"status": 500, "body": b"oops"}, ok(zip_bytes))
    assert len(qpv.load_qpv("2024", progress=False)) == 1584
    assert datagouv.hits(ZIP) == 2


def test_body_cut_short_is_retried_then_kept(datagouv, zip_bytes):
    datagouv.set(ZIP, ok(zip_bytes, truncate=1000), ok(zip_bytes))
    assert len(qpv.load_qpv("2024", progress=False)) == 1584
    assert datagouv.hits(ZIP) == 2


def test_body_always_cut_short_is_never_cached(datagouv, zip_bytes, isolated_cache):
    datagouv.set(ZIP, ok(zip_bytes, truncate=len(zip_bytes) // 2))
    with pytest.raises(EssQpvError, match="interrompu|incomplet"):
        qpv.load_qpv("2024", progress=False)
    assert datagouv.hits(ZIP) == settings.MAX_ATTEMPTS
    assert cache_files(isolated_cache) == []


def test_html_page_instead_of_zip_is_reported(datagouv, isolated_cache):
    page = b"<!DOCTYPE html><html><body>Maintenance en cours</body></html>"
    datagouv.set(ZIP, {"body": page, "headers": {"Content-Type": "text/html"}})
    with pytest.raises(EssQpvError, match="page HTML"):
        qpv.load_qpv("2024", progress=False)
    assert cache_files(isolated_cache) == []


def test_not_a_zip_is_reported(datagouv, isolated_cache):
    datagouv.set(ZIP, ok(b"PK\x03\x04 this is not really a zip archive"))
    with pytest.raises(EssQpvError, match="archive ZIP"):
        qpv.load_qpv("2024", progress=False)
    assert cache_files(isolated_cache) == []


def test_server_down_with_cache_warns_and_uses_it(datagouv, zip_bytes):
    datagouv.set(ZIP, ok(zip_bytes))
    qpv.load_qpv("2024", progress=False)
    datagouv.stop()
    with pytest.warns(CacheFallbackWarning, match="cache"):
        frame = qpv.load_qpv("2024", refresh=True, progress=False)
    assert len(frame) == 1584


def test_server_down_without_cache_is_a_clear_cli_error(server, monkeypatch, capsys):
    monkeypatch.setenv(settings.DATAGOUV_ENV, server.url)
    server.stop()
    code = cli.main(["qpv", "download", "--generation", "2024"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("Erreur : Impossible de télécharger les QPV 2024")
    assert "bundled-2024" in err and "--qpv CHEMIN" in err
    assert "Traceback" not in err


def test_any_url_is_a_source(server):
    server.set("/contours/qpv.zip", ok(official_2024_zip()))
    frame = qpv.load_qpv(f"{server.url}/contours/qpv.zip", departement="75", progress=False)
    assert len(frame) == 21


def test_a_truncated_download_with_a_matching_length_never_enters_the_cache(server,
                                                                            isolated_cache):
    """A server that cuts the file *and* announces the cut length: only parsing tells."""
    body = qp2015_occitanie()
    cut = body[: len(body) // 2]
    server.set("/qpv.geojson", {"body": cut, "headers": {"Content-Type": "application/json"}})
    url = f"{server.url}/qpv.geojson"
    with pytest.raises(EssQpvError, match="ne se lit pas.*rien n'a été mis en cache"):
        qpv.load_qpv(url, progress=False)
    assert not [p for p in cache_files(isolated_cache) if p.endswith("qpv.geojson")]
    # The server mended: the next run downloads and reads it.
    server.set("/qpv.geojson", {"body": body, "headers": {"Content-Type": "application/json"}})
    assert len(qpv.load_qpv(url, progress=False)) == 105


def test_a_cached_copy_that_no_longer_reads_is_removed(server, isolated_cache):
    body = qp2015_occitanie()
    server.set("/qpv.geojson", {"body": body, "headers": {"Content-Type": "application/json"}})
    url = f"{server.url}/qpv.geojson"
    qpv.load_qpv(url, progress=False)
    from geo.download import cached_path

    cached_path(url).write_bytes(body[:1000])  # damaged on disk
    with pytest.warns(CacheFallbackWarning, match="altérée"):
        assert len(qpv.load_qpv(url, progress=False)) == 105  # checked, downloaded again
    hits = server.hits("/qpv.geojson")
    # same size, other bytes: the sha256 recorded at download time tells
    damaged = bytearray(body)
    damaged[500:510] = b"0123456789"
    cached_path(url).write_bytes(bytes(damaged))
    with pytest.warns(CacheFallbackWarning, match="altérée"):
        assert len(qpv.load_qpv(url, progress=False)) == 105
    assert server.hits("/qpv.geojson") == hits + 1
    assert len(qpv.load_qpv(url, progress=False)) == 105  # intact now: no warning
