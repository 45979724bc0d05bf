"""A directory saved by Excel as « Texte Unicode (*.txt) »: UTF-16 with its byte-order mark,
tab-separated, Windows line ends. It was refused as « fichier binaire non reconnu » at
every door (its NUL bytes); it is read as the table it is, accents kept."""

from __future__ import annotations

import pytest

from geo import cli
from geo.initiatives import read_sites_table
from geo.uploads import sniff

TEXT = ("nom\tadresse\tcode_postal\tcommune\tlatitude\tlongitude\r\n"
        "Épicerie « Les Trois Œufs »\t1 rue A\t69200\tVénissieux\t45,7\t4,88\r\n"
        "Café\t2 rue B\t01004\tAmbérieu-en-Bugey\t45,96\t5,36\r\n")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_excel_unicode_text_is_read(tmp_path, encoding):
    raw = TEXT.encode(encoding)
    if encoding == "utf-16-be":
        raw = b"\xfe\xff" + raw
    path = tmp_path / "annuaire.txt"
    path.write_bytes(raw)
    assert sniff(raw) == ".csv"
    table, first_row, sep = read_sites_table(path)
    assert sep == "\t" and first_row == 2
    assert table["nom"].tolist() == ["Épicerie « Les Trois Œufs »", "Café"]
    assert table["code_postal"].tolist() == ["69200", "01004"]


def test_the_link_door_reads_it(tmp_path):
    path = tmp_path / "annuaire.csv"
    path.write_bytes(TEXT.encode("utf-16"))
    assert cli.main(["link", str(path), "-o", str(tmp_path / "out.csv")]) == 0
    written = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert "Épicerie « Les Trois Œufs »" in written and ";01004;" in written


def test_the_web_import_reads_it(tmp_path):
    from tests.test_doors import _web

    status, error = _web(tmp_path, "annuaire.txt", TEXT.encode("utf-16"))
    assert (status, error) == (302, ""), error
    table, _, _ = read_sites_table(tmp_path / "essai" / "initiatives.csv")
    assert table["nom"].tolist() == ["Épicerie « Les Trois Œufs »", "Café"]
