"""Print maps read on paper: France with its départements and overseas insets, names of the
places that hold sites, every symbol in the legend, embedded fonts, and an atlas."""

from __future__ import annotations

import html
import itertools
import re
import shutil
import subprocess

import pytest

from geo import cli
from tests.servers import ROOT_DATA
from tests.test_accessibility import national_directory

EXAMPLE = ROOT_DATA / "exemple" / "initiatives.csv"
pytestmark = pytest.mark.skipif(not shutil.which("pdffonts"), reason="poppler-utils missing")


def text_of(pdf, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    text = subprocess.run(["pdftotext", *pages, "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    # no-break spaces (French typography) read as spaces, whatever poppler's version
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def pages_of(pdf) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines()
                    if line.startswith("Pages:")))


def words_of(pdf, page: int) -> list[tuple[float, float, float, float, str]]:
    """Every word of a page with its box (points), as ``pdftotext -bbox`` reads it."""
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf),
                          "-"], check=True, capture_output=True, text=True).stdout
    return [(float(a), float(b), float(c), float(d), html.unescape(w)) for a, b, c, d, w in
            re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                       r'yMax="([\d.]+)">([^<]*)</word>', out)]


def assert_no_word_over_another(pdf) -> None:
    """No two words of any page overlap (beyond a few hundredths of a millimetre)."""
    for page in range(1, pages_of(pdf) + 1):
        words = words_of(pdf, page)
        assert len(words) > 10
        clashes = [(a[4], b[4]) for a, b in itertools.combinations(words, 2)
                   if min(a[2], b[2]) - max(a[0], b[0]) > 0.4
                   and min(a[3], b[3]) - max(a[1], b[1]) > 0.4]
        assert clashes == [], (page, clashes[:10])


def assert_fonts_embedded(pdf) -> None:
    rows = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True,
                          text=True).stdout.splitlines()[2:]
    assert rows, "no font at all"
    for row in rows:
        assert "TrueType" in row and " yes yes " in row, row  # embedded, subset


def test_a_font_is_embedded_once_whatever_its_characters(tmp_path):
    """« – » and « € » beyond Latin-1 share the font's one subset (a second copy of the
    font in every print before)."""
    import matplotlib
    from matplotlib.figure import Figure

    from geo.write.printmap import PRINT_FONTS

    with matplotlib.rc_context(PRINT_FONTS):
        fig = Figure()
        fig.text(0.1, 0.5, "Quartiers – 2024 : 12 € par habitant")
        fig.savefig(tmp_path / "t.pdf")
    assert_fonts_embedded(tmp_path / "t.pdf")
    rows = subprocess.run(["pdffonts", str(tmp_path / "t.pdf")], check=True,
                          capture_output=True, text=True).stdout.splitlines()[2:]
    assert len(rows) == 1, rows


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    out = tmp_path_factory.mktemp("print")
    national_directory(out / "annuaire.csv", n=300)
    assert cli.main(["map", str(out / "annuaire.csv"), "-o", str(out / "c.html"),
                     "--print", str(out / "france.pdf"), "--title", "Annuaire national"]) == 0
    return out


def test_a_national_print_shows_france_its_departements_and_overseas(national):
    pdf = national / "france.pdf"
    assert_fonts_embedded(pdf)
    text = text_of(pdf)
    assert "Annuaire national" in text
    # names of départements (in capitals, where the cities leave room), overseas insets,
    # every symbol explained
    from geo.territories import DEPARTEMENTS

    assert sum(name.upper() in text for name in DEPARTEMENTS.values()) >= 3
    assert "La Réunion" in text and "Guadeloupe" in text
    assert "Outre-mer (échelles différentes)" in text  # each inset with its own scale bar
    for words in ("Limite de département", "trop petit à cette échelle",
                  "Légende", "km", "IGN – ADMIN EXPRESS"):
        assert words in text, words
    assert " mi" not in text and "miles" not in text  # metric only


def test_a_national_print_names_its_cities_with_an_ile_de_france_inset(national):
    """748 sites all over France: no word over another, the communes holding the most
    sites named, Paris and its inner ring as an inset, the map filling the page."""
    import pandas as pd

    from geo.initiatives import read_initiatives
    from geo.link import link
    from geo.outlines import commune_of_points, communes
    from geo.qpv import load_qpv
    from geo.write.printmap import print_pages
    from geo.write.printpages import page_fill

    national_directory(national / "grand.csv", n=748)
    pdf = national / "grand.pdf"
    assert cli.main(["map", str(national / "grand.csv"), "-o", str(national / "g.html"),
                     "--print", str(pdf)]) == 0
    assert_no_word_over_another(pdf)
    text = " ".join(w[4] for w in words_of(pdf, 1))
    assert "Paris et la petite couronne" in text
    sites = read_initiatives(national / "grand.csv").sites.dropna(subset=["geometry"])
    held = pd.Series(commune_of_points(sites.geometry.x, sites.geometry.y)).value_counts()
    names = communes().set_index("code")["nom"]
    top = [names[c] for c in held.index if c][:8]
    found = [n for n in top if n in text]
    assert len(found) >= 6, (top, found)  # the busiest places are named first
    # too many sites to read one by one at this scale: counted per commune, split by
    # relation, and the legend says so, with its nested reference circles
    for words in ("Sites implantés dans un quartier prioritaire", "Sites à moins de 300 m",
                  "Autres sites", "Nombre de sites par commune"):
        assert words in text.replace("\u00a0", " "), words
    result = link(read_initiatives(national / "grand.csv"), load_qpv())
    fill = page_fill(print_pages(result, load_qpv(), theme_column="theme")[0])
    assert fill >= 0.70, fill


def test_the_demo_print_has_a_panel_per_agglomeration(tmp_path):
    pdf = tmp_path / "demo.pdf"
    assert cli.main(["map", str(EXAMPLE), "-o", str(tmp_path / "c.html"), "--print",
                     str(pdf)]) == 0
    assert_no_word_over_another(pdf)
    text = text_of(pdf, 1)
    assert "Situation des panneaux" in text
    for place in ("Saint-Denis", "Bordeaux", "Villeurbanne", "Toulouse", "Montpellier"):
        assert re.search(rf"\d\. {place}", text), place  # a panel each, numbered
    # in the panels, the quartiers that hold sites are named
    for quartier in ("Grand Mirail", "Mosson", "Empalot", "Bacalan"):
        assert quartier in text, quartier
    from geo.initiatives import read_initiatives
    from geo.link import link
    from geo.qpv import load_qpv
    from geo.write.printmap import print_pages
    from geo.write.printpages import page_fill

    result = link(read_initiatives(EXAMPLE), load_qpv())
    assert page_fill(print_pages(result, load_qpv(), theme_column="theme")[0]) >= 0.70


def test_an_atlas_has_an_overview_and_a_page_per_departement(tmp_path):
    pdf = tmp_path / "atlas.pdf"
    assert cli.main(["map", str(EXAMPLE), "-o", str(tmp_path / "c.html"), "--print",
                     str(pdf), "--atlas", "--format", "A5"]) == 0
    assert_fonts_embedded(pdf)
    # the example's located sites lie in 7 départements (31, 33, 34, 69, 75, 92, 93)
    assert pages_of(pdf) == 2 + 7  # the overview, the contents, a page per département
    names = [text_of(pdf, page).split("\n")[1].strip() for page in range(3, 10)]
    assert any(n.startswith("Gironde (33)") for n in names)
    assert any(n.startswith("Seine-Saint-Denis (93)") for n in names)
    page_93 = next(i for i, n in enumerate(names, start=3) if n.startswith("Seine-Saint-Denis"))
    assert "Saint-Denis" in text_of(pdf, page_93)  # the commune holding sites is named
    assert_no_word_over_another(pdf)
    # the overview names the contents' page, which lists the pages; each page's legend
    # counts what that page shows
    assert "sommaire de l’atlas p. 2" in text_of(pdf, 1)
    page_33 = next(i for i, n in enumerate(names, start=3) if n.startswith("Gironde"))
    assert re.search(rf"p. {page_33} +Gironde \(33\)", text_of(pdf, 2))
    gironde = text_of(pdf, page_33)
    assert re.search(r"Gironde \(33\) – 6 sites", gironde)
    counts = [int(n) for n in re.findall(r"\((\d+)\)\n", gironde)]
    assert sum(c for c in counts if c < 33) == 6  # the themes' counts add up to the page


def test_an_atlas_of_one_departement_pages_through_its_communes(tmp_path):
    table = tmp_path / "a.csv"
    table.write_text("id;nom;theme;latitude;longitude\n1;A;x;48.9362;2.3596\n"
                     "1;B;x;48.9135;2.3835\n2;C;y;48.9045;2.4570\n", encoding="utf-8")
    pdf = tmp_path / "atlas.pdf"
    assert cli.main(["map", str(table), "-o", str(tmp_path / "c.html"), "--print", str(pdf),
                     "--atlas"]) == 0
    assert pages_of(pdf) == 2 + 3  # Saint-Denis, Aubervilliers, Bobigny
    assert "Aubervilliers (93001)" in text_of(pdf)
    # the two sites of initiative 1 are joined, and the legend says what the line means
    assert "Sites d'une même initiative" in text_of(pdf, 1)


def test_an_atlas_needs_a_pdf(tmp_path, capsys):
    assert cli.main(["map", str(EXAMPLE), "-o", str(tmp_path / "c.html"), "--print",
                     str(tmp_path / "a.png"), "--atlas"]) == 2
    assert "un atlas a plusieurs pages" in capsys.readouterr().err


def test_periods_are_small_multiples_with_sized_symbols(tmp_path, capsys):
    """One panel per year in the same frame, each counting the sites open that year; the
    symbols' sizes follow « emplois » and the legend gives them."""
    import pandas as pd

    pdf = tmp_path / "periodes.pdf"
    assert cli.main(["map", str(EXAMPLE), "-o", str(tmp_path / "c.html"), "--print", str(pdf),
                     "--periodes", "2010,2015,2020", "--taille", "emplois"]) == 0
    assert pages_of(pdf) == 2  # the periods, then the overview
    assert_fonts_embedded(pdf)
    table = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    located = table[table["latitude"] != ""]
    start = pd.to_numeric(located["annee"])
    end = pd.to_numeric(located["annee_fin"], errors="coerce")
    text = text_of(pdf, 1)
    for year in (2010, 2015, 2020):
        n = int(((start <= year) & ~(end < year)).sum())
        assert f"{year} : {n} site{'s' if n > 1 else ''} ouvert{'s' if n > 1 else ''}" in text
    assert "même cadre" in text and "Taille : Emplois" in text
    assert "20" in text.split("Taille : Emplois")[1]  # the largest size's value
    # refused with a clear message: periods without years, a size that is no indicator
    bare = tmp_path / "bare.csv"
    bare.write_text("nom;latitude;longitude\nA;48.9;2.35\n", encoding="utf-8")
    assert cli.main(["map", str(bare), "-o", str(tmp_path / "b.html"), "--print",
                     str(tmp_path / "b.pdf"), "--periodes", "2015"]) == 2
    assert "colonne d'année" in capsys.readouterr().err
    assert cli.main(["map", str(EXAMPLE), "-o", str(tmp_path / "d.html"), "--taille",
                     "nom"]) == 2
    err = capsys.readouterr().err
    assert "« nom »" in err and "--taille" in err
    assert cli.main(["map", str(EXAMPLE), "-o", str(tmp_path / "e.html"), "--print",
                     str(tmp_path / "e.pdf"), "--periodes", "2015,vingt"]) == 2
    assert "vingt" in capsys.readouterr().err
    assert not (tmp_path / "b.pdf").exists() and not (tmp_path / "e.pdf").exists()


def test_a_print_of_multi_valued_categories_has_a_legend_that_fits(tmp_path):
    """A Transiscope-like export: categories « A|B » and sixteen themes. The legend lists
    the values, never a raw « A|B », at most eight plus « Autres » and « Sans thème », says
    how a site with several counts, and every word lies inside the page."""
    import pandas as pd

    table = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    long = ["Économie Sociale et Solidaire", "Fabriquer, réparer, recycler, faire soi-même "
            "et transmettre les savoir-faire", "Se nourrir, produire et consommer local"]
    table["theme"] = [("|".join(long) if k % 3 == 0 else f"{long[1]}|{long[0]}" if k % 3 == 1
                       else f"thème numéro {k}") for k in range(len(table))]
    source = tmp_path / "transiscope.csv"
    table.to_csv(source, sep=";", index=False)
    pdf = tmp_path / "local.pdf"
    assert cli.main(["map", str(source), "-o", str(tmp_path / "c.html"), "--print",
                     str(pdf), "--format", "A4"]) == 0
    text = text_of(pdf)
    assert "|" not in text
    assert "Autres" in text and "plusieurs catégories" in text
    assert "Thème numéro" in text  # capitalised
    assert sum(f"Thème numéro {k} (" in text for k in range(len(table))) <= 8
    width, height = 841.89, 595.28
    for x0, y0, x1, y1, word in words_of(pdf, 1):
        assert x0 >= 0 and x1 <= width and y0 >= 0 and y1 <= height, word
    assert_no_word_over_another(pdf)


def test_a_national_print_names_the_main_cities_first(national):
    """The name hierarchy outranks the sites: France's main cities are named whatever
    the sites around them, each once, and no word covers another."""
    pdf = national / "france.pdf"
    text = text_of(pdf, 1)
    for city in ("Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Bordeaux", "Nantes",
                 "Strasbourg"):
        assert re.search(rf"\b{city}\b", text), city
    assert_no_word_over_another(pdf)


def test_an_atlas_page_names_the_towns_of_its_own_departement():
    """The names of a page with a département in focus are its own largest towns (the 93
    page: Saint-Denis, Montreuil, Aubervilliers, Aulnay-sous-Bois), not its neighbours'
    (Paris, Argenteuil), however close."""
    from geo.outlines import departements
    from geo.write.printnames import city_names

    deps = departements().set_index("code")
    outline = deps.geometry["93"]
    box = tuple(outline.buffer(0.1).bounds)
    names = [label.text for label in city_names(box, "EPSG:2154", False, (297, 210),
                                                  focus=outline)]
    assert {"Saint-Denis", "Montreuil", "Aubervilliers", "Aulnay-sous-Bois"} <= set(names)
    assert "Paris" not in names and "Argenteuil" not in names
    everything = [label.text for label in city_names(box, "EPSG:2154", False, (297, 210))]
    assert everything[0] == "Paris"  # without focus, the largest city of the frame first


def test_the_contents_of_a_long_atlas_stay_on_their_page(tmp_path):
    """101 areas: the contents page lists every one in columns, each line inside the page
    and no word over another (the overview's subtitle once ran off the page)."""
    from geo.write.atlas import contents_page
    from geo.write.drawnpages import write_drawings

    names = [f"Département numéro {k} ({k:02d})" for k in range(1, 102)]
    pdf = tmp_path / "sommaire.pdf"
    write_drawings(pdf, 1, lambda k: contents_page((297, 210), "Atlas national", names, 3),
                   metadata={})
    text = text_of(pdf)
    assert all(f"({k:02d})" in text for k in range(1, 102))
    assert "p. 103" in text
    for x0, y0, x1, y1, word in words_of(pdf, 1):
        assert x0 >= 0 and x1 <= 841.89 and y0 >= 0 and y1 <= 595.28, word
    assert_no_word_over_another(pdf)


def test_a_departement_print_frames_all_its_sites(tmp_path):
    """A study of Loire-Atlantique whose sites lie far from its quartiers (Machecoul,
    Clisson, Pornic): the frame holds every site, not only the quartiers' area, and names
    Nantes."""
    table = tmp_path / "creches.csv"
    table.write_text("id;nom;theme;latitude;longitude\n1;A;crèche;47.2184;-1.5536\n"
                     "2;B;crèche;47.2063;-1.5394\n3;C;crèche;46.9930;-1.8220\n"
                     "4;D;crèche;47.0870;-1.2800\n5;E;crèche;47.1150;-2.1020\n",
                     encoding="utf-8")
    pdf = tmp_path / "44.pdf"
    assert cli.main(["map", str(table), "-o", str(tmp_path / "c.html"), "--departement",
                     "44", "--print", str(pdf)]) == 0
    text = text_of(pdf, 1)
    assert "5 sites dans le cadre de la carte" in text, text[:400]
    assert "Nantes" in text
    assert_no_word_over_another(pdf)


def test_quartier_names_are_written_as_official_names():
    """Names of the bundled quartiers title-cased wholesale (« Porte De La Chapelle ») are
    drawn the official way on prints."""
    from geo.typography import place_name

    assert place_name("Porte De La Chapelle - Charles Hermite") == \
        "Porte de la Chapelle - Charles Hermite"
    assert place_name("Les Francs-Moisins - Bel Air") == "Les Francs-Moisins - Bel Air"


def test_the_periods_frame_holds_the_country_and_the_legend_no_total():
    """Panels of a national study share a frame holding Nord, the Mediterranean coast and
    Corsica; the legend's themes carry no count (the total matched no panel: each panel's
    title gives its own)."""
    from pyproj import Transformer

    from geo.initiatives import read_initiatives
    from geo.link import link
    from geo.qpv import load_qpv
    from geo.write.printmap import print_pages

    initiatives = read_initiatives(EXAMPLE)
    result = link(initiatives, load_qpv())
    page = print_pages(result, load_qpv(), theme_column=initiatives.theme_column,
                       measures=initiatives.measures, periods=[2010, 2020])[0]
    panels = [ax for ax in page.axes if ax.get_title().startswith(("2010", "2020"))]
    assert len(panels) == 2
    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    for lon, lat in ((3.06, 50.63), (8.74, 41.92), (2.89, 42.70), (7.27, 43.70)):
        x, y = to_l93.transform(lon, lat)  # Lille, Ajaccio, Perpignan, Nice
        for ax in panels:
            (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
            assert x0 <= x <= x1 and y0 <= y <= y1, (lon, lat)
    labels = [t.get_text() for legend in page.legends for t in legend.get_texts()]
    assert "Recyclerie" in labels and not any(label.startswith("Recyclerie (")
                                              for label in labels)


def test_proportional_circles_nest_by_relation_and_draw_the_largest_first():
    """Per commune, every site (outer circle), those within the distance and those
    implanted (inner circles), areas following the counts; the communes holding most sites
    drawn first so that the small circles stay on top; the legend's reference circles
    valued the French way (« 3 820 »)."""
    import numpy as np
    import pandas as pd

    from geo.write.printpages import new_figure
    from geo.write.printsymbols import counts_per_place, draw_circles, draw_reference

    place = pd.Series(["A", "B", "B", "B", "B", "", "C", "C"])
    relation = pd.Series(["none", "implanted", "nearby", "nearby", "none", "none",
                          "implanted", "implanted"])
    counts = counts_per_place(place, relation)
    assert counts.index.tolist() == ["B", "C", "A"]  # the busiest first, no place dropped
    assert counts.loc["B"].tolist() == [4, 3, 1]  # every site, within the distance, in
    assert counts.loc["C"].tolist() == [2, 2, 2]
    fig = new_figure((297, 210))
    ax = fig.add_axes((0, 0, 1, 1))
    outer = draw_circles(ax, np.zeros(3), np.zeros(3), counts, 4, 400.0)
    assert outer.tolist() == [400.0, 200.0, 100.0]  # areas, not diameters
    sizes = ax.collections[0].get_sizes().tolist()
    # B's three circles, then C's (its three counts equal), then A's: drawn in that order
    assert sizes == [400.0, 300.0, 100.0, 200.0, 200.0, 200.0, 100.0]
    reference = draw_reference(fig, (0.5, 0.5, 0.3, 0.3), 3820, 900.0, 7.0, "Sites")
    values = [t.get_text() for t in reference.texts]
    assert values[1] == "3\u202f820" and len(values) >= 3, values


def test_overseas_insets_are_named_by_their_cities(national):
    """An overseas inset names its main cities, not its quartiers nor every commune."""
    from geo.write.printlabels import Label
    from geo.write.printnames import CITY, inset_cities

    labels = [Label(CITY, "Saint-Denis", 0, 0, over_symbols=True),
              Label(CITY - 1, "Saint-Paul", 0, 0, over_symbols=True),
              Label(3000, "Ravine Blanche", 0, 0), Label(1003, "Le Port", 0, 0)]
    assert [label.text for label in inset_cities(labels, (297, 210))] == [
        "Saint-Denis", "Saint-Paul"]
    text = text_of(national / "france.pdf", 1)
    assert "Ravine Blanche" not in text and "Quartiers Ouest" not in text
