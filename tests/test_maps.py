"""Map building without a browser: assets, escaping, outputs."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from geo import cli
from geo._errors import InputError
from geo.initiatives import read_initiatives
from geo.link import link
from geo.qpv import load_qpv
from geo.write import assets
from geo.write.maps import (
    EMBED_PLACEHOLDER,
    SiteColumns,
    embed_snippet,
    focus_qpv,
    make_map,
    safe_url,
)
from geo.write.printmap import print_map
from tests.servers import ROOT_DATA

EXAMPLE = ROOT_DATA / "exemple" / "initiatives.csv"


@pytest.fixture(scope="module")
def example():
    initiatives = read_initiatives(EXAMPLE)
    qpv = load_qpv(departement="93")
    return initiatives, qpv, link(initiatives, qpv)


def render(example, **kw) -> str:
    initiatives, qpv, result = example
    fmap = make_map(result, qpv, theme_column=initiatives.theme_column,
                    name_column=initiatives.name_column, id_column=initiatives.id_column, **kw)
    return fmap.get_root().render()


def test_every_asset_the_page_loads_is_packaged(example):
    """Fails when a folium upgrade (or a new feature) writes an address nobody resolves."""
    urls = assets.external_assets(render(example))
    assert urls, "the page loads Leaflet from a CDN"
    unknown = [u for u in urls if assets.resolve(u) is None]
    assert unknown == []
    for cluster in (True, False):
        page = render(example, cluster=cluster)
        assert all(assets.resolve(u) for u in assets.external_assets(page))


def test_self_contained_page_has_no_external_script_or_style(example):
    page = assets.self_contained(render(example))
    assert assets.external_assets(page) == []
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', page)
    assert "data:image/png;base64" in page  # Leaflet's layer-control icon, from its CSS
    assert 'url("images/' not in page and "url(images/" not in page


def test_unknown_asset_offline_is_named(monkeypatch):
    monkeypatch.setattr(assets, "_cached_download", lambda url: None)
    page = '<script src="https://cdn.example.org/lib/plugin.js"></script>'
    with pytest.raises(assets.EssQpvError, match="plugin.js"):
        assets.self_contained(page)


@pytest.mark.parametrize(("value", "expected"), [
    ("https://exemple.org/a?b=1", "https://exemple.org/a?b=1"),
    ("www.exemple.org", "https://www.exemple.org"),
    ("javascript:alert(1)", ""), ("JaVaScRiPt:alert(1)", ""), ("data:text/html,x", ""),
    ('https://x.org/"><script>', ""), ("", ""), ("ftp://x.org", ""),
])
def test_safe_url(value, expected):
    assert safe_url(value) == expected


def test_user_text_cannot_close_the_script(example, tmp_path):
    path = tmp_path / "xss.csv"
    path.write_text("nom;theme;latitude;longitude\n"
                    "</script><script>alert(1)</script>;<b>gras</b>;48.936;2.358\n",
                    encoding="utf-8")
    initiatives = read_initiatives(path)
    qpv = example[1]
    page = make_map(link(initiatives, qpv), qpv, name_column="nom", theme_column="theme") \
        .get_root().render()
    assert "</script><script>alert(1)" not in page
    assert "<b>gras</b>" not in page  # the legend escapes it
    # escaped for HTML, then written inert in the page's JSON (& and < as JSON escapes)
    assert "\\u0026lt;b\\u0026gt;gras" in page


def test_focus_keeps_quartiers_near_the_sites(example):
    initiatives, _, _ = example
    everything = load_qpv()
    shown = focus_qpv(everything, initiatives.sites, margin=3000)
    assert 20 < len(shown) < len(everything) / 2
    assert {"QN07511M", "QN09338M", "QN03307M"} <= set(shown["code_qp"])


def test_embed_snippet_escapes():
    snippet = embed_snippet("carte.html", title="Carte <ESS> {{ 7*7 }} -->")
    assert '\n<iframe src="carte.html"' in snippet
    assert "-->" not in snippet.split("\n-->\n", 1)[0]  # the title cannot end the comment
    assert "Carte &lt;ESS&gt; &#123;&#123; 7*7 &#125;&#125;" in snippet
    assert 'height="600"' in snippet
    for url in ('carte".html', "javascript:alert(1)", " JavaScript:x", "data:text/html,x",
                "//evil.example/x"):
        with pytest.raises(InputError, match="refusée"):
            embed_snippet(url, title="x")


def test_embed_snippet_with_an_address_says_where_to_publish():
    snippet = embed_snippet("https://asso.example/cartes/ess.html", title="ESS",
                            published="ess-autonome.html")
    assert '<iframe src="https://asso.example/cartes/ess.html"' in snippet
    assert "publiez le fichier « ess-autonome.html »" in snippet
    assert "à l’adresse https://asso.example/cartes/ess.html" in snippet
    assert EMBED_PLACEHOLDER not in snippet


@pytest.mark.parametrize(("paper", "landscape", "size"), [("A4", True, (2338, 1653)),
                                                          ("A5", False, (1165, 1653))])
def test_print_png_size_and_content(example, tmp_path, paper, landscape, size):
    initiatives, qpv, result = example
    out = tmp_path / "carte.png"
    print_map(result, qpv, out, paper=paper, landscape=landscape,
              theme_column=initiatives.theme_column, bounds=tuple(qpv.total_bounds))
    image = Image.open(out).convert("L")
    assert image.size == size
    histogram = image.histogram()
    assert sum(histogram[:200]) > 0.02 * size[0] * size[1]  # not blank


def test_print_pdf_is_a4(example, tmp_path):
    initiatives, qpv, result = example
    out = tmp_path / "carte.pdf"
    print_map(result, qpv, out, theme_column=initiatives.theme_column)
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    box = re.search(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", data)
    assert box and (float(box.group(1)), float(box.group(2))) == pytest.approx(
        (841.89, 595.28), abs=0.5)


def test_cli_map_writes_all_outputs(tmp_path, capsys):
    out = tmp_path / "maps"
    argv = ["map", str(EXAMPLE), "-o", str(out / "carte.html"), "--departement", "93",
            "--self-contained", "--embed", str(out / "carte-iframe.html"),
            "--print", str(out / "carte.pdf"), "--format", "A5", "--title", "Exemple fictif"]
    assert cli.main(argv) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["carte-autonome.html", "carte-iframe.html", "carte.html", "carte.pdf"]
    snippet = (out / "carte-iframe.html").read_text(encoding="utf-8")
    # no public address given: a placeholder to replace, and the steps in French
    assert 'src="carte.html"' not in snippet
    assert f'src="{EMBED_PLACEHOLDER}carte-autonome.html"' in snippet
    assert "Publiez le fichier « carte-autonome.html »" in snippet
    assert "--embed-url" in snippet
    assert "Quartiers du territoire : 75 " in capsys.readouterr().out
    assert (out / "carte.html").stat().st_size < 500_000  # a département map stays small


def test_cli_map_refuses_a_non_html_output(tmp_path, capsys):
    assert cli.main(["map", str(EXAMPLE), "-o", str(tmp_path / "carte.png")]) == 2
    assert ".html" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_print_title_with_dollars_is_plain_text(example, tmp_path):
    initiatives, qpv, result = example
    out = tmp_path / "carte.svg"
    print_map(result, qpv, out, title="Budget 5$ et 10$ : _x_ ^2", theme_column="theme")
    assert "Budget 5$ et 10$ : _x_ ^2" in out.read_text(encoding="utf-8")


def test_map_without_any_located_site_is_refused(tmp_path, capsys):
    source = tmp_path / "vide.csv"
    source.write_text("nom;latitude;longitude\nA;;\nB;;\n", encoding="utf-8")
    assert cli.main(["map", str(source), "-o", str(tmp_path / "c.html")]) == 2
    assert "aucun site localisé" in capsys.readouterr().err
    assert not (tmp_path / "c.html").exists()


def test_2015_popups_carry_the_insee_population(example):
    initiatives, _, _ = example
    occitanie = load_qpv("bundled-2015-occitanie")
    qpv = load_qpv(departement="31")
    result = link(initiatives, qpv)
    from geo.qpv import load_key_figures

    page = make_map(result, qpv, previous=occitanie, key_figures=load_key_figures(),
                    theme_column="theme", name_column="nom").get_root().render()
    assert "Quartiers prioritaires 2015" in page
    assert '"figures":[["Population (INSEE)","1\u202f177 habitants"]]' in page  # QP009001


def test_pack_keeps_rings_and_holes_to_the_metre():
    import numpy as np
    import shapely

    from geo.write.maps import pack

    outer = shapely.box(2.35, 48.88, 2.36, 48.89)
    polygon = outer.difference(shapely.box(2.352, 48.882, 2.354, 48.884))
    multi = shapely.MultiPolygon([polygon, shapely.box(2.40, 48.90, 2.41, 48.91)])
    packed = pack(multi)
    assert [len(p) for p in packed] == [2, 1]  # exterior + hole, then a plain polygon
    for rings, part in zip(packed, multi.geoms, strict=True):
        for ring, original in zip(rings, [part.exterior, *part.interiors], strict=True):
            assert all(isinstance(v, int) for v in ring)
            coords = np.cumsum(np.asarray(ring).reshape(-1, 2), axis=0) / 1e5
            assert np.abs(coords - np.asarray(original.coords)).max() < 1e-5


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_twelve_themes_get_twelve_colours_and_twelve_shapes():
    from geo.write.mapstyle import marker_svg, theme_styles

    styles = list(theme_styles([f"thème {i}" for i in range(12)]).values())
    assert len({s.shape for s in styles}) == 12 and len({s.color for s in styles}) == 12
    for style in styles:
        svg = marker_svg(style)
        # every marker is outlined in near-black: ≥ 3:1 against the light backgrounds
        # (offline background, plain tiles), whatever its own colour (WCAG 1.4.11)
        assert 'stroke="#1a1a1a"' in svg
        for background in ("#f4f1ea", "#ffffff", "#e8e8e8"):
            assert _contrast("#1a1a1a", background) >= 3


def test_legend_classes_of_real_categories():
    """Multi-valued categories split (a site takes its first value that is a class), at
    most eight classes plus « Autres », largest first, one symbol per class, names
    capitalised once whatever their case; a column of codes is no theme."""
    import pandas as pd

    from geo.write.mapstyle import MAX_THEMES, NO_THEME, OTHER_THEMES, site_themes

    categories = (["Économie Sociale et Solidaire|Fabriquer, réparer, recycler"] * 6
                  + ["Se nourrir|Économie Sociale et Solidaire"] * 3
                  + ["se nourrir"] * 5 + ["Mobilité"] * 4
                  + [f"Catégorie {k}" for k in range(10) for _ in range(2)] + ["", "  "])
    sites = pd.DataFrame({"cat": categories})
    themes, styles = site_themes(sites, "cat")
    assert not themes.str.contains("|", regex=False).any()
    assert themes.attrs["several"]
    assert len(styles) <= MAX_THEMES + 2 and list(styles)[-2:] == [OTHER_THEMES, NO_THEME]
    classes = [t for t in styles if t not in (OTHER_THEMES, NO_THEME)]
    assert classes[:3] == ["Se nourrir", "Économie Sociale et Solidaire", "Mobilité"]
    counts = themes.value_counts()
    assert counts["Économie Sociale et Solidaire"] == 6  # first value of its sites
    assert counts["Se nourrir"] == 8  # « Se nourrir|… » and « se nourrir »: one class
    assert counts[NO_THEME] == 2 and counts[OTHER_THEMES] > 0
    assert [counts[t] for t in classes] == sorted((counts[t] for t in classes), reverse=True)
    symbols = [(s.color, s.shape) for s in styles.values()]
    assert len(set(symbols)) == len(symbols)  # no two classes share a symbol
    codes = pd.DataFrame({"code": [f"{93000 + k}" for k in range(200)]})
    themes, styles = site_themes(codes, "code")
    assert list(styles) == [NO_THEME] and (themes == NO_THEME).all()


def test_the_map_says_each_relation_as_the_tables_do(example):
    """One label per relation (geo.vocabulary): the page's table, written in the page and
    rebuilt by its script, says « hors QPV » as the Excel report and the CSV do (it said
    « hors quartier »)."""
    import json

    from geo.vocabulary import Relation

    html = render(example)
    sent = re.search(r"window\.essqpv\.RELATIONS = (\{.*?\});", html)
    assert sent and json.loads(sent.group(1)) == {str(r): r.label for r in Relation}
    assert "hors quartier" not in html.lower(), "the popups say it as the tables do too"
    relations = set(example[2].sites["relation"].astype(str))
    for relation in relations & {"implanted", "nearby", "none"}:
        assert f"<td>{Relation(relation).label}</td>" in html


def test_popup_address_says_the_postcode_once(tmp_path):
    """A real export's address line already holding its postcode and commune: the popup
    does not append them again (« … 93200 Saint-Denis 93200 Saint-Denis »)."""
    table = tmp_path / "annuaire.csv"
    table.write_text("nom;adresse;code_postal;commune;latitude;longitude\n"
                     "Lieu;2 rue Ernest Renan 93200 Saint-Denis;93200;Saint-Denis;"
                     "48.9205;2.3601\n", encoding="utf-8")
    initiatives = read_initiatives(table)
    qpv = load_qpv(departement="93")
    fmap = make_map(link(initiatives, qpv), qpv, name_column=initiatives.name_column,
                    address_columns=initiatives.address_columns)
    html = fmap.get_root().render()
    assert "2 rue Ernest Renan 93200 Saint-Denis" in html
    assert "Saint-Denis 93200" not in html


def _without_ids(page: str) -> str:
    """A page with folium's random element names made alike."""
    return re.sub(r"_[0-9a-f]{32}", "_", page)


def test_the_detected_columns_draw_the_map_the_options_named_one_by_one_did(example):
    """The Initiatives read carry their columns to the map (one ``Columns`` from the
    detection); the six options naming one column each still work, over them."""
    initiatives, qpv, result = example
    by_options = make_map(result, qpv, theme_column=initiatives.theme_column,
                          name_column=initiatives.name_column, id_column=initiatives.id_column,
                          address_columns=initiatives.address_columns,
                          website_column=initiatives.website_column)
    by_columns = make_map(result, qpv, columns=initiatives)
    assert initiatives.theme_column and initiatives.address_columns
    assert _without_ids(by_columns.get_root().render()) == \
        _without_ids(by_options.get_root().render())
    assert SiteColumns.of(initiatives, name_column="autre").name == "autre"
    assert SiteColumns.of(initiatives).address == tuple(initiatives.address_columns)
    with pytest.raises(TypeError):
        make_map(result, qpv, colour_column="theme")
