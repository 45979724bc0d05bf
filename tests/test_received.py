"""A study folder received from someone else, run as is, changes nothing outside it and
sends nothing anywhere without the person's say (issue 30, items 4 and 5): paths that leave
the folder (``..``, symbolic links), special files, a study file's own geocoder."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from geo._errors import InputError
from geo.confine import inside, regular_file
from tests.servers import ROOT_DATA
from tests.test_shared_folders import ess_qpv
from tests.web import WebServer

EXAMPLE = ROOT_DATA / "exemple" / "initiatives.csv"


def received(folder: Path, *, study: str = "", table: str = "initiatives.csv") -> Path:
    """A study folder as a colleague would send it: its table and a study file that asks
    for the enriched table and the report only (``study`` adds lines)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE, folder / "initiatives.csv")
    (folder / "etude.toml").write_text(
        f'[entrees]\ninitiatives = "{table}"\n{study}\n[sorties]\ncarte_impression = ""\n'
        'carte = ""\ncarte_autonome = ""\nintegration = ""\n', encoding="utf-8")
    return folder


def private_table(tmp_path: Path) -> Path:
    private = tmp_path / "prive" / "beneficiaires.csv"
    private.parent.mkdir()
    shutil.copy(EXAMPLE, private)
    return private


# --------------------------------------------------------------------------- paths


def test_a_study_file_cannot_read_a_table_outside_its_folder(tmp_path):
    private_table(tmp_path)
    folder = received(tmp_path / "recu", table="../prive/beneficiaires.csv")
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2, done.stderr
    assert "hors du dossier de l'étude" in done.stderr
    assert "--autoriser-hors-dossier" in done.stderr and "Traceback" not in done.stderr
    assert not (folder / "resultats").exists()
    # the person who made the folder may allow it
    done = ess_qpv("run", folder / "etude.toml", "--autoriser-hors-dossier")
    assert done.returncode == 0, done.stderr
    assert (folder / "resultats" / "rapport.xlsx").is_file()


@pytest.mark.parametrize("key", ["initiatives", "corrections", "chiffres_cles"])
def test_a_link_inside_the_folder_to_a_file_outside_is_refused(tmp_path, key):
    private = private_table(tmp_path)
    folder = received(tmp_path / "recu")
    (folder / "lien.csv").symlink_to(private)
    study = (folder / "etude.toml").read_text(encoding="utf-8")
    line = {"initiatives": None, "corrections": '[geocodage]\ncorrections = "lien.csv"\n',
            "chiffres_cles": '[quartiers]\nchiffres_cles = "lien.csv"\n'}[key]
    if line is None:
        study = study.replace('initiatives = "initiatives.csv"', 'initiatives = "lien.csv"')
    else:
        study += line
    (folder / "etude.toml").write_text(study, encoding="utf-8")
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2, done.stderr
    assert "lien symbolique" in done.stderr and str(private) in done.stderr
    assert not (folder / "resultats").exists()


def test_fiches_never_land_in_a_linked_folder(tmp_path):
    """The red team's case: ``resultats/fiches`` is a link to a folder of photos; the fiche
    maps would have overwritten a file of the same name there."""
    photos = tmp_path / "photos"
    photos.mkdir()
    mine = photos / "photo-2023.png"
    mine.write_bytes(b"une photo")
    folder = received(tmp_path / "recu")
    text = (folder / "etude.toml").read_text(encoding="utf-8")
    (folder / "etude.toml").write_text(text + 'fiches = "fiches.pdf"\n', encoding="utf-8")
    (folder / "resultats").mkdir()
    (folder / "resultats" / "fiches").symlink_to(photos, target_is_directory=True)
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2, done.stderr
    assert "dossier des cartes des fiches" in done.stderr and "lien symbolique" in done.stderr
    assert sorted(p.name for p in photos.iterdir()) == ["photo-2023.png"]
    assert mine.read_bytes() == b"une photo"
    assert not (folder / "resultats" / "fiches.pdf").exists()


def test_a_results_folder_linked_elsewhere_is_refused(tmp_path):
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    folder = received(tmp_path / "recu")
    (folder / "resultats").symlink_to(elsewhere, target_is_directory=True)
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2, done.stderr
    assert "sortirait du dossier" in done.stderr or "hors du dossier" in done.stderr
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("hostile", ["../prive/x.csv", "=1+1", "<script>", "{{ 7*7 }}"])
def test_hostile_paths_in_a_study_file_are_named_never_followed(tmp_path, hostile):
    private_table(tmp_path)
    folder = received(tmp_path / "recu", table=hostile)
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1  # one French line
    assert not (folder / "resultats").exists()


def test_inside_follows_links_and_dots(tmp_path):
    root = tmp_path / "etude"
    (root / "a").mkdir(parents=True)
    assert inside(root / "a" / "b.csv", root, what="x") == root / "a" / "b.csv"
    with pytest.raises(InputError, match="hors du dossier"):
        inside(root / "a" / ".." / ".." / "b.csv", root, what="x")
    (root / "lien").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(InputError, match="lien symbolique"):
        inside(root / "lien" / "b.csv", root, what="x")
    # no folder (``ess-qpv link``) or the person's say: anywhere
    assert inside(tmp_path / "b.csv", None, what="x") == tmp_path / "b.csv"
    assert inside(tmp_path / "b.csv", root, what="x", allowed=True) == tmp_path / "b.csv"


# --------------------------------------------------------------------------- special files


def test_a_table_that_is_a_device_is_never_read(tmp_path):
    """A ``.csv`` link to ``/dev/zero`` grew the memory until the kernel killed the run."""
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    start = time.monotonic()
    done = ess_qpv("link", tmp_path / "zero.csv", "-o", tmp_path / "sortie.csv")
    assert done.returncode == 2, done.stderr
    assert "pas un fichier ordinaire" in done.stderr and "périphérique" in done.stderr
    assert time.monotonic() - start < 60
    assert not (tmp_path / "sortie.csv").exists()


def test_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "tube.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="tube"):
        regular_file(fifo, what="le tableau")
    done = ess_qpv("geocode", fifo, "-o", tmp_path / "sortie.csv", timeout=60)
    assert done.returncode == 2 and "tube" in done.stderr, done.stderr


# --------------------------------------------------------------------------- the geocoder


def test_a_study_files_own_geocoder_gets_nothing_without_the_persons_say(tmp_path, server):
    server.set("/search/csv/", {"status": 503, "body": b"indisponible"})
    server.set("/search/", {"status": 503, "body": b"indisponible"})
    folder = received(tmp_path / "recu",
                      study=f'[geocodage]\nen_ligne = true\nurl = "{server.url}"\n')
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2, done.stderr
    assert server.url in done.stderr and "--geocodeur-du-fichier" in done.stderr
    assert server.requests == [] and not (folder / "resultats").exists()
    done = ess_qpv("run", folder / "etude.toml", "--geocodeur-du-fichier")
    # accepted: the addresses went there (this server fails, and says so)
    assert server.hits("/search/csv/") > 0
    assert "n’est pas le service national" not in done.stderr


def test_the_national_geocoder_needs_no_confirmation(tmp_path):
    from geo.studyfile import load_study

    folder = received(tmp_path / "recu", study='[geocodage]\nen_ligne = true\n'
                                               'url = "https://api-adresse.data.gouv.fr/"\n')
    assert load_study(folder / "etude.toml").geocoding.confirmed
    other = received(tmp_path / "autre", study='[geocodage]\nen_ligne = true\n'
                                               'url = "http://127.0.0.1:9"\n')
    assert not load_study(other / "etude.toml").geocoding.confirmed


def test_the_web_page_asks_before_a_received_folders_geocoder(tmp_path, server,
                                                              isolated_cache):
    server.set("/search/csv/", {"status": 503, "body": b"indisponible"})
    server.set("/search/", {"status": 503, "body": b"indisponible"})
    root = tmp_path / "etudes"
    folder = received(root / "recue", study=f'[geocodage]\nen_ligne = true\n'
                                            f'url = "{server.url}"\n')
    web = WebServer(root, isolated_cache)
    try:
        client = web.session()
        page = client.page("/etudes/recue/parametres")
        assert page.status_code == 200
        assert "vous ne l’avez pas encore accepté" in page.text and server.url in page.text
        # « Lancer » as is: the run stops before any address is sent
        client.post_form("/etudes/recue/lancer")
        state = client.wait("recue")
        assert state["etat"] == "erreur" and server.url in state["message"], state
        assert server.requests == []
        # saving without the box is refused, with the box the run may send addresses
        form = {"titre": "Reçue", "source": "bundled-2024", "distance": "300",
                "en_ligne": "oui", "url": server.url, "score": "0.5", "format": "A4",
                "format_fiches": "A4", "action": "enregistrer"}
        refused = client.post_form("/etudes/recue/parametres", form)
        assert refused.status_code == 400 and "cochez la case" in refused.text
        client.page("/etudes/recue/parametres")
        saved = client.post_form("/etudes/recue/parametres",
                                 {**form, "accepter_geocodeur": "oui", "action": "lancer"})
        assert saved.status_code in (200, 302, 303)
        state = client.wait("recue")
        assert "n’est pas le service national" not in state.get("message", ""), state
        assert server.hits("/search/csv/") > 0
    finally:
        web.stop()
    # a copy of the folder (another server, another key) carries no acceptance
    assert (folder / ".ess-qpv" / "geocodeur-accepte").is_file()


# --------------------------------------------------------------------------- red team, round 2


def test_a_vrt_renamed_geojson_is_never_read(tmp_path):
    """GDAL decides a file's format by its content: a « .geojson » holding a VRT read
    another folder's table (and could name a URL)."""
    private = private_table(tmp_path)
    folder = received(tmp_path / "recu", table="init.geojson")
    (folder / "init.geojson").write_text(
        f'<OGRVRTDataSource><OGRVRTLayer name="pts"><SrcDataSource>{private}</SrcDataSource>'
        '<GeometryType>wkbPoint</GeometryType><LayerSRS>EPSG:4326</LayerSRS>'
        '<GeometryField encoding="PointFromColumns" x="longitude" y="latitude"/>'
        '</OGRVRTLayer></OGRVRTDataSource>', encoding="utf-8")
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2 and "n'est pas du GeoJSON" in done.stderr, done.stderr
    assert not (folder / "resultats").exists()


@pytest.mark.parametrize("where", ["initiatives", "source"])
def test_a_geojson_crs_link_is_never_fetched(tmp_path, server, where):
    server.set("/crs", {"body": b"+proj=longlat +datum=WGS84"})
    feature = ('{"type":"Feature","properties":{"nom":"A","code_qp":"QX1","nom_qp":"X"},'
               '"geometry":{"type":"Polygon","coordinates":[[[2.35,48.93],[2.36,48.93],'
               '[2.36,48.94],[2.35,48.93]]]}}')
    text = ('{"type":"FeatureCollection","crs":{"type":"link","properties":{"href":"'
            f'{server.url}/crs","type":"proj4"}},"features":[{feature}]}}')
    if where == "initiatives":
        folder = received(tmp_path / "recu", table="init.geojson")
        (folder / "init.geojson").write_text(text, encoding="utf-8")
    else:
        folder = received(tmp_path / "recu", study='[quartiers]\nsource = "qpv.geojson"\n')
        (folder / "qpv.geojson").write_text(text, encoding="utf-8")
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2 and "« link »" in done.stderr, done.stderr
    assert server.requests == []


@pytest.mark.parametrize("key", ["source", "comparer"])
def test_a_study_files_url_is_not_downloaded_without_the_persons_say(tmp_path, server, key):
    server.set("/qpv.geojson", {"status": 404})
    folder = received(tmp_path / "recu",
                      study=f'[quartiers]\n{key} = "{server.url}/qpv.geojson"\n')
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2 and "rien n'a été téléchargé" in done.stderr, done.stderr
    assert "--autoriser-hors-dossier" in done.stderr and server.requests == []


def test_a_streamed_study_checks_its_quartiers_file_too(tmp_path):
    outside = tmp_path / "prive"
    outside.mkdir()
    shutil.copy(ROOT_DATA / "qpv2015_occitanie.geojson.gz", outside / "qpv.geojson.gz")
    folder = received(tmp_path / "recu", study='[quartiers]\nsource = '
                                               '"../prive/qpv.geojson.gz"\n')
    text = (folder / "etude.toml").read_text(encoding="utf-8").replace(
        "[entrees]\n", "[entrees]\npar_morceaux = true\n")
    text = text.replace('[sorties]\n', '[sorties]\nrapport = ""\nprovenance = ""\n')
    (folder / "etude.toml").write_text(text, encoding="utf-8")
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2 and "hors du dossier" in done.stderr, done.stderr


def test_a_shapefiles_side_files_stay_inside_too(tmp_path):
    import geopandas as gpd
    import shapely

    outside = tmp_path / "prive"
    outside.mkdir()
    frame = gpd.GeoDataFrame({"nom": ["SECRET"]}, geometry=[shapely.Point(2.35, 48.93)],
                             crs=4326)
    frame.to_file(outside / "o.shp")
    folder = received(tmp_path / "recu", table="init.shp")
    for suffix in (".shp", ".shx", ".prj"):
        shutil.copy(outside / f"o{suffix}", folder / f"init{suffix}")
    (folder / "init.dbf").symlink_to(outside / "o.dbf")
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2 and "lien symbolique" in done.stderr, done.stderr
    assert not (folder / "resultats").exists()


def test_a_study_file_that_is_a_link_does_not_move_the_study(tmp_path):
    (tmp_path / "prive").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "prive" / "benef.csv")
    (tmp_path / "x.toml").write_text('[entrees]\ninitiatives = "prive/benef.csv"\n',
                                     encoding="utf-8")
    folder = tmp_path / "recu2"
    folder.mkdir()
    (folder / "etude.toml").symlink_to(tmp_path / "x.toml")
    done = ess_qpv("run", folder / "etude.toml")
    assert done.returncode == 2, done.stderr
    assert not (tmp_path / "resultats").exists() and not (folder / "resultats").exists()
