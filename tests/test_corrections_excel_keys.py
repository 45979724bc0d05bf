"""A review file opened and saved in French Excel before it comes back as corrections:
Excel rewrites the keys it reads as numbers (a SIRET shown and saved « 1,23457E+13 »,
« 007 » saved « 7 »). The decisions were all refused (« ce site n'est plus dans le
tableau »); each is applied to the row at the line it recorded, while that row keeps the
address and name the decision was taken for."""

from __future__ import annotations

import warnings

import pandas as pd

from geo import cli

TABLE = ("SIRET;nom;adresse;code_postal;commune;latitude;longitude\n"
         "12345678900011;Régie;1 rue A;69200;Vénissieux;45.19;5.72\n"
         "00712345600018;Atelier;2 rue B;69200;Vénissieux;45.19;5.721\n"
         "12345678900037;Café;3 rue C;69200;Vénissieux;45.7;4.88\n")


def _review(path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _save_as_excel_does(review: pd.DataFrame, path) -> None:
    review = review.copy()
    review["cle"] = [f"{float(k):.5E}".replace(".", ",")
                     if len(k) > 11 else k for k in review["cle"]]
    review["cle"] = review["cle"].str.replace(r"^0+", "", regex=True)
    review.to_csv(path, sep=";", index=False, encoding="utf-8-sig")  # « CSV UTF-8 »


def _accepted_in_excel(tmp_path, text: str = TABLE):
    """Link ``text``, accept every review item and save the review as French Excel does;
    return the table, the link command and the review file."""
    table = tmp_path / "annuaire.csv"
    table.write_text(text, encoding="utf-8")
    out, review = tmp_path / "o.csv", tmp_path / "relecture.csv"
    argv = ["link", str(table), "-o", str(out)]
    assert cli.main([*argv, "--relecture", str(review)]) == 0
    found = _review(review)
    found["accepter"] = "oui"
    _save_as_excel_does(found, review)
    return table, argv, review


def test_decisions_survive_keys_rewritten_by_a_spreadsheet(tmp_path):
    _, argv, review = _accepted_in_excel(tmp_path)
    assert set(_review(tmp_path / "o.csv")["SIRET"]) >= {"12345678900011", "00712345600018"}
    assert set(_review(review)["cle"]) == {"1,23457E+13", "7,12346E+11"}
    again = tmp_path / "relecture2.csv"
    assert cli.main([*argv, "--corrections", str(review), "--relecture", str(again)]) == 0
    assert _review(again).empty  # both accepted: nothing left to review


def test_a_rewritten_key_never_lands_on_another_site(tmp_path, capsys):
    table, argv, review = _accepted_in_excel(tmp_path)
    # the table changed: another site now stands at the first recorded line
    lines = TABLE.splitlines()
    table.write_text("\n".join([lines[0], lines[3], lines[2], lines[1]]) + "\n",
                     encoding="utf-8")
    again = tmp_path / "relecture2.csv"
    with warnings.catch_warnings():  # the command shows our warnings itself
        warnings.simplefilter("always")
        assert cli.main([*argv, "--corrections", str(review), "--relecture", str(again)]) == 0
    assert "« 1,23457E+13 ») : ce site n'est plus dans le tableau" in capsys.readouterr().err
    # the Atelier kept its line and its address: accepted; the Régie moved: refused
    assert _review(again)["nom"].tolist() == ["Régie"]


def test_a_rewritten_key_lands_only_on_the_code_it_was(tmp_path, capsys):
    """Another site at the same line and address (a shared « Maison des associations »),
    without a name column: its code is not the one rewritten, the decision is refused."""
    table, argv, review = _accepted_in_excel(
        tmp_path, "SIRET;adresse;code_postal;commune;latitude;longitude\n"
                  "12345678900011;1 place X;69200;Vénissieux;45.19;5.72\n")
    table.write_text("SIRET;adresse;code_postal;commune;latitude;longitude\n"
                     "99345678900011;1 place X;69200;Vénissieux;45.19;5.72\n",
                     encoding="utf-8")
    again = tmp_path / "relecture2.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert cli.main([*argv, "--corrections", str(review), "--relecture", str(again)]) == 0
    assert _review(again)["cle"].tolist() == ["99345678900011"]
