"""A map of a table where no site could be placed says what to do next, and does not
advise geocoding online when it was asked for (issue 31, item 4: advice that agrees with
the run)."""

from __future__ import annotations

import csv
import io
import warnings
from email.parser import BytesParser
from email.policy import default

import pytest

from geo.cli import main
from tests.servers import Server


def _nothing_found(method, path, headers, body) -> dict:
    """A batch geocoder that finds none of the addresses it is sent."""
    message = BytesParser(policy=default).parsebytes(
        f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode() + body)
    data = next(p for p in message.iter_parts()
                if p.get_param("name", header="content-disposition") == "data")
    rows = list(csv.DictReader(io.StringIO(data.get_payload(decode=True).decode("utf-8-sig"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*rows[0], "latitude", "longitude",
                                             "result_label", "result_score", "result_status"])
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "result_status": "not-found"})
    return {"body": out.getvalue().encode("utf-8"),
            "headers": {"Content-Type": "text/csv; charset=utf-8"}}


@pytest.fixture
def geocoder():
    server = Server()
    server.set("/search/csv/", _nothing_found)
    server.set("/search/csv", _nothing_found)
    yield server
    server.stop()


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "annuaire.csv"
    path.write_text("nom;adresse;code_postal;commune\nLieu A;999 zzz qqq;93200;Saint-Denis\n"
                    "Lieu B;998 zzz qqq;93200;Saint-Denis\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("online", [False, True], ids=["hors-ligne", "en-ligne"])
def test_nothing_placed_gives_advice_that_fits_the_run(tmp_path, table, geocoder, online,
                                                        capsys, isolated_cache):
    args = ["map", str(table), "-o", str(tmp_path / "carte.html")]
    if online:
        args += ["--geocode", "--geocoder-url", geocoder.url]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "aucun site localisé : rien à cartographier" in err
    assert ("géocodez les adresses en ligne" in err) is not online
    assert ("se placent à la main à la relecture" in err) is online
    assert not (tmp_path / "carte.html").exists()
    if online:
        assert geocoder.hits("/search/csv") + geocoder.hits("/search/csv/") >= 1


def test_a_study_with_nothing_placed_still_writes_its_review(tmp_path, table, capsys):
    """Every site waits for the review: the study writes its tables and its review file,
    so that the sites can be placed, and says which maps wait for them (it stopped on
    « rien à cartographier » and wrote nothing, not even the review it advised)."""
    (tmp_path / "etude.toml").write_text(
        '[entrees]\ninitiatives = "annuaire.csv"\n[sorties]\ncarte_impression = ""\n'
        'fiches = "fiches.pdf"\nrelecture = "a_verifier.csv"\n', encoding="utf-8")
    with warnings.catch_warnings():  # the command shows our warnings itself
        warnings.simplefilter("always")
        assert main(["run", str(tmp_path / "etude.toml")]) == 0
    captured = capsys.readouterr()
    said = " ".join((captured.out + captured.err).split())
    results = tmp_path / "resultats"
    review = (results / "a_verifier.csv").read_text("utf-8-sig")
    assert "999 zzz qqq" in review and "998 zzz qqq" in review
    assert (results / "initiatives_enrichies.csv").is_file()
    assert (results / "rapport.xlsx").is_file()
    assert not (results / "carte.html").exists() and not (results / "fiches.pdf").exists()
    assert "Attention : aucun site localisé : carte.html, carte-autonome.html, fiches.pdf, " \
           "carte-iframe.html non écrits ; placez les sites à la relecture" in said, said
