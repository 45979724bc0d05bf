"""One page per initiative, read on paper: its name, its sites on a map, its quartiers with
their communes and distances; A4 and A5; its maps as PNG and SVG files named after it."""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest
import shapely

from geo import cli
from tests.test_print import (
    EXAMPLE,
    assert_fonts_embedded,
    assert_no_word_over_another,
    pages_of,
    text_of,
)

DATA = Path(__file__).parent / "data"

pytestmark = pytest.mark.skipif(not shutil.which("pdffonts"), reason="poppler-utils missing")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("fiches")
    assert cli.main(["map", str(EXAMPLE), "-o", str(out / "carte.html"), "--fiches",
                     str(out / "fiches.pdf"), "--title", "Étude fictive"]) == 0
    return out


def test_one_page_per_initiative_with_its_quartiers(demo):
    table = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    initiatives = table.drop_duplicates("id_initiative")
    pdf = demo / "fiches.pdf"
    assert pages_of(pdf) == len(initiatives) == 30
    assert_fonts_embedded(pdf)
    assert_no_word_over_another(pdf)
    first = text_of(pdf, 1)
    assert "Conciergerie solidaire Les Clés" in first and "fiche 1 sur 30" in first
    # the theme as the legend writes it (capitalised, issue 32)
    assert "https://exemple.org/cles" in first and "Thème : Conciergerie solidaire" in first
    # one panel per city of its three sites, each quartier named with its commune,
    # its relation and its distance
    for place in ("Bordeaux (1 site)", "Villeurbanne (1 site)", "Saint-Denis (1 site)"):
        assert place in first, place
    rows = {line.split("  ")[0].strip(): line for line in first.splitlines()}
    assert re.search(r"Bacalan\s+Bordeaux\s+QN03311M\s+implantée\s+à\s+l’intérieur\s+1", first)
    assert re.search(r"Grand Centre - Sémard\s+Saint-Denis\s+QN09338M\s+à proximité, "
                     r"intervient\s+152 m\s+3", first), rows
    assert re.search(r"Plaine - Landy - Bailly\s+Saint-Denis\s+QN09337M\s+intervient", first)
    # a site without coordinates still has its page, says why it has no map, and makes
    # no claim about the quartiers around it (its position is unknown)
    lost = " ".join(text_of(pdf, 30).split())
    assert "Position inconnue" in lost and "aucun site localisé" in lost
    assert "ni dans ni près" not in lost and "Aucun quartier prioritaire dans" not in lost


def test_each_page_lists_the_quartiers_its_sites_fall_in(demo):
    """The quartiers marked « implantée » on every page are those an independent shapely
    test finds around the initiative's sites (the bundled polygons, in degrees)."""
    from geo.qpv import load_qpv

    qpv = load_qpv()
    table = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    located = table[table["latitude"] != ""]
    points = shapely.points(located["longitude"].str.replace(",", ".").astype(float),
                            located["latitude"].str.replace(",", ".").astype(float))
    tree = shapely.STRtree(qpv.geometry.values)
    site, poly = tree.query(points, predicate="within")
    inside = pd.DataFrame({"id": located["id_initiative"].to_numpy()[site],
                           "code": qpv["code_qp"].to_numpy()[poly]})
    order = list(pd.unique(table["id_initiative"]))
    for key, codes in inside.groupby("id")["code"]:
        text = text_of(demo / "fiches.pdf", order.index(key) + 1)
        shown = set(re.findall(r"(QN\w{6})\s+implantée", text))
        assert shown == set(codes), (key, shown, set(codes))
    checked = set(inside["id"])
    assert len(checked) >= 12  # most pages are checked


def test_maps_as_png_and_svg_named_after_the_initiative(demo):
    from PIL import Image

    folder = demo / "fiches"
    pngs = sorted(p.name for p in folder.glob("*.png"))
    svgs = sorted(p.name for p in folder.glob("*.svg"))
    assert len(pngs) == len(svgs) == 27  # every initiative with a located site
    assert "ess-001-conciergerie-solidaire-les-cles.png" in pngs
    assert [n[:-4] for n in pngs] == [n[:-4] for n in svgs]
    with Image.open(folder / "ess-001-conciergerie-solidaire-les-cles.png") as image:
        assert round(image.info["dpi"][0]) == 300 and image.size[0] > 2000
    svg = (folder / "ess-001-conciergerie-solidaire-les-cles.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert svg.count("<path") > 50  # drawn: quartiers, sites
    # names kept as text, so that layout software can edit them
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "Bacalan" in texts and any("Bordeaux" in t for t in texts), texts[:20]
    assert all(f'id="{name}"' in svg for name in ("carte-1", "carte-3", "legende"))


def test_svg_names_its_font_as_layout_software_reads_it(demo):
    """The SVG's text names the font by its CSS family, weight and style (« DejaVu
    Sans », bold, oblique: a quartier's name), never by the face's file name, and stays
    where the page draws it (no whole-point rounding of its flip)."""
    svg = (demo / "fiches" / "ess-001-conciergerie-solidaire-les-cles.svg").read_text(
        encoding="utf-8")
    [bacalan] = re.findall(r'<text [^>]*>Bacalan</text>', svg)
    assert "font-family: 'DejaVu Sans', sans-serif; font-weight: bold; " \
           "font-style: oblique;" in bacalan, bacalan
    assert "DejaVuSans" not in svg
    for y, flip in re.findall(r'<text [^>]*y="([-\d.e]+)"[^>]*translate\(0,([-\d.]+)\)',
                              svg):
        assert abs(2 * float(y) - float(flip)) < 0.01, (y, flip)


def test_a5_pages_still_fit(tmp_path):
    pdf = tmp_path / "a5.pdf"
    assert cli.main(["map", str(EXAMPLE), "-o", str(tmp_path / "c.html"), "--fiches",
                     str(pdf), "--format-fiches", "A5"]) == 0
    from tests.test_print import words_of

    assert pages_of(pdf) == 30
    assert_no_word_over_another(pdf)
    words = words_of(pdf, 1)
    assert max(w[2] for w in words) <= 420 and max(w[3] for w in words) <= 595  # A5 points
    assert "Bacalan" in " ".join(w[4] for w in words)


def _mapped_with_fiches(rows: list[str], tmp_path):
    """Run ``ess-qpv map … --fiches`` on the CSV ``rows``; return its output folder."""
    table = tmp_path / "t.csv"
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["map", str(table), "-o", str(out / "c.html"), "--fiches",
                     str(out / "fiches.pdf")]) == 0
    return out


def test_hostile_names_stay_text_and_files_stay_in_their_folder(tmp_path):
    rows = ["id;nom;theme;latitude;longitude;site_web"]
    for i, payload in enumerate(["{{ 7*7 }}", "<script>alert(1)</script>", "=1+1",
                                 "../../evil", "$x$ ..\\..\\win"]):
        rows.append(f"H{i};{payload};{payload};48.9205;2.3601;{payload}")
    out = _mapped_with_fiches(rows, tmp_path)
    text = text_of(out / "fiches.pdf")
    for payload in ("{{ 7*7 }}", "<script>alert(1)</script>", "=1+1", "../../evil", "$x$"):
        assert payload in text, payload
    made = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.is_file() and not p.is_relative_to(tmp_path / "cache"))  # the test's
    assert all(m.startswith(("t.csv", "out/")) for m in made), made
    from geo.write.fiches import MAPS_LIST

    names = sorted(p.name for p in (out / "fiches").iterdir() if p.name != MAPS_LIST)
    assert names[:2] == ["h0-7-7.png", "h0-7-7.svg"] and len(names) == 10, names
    assert (out / "fiches" / MAPS_LIST).is_file()  # what the next run may remove
    assert all(re.fullmatch(r"[a-z0-9-]+\.(png|svg)", n) for n in names), names


def test_study_file_and_refusals(tmp_path, capsys):
    shutil.copy(EXAMPLE, tmp_path / "initiatives.csv")
    study = tmp_path / "etude.toml"
    study.write_text('[entrees]\ninitiatives = "initiatives.csv"\n[sorties]\n'
                     'fiches = "fiches.pdf"\nformat_fiches = "A5"\ncarte_autonome = ""\n'
                     'carte = ""\nintegration = ""\ncarte_impression = ""\nrapport = ""\n',
                     encoding="utf-8")
    assert cli.main(["run", str(study)]) == 0
    assert pages_of(tmp_path / "resultats" / "fiches.pdf") == 30
    assert (tmp_path / "resultats" / "fiches" / "ess-002-epicerie-solidaire-du-lac.svg"
            ).is_file()
    assert "cartes des fiches" in capsys.readouterr().out
    study.write_text(study.read_text(encoding="utf-8").replace("fiches.pdf", "fiches.png"),
                     encoding="utf-8")
    assert cli.main(["run", str(study)]) == 2
    err = capsys.readouterr().err
    assert "fiches.png" in err and ".pdf" in err and "[sorties] fiches" in err
    study.write_text(study.read_text(encoding="utf-8").replace('"A5"', '"B5"'),
                     encoding="utf-8")
    assert cli.main(["run", str(study)]) == 2
    assert "format_fiches" in capsys.readouterr().err


def test_demo_writes_fiches_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "-o", "d", "--fiches"]) == 0
    assert pages_of(tmp_path / "d" / "fiches.pdf") == 30
    assert len(list((tmp_path / "d" / "fiches").glob("*.png"))) == 27


def test_a_lone_site_is_framed_at_street_level(tmp_path):
    """A single site gets a frame of a couple of kilometres: its quartier reads."""
    from geo.initiatives import read_initiatives
    from geo.link import link
    from geo.qpv import load_qpv
    from geo.write.fiches import _fiche_layers, _panel_groups, initiative_fiches
    from geo.write.printmap import prepare_layers

    qpv = load_qpv()
    initiatives = read_initiatives(EXAMPLE)
    result = link(initiatives, qpv)
    fiches = initiative_fiches(result, initiatives, qpv)
    layers = prepare_layers(result, qpv, None, "theme", None)
    lac = next(f for f in fiches if f.key == "ESS-002")
    [(crs, _, (x0, y0, x1, y1), _)] = _panel_groups(_fiche_layers(lac, layers))
    assert 1500 <= x1 - x0 <= 6000
    le_lac = qpv[qpv["code_qp"] == "QN03307M"].to_crs(crs).total_bounds
    assert x0 <= le_lac[0] and le_lac[2] <= x1 and y0 <= le_lac[1] and le_lac[3] <= y1


def test_a_rerun_removes_the_maps_of_initiatives_no_longer_there(tmp_path):
    """The maps of an initiative taken out of the table go with it; a file the user put in
    the folder, or one that the list of maps would reach outside it, stays; a run that
    fails changes nothing."""
    import json

    from geo.initiatives import read_initiatives
    from geo.io import staged
    from geo.link import link
    from geo.qpv import load_qpv
    from geo.study import Study, run_study
    from geo.write.fiches import MAPS_LIST, write_fiches

    table = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    three = table[table["id_initiative"].isin(["ESS-001", "ESS-002", "ESS-003"])]
    source = tmp_path / "initiatives.csv"
    three.to_csv(source, sep=";", index=False)
    study = Study(initiatives=source, folder=tmp_path,
                  outputs={"fiches": str(tmp_path / "fiches.pdf")})
    run_study(study)
    folder = tmp_path / "fiches"
    first = sorted(p.name for p in folder.glob("*.png"))
    assert len(first) == 3
    (folder / "mon-schema.png").write_bytes(b"user's own")
    outside = tmp_path / "garder.png"
    outside.write_bytes(b"outside")
    listed = json.loads((folder / MAPS_LIST).read_text(encoding="utf-8"))
    (folder / MAPS_LIST).write_text(json.dumps([*listed, "../garder.png"]), encoding="utf-8")

    three[three["id_initiative"] != "ESS-002"].to_csv(source, sep=";", index=False)
    qpv = load_qpv()
    initiatives = read_initiatives(source)
    with pytest.raises(RuntimeError), staged():  # a run that fails after the fiches
        write_fiches(link(initiatives, qpv), initiatives, qpv, tmp_path / "fiches.pdf")
        raise RuntimeError
    assert sorted(p.name for p in folder.glob("*.png")) == sorted([*first, "mon-schema.png"])

    run_study(study)
    kept = sorted(p.name for p in folder.glob("*.png"))
    lac = next(n for n in first if "lac" in n or "002" in n)
    assert kept == sorted([*(n for n in first if n != lac), "mon-schema.png"])
    assert not (folder / lac.replace(".png", ".svg")).exists()
    assert outside.read_bytes() == b"outside"
    assert sorted(json.loads((folder / MAPS_LIST).read_text(encoding="utf-8"))) == sorted(
        p.name for p in folder.glob("*.*") if p.name not in ("mon-schema.png", MAPS_LIST))


#: Names Windows keeps for devices, with or without an extension, in any case.
WINDOWS_RESERVED = re.compile(r"(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?", re.IGNORECASE)


def test_map_names_differ_whatever_the_case_and_accents():
    """« Café » (id a), « CAFÉ » (id A) and an initiative whose id is what a numbered copy
    would be named each get their own file; a device name of Windows never is one; the
    names don't depend on the order of the table."""
    from geo.write.fiches import map_stems

    named = [("a", "Café"), ("A", "CAFÉ"), ("a-cafe-2", "a-cafe-2"), ("con", "con"),
             ("CON", "CON"), ("nul", ""), ("AUX", "AUX"), ("LPT9", "lpt9"), ("x", "COM1"),
             ("ESS-1", "Épicerie")]
    stems = map_stems(named)
    assert len({s.casefold() for s in stems.values()}) == len(named), stems
    assert not [s for s in stems.values() if WINDOWS_RESERVED.fullmatch(s)], stems
    assert map_stems(reversed(named)) == stems
    assert stems["a-cafe-2"] == "a-cafe-2" and stems["x"] == "x-com1"
    assert stems["ESS-1"] == "ess-1-epicerie"
    assert re.fullmatch(r"a-cafe_[0-9a-f]{8}", stems["a"]) and stems["a"] != stems["A"]
    assert stems["nul"] == "nul_fiche" and stems["AUX"] == "aux_fiche"


def test_colliding_initiatives_each_get_their_maps(tmp_path, capsys):
    rows = ["id;nom;latitude;longitude"]
    for key, name in (("a", "Café"), ("A", "CAFÉ"), ("a-cafe-2", "a-cafe-2"),
                      ("CON", "CON"), ("nul", "")):
        rows.append(f"{key};{name};48.9205;2.3601")
    out = _mapped_with_fiches(rows, tmp_path)
    from geo.write.fiches import MAPS_LIST

    files = sorted(p.name for p in (out / "fiches").iterdir() if p.name != MAPS_LIST)
    assert len({f.casefold() for f in files}) == len(files) == 10, files
    assert not [f for f in files if WINDOWS_RESERVED.fullmatch(f)], files
    said = re.search(r"cartes des fiches, (\d+) fichiers", capsys.readouterr().out)
    assert said and int(said[1]) == len(files)


def test_a_file_of_the_user_in_the_maps_folder_is_never_overwritten(tmp_path, monkeypatch,
                                                                     capsys):
    """The demo refuses, before writing anything, a folder « fiches » holding a file of
    the user's under the name of one of its maps (in any case: Windows and macOS would
    take one for the other); its own maps, listed, it replaces."""
    monkeypatch.chdir(tmp_path)
    maps = tmp_path / "d" / "fiches"
    maps.mkdir(parents=True)
    for name in ("ess-001-conciergerie-solidaire-les-cles.png",
                 "ESS-002-Epicerie-Solidaire-du-Lac.SVG"):
        mine = maps / name
        mine.write_bytes(b"my own drawing")
        assert cli.main(["demo", "-o", "d", "--fiches"]) == 2
        err = capsys.readouterr().err
        assert re.search(rf"«\s{re.escape(name)}\s»", err), err
        assert re.search(r"rien n.a été écrasé", err) and "Traceback" not in err, err
        assert mine.read_bytes() == b"my own drawing"
        assert sorted(p.name for p in (tmp_path / "d").rglob("*")) == sorted(["fiches", name])
        mine.unlink()


def _fiches_of(table: pd.DataFrame, tmp_path, **options):
    """Write the fiches of ``table`` (a CSV in ``tmp_path``); return the PDF's path."""
    from geo.initiatives import read_initiatives
    from geo.link import link
    from geo.qpv import load_qpv
    from geo.write.fiches import write_fiches

    source = tmp_path / "table.csv"
    table.to_csv(source, sep=";", index=False)
    qpv = load_qpv()
    initiatives = read_initiatives(source)
    pdf = tmp_path / "fiches.pdf"
    write_fiches(link(initiatives, qpv), initiatives, qpv, pdf, **options)
    return pdf


def test_row_numbers_proper_names_and_a_site_far_from_any_quartier(tmp_path):
    """Without an identifier column the page gives the row, not « Identifiant : ligne 2 »;
    a name in capitals is printed from the brand column in proper case, or title-cased;
    a village far from any quartier gets a map titled by its commune, framed wider than a
    street, and the page does not claim a quartier."""
    bal = pd.read_csv(DATA / "adresses-54084.csv", sep=";", dtype=str)
    table = pd.DataFrame({
        "nom": ["EPICERIE SOLIDAIRE DU PAYS HAUT", "ASSOCIATION DE LA RUE JOFFRE"],
        "enseigne": ["Épicerie solidaire du Pays-Haut", ""],
        # the second address already holds its postcode and commune (a real export's)
        "adresse": [f"{n} {v}" + (" 54260 Mont-Bonvillers" if k else "")
                    for k, (n, v) in enumerate(zip(bal["numero"][:2], bal["voie_nom"][:2],
                                                   strict=True))],
        "code_postal": ["54260", "54260"], "commune": ["Mont-Bonvillers"] * 2,
        "latitude": bal["lat"][:2], "longitude": bal["long"][:2]})
    pdf = _fiches_of(table, tmp_path, images=True)
    first, second = (" ".join(text_of(pdf, k).split()) for k in (1, 2))
    assert "Épicerie solidaire du Pays-Haut" in first and "EPICERIE" not in first
    assert "Association de la Rue Joffre" in second
    assert "54260 Mont-Bonvillers" in second and second.count("54260") == 1, second
    assert "Ligne 2 du tableau" in first and "Identifiant" not in first
    assert "Mont-Bonvillers (1 site)" in first
    assert "ni dans ni près d" in first  # placed: it is known to be far
    svg = next((tmp_path / "fiches").glob("*.svg")).read_text(encoding="utf-8")
    assert "Mont-Bonvillers" in svg


def test_a5_type_is_never_below_seven_points(tmp_path):
    """The smallest word height on an A5 page (pdftotext -bbox: about 1.16 × the size):
    nothing under 6.5 pt on the map, 7 pt elsewhere."""
    import subprocess

    table = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False).head(3)
    pdf = _fiches_of(table, tmp_path, paper="A5", images=False)
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    heights = [float(b) - float(a) for a, b in re.findall(
        r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', html)]
    assert heights and min(heights) >= 6.5 * 1.16, sorted(heights)[:5]


def test_init_leaves_the_fiches_off_and_says_how_to_ask(tmp_path):
    from geo.studyfile import write_template

    write_template(tmp_path)
    text = (tmp_path / "etude.toml").read_text(encoding="utf-8")
    assert '\nfiches = ""\n' in text
    assert 'écrivez fiches = "fiches.pdf"' in " ".join(text.replace("# ", "").split())


def test_maps_as_files_only_when_asked_or_for_a_few_dozen(tmp_path, monkeypatch, capsys):
    """Beyond IMAGES_UP_TO initiatives the PNG/SVG maps are written only with
    --fiches-images; a study file's images_fiches = false turns them off for a small one."""
    from geo.write import fiches

    table = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    three = table[table["id_initiative"].isin(["ESS-002", "ESS-003", "ESS-004"])]
    source = tmp_path / "initiatives.csv"
    three.to_csv(source, sep=";", index=False)
    monkeypatch.setattr(fiches, "IMAGES_UP_TO", 2)  # three is « many » here
    args = ["map", str(source), "-o", str(tmp_path / "c.html"), "--fiches"]
    assert cli.main([*args, str(tmp_path / "sans.pdf")]) == 0
    assert (tmp_path / "sans.pdf").is_file() and not (tmp_path / "sans").exists()
    assert cli.main([*args, str(tmp_path / "avec.pdf"), "--fiches-images"]) == 0
    assert len(list((tmp_path / "avec").glob("*.svg"))) == 3
    monkeypatch.setattr(fiches, "IMAGES_UP_TO", 40)
    (tmp_path / "etude.toml").write_text(
        '[entrees]\ninitiatives = "initiatives.csv"\n[sorties]\nfiches = "fiches.pdf"\n'
        'images_fiches = false\ncarte = ""\ncarte_autonome = ""\nintegration = ""\n'
        'carte_impression = ""\nrapport = ""\n', encoding="utf-8")
    assert cli.main(["run", str(tmp_path / "etude.toml")]) == 0
    out = tmp_path / "resultats"
    assert (out / "fiches.pdf").is_file() and not (out / "fiches").exists()
    capsys.readouterr()


def test_a_page_failing_in_a_worker_leaves_no_map_behind(tmp_path, monkeypatch):
    """The maps drawn before a page fails (in the worker processes) are never published:
    no PDF, no PNG or SVG, no scratch folder; the page's error reaches the caller."""
    from geo.study import Study, run_study
    from geo.write import fiches

    run = run_study(Study(initiatives=EXAMPLE, outputs={}))
    drawn = fiches.fiche_page

    def failing(fiche, layers, size, title, number, total):
        if number == total - 1:
            raise RuntimeError("page impossible")
        return drawn(fiche, layers, size, title, number, total)

    monkeypatch.setattr(fiches, "fiche_page", failing)
    out = tmp_path / "sorties"
    out.mkdir()
    with pytest.raises(RuntimeError, match="page impossible"):
        fiches.write_fiches(run.result, run.initiatives, run.qpv, out / "f.pdf",
                            images=True, workers=2)
    assert list(out.rglob("*")) == []


def test_a_multi_valued_category_is_listed_not_printed_raw(tmp_path):
    """A Transiscope category « A|B » reads « Thèmes : A, B » on the fiche, as the legend
    splits it; a single one stays « Thème : A »."""
    bal = pd.read_csv(DATA / "adresses-54084.csv", sep=";", dtype=str)
    table = pd.DataFrame({
        "nom": ["Ressourcerie du Pays-Haut", "Jardin partagé"],
        "categories": ["Économie Sociale et Solidaire|fabriquer, réparer", "Alimentation"],
        "latitude": bal["lat"][:2], "longitude": bal["long"][:2]})
    pdf = _fiches_of(table, tmp_path)
    first, second = (" ".join(text_of(pdf, k).split()) for k in (1, 2))
    assert "Thèmes : Économie Sociale et Solidaire, Fabriquer, réparer" in first, first
    assert "|" not in first
    assert "Thème : Alimentation" in second


def test_a_site_where_no_quartier_is_has_its_fiche(tmp_path):
    """A site of New Caledonia (no quartier there: its distance is missing, a nullable
    integer) gets its page and its map, and no quartier is claimed."""
    national = pd.read_csv(DATA / "annuaire_national.csv", sep=";", dtype=str,
                           keep_default_na=False)
    pdf = _fiches_of(national[national["id"] == "N1"], tmp_path, images=True)
    text = " ".join(text_of(pdf, 1).split())
    assert "Association Allée d’AUVERGNE" in text
    assert "ni dans ni près d’un quartier prioritaire" in text
    assert sorted(p.suffix for p in (tmp_path / "fiches").glob("*.[ps][nv]g")) == [
        ".png", ".svg"]


def test_an_insee_code_is_never_shown_as_a_postcode(tmp_path):
    """The national directory gives a commune and its INSEE code (Montluel, 01262; its
    postcode is 01120): the page's address names the commune without the code, and a
    table with the INSEE code alone shows the commune it names."""
    grand = pd.read_csv(DATA / "annuaire_national_grand.csv", sep=";", dtype=str,
                        keep_default_na=False)
    rows = grand[grand["id"].isin(["S0003", "S3390"])]
    text = " ".join(text_of(_fiches_of(rows, tmp_path), 1).split())
    assert "1 Montluel implantée" in text and "01262" not in text, text
    (tmp_path / "code").mkdir()
    text = " ".join(text_of(_fiches_of(rows.drop(columns="commune"), tmp_path / "code"),
                            1).split())
    assert "1 Montluel implantée" in text and "01262" not in text, text


def test_coordinates_set_aside_are_said_so_not_called_missing(tmp_path):
    """E2 of the national directory gives a point in the Yvelines for an address in
    Vandœuvre-lès-Nancy: its page says the coordinates were set aside as contrary to the
    address, names where each points, and what to do; it never asks for coordinates."""
    national = pd.read_csv(DATA / "annuaire_national.csv", sep=";", dtype=str,
                           keep_default_na=False)
    pdf = _fiches_of(national[national["id"].isin(["E1", "E2"])], tmp_path)
    text = " ".join(text_of(pdf, 2).split())
    assert "coordonnées écartées (contraires à l’adresse)" in text, text
    assert "Coordonnées du tableau écartées : elles contredisent l’adresse (coordonnées " \
           "dans le département 78 (Yvelines), adresse à Vandœuvre-lès-Nancy (54500))" in text
    assert "« accepter » : oui" in text
    assert "inconnue" not in text and "donnez les coordonnées" not in text


def test_only_web_addresses_are_shown_as_web_sites_and_maps_get_the_usual_mode(tmp_path):
    """« javascript:alert(1) » in the website column is no web site: the page leaves it
    out (an http(s) address is shown, a bare www. one as https); the maps are written
    with the mode of every other output (the umask's), not a temporary file's 0600."""
    bal = pd.read_csv(DATA / "adresses-54084.csv", sep=";", dtype=str)
    table = pd.DataFrame({
        "nom": ["Épicerie", "Jardin", "Atelier"],
        "site_web": ["javascript:alert(1)", "www.exemple.org", "ftp://exemple.org/x"],
        "latitude": bal["lat"][:3], "longitude": bal["long"][:3]})
    old = os.umask(0o022)
    try:
        pdf = _fiches_of(table, tmp_path, images=True)
    finally:
        os.umask(old)
    first, second, third = (" ".join(text_of(pdf, k).split()) for k in (1, 2, 3))
    assert "javascript" not in first and "Site web" not in first
    assert "Site web : https://www.exemple.org" in second
    assert "Site web" not in third and "ftp:" not in third
    modes = {p.name: stat.S_IMODE(p.stat().st_mode)
             for p in (tmp_path / "fiches").iterdir() if p.suffix in (".png", ".svg")}
    assert len(modes) == 6 and set(modes.values()) == {0o644}, modes
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o644


def test_a_site_at_an_uncertain_limit_is_not_stated_as_certain(tmp_path):
    """A site 2 m inside Bacalan's outline (rounded to ~11 m: ``boundary_uncertain``) is
    « implantée (limite incertaine) » on its page, and the page says why, in short; a site
    258 m from a quartier has no such caveat."""
    table = pd.DataFrame({"nom": ["Au bord", "Au milieu"],
                          "latitude": ["44.88401", "48.9205"],
                          "longitude": ["-0.55084", "2.3601"]})
    pdf = _fiches_of(table, tmp_path)
    edge, middle = (" ".join(text_of(pdf, k).split()) for k in (1, 2))
    assert "implantée (limite Bacalan à l’intérieur incertaine)" in edge, edge  # wrapped
    assert "limite incertaine pour 1 site : à moins de 11 m d’une limite de quartier, dont " \
           "les contours sont arrondis, il peut être de l’autre côté." in edge
    assert "incertaine" not in middle and "à proximité" in middle
