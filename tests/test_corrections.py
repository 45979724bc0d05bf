"""Corrections stay with their site: keyed by what identifies it, applied only while the
table's row is still that site, and said when they are not applied."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

from geo import cli
from geo import geocode as gc
from tests.outputs import read_output

HOSTILE = ["{{ 7*7 }}", "<script>alert(1)</script>", "=1+1", "../../etc/passwd"]


def sites(*names_and_streets: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"nom": [n for n, _ in names_and_streets],
                         "adresse": [s for _, s in names_and_streets],
                         "code_postal": "31000", "commune": "Toulouse"})


def offline(table: pd.DataFrame, tmp_path, corrections=None, **kw) -> gc.GeocodeResult:
    """Geocoding that sends nothing: corrections alone place the sites."""
    return gc.geocode(table, geocoder=gc.Geocoder("http://127.0.0.1:9"), offline=True,
                      cache=gc.GeocodeCache(tmp_path / "c.sqlite"), corrections=corrections,
                      **kw)


def placed(review: pd.DataFrame, key: str, lat="43.6", lon="1.44") -> pd.DataFrame:
    review = review.copy()
    review.loc[review["cle"] == key, ["latitude", "longitude"]] = [lat, lon]
    return review


def test_a_row_inserted_at_the_top_does_not_move_a_correction(tmp_path):
    table = sites(("Alpha", "1 rue A"), ("Beta", "12 rue X"))
    review = offline(table, tmp_path).review
    assert list(review["cle"]) == ["Alpha | 1 rue A 31000 Toulouse",
                                   "Beta | 12 rue X 31000 Toulouse"]
    assert list(review["nom"]) == ["Alpha", "Beta"] and list(review["ligne"]) == [2, 3]
    fixes = placed(review, "Beta | 12 rue X 31000 Toulouse")
    moved = pd.concat([sites(("Gamma", "5 rue G")), table], ignore_index=True)
    out = offline(moved, tmp_path, fixes).table.set_index("nom")
    assert out.loc["Beta", "geocode_status"] == "corrige"
    assert out.loc["Beta", "latitude"] == "43.6"
    assert out.loc["Alpha", "geocode_status"] == "non_geocode"
    assert out.loc["Gamma", "geocode_status"] == "non_geocode"


def test_a_site_that_changed_or_left_keeps_no_correction_and_is_said(tmp_path):
    table = sites(("Alpha", "1 rue A"), ("Beta", "12 rue X")).assign(id=["A", "B"])
    review = offline(table, tmp_path).review
    fixes = placed(placed(review, "A"), "B")
    changed = table.assign(adresse=["1 rue A", "14 avenue Y"])  # B: another place now
    with pytest.warns(gc.CorrectionWarning) as heard:
        result = offline(changed, tmp_path, fixes, corrections_path="corrections.csv")
    out = result.table.set_index("id")
    assert out.loc["A", "geocode_status"] == "corrige"
    assert out.loc["B", "geocode_status"] == "non_geocode" and out.loc["B", "latitude"] == ""
    assert result.stats.refused_corrections == 1
    message = str(heard[0].message)
    assert message.startswith("corrections.csv : 1 correction n'est pas appliquée")
    assert "ligne 3 (« B ») : l'adresse saisie a changé" in message
    assert "« 12 rue X 31000 Toulouse » dans les corrections" in message
    # a site taken out of the table
    with pytest.warns(gc.CorrectionWarning, match=r"2 corrections ne sont pas appliquées.*"
                      r"ligne 2 \(« A »\) : ce site n'est plus dans le tableau"):
        result = offline(table.iloc[[]], tmp_path, fixes, corrections_path="corrections.csv")
    assert result.stats.refused_corrections == 2


def test_a_renamed_site_keeps_no_correction(tmp_path):
    table = sites(("Alpha", "1 rue A")).assign(id=["A"])
    fixes = placed(offline(table, tmp_path).review, "A")
    with pytest.warns(gc.CorrectionWarning, match="le nom a changé"):
        out = offline(table.assign(nom=["Omega"]), tmp_path, fixes).table
    assert out["geocode_status"].iloc[0] == "non_geocode"


def test_old_files_keyed_by_row_number(tmp_path):
    """Files of earlier versions: « ligne N » holds while the row keeps its address."""
    table = sites(("Alpha", "1 rue A"), ("Beta", "12 rue X"))
    old = pd.DataFrame({"cle": ["ligne 3"], "ligne": ["3"],
                        "adresse_saisie": ["12 rue X 31000 Toulouse"],
                        "latitude": ["43.6"], "longitude": ["1.44"]})
    out = offline(table, tmp_path, old).table.set_index("nom")
    assert out.loc["Beta", "geocode_status"] == "corrige"
    moved = pd.concat([sites(("Gamma", "5 rue G")), table], ignore_index=True)
    with pytest.warns(gc.CorrectionWarning, match="ligne 2 \\(« ligne 3 »\\) : l'adresse "
                                                  "saisie a changé"):
        out = offline(moved, tmp_path, old).table.set_index("nom")
    assert (out["geocode_status"] == "non_geocode").all()  # never given to Alpha
    without_address = old.drop(columns=["adresse_saisie"])
    with pytest.warns(gc.CorrectionWarning, match="ne dit pas l'adresse saisie"):
        out = offline(table, tmp_path, without_address).table
    assert (out["geocode_status"] == "non_geocode").all()


def test_same_name_and_address_twice_are_numbered(tmp_path):
    table = sites(("Alpha", "1 rue A"), ("Alpha", "1 rue A"), ("", ""))
    keys = gc.row_keys(table, None, 2)
    assert keys == ["Alpha | 1 rue A 31000 Toulouse#1", "Alpha | 1 rue A 31000 Toulouse#2",
                    "31000 Toulouse"]
    assert gc.row_keys(table.drop(columns=["code_postal", "commune"]), None, 2)[2] == \
        "ligne 4"  # neither name nor address: the row number


def test_hostile_names_survive_the_review_file_round_trip(tmp_path, addok):
    table = tmp_path / "t.csv"
    rows = [f"{name};999 zzz qqq {n}" for n, name in enumerate(HOSTILE)]
    table.write_text("nom;adresse\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out, review = tmp_path / "g.csv", tmp_path / "revue.csv"
    argv = ["geocode", str(table), "-o", str(out), "--geocoder-url", addok.url]
    assert cli.main([*argv, "--review", str(review)]) == 0
    fixed = pd.read_csv(review, sep=";", dtype=str, keep_default_na=False,
                        encoding="utf-8-sig")
    assert len(fixed) == len(HOSTILE)
    # keyed by name and address (inert for a spreadsheet), not by a row number
    assert [k.removeprefix("'").split(" | ")[0] for k in fixed["cle"]] == HOSTILE
    fixed["latitude"], fixed["longitude"] = "43.6", "1.44"
    fixed.to_csv(review, sep=";", index=False, encoding="utf-8-sig")
    assert cli.main([*argv, "--corrections", str(review)]) == 0
    assert (read_output(out)["geocode_status"] == "corrige").all()


def test_the_command_says_the_refused_corrections(tmp_path, addok, capsys):
    table = tmp_path / "t.csv"
    table.write_text("nom;adresse\nAlpha;999 zzz qqq\n", encoding="utf-8")
    corrections = tmp_path / "corr.csv"
    corrections.write_text("cle;adresse_saisie;latitude;longitude\n"
                           "Beta | 1 rue B;1 rue B;43.6;1.44\n", encoding="utf-8")
    out = tmp_path / "g.csv"
    with warnings.catch_warnings():  # the command shows our warnings itself
        warnings.simplefilter("always")
        assert cli.main(["geocode", str(table), "-o", str(out), "--geocoder-url", addok.url,
                         "--corrections", str(corrections)]) == 0
    printed = capsys.readouterr()
    assert f"Attention : {corrections.name} : 1 correction n'est pas appliquée" in printed.err
    assert "ligne 2 (« Beta | 1 rue B ») : ce site n'est plus dans le tableau" in printed.err
    assert "1 correction non appliquée (site changé ou absent du tableau)" in printed.out


def test_a_new_table_keeps_only_the_decisions_of_its_sites(tmp_path):
    from geo.uploads import Limits
    from geo.web import workspace
    from geo.web.studies import dropped_message

    folder = workspace.create(tmp_path, "Essai")
    first = b"nom;adresse;commune\nAlpha;1 rue A;Toulouse\nBeta;12 rue X;Toulouse\n" \
            b"=1+1;3 rue C;Toulouse\n"
    _, _, dropped = workspace.save_table(folder, first, "a.csv", Limits())
    assert dropped == []
    for name, street in (("Alpha", "1 rue A"), ("Beta", "12 rue X"), ("=1+1", "3 rue C")):
        workspace.decide(folder, f"{name} | {street} Toulouse", asked=f"{street} Toulouse",
                         name=name, point=(43.6, 1.44))
    # Beta moved, Alpha left, a new row at the top: only the hostile-named site keeps its own
    second = b"nom;adresse;commune\nGamma;5 rue G;Toulouse\nBeta;14 avenue Y;Toulouse\n" \
             b"=1+1;3 rue C;Toulouse\n"
    _, _, dropped = workspace.save_table(folder, second, "b.csv", Limits())
    assert sorted(r.key for r in dropped) == ["Alpha | 1 rue A Toulouse",
                                              "Beta | 12 rue X Toulouse"]
    kept = workspace.corrections(folder)
    assert list(kept["cle"]) == ["=1+1 | 3 rue C Toulouse"]
    message = dropped_message(dropped)
    assert message.startswith("2 décisions de la relecture ont été retirées, leur site")
    assert "« Alpha | 1 rue A Toulouse » : ce site n'est plus dans le tableau" in message
    assert dropped_message(dropped[:1]).startswith(
        "1 décision de la relecture a été retirée, son site")


def test_the_page_says_which_decisions_a_new_table_dropped(tmp_path, isolated_cache):
    import html

    from geo.web import workspace
    from tests.test_web import new_study, upload
    from tests.web import WebServer

    web = WebServer(tmp_path / "etudes", isolated_cache)
    try:
        client = web.session()
        hostile = "<script>alert(1)</script>"
        slug, _ = new_study(client, "essai", f"nom;adresse;commune\n{hostile};1 rue A;"
                            "Toulouse\nBeta;2 rue B;Toulouse\n".encode())
        for name, street in ((hostile, "1 rue A"), ("Beta", "2 rue B")):
            workspace.decide(web.root / slug, f"{name} | {street} Toulouse",
                             asked=f"{street} Toulouse", name=name, point=(43.6, 1.44))
        r = upload(client, slug, b"nom;adresse;commune\nBeta;2 rue B;Toulouse\n")
        said = re.search(r'<p class="message info" role="status">([^<]*d\xe9cision[^<]*)</p>',
                         r.text)
        assert said, r.text
        text = html.unescape(said.group(1))
        assert text.startswith("1 décision de la relecture a été retirée, son site")
        assert f"« {hostile} | 1 rue A Toulouse » : ce site n'est plus dans le tableau" in text
        assert hostile not in r.text  # the name is shown as text, never as markup
        assert list(workspace.corrections(web.root / slug)["cle"]) == ["Beta | 2 rue B Toulouse"]
    finally:
        web.stop()


def test_a_decision_on_the_page_records_its_site(tmp_path, isolated_cache):
    import html

    from geo.io import write_table
    from geo.web import workspace
    from tests.test_web import new_study
    from tests.web import WebServer

    web = WebServer(tmp_path / "etudes", isolated_cache)
    try:
        client = web.session()
        slug, _ = new_study(client, "essai")
        folder = web.root / slug
        for name in HOSTILE:
            row = {**dict.fromkeys(gc.REVIEW_COLUMNS, ""), "cle": f"{name} | 9 rue Z",
                   "ligne": 2, "nom": name, "adresse_saisie": "9 rue Z",
                   "statut": "non_trouve"}
            (folder / "resultats").mkdir(exist_ok=True)
            write_table(pd.DataFrame([row]), folder / "resultats" / "a_verifier.csv")
            page = client.page(f"/etudes/{slug}/relecture")
            # the site is named, as text
            assert f"Ligne 2&nbsp;: {html.escape(name, quote=False)} – 9 rue Z</h2>" in page.text
            assert "<script>alert" not in page.text and " 49 " not in page.text
            r = client.post_form(f"/etudes/{slug}/relecture", {
                "cle": f"{name} | 9 rue Z", "action": "placer", "latitude": "43.6",
                "longitude": "1.44"})
            assert r.status_code == 200
            decided = workspace.corrections(folder).set_index("cle")
            assert decided.loc[f"{name} | 9 rue Z", "nom"] == name
            assert decided.loc[f"{name} | 9 rue Z", "adresse_saisie"] == "9 rue Z"
    finally:
        web.stop()


OUT_OF_RANGE = [("inf", "1.44", "latitude"), ("1e400", "1.44", "latitude"),
                ("43.6", "2000", "longitude"), ("-91", "1.44", "latitude"),
                ("95", "1.44", "latitude"), ("nan", "1.44", "latitude"),
                ("43.6", "-180.5", "longitude")]


def _range_case(tmp_path, lat: str, lon: str):
    table = tmp_path / "t.csv"
    table.write_text("nom;adresse;code_postal;commune\nAlpha;1 rue A;31000;Toulouse\n"
                     "Beta;12 rue X;31000;Toulouse\n", encoding="utf-8")
    corrections = tmp_path / "corr.csv"
    corrections.write_text(
        "cle;nom;adresse_saisie;latitude;longitude\n"
        "Alpha | 1 rue A 31000 Toulouse;Alpha;1 rue A 31000 Toulouse;43.6;1.44\n"
        f"Beta | 12 rue X 31000 Toulouse;Beta;12 rue X 31000 Toulouse;{lat};{lon}\n",
        encoding="utf-8")
    return table, corrections


@pytest.mark.parametrize(("lat", "lon", "column"), OUT_OF_RANGE)
def test_a_corrected_point_out_of_range_names_the_corrections_file(
        tmp_path, capsys, isolated_cache, lat, lon, column):
    table, corrections = _range_case(tmp_path, lat, lon)
    out = tmp_path / "o.csv"
    code = cli.main(["link", str(table), "-o", str(out), "--corrections", str(corrections)])
    err = capsys.readouterr().err
    assert code == 2 and f"fichier corr.csv, ligne 3, colonne « {column} »" in err, err
    assert "hors des bornes" in err and "--crs" not in err and "corrigées" not in err
    assert not out.exists()


def test_a_study_s_corrected_point_out_of_range_is_refused(tmp_path, capsys, isolated_cache):
    table, corrections = _range_case(tmp_path, "91", "1.44")
    (tmp_path / "etude.toml").write_text(
        '[entrees]\ninitiatives = "t.csv"\n[geocodage]\ncorrections = "corr.csv"\n'
        'en_ligne = false\n', encoding="utf-8")
    code = cli.main(["run", str(tmp_path / "etude.toml")])
    err = capsys.readouterr().err
    assert code == 2 and "fichier corr.csv, ligne 3, colonne « latitude »" in err, err
    assert not (tmp_path / "resultats").exists()
