"""A streamed study (``ess-qpv link --flux``) states nothing a whole-table study would refuse
to state: typed coordinates against their own address, points outside France, unreadable
cells and an earlier geocoder's doubts send the row out of every quartier with its remark,
word for word as ``ess-qpv link`` on the whole table; the summary counts them. A CSV in
UTF-16 or Windows-1252 is read as the whole-table path reads it."""

from __future__ import annotations

import pandas as pd
import pytest

from geo import cli
from tests.outputs import read_output
from tests.servers import TEST_DATA

#: Compared between the two paths, row by row.
SAME = ("code_qp", "nom_qp", "relation", "qpv_nearby", "nearest_code_qp",
        "note_localisation")


def both(tmp_path, source, capsys) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The whole-table and the streamed tables of ``source``, and the streamed summary."""
    assert cli.main(["link", str(source), "-o", str(tmp_path / "whole.csv")]) == 0
    capsys.readouterr()
    assert cli.main(["link", str(source), "-o", str(tmp_path / "flux.csv"), "--flux",
                     "--coeurs", "2"]) == 0
    said = capsys.readouterr().out
    return read_output(tmp_path / "whole.csv"), read_output(tmp_path / "flux.csv"), said


def assert_same(whole: pd.DataFrame, flux: pd.DataFrame, *, but: tuple[int, ...] = ()
                ) -> None:
    """The same answers, row by row (``but`` those rows' remarks)."""
    assert len(whole) == len(flux)
    for column in SAME:
        kept = [i for i in range(len(whole)) if column != "note_localisation" or i not in but]
        assert list(flux[column][kept]) == list(whole[column][kept]), column


def test_points_against_their_own_address_are_set_aside_as_in_a_whole_table(tmp_path,
                                                                            capsys):
    """The seven moved rows of the directory (another département, the Saint-Denis homonym
    overseas, a swap, lost minus signs) are placed in no quartier: B3 (Mont-Bonvillers)
    carries the point of a quartier of Metz, Q-13055 (Marseille) that of Lille, Q-93066
    (Saint-Denis 93) that of Saint-Denis de La Réunion."""
    whole, flux, said = both(tmp_path, TEST_DATA / "annuaire_national.csv", capsys)
    assert_same(whole, flux)
    moved = flux.set_index("id")
    for site in ("E2", "B3", "Q-13055", "Q-31555", "Q-29019", "Q-93066", "Q-97411"):
        assert moved.at[site, "relation"] == "not_located", site
        assert moved.at[site, "code_qp"] == "", site
        assert moved.at[site, "note_localisation"], site
    assert "département 974 (La Réunion), adresse à Saint-Denis (93)" in \
        moved.at["Q-93066", "note_localisation"]
    # New Caledonia has no quartier: located, in none (not « non localisé »)
    assert list(moved.loc[["N1", "N2"], "relation"]) == ["none", "none"]
    assert "non localisés : 7" in said
    assert "dont coordonnées contraires à leur adresse ou géocodage antérieur douteux : 5" \
        in said
    assert "dont point hors de France et des outre-mer : 2" in said
    assert "7 remarques sur le fichier d'entrée" in said
    assert "ligne 30, colonne « longitude/latitude » : coordonnées dans le département 974" \
        in said


def test_an_earlier_geocoders_doubts_are_kept(tmp_path, capsys):
    """The directory placed earlier by the national address service: its five doubtful
    answers (low scores, a commune for a numbered address, the two Saint-Denis taken for
    each other) are not used, as in a whole-table study."""
    whole, flux, said = both(tmp_path, TEST_DATA / "annuaire_geocode_avant.csv", capsys)
    assert_same(whole, flux)
    doubted = flux[flux["note_localisation"].str.contains("géocodage antérieur douteux")]
    assert set(doubted["id"]) == {"B2", "E3", "E4", "Q-93066", "Q-97411"}
    assert set(doubted["relation"]) == {"not_located"}


def bal_sites() -> pd.DataFrame:
    """Real addresses of Mont-Bonvillers (Base Adresse Locale) as a directory."""
    bal = pd.read_csv(TEST_DATA / "adresses-54084.csv", sep=";", dtype=str,
                      keep_default_na=False).head(40)
    return pd.DataFrame({"id": [f"S{i}" for i in range(len(bal))],
                         "adresse": (bal["numero"] + " " + bal["voie_nom"]).str.strip(),
                         "code_postal": "54910", "commune": bal["commune_nom"],
                         "latitude": bal["lat"], "longitude": bal["long"]})


def test_numbers_are_read_as_typed_and_unreadable_ones_said(tmp_path, capsys):
    """Decimal commas are read; « 49.32 N », a lone cell, an empty row and swapped columns
    are said, row by row, as the whole-table path says them."""
    table = bal_sites()
    table.loc[1, "latitude"] = table.loc[1, "latitude"].replace(".", ",")
    table.loc[2, "latitude"] = "49.322 N"
    table.loc[3, "longitude"] = ""
    table.loc[4, ["latitude", "longitude"]] = ""
    table.loc[5, ["latitude", "longitude"]] = table.loc[5, ["longitude", "latitude"]].to_list()
    table.loc[6, "longitude"] = "-" + table.loc[6, "longitude"]  # in the Atlantic
    table.loc[7, "longitude"] = table.loc[7, "longitude"].replace(".", ",") + "\u00a0"
    path = tmp_path / "sites.csv"
    table.to_csv(path, sep=";", index=False)
    whole, flux, said = both(tmp_path, path, capsys)
    # row 4 has an address: the whole table would geocode it (a streamed one does not)
    assert_same(whole, flux, but=(4,))
    notes = flux["note_localisation"]
    assert (flux["relation"][[1, 7]] != "not_located").all() and notes[1] == notes[7] == ""
    assert notes[2] == "coordonnée « 49.322 N » n'est pas un nombre : site non localisé"
    assert notes[3] == "coordonnée vide : site non localisé"
    assert notes[4] == "coordonnées manquantes : site non localisé"
    assert "inversées" in notes[5] and "hors de France" in notes[6]
    assert "dont coordonnées manquantes ou illisibles : 3" in said


def test_a_utf16_csv_is_read_and_a_pasted_windows_line_named(tmp_path, capsys):
    """Excel's « Texte Unicode » (UTF-16) and a Windows-1252 file are read as by the
    whole-table path; a Windows-1252 line far into a UTF-8 file is named by its line and
    column, nothing written."""
    text = (TEST_DATA / "annuaire_national.csv").read_text(encoding="utf-8")
    for encoding in ("utf-16", "cp1252"):
        source = tmp_path / f"annuaire_{encoding}.csv"
        source.write_text(text, encoding=encoding, errors="replace")
        whole, flux, _ = both(tmp_path, source, capsys)
        assert_same(whole, flux)
        assert flux["nom"][1] == "École Gilberte Monne"
    lines = text.splitlines()
    body = "\n".join(lines[1:] * 2000) + "\n"  # past the first 64 kB
    late = tmp_path / "tardif.csv"
    late.write_bytes((lines[0] + "\n" + body).encode("utf-8")
                     + "Z1;Épicerie;1 rue;69200;Vénissieux;;45.7;4.88\n".encode("cp1252"))
    code = cli.main(["link", str(late), "-o", str(tmp_path / "tardif_out.csv"), "--flux"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"fichier tardif.csv, ligne {2 + 36 * 2000}, colonne « nom » : texte qui n'est " \
        "pas en UTF-8" in err
    assert not (tmp_path / "tardif_out.csv").exists()


@pytest.mark.parametrize("suffix", [".parquet"])
def test_parquet_rows_are_judged_too(tmp_path, capsys, suffix):
    """The same remarks for a Parquet table (always streamed)."""
    table = pd.read_csv(TEST_DATA / "annuaire_national.csv", sep=";", dtype=str,
                        keep_default_na=False)
    path = tmp_path / f"annuaire{suffix}"
    table.to_parquet(path)
    assert cli.main(["link", str(path), "-o", str(tmp_path / "p.csv"), "--coeurs", "1"]) == 0
    capsys.readouterr()
    assert cli.main(["link", str(TEST_DATA / "annuaire_national.csv"), "-o",
                     str(tmp_path / "whole.csv")]) == 0
    assert_same(read_output(tmp_path / "whole.csv"), read_output(tmp_path / "p.csv"))


def test_lambert_metres_typed_the_french_way(tmp_path, capsys):
    """Lambert-93 metres as a French spreadsheet writes them (« 869 512,3 », a no-break
    space between thousands) are read by the streamed path as by the whole table."""
    from pyproj import Transformer

    table = bal_sites().head(12)
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(
        table["longitude"].astype(float), table["latitude"].astype(float))
    french = [f"{v:,.1f}".replace(",", "\u00a0").replace(".", ",") for v in (*x, *y)]
    table = table.drop(columns=["latitude", "longitude"]).assign(
        x=french[:len(x)], y=french[len(x):])
    path = tmp_path / "lambert.csv"
    table.to_csv(path, sep=";", index=False)
    for out, more in (("whole.csv", []), ("flux.csv", ["--flux"])):
        assert cli.main(["link", str(path), "-o", str(tmp_path / out), "--crs", "2154",
                         "--lon-column", "x", "--lat-column", "y", *more]) == 0
    capsys.readouterr()
    whole, flux = read_output(tmp_path / "whole.csv"), read_output(tmp_path / "flux.csv")
    assert_same(whole, flux)
    assert not (flux["relation"] == "not_located").any()


def test_the_national_directory_streamed_is_the_whole_tables(tmp_path, capsys):
    """The 3 747 sites of the national directory: every column the streamed table shares
    with the whole table is the same, cell for cell (the coordinates written as numbers,
    the 247 sites nearer a boundary than the rounded outlines flagged and said)."""
    whole, flux, said = both(tmp_path, TEST_DATA / "annuaire_national_grand.csv", capsys)
    shared = [c for c in whole.columns if c in flux.columns]
    assert "boundary_uncertain" in shared and "note_localisation" in shared
    assert len(shared) == len(whole.columns) - 1  # all but the quartiers served
    for column in shared:
        assert list(flux[column]) == list(whole[column]), column
    assert (flux["boundary_uncertain"] == "oui").sum() == 247
    assert "dont à la limite incertaine (à moins de 11\u00a0m d'une limite, contours " \
        "arrondis) : 247" in said
    assert "ligne 4 : limite incertaine" in said
