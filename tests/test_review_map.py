"""The review page for people (issue 31, item 7): each doubtful site is named with its
address, and its small map works with the network cut off — the bundled outlines around
the site (départements, communes, quartiers) served by the app, centred on the site's point
or on the commune its address names, a click placing the point where it is clicked."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pandas as pd
import pytest
import shapely

from geo.placecheck import address_area
from geo.qpv import load_qpv
from tests.browser import axe_violations, htmlcs_errors
from tests.servers import TEST_DATA
from tests.web import WebServer

#: A real Base Adresse Locale (Mont-Bonvillers, 54084).
BAL = TEST_DATA / "adresses-54084.csv"


@pytest.fixture
def web(tmp_path, isolated_cache):
    server = WebServer(tmp_path / "etudes", isolated_cache)
    yield server
    server.stop()


def isere_quartier_point() -> tuple[float, float]:
    """A point inside a real quartier of Isère (38)."""
    qpv = load_qpv()
    inside = qpv[qpv["insee_dep"] == "38"].geometry.iloc[0].representative_point()
    return inside.x, inside.y


def review_table() -> str:
    """Real addresses: one whose coordinates fall in a quartier of Isère while its address
    says Vénissieux (69200), two without coordinates (nothing is geocoded here): one in
    Vénissieux, whose outline is bundled, one in Mont-Bonvillers (54910), whose
    département alone is; and one placed where its commune published it (not reviewed)."""
    bal = pd.read_csv(BAL, sep=";", dtype=str, keep_default_na=False)
    x, y = isere_quartier_point()
    first, second = bal.iloc[0], bal.iloc[1]
    rows = [
        ["V1", "Régie de quartier", "5 avenue Jean Jaurès", "69200", "Vénissieux",
         f"{y:.6f}", f"{x:.6f}"],
        ["V2", "Atelier vélo", "2 rue de la Paix", "69200", "Vénissieux", "", ""],
        ["M1", "Jardin partagé", f"{first['numero']} {first['voie_nom']}", "54910",
         first["commune_nom"], "", ""],
        ["M2", "Recyclerie", f"{second['numero']} {second['voie_nom']}", "54910",
         second["commune_nom"], second["lat"], second["long"]],
    ]
    lines = ["id;nom;adresse;code_postal;commune;latitude;longitude"]
    lines += [";".join(r) for r in rows]
    return "\n".join(lines) + "\n"


def run_study_offline(client, table: str) -> str:
    """A study of ``table`` made and run through the pages, geocoding off."""
    client.page("/nouvelle")
    r = client.post_form("/nouvelle", {"nom": "relecture hors ligne"})
    slug = r.url.rstrip("/").split("/")[-2]
    client.page(f"/etudes/{slug}/import")
    client.post(f"{client.base}/etudes/{slug}/import", data={"csrf_token": client.token},
                files={"tableau": ("sites.csv", table.encode())}, timeout=60)
    client.page(f"/etudes/{slug}/parametres")
    r = client.post_form(f"/etudes/{slug}/parametres", {
        "source": "bundled-2024", "distance": "300", "score": "0.6", "format": "A4",
        "action": "lancer"})
    assert r.status_code == 200, r.text
    assert client.wait(slug)["etat"] == "termine"
    return slug


def offline_page(browser, web):
    """A tab that reaches our server only: tiles and every other address are refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    ours = urlsplit(web.url).netloc
    page.route("**/*", lambda route: route.continue_()
               if urlsplit(route.request.url).netloc == ours else route.abort())
    return context, page, errors


def test_each_item_is_named_and_its_map_draws_the_outlines_offline(browser, web):
    client = web.session()
    slug = run_study_offline(client, review_table())
    context, page, errors = offline_page(browser, web)
    page.goto(web.url + f"/etudes/{slug}/relecture")
    sections = page.locator("section.relecture")
    assert sections.count() == 3
    headings = [h.strip() for h in page.locator("section.relecture h2").all_inner_texts()]
    assert any("Régie de quartier" in h and "5 avenue Jean Jaurès" in h for h in headings)
    assert any("Jardin partagé" in h and "54910" in h for h in headings), headings
    maps = {}
    for key, name in (("V1", "Régie"), ("V2", "Atelier"), ("M1", "Jardin")):
        section = sections.filter(has_text=name)
        box = section.locator(".mini-carte")
        box.scroll_into_view_if_needed()
        page.wait_for_selector(f"#{box.get_attribute('id')}[data-pret=oui]", timeout=20_000)
        paths = box.locator(".leaflet-overlay-pane path")
        assert paths.count() > 0, f"{key}: no outline drawn"
        maps[key] = (section, box)
    assert errors == []
    # the contradicted site: centred on its own point, in Isère
    x, y = isere_quartier_point()
    centre = page.evaluate("id => window.essqpvRelecture[id].getCenter()",
                           maps["V1"][1].get_attribute("id"))
    assert abs(centre["lat"] - y) < 1e-4 and abs(centre["lng"] - x) < 1e-4
    # sites without a point: framed on the commune, or the département, their address names
    for key, postcode, city in (("V2", "69200", "Vénissieux"), ("M1", "54910", "")):
        box = maps[key][1]
        centre = page.evaluate("id => window.essqpvRelecture[id].getCenter()",
                               box.get_attribute("id"))
        place = address_area(postcode=postcode, city=city)
        framed = shapely.Point(centre["lng"], centre["lat"])
        assert place.envelope.buffer(0.03).contains(framed), key
    # a click puts in the fields the point under the pixel clicked, on the map's own reading
    for key in ("V2", "M1", "V1"):
        section, box = maps[key]
        for x_px, y_px in ((40, 30), (250, 170)):
            box.click(position={"x": x_px, "y": y_px})
            lat = float(section.get_by_label("Latitude").input_value())
            lon = float(section.get_by_label("Longitude").input_value())
            # the map's own reading of the fields, back to a pixel of its box: the one
            # clicked (within the pixel that sub-pixel layout may round to)
            found = page.evaluate(
                "([id, p]) => window.essqpvRelecture[id].latLngToContainerPoint(p)",
                [box.get_attribute("id"), [lat, lon]])
            assert abs(found["x"] - x_px) <= 1 and abs(found["y"] - y_px) <= 1, found
        if key == "V2":  # in Vénissieux, not the middle of France
            assert address_area(postcode="69200", city="Vénissieux").buffer(0.05).contains(
                shapely.Point(lon, lat))
        marker = box.locator(".leaflet-marker-pane img")
        assert marker.count() == 1
    violations = axe_violations(page) + htmlcs_errors(page)
    assert violations == [], violations
    context.close()


def test_the_background_is_the_surroundings_only(web):
    """What a small map receives: the outlines near its site, a few dozen kilobytes, each
    feature named by its layer; a key the review does not hold is not found."""
    client = web.session()
    slug = run_study_offline(client, review_table())
    page = client.page(f"/etudes/{slug}/relecture").text
    urls = re.findall(r'data-fond="([^"]+)"', page)
    assert len(urls) == 3
    for url in urls:
        r = client.get(web.url + url, timeout=30)
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
        assert len(r.content) < 300_000
        data = json.loads(r.content)
        layers = {f["properties"]["couche"] for f in data["contours"]["features"]}
        assert "adresse" in layers  # each address names a place, outlined
    contradicted = json.loads(client.get(web.url + urls[0], timeout=30).content)
    x, y = isere_quartier_point()
    assert contradicted["point"] == pytest.approx([y, x], abs=1e-6)
    layers = {f["properties"]["couche"] for f in contradicted["contours"]["features"]}
    # around the point, the quartier of Isère it falls in; around the address, the
    # quartiers of Vénissieux and the commune's outline, apart
    codes = {f["properties"]["code"] for f in contradicted["contours"]["features"]
             if f["properties"]["couche"] == "quartier"}
    assert any(c.startswith("QN038") for c in codes) and "QN06913M" in codes, codes
    assert {"commune", "quartier", "adresse"} <= layers
    assert client.get(web.url + urls[0].replace("ligne-", "ligne-0"),
                      timeout=30).status_code == 404


@pytest.mark.parametrize(("row", "framed"), [
    ({"adresse_saisie": "5 avenue Jean Jaurès 69200 Vénissieux"}, "69259"),
    ({"adresse_saisie": "12 rue Y 69200 Vénissieux CEDEX 05"}, "69259"),
    ({"adresse_saisie": "10 rue Z 69200 Vénissieux, France"}, "69259"),
    ({"adresse_saisie": "1070 rue X, 69200"}, "69"),
    ({"adresse_saisie": "999 zzz qqq"}, None),
])
def test_a_site_without_a_point_is_framed_on_the_place_its_address_names(row, framed):
    from geo.outlines import communes, departements
    from geo.write import reviewmap

    view = reviewmap.view_of(row)
    assert view.point is None
    (south, west), (north, east) = view.bounds
    if framed is None:  # nothing named: mainland France, départements only
        assert (west, south, east, north) == reviewmap.MAINLAND
        return
    frame = communes() if len(framed) == 5 else departements()
    place = frame[frame["code"] == framed].geometry.iloc[0]
    assert shapely.box(west, south, east, north).contains(place)
    assert shapely.box(west, south, east, north).area < place.envelope.buffer(0.05).area


def test_a_point_written_the_french_way_is_shown_there():
    from geo.write import reviewmap

    view = reviewmap.view_of({"latitude_proposee": "45,1495", "longitude_proposee": "5,700008",
                              "latitude": "", "adresse_saisie": "=1+1 <script>"})
    assert view.point == (45.1495, 5.700008)
    placed = reviewmap.view_of({"latitude": "45.7", "longitude": "4.88",
                                "latitude_proposee": "45,1495", "longitude_proposee": "5,7"})
    assert placed.point == (45.7, 4.88)  # the person's point first
