"""What the geocoding and the reading of a table say is true and written the French way:
counts with their thin spaces and agreeing words, decimal commas, no-break spaces; a
geocoder that never answered is said so, and the command ends with its own code."""

from __future__ import annotations

import contextlib
import warnings

import pandas as pd

from geo import cli
from geo import geocode as gc
from geo.geoclient import GeocoderUnreachableWarning
from geo.initiatives import read_initiatives
from geo.typography import NBSP, NNBSP
from tests.outputs import read_output
from tests.servers import TEST_DATA

#: A port nothing listens on: the geocoder out of reach (no network).
CLOSED = "http://127.0.0.1:9"


def test_a_geocoder_that_never_answered_is_said_so_and_the_command_fails(
        tmp_path, capsys, monkeypatch):
    """Three addresses, the geocoder unreachable: the summary says why they are not
    geocoded (not « hors ligne »: online geocoding was on) and that no request was
    answered; the tables are written, and the command ends with its documented code."""
    monkeypatch.setenv("ESS_QPV_CACHE", str(tmp_path / "cache"))
    national = pd.read_csv(TEST_DATA / "annuaire_national.csv", sep=";", dtype=str,
                           keep_default_na=False)
    source = tmp_path / "adresses.csv"
    national.head(3).assign(latitude="", longitude="").to_csv(source, sep=";", index=False)
    out, review = tmp_path / "g.csv", tmp_path / "r.csv"
    with warnings.catch_warnings():  # the command prints its warnings (« Attention : »)
        warnings.simplefilter("always", GeocoderUnreachableWarning)
        code = cli.main(["geocode", str(source), "-o", str(out), "--review", str(review),
                         "--geocoder-url", CLOSED])
    said = capsys.readouterr()
    assert code == cli.EXIT_NO_ANSWER == 3
    assert "Géocodage : 3 non géocodées (géocodeur injoignable)" in said.out, said.out
    assert "hors ligne" not in said.out
    assert "requêtes envoyées : 1, aucune réponse du géocodeur" in said.out
    assert "r.csv (3 lignes à vérifier)" in said.out and "(s)" not in said.out
    assert "3 adresses restent non géocodées (pas de réseau\u202f?)" in said.err, said.err
    assert "n'a répondu à aucune requête" in said.err and "(s)" not in said.err
    assert len(read_output(out)) == 3
    motif = read_output(review)["motif"]
    assert (motif == gc.NOTE_UNREACHABLE).all()
    assert f"(pas de réseau{NNBSP}?){NBSP}: adresse non cherchée" in gc.NOTE_UNREACHABLE


def test_counts_have_thin_spaces(tmp_path, capsys, monkeypatch):
    """The 3 747 sites of the large national directory all have their coordinates: the
    summary counts them « 3 747 », with a narrow no-break space; nothing is sent, and the
    command succeeds."""
    monkeypatch.setenv("ESS_QPV_CACHE", str(tmp_path / "cache"))
    code = cli.main(["geocode", str(TEST_DATA / "annuaire_national_grand.csv"), "-o",
                     str(tmp_path / "g.csv"), "--geocoder-url", CLOSED])
    said = capsys.readouterr().out
    assert code == 0
    given = [line for line in said.splitlines() if "coordonnées déjà fournies" in line]
    assert given and all(f"{NNBSP}" in line for line in given), said
    assert "requêtes envoyées : 0" in said and "aucune réponse" not in said


def test_coordinates_in_messages_have_decimal_commas(tmp_path):
    """A point out of France, or with latitude and longitude swapped, is told with its
    coordinates written the French way (« 43,5808 »), never « 43.5808 »."""
    source = tmp_path / "t.csv"
    source.write_text("id;nom;latitude;longitude\n"
                      "A;Inversé;1.4437;43.5808\n"
                      "B;Au large;-20.8797;-55.4456\n"
                      "C;Ailleurs;10.5;-30.25\n", encoding="utf-8")
    said = {issue.row: issue.message for issue in read_initiatives(source).issues}
    assert "(longitude 43,5808, latitude 1,4437)" in said[2], said
    assert "(lon -55,4456, lat -20,8797)" in said[3], said
    assert "(lon -30,25, lat 10,5)" in said[4], said
    assert not any("." in m.split(")")[0] for m in said.values()), said


def test_helps_write_their_defaults_the_french_way(capsys):
    """« --min-score … (défaut : 0,6) », not 0.6."""
    with contextlib.suppress(SystemExit):
        cli.main(["geocode", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "score minimal d'une réponse sûre (défaut : 0,6)" in help_text, help_text
