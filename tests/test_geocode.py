"""Geocoding against a real addok on 127.0.0.1, with faults injected by a relay in front."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

from geo import cli, geocache, settings
from geo import geocode as gc
from geo._errors import EssQpvError
from geo.geoclient import GeocoderWaitWarning
from geo.initiatives import read_initiatives
from geo.link import link
from geo.qpv import load_qpv
from tests.outputs import read_output
from tests.servers import TEST_DATA, forward

ADDRESSES = pd.DataFrame({
    "id": ["A", "B", "C", "D", "E", "F", "G"],
    "adresse": ["3 Allée de l'Exemple Fictif", "1 allée d'Auvergne", "5 Rue du Doublon Fictif",
                "999 zzz qqq", "12 Rue Imaginaire des Essais", "", "7 Rue Fictive de la Goutte"],
    "code_postal": ["93200", "98800", "", "", "33000", "", "75018"],
    "commune": ["Saint-Denis", "Nouméa", "", "", "Bordeaux", "", "Paris"],
    "code_insee": ["93066", "", "", "", "", "", "75056"],
})


def run(addok_url, table=ADDRESSES, cache=None, **kw):
    geocoder = gc.Geocoder(addok_url, chunk_size=kw.pop("chunk_size", 3), timeout=kw.pop(
        "timeout", 20))
    return gc.geocode(table, geocoder=geocoder, cache=cache or gc.GeocodeCache(), **kw)


def test_statuses_on_a_real_geocoder(addok):
    result = run(addok.url)
    table = result.table.set_index("id")
    assert table.loc["A", "geocode_status"] == "ok"
    assert table.loc["A", "geocode_label"] == "3 Allée de l'Exemple Fictif 93200 Saint-Denis"
    assert float(table.loc["A", "latitude"]) == pytest.approx(48.93, abs=0.02)
    assert table.loc["B", "geocode_status"] == "ok"  # real BAN data (Nouméa)
    assert table.loc["B", "geocode_citycode"] == "98818"
    assert table.loc["C", "geocode_status"] == "a_verifier"  # two streets of that name
    assert "presque aussi probables" in table.loc["C", "geocode_note"]
    assert table.loc["C", "latitude"] == ""  # doubtful rows get no coordinates
    assert table.loc["D", "geocode_status"] == "non_trouve"
    assert table.loc["E", "geocode_status"] == "a_verifier"
    assert "code postal différent (33300 au lieu de 33000)" in table.loc["E", "geocode_note"]
    assert table.loc["F", "geocode_status"] == "sans_adresse"
    # Paris: the answer carries the arrondissement code (75118), the row the city's (75056).
    assert table.loc["G", "geocode_status"] == "ok", table.loc["G", "geocode_note"]
    assert list(result.table.columns[:5]) == list(ADDRESSES.columns)
    assert set(result.review["cle"]) == {"C", "D", "E", "F"}  # F: no address, to place


def test_house_number_not_found_is_doubtful(addok):
    table = pd.DataFrame({"adresse": ["95 Allée de l'Exemple Fictif"], "commune": ["Saint-Denis"]})
    row = run(addok.url, table).table.iloc[0]
    assert row["geocode_status"] == "a_verifier"
    assert "numéro non trouvé" in row["geocode_note"]


def test_warm_cache_makes_no_request(addok):
    cache = gc.GeocodeCache()
    first = run(addok.url, cache=cache)
    assert first.stats.requests > 0
    second = run(addok.url, cache=cache)
    assert second.stats.requests == 0
    assert second.stats.from_cache == 6
    pd.testing.assert_frame_equal(first.table, second.table)


def test_rows_with_coordinates_are_not_sent_unless_forced(addok):
    table = ADDRESSES.assign(latitude=["48.9", "", "", "", "", "", ""],
                             longitude=["2.35", "", "", "", "", "", ""])
    result = run(addok.url, table)
    assert result.table["geocode_status"][0] == "fourni"
    assert result.table["latitude"][0] == "48.9"
    forced = run(addok.url, table, cache=gc.GeocodeCache(), force=True)
    assert forced.table["geocode_status"][0] == "ok"


def test_filter_bug_server_is_survived(addok):
    """addok-csv 1.1.0 answers HTTP 500 to filter columns: fall back to one request each."""
    result = run(addok.buggy_url, postcode_column="code_postal")
    assert result.stats.fallback_rows > 0
    assert result.table.set_index("id").loc["A", "geocode_status"] == "ok"


def test_corrections_from_the_review_file(addok):
    cache = gc.GeocodeCache()
    review = run(addok.url, cache=cache).review.set_index("cle")
    review.loc["C", "accepter"] = "oui"
    review.loc["D", ["latitude", "longitude"]] = ["48.8870", "2.3540"]
    review.loc["E", "adresse_corrigee"] = "12 Rue Imaginaire des Essais 33300 Bordeaux"
    result = run(addok.url, cache=cache, corrections=review.reset_index()).table.set_index("id")
    assert result.loc["C", "geocode_status"] == "corrige" and result.loc["C", "latitude"] != ""
    assert (result.loc["D", "geocode_status"], result.loc["D", "latitude"]) == ("corrige",
                                                                               "48.887")
    assert result.loc["E", "geocode_status"] == "ok"  # the corrected address is found


def test_address_to_quartier_end_to_end(addok, tmp_path):
    source = tmp_path / "sites.csv"
    ADDRESSES.to_csv(source, sep=";", index=False)
    out = tmp_path / "geocoded.csv"
    assert cli.main(["geocode", str(source), "-o", str(out), "--geocoder-url", addok.url]) == 0
    result = link(read_initiatives(out), load_qpv())
    codes = result.sites.set_index("id")["code_qp"]
    assert codes["A"] == "QN09338M" and codes["G"] == "QN07511M"


@pytest.mark.parametrize("fault", ["429", "500", "timeout", "cut"])
def test_faults_end_in_retry_and_no_row_is_lost(addok, server, fault):
    relay = forward(addok.url)
    bad = {
        "429": {"status": 429, "headers": {"Retry-After": "1"}, "body": b"slow down"},
        "500": {"status": 500, "body": b"boom"},
        "timeout": forward(addok.url, delay=3),
        "cut": forward(addok.url, truncate_rows=1),
    }[fault]
    server.set("/search/csv/", bad, relay)
    server.set("/search/", relay)
    start = time.monotonic()
    if fault == "timeout":  # the user hears of the wait, then the second try answers
        with pytest.warns(GeocoderWaitWarning, match="ne répond pas depuis 1.5 s"):
            result = run(server.url, timeout=1.5)
    else:
        result = run(server.url, timeout=1.5)
    assert list(result.table["id"]) == list(ADDRESSES["id"])
    assert result.table.set_index("id").loc["A", "geocode_status"] == "ok"
    assert (result.table["geocode_status"] == "non_trouve").sum() == 1  # only the nonsense
    if fault == "429":
        assert time.monotonic() - start >= 1  # Retry-After honoured


_MISCONFIGURED = "ne répond pas comme l'API de la Base Adresse Nationale"


@pytest.mark.parametrize("answer, message", [
    ({"status": 404, "body": b"not found"}, _MISCONFIGURED),
    ({"status": 405, "body": b"method not allowed"}, _MISCONFIGURED),
    ({"status": 403, "body": b"forbidden"}, _MISCONFIGURED),
    ({"status": 200, "body": b"<html><body>Maintenance</body></html>",
      "headers": {"Content-Type": "text/html"}}, _MISCONFIGURED),
    ({"status": 200, "body": b"_row,q\n0,a\n1,b\n2,c\n3,d\n4,e\n5,f\n",
      "headers": {"Content-Type": "text/csv"}}, _MISCONFIGURED),
    # an error answer is never taken for « not found »
    *[({"status": s, "body": b'{"code": %d}' % s}, f"HTTP {s}")
      for s in (400, 413, 414, 422, 500)],
], ids=["404", "405", "403", "html", "csv-without-results", "400", "413", "414", "422",
        "500"])
def test_a_failing_geocoder_stops_caches_nothing_and_recovers(addok, server, tmp_path,
                                                              capsys, monkeypatch, answer,
                                                              message):
    monkeypatch.setattr(settings, "MAX_ATTEMPTS", 2)
    server.set("/search/csv/", answer)
    server.set("/search/", answer)
    source = tmp_path / "sites.csv"
    ADDRESSES.to_csv(source, sep=";", index=False)
    out = tmp_path / "out.csv"
    argv = ["geocode", str(source), "-o", str(out), "--geocoder-url", server.url]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    if message == _MISCONFIGURED:
        assert "--geocoder-url" in err
    assert not out.exists()
    cache = gc.GeocodeCache()
    assert cache.db.execute("SELECT count(*) FROM answers").fetchone()[0] == 0
    cache.close()
    # The server fixed: the same command now geocodes every row.
    server.set("/search/csv/", forward(addok.url))
    server.set("/search/", forward(addok.url))
    assert cli.main(argv) == 0
    statuses = read_output(out)["geocode_status"]
    assert (statuses == "ok").sum() >= 3 and (statuses == "non_trouve").sum() == 1


def test_a_corrupt_cache_is_set_aside_and_rebuilt(isolated_cache):
    isolated_cache.mkdir(parents=True, exist_ok=True)
    (isolated_cache / "geocode.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.warns(UserWarning, match="cache de géocodage illisible"):
        cache = gc.GeocodeCache()
    assert cache.get_many(["x"]) == {}
    cache.close()
    assert (isolated_cache / "geocode.sqlite.corrompu").exists()


def test_service_down_is_a_clear_error_and_keeps_what_was_done(addok, server, tmp_path,
                                                               capsys, monkeypatch):
    monkeypatch.setattr(settings, "MAX_ATTEMPTS", 2)
    # The first chunk goes through, then the service answers 503 to everything.
    server.set("/search/csv/", forward(addok.url), {"status": 503, "body": b"down"})
    server.set("/search/", {"status": 503, "body": b"down"})
    source = tmp_path / "sites.csv"
    ADDRESSES.to_csv(source, sep=";", index=False)
    out = tmp_path / "out.csv"
    argv = ["geocode", str(source), "-o", str(out), "--geocoder-url", server.url,
            "--chunk-size", "3"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "ne répond pas correctement" in err and "relancez" in err
    assert not out.exists()  # no half-written output
    # Back online: the run resumes, only the addresses not yet answered are sent.
    server.set("/search/csv/", forward(addok.url))
    before = server.hits("/search/csv/")
    assert cli.main(argv) == 0
    assert server.hits("/search/csv/") - before == 1  # 6 addresses, 3 done: one chunk left
    assert "3 géocodées (ok)" in capsys.readouterr().out


def test_interrupted_run_resumes(addok):
    cache = gc.GeocodeCache()
    calls = []

    def stop_after_first_chunk(n):
        calls.append(n)
        if n:  # the first call, with 0, says the work is about to start
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(addok.url, cache=cache, progress=stop_after_first_chunk)
    resumed = run(addok.url, cache=cache)
    assert resumed.stats.from_cache == 3 and resumed.stats.sent == 3


def test_no_network_is_an_ordinary_situation(tmp_path):
    """The geocoder out of reach: one French warning, the run goes on, every row left
    without a place is in the review with its cause and its address."""
    table = ADDRESSES.assign(latitude="", longitude="")
    table.loc[0, ["latitude", "longitude"]] = ["48.9362", "2.3596"]
    with pytest.warns(gc.GeocoderUnreachableWarning, match="injoignable.*relancez plus tard"):
        result = gc.geocode(table, geocoder=gc.Geocoder("http://127.0.0.1:9", attempts=1),
                            cache=gc.GeocodeCache(tmp_path / "c.sqlite"))
    statuses = list(result.table["geocode_status"])
    assert statuses[0] == "fourni" and result.table["latitude"].iloc[0] == "48.9362"
    assert statuses[5] == "sans_adresse"  # F: neither coordinates nor address
    assert set(statuses[1:5] + statuses[6:]) == {"non_geocode"}
    review = result.review.set_index("cle")
    assert list(review.index) == ["B", "C", "D", "E", "F", "G"]  # every site without place
    assert review.loc["F", "motif"] == "ni coordonnées ni adresse"
    unreached = review.drop(index="F")
    assert (unreached["motif"] == gc.NOTE_UNREACHABLE).all()
    assert unreached.loc["E", "adresse_saisie"] == "12 Rue Imaginaire des Essais 33000 Bordeaux"


def test_offline_uses_the_cache_only(addok):
    cache = gc.GeocodeCache()
    run(addok.url, table=ADDRESSES.iloc[:2], cache=cache)
    result = gc.geocode(ADDRESSES, geocoder=gc.Geocoder(addok.url), cache=cache, offline=True)
    assert result.stats.requests == 0
    assert list(result.table["geocode_status"][:3]) == ["ok", "ok", "non_geocode"]


def test_query_normalisation_shares_the_cache():
    assert gc.cache_key("u", "3 Allée  de l'Exemple") == gc.cache_key("u/", "3 allee de l exemple")
    assert gc.cache_key("u", "3 rue x") != gc.cache_key("u", "3 rue x", postcode="75001")


def test_geocoding_its_own_output_again_keeps_the_statuses(addok, tmp_path):
    source, first, second = tmp_path / "s.csv", tmp_path / "1.csv", tmp_path / "2.csv"
    ADDRESSES.to_csv(source, sep=";", index=False)
    argv = ["--geocoder-url", addok.url]
    assert cli.main(["geocode", str(source), "-o", str(first), *argv]) == 0
    assert cli.main(["geocode", str(first), "-o", str(second), *argv]) == 0
    assert first.read_text(encoding="utf-8") == second.read_text(encoding="utf-8")


RECORDED = TEST_DATA / "ban_api_responses"


@pytest.mark.parametrize(("name", "query", "kind", "status"), [
    ("search_housenumber.json", "4 Rue du Général Leclerc, 78000 Versailles", "housenumber",
     "ok"),
    ("search_street.json", "place de la république paris", "street", "ok"),
    ("search_municipality.json", "Paris", "municipality", "ok"),
    ("search_locality.json", "Pré Rura 05240 La Salle-les-Alpes", "locality", "ok"),
    # the same answers to a query with a house number are doubtful
    ("search_street.json", "12 place de la république paris", "street", "a_verifier"),
    ("search_municipality.json", "8 rue inconnue Paris", "municipality", "a_verifier"),
])
def test_recorded_national_answers(server, name, query, kind, status):
    """The per-address fallback reads real recorded answers of the national API."""
    server.set("/search/", {"body": (RECORDED / name).read_bytes(),
                            "headers": {"Content-Type": "application/json"}})
    result = gc.Geocoder(server.url).search({"q": query})
    assert result["result_type"] == kind and float(result["result_score"]) > 0.5
    assert result["latitude"] and result["result_label"]
    assert gc.assess({"q": query}, result)[0] == status
    assert server.requests[-1][1].startswith("/search/")


def test_official_example_columns_are_found():
    """The columns of the official /search/csv/ example (nom, adresse, postcode, city)."""
    example = pd.read_csv(TEST_DATA / "ban_api_examples_official" / "search.csv", dtype=str)
    assert gc.default_address_columns(list(example.columns)) == ["adresse", "postcode", "city"]


def test_link_geocodes_the_example_addresses_online(addok, tmp_path, capsys):
    """The three address-only rows of the example sit on fictional streets inside real QPV."""
    example = tmp_path.parent / "example.csv"
    from tests.servers import ROOT_DATA

    example.write_bytes((ROOT_DATA / "exemple" / "initiatives.csv").read_bytes())
    out = tmp_path / "sites.csv"
    argv = ["link", str(example), "-o", str(out), "--geocode", "--geocoder-url", addok.url]
    assert cli.main(argv) == 0
    assert "3 géocodées (ok)" in capsys.readouterr().out
    sites = read_output(out).set_index(
        "id_initiative")
    assert sites.loc[["ESS-028", "ESS-029", "ESS-030"], "code_qp"].tolist() == [
        "QN09338M", "QN03307M", "QN03109M"]
    assert (sites["relation"] != "not_located").all()
    # Without --geocode (no request allowed), the cache of that geocoder still knows them.
    assert cli.main(["link", str(example), "-o", str(out), "--geocoder-url", addok.url]) == 0
    assert "3 géocodées (ok)" in capsys.readouterr().out


def test_library_notices_only_with_verbose(tmp_path):
    """A geocoder that refuses connections (no network): every door goes on with one French
    warning, no exception name, host pool or errno (geocode alone then ends with
    EXIT_NO_ANSWER: it geocoded nothing); urllib3's lines only with -v."""
    import os
    import shutil
    import socket
    import subprocess

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    source = tmp_path / "sites.csv"
    ADDRESSES.assign(latitude=["48.9362"] + [""] * (len(ADDRESSES) - 1),
                     longitude=["2.3596"] + [""] * (len(ADDRESSES) - 1)).to_csv(
        source, sep=";", index=False)
    study = tmp_path / "etude.toml"
    study.write_text(f'[entrees]\ninitiatives = "sites.csv"\n[geocodage]\nen_ligne = true\n'
                     f'url = "{closed}"\n[sorties]\ncarte_impression = ""\n'
                     'relecture = "a_verifier.csv"\n', encoding="utf-8")
    doors = {
        "geocode": ["geocode", str(source), "-o", str(tmp_path / "out.csv"),
                    "--geocoder-url", closed],
        "link": ["link", str(source), "-o", str(tmp_path / "sites.csv.out.csv"), "--geocode",
                 "--geocoder-url", closed],
        # the person running it accepts the study file's own geocoder (issue 30)
        "run": ["run", str(study), "--geocodeur-du-fichier"],
    }
    printed = {}
    for door, argv in doors.items():
        for verbose in (False, True):
            command = [shutil.which("ess-qpv"), *(["-v"] if verbose else []), *argv]
            env = {**os.environ, "ESS_QPV_CACHE": str(tmp_path / f"cache{door}{verbose}")}
            done = subprocess.run(command, capture_output=True, text=True, env=env,
                                  timeout=300)
            # geocode alone fails when nothing was answered; an analysis goes on
            assert done.returncode == (cli.EXIT_NO_ANSWER if door == "geocode" else 0), \
                done.stderr
            printed[door, verbose] = done.stderr
        quiet = printed[door, False]
        for word in ("Traceback", "Error", "HTTPConnectionPool", "Errno", "urllib3",
                     "Max retries"):
            assert word not in quiet, (door, quiet)
        assert quiet.count("injoignable") == 1 and quiet.startswith("Attention : "), quiet
        assert "urllib3" in printed[door, True] and "Retrying" in printed[door, True]
    review = read_output(tmp_path / "resultats" / "a_verifier.csv")
    assert len(review) == len(ADDRESSES) - 1
    assert set(review["motif"]) == {gc.NOTE_UNREACHABLE, "ni coordonnées ni adresse"}


def test_a_geocoder_that_never_answers_times_out(tmp_path):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections are accepted by the system, never answered
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    start = time.monotonic()
    try:
        with pytest.warns(GeocoderWaitWarning, match="ne répond pas depuis 2 s"), \
                pytest.warns(gc.GeocoderUnreachableWarning,
                             match="injoignable \\(pas de réponse en 2 s\\)"):
            result = gc.geocode(ADDRESSES, geocoder=gc.Geocoder(url, timeout=2),
                                cache=gc.GeocodeCache(tmp_path / "c.sqlite"))
    finally:
        silent.close()
    assert time.monotonic() - start < 15
    assert (result.table["geocode_note"] == gc.NOTE_UNREACHABLE).sum() == 6  # all but F


@pytest.mark.parametrize("latitude, longitude, score", [("999", "2.36", "0.95"),
                                                        ("48.9", "abc", "0.95"),
                                                        ("48.9", "2.36", "7")])
def test_a_malformed_answer_is_an_error_never_cached(server, tmp_path, latitude, longitude,
                                                     score):
    rows = ["_row,q,latitude,longitude,result_label,result_score,result_type"]
    rows += [f"{i},x,{latitude},{longitude},Somewhere,{score},housenumber" for i in range(3)]
    server.set("/search/csv/", {"body": "\n".join(rows).encode(),
                                "headers": {"Content-Type": "text/csv"}})
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [
        longitude, latitude]}, "properties": {"label": "Somewhere", "score": score,
                                              "type": "housenumber"}}
    server.set("/search/", {"body": json.dumps({"type": "FeatureCollection",
                                                "features": [feature]}).encode(),
                            "headers": {"Content-Type": "application/json"}})
    cache = gc.GeocodeCache(tmp_path / "c.sqlite")
    with pytest.raises(EssQpvError, match="impossible"):
        gc.geocode(ADDRESSES.iloc[:3], geocoder=gc.Geocoder(server.url), cache=cache)
    assert cache.db.execute("SELECT count(*) FROM answers").fetchone()[0] == 0
    cache.close()


def test_a_locked_cache_waits_then_says_so_and_is_never_set_aside(isolated_cache,
                                                                  monkeypatch):
    import sqlite3

    monkeypatch.setattr(geocache, "LOCK_WAIT", 0.5)
    gc.GeocodeCache().close()
    holder = sqlite3.connect(isolated_cache / "geocode.sqlite")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(EssQpvError, match="occupé par un autre programme"):
            gc.GeocodeCache()
    finally:
        holder.rollback()
        holder.close()
    assert not list(isolated_cache.glob("*corrompu*"))
    gc.GeocodeCache().close()  # free again: usable


def test_set_aside_caches_never_overwrite_each_other(isolated_cache):
    isolated_cache.mkdir(parents=True, exist_ok=True)
    for n in range(2):
        (isolated_cache / "geocode.sqlite").write_bytes(b"damaged %d " % n * 100)
        with pytest.warns(UserWarning, match="cache de géocodage illisible"):
            gc.GeocodeCache().close()
    kept = sorted(p.name for p in isolated_cache.glob("geocode.sqlite.corrompu*"))
    assert kept == ["geocode.sqlite.corrompu", "geocode.sqlite.corrompu-2"]
    assert (isolated_cache / "geocode.sqlite.corrompu").read_bytes().startswith(b"damaged 0")


def _failing_for(target: str, word: str):
    """A relay to ``target`` whose batch answer says ``result_status=error`` (and nothing
    else) for the rows whose query holds ``word``, as the national service does when it
    fails on some rows of a file."""
    import csv
    import io

    relay = forward(target)

    def answer(method, path, headers, body):
        got = relay(method, path, headers, body)
        rows = list(csv.DictReader(io.StringIO(got["body"].decode("utf-8-sig"))))
        fields = list(rows[0]) + [f for f in ("result_status",) if f not in rows[0]]
        out = io.StringIO()
        writer = csv.DictWriter(out, fields)
        writer.writeheader()
        for row in rows:
            row.setdefault("result_status", "ok" if row.get("latitude") else "not-found")
            if word in row["q"]:
                row.update({k: "" for k in row if k.startswith(("result_", "lat", "lon"))},
                           result_status="error")
            writer.writerow(row)
        return {**got, "body": out.getvalue().encode()}

    return answer


def test_rows_the_geocoder_failed_on_are_not_cached_and_asked_again(addok, server):
    server.set("/search/csv/", _failing_for(addok.url, "Exemple Fictif"))
    cache = gc.GeocodeCache()
    answered = run(server.url, cache=cache)
    assert answered.stats.failed == 1
    first = answered.table.set_index("id")
    assert first.loc["A", "geocode_status"] == "non_geocode"  # never « non trouvée »
    assert "n'a pas traité" in first.loc["A", "geocode_note"]
    assert "« error »" in first.loc["A", "geocode_note"]
    assert first.loc["D", "geocode_status"] == "non_trouve"  # a real « not found » stays
    assert first.loc["B", "geocode_status"] == "ok"
    # the geocoder healthy again: only the failed row is asked, and found
    server.set("/search/csv/", forward(addok.url))
    before = server.hits("/search/csv/")
    second = run(server.url, cache=cache)
    assert second.stats.from_cache == 5 and second.stats.sent == 1
    assert server.hits("/search/csv/") - before == 1
    assert second.table.set_index("id").loc["A", "geocode_status"] == "ok"


def test_a_failure_kept_by_an_earlier_version_is_asked_again(tmp_path):
    cache = gc.GeocodeCache(tmp_path / "c.sqlite")
    key = gc.cache_key("http://x", "3 rue x")
    cache.db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)", (
        key, "http://x", "3 rue x", "", "", json.dumps({"result_status": "error"}), 0))
    cache.put_many("http://x", [(gc.cache_key("http://x", "4 rue x"), "4 rue x", "", "",
                                 {"result_status": "skipped"})])
    assert cache.get_many([key]) == {}
    assert cache.db.execute("SELECT count(*) FROM answers").fetchone()[0] == 1
    cache.close()


class _Dripping:
    """A server on 127.0.0.1 that answers one byte every ``pause`` seconds (in its headers
    or in its body), for ``lasting`` seconds at most, then hangs up."""

    def __init__(self, where: str, pause: float = 0.5, lasting: float = 15.0) -> None:
        import socketserver
        import threading

        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\n"

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(1)
                try:
                    self.request.recv(65536)
                    if where == "body":
                        self.request.sendall(head + b"_row,q,latitude,longitude,result_score\n")
                    end = time.monotonic() + lasting
                    drip = head if where == "headers" else b"0" * 100000
                    for byte in drip:
                        if time.monotonic() > end:
                            break
                        self.request.sendall(bytes([byte]))
                        time.sleep(pause)
                except OSError:
                    pass  # the client hung up: what it should do

        self.httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_geocoder_that_drips_is_cut_at_the_bound(tmp_path, where):
    """The timeout bounds a whole request, not each read: 2 s against a byte every 0.5 s,
    twice (the second try announced), then the run goes on without the geocoder."""
    dripping = _Dripping(where)
    start = time.monotonic()
    try:
        with pytest.warns(GeocoderWaitWarning, match="ne répond pas depuis 2 s"), \
                pytest.warns(gc.GeocoderUnreachableWarning, match="pas de réponse en 2 s"):
            result = gc.geocode(ADDRESSES, geocoder=gc.Geocoder(dripping.url, timeout=2),
                                cache=gc.GeocodeCache(tmp_path / "c.sqlite"))
    finally:
        dripping.stop()
    assert time.monotonic() - start < 6  # 2 tries of 2 s
    assert (result.table["geocode_note"] == gc.NOTE_UNREACHABLE).sum() == 6  # all but F


def test_connecting_again_and_again_holds_the_bound(tmp_path):
    """A server whose queue is full never lets a connection through: the tries to connect
    again (urllib3's) stop at the bound too, not after each their own wait."""
    import socket

    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    fillers = []
    for _ in range(4):  # fill the accept queue: later connections hang
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(full.getsockname())
        fillers.append(s)
    url = f"http://127.0.0.1:{full.getsockname()[1]}"
    start = time.monotonic()
    try:
        with pytest.warns(gc.GeocoderUnreachableWarning, match="injoignable"):
            gc.geocode(ADDRESSES, geocoder=gc.Geocoder(url, timeout=2, attempts=5),
                       cache=gc.GeocodeCache(tmp_path / "c.sqlite"))
    finally:
        for s in [*fillers, full]:
            s.close()
    assert time.monotonic() - start < 4  # one bound of 2 s, not five connections of 2 s


def test_the_columns_detection_decided_travel_to_the_geocoder(addok):
    """A study's detection is what geocoding reads: an INSEE code recognised by its content
    only (a column no usual name gives away) is checked against the answer, as the
    detection report says, without being looked up again by name."""
    from geo.columns import detect_columns

    table = pd.DataFrame({"adresse": ["3 Allée de l'Exemple Fictif", "7 Rue Fictive de la Goutte"],
                          "code_postal": ["93200", "75018"], "commune": ["Saint-Denis", "Paris"],
                          "lieu": ["31555", "75056"]})
    detection = detect_columns(table)
    assert detection.found["citycode"] == "lieu"
    result = run(addok.url, table=table, detection=detection)
    statuses = list(result.table["geocode_status"])
    assert statuses == ["a_verifier", "ok"]
    assert "commune différente" in result.table["geocode_note"].iat[0]
    assert (result.lat_column, result.lon_column) == ("latitude", "longitude")
