"""Study folders that can be shared safely, runs that are all-or-nothing, counts that are
never silently wrong: a received folder runs no code, CSV outputs hold no formula, a failed
or cancelled run leaves the previous results whole, mistakes end in one French line."""

from __future__ import annotations

import contextlib
import csv
import json
import shutil
import subprocess
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from geo import cli
from geo.io import inert
from geo.studyfile import load_study
from geo.web import jobs
from tests.outputs import read_output
from tests.servers import ROOT_DATA

EXAMPLE = ROOT_DATA / "exemple" / "initiatives.csv"
#: Cells that a spreadsheet would run as formulas (OWASP's examples), and what must stay.
FORMULAS = ['=HYPERLINK("http://evil.example","clic")', "+cmd|' /C calc'!A0", "-2+3+cmd",
            "@SUM(1+1)*cmd", "=1+1"]


# --------------------------------------------------------------------------- helpers


def hostile_code(folder: Path, mark: Path) -> None:
    """Modules that would shadow the standard library and our package if the folder were
    on the import path: each one writes ``mark`` when imported."""
    touch = f"open({str(mark)!r}, 'a').write(__name__ + '\\n')\n"
    for name in ("tomllib.py", "json.py", "csv.py", "pandas.py"):
        (folder / name).write_text(touch, encoding="utf-8")
    (folder / "geo").mkdir()
    (folder / "geo" / "__init__.py").write_text(touch, encoding="utf-8")
    (folder / "geo" / "web").mkdir()
    for name in ("__init__.py", "jobs.py"):
        (folder / "geo" / "web" / name).write_text(touch, encoding="utf-8")


def study_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE, folder / "initiatives.csv")
    (folder / "etude.toml").write_text(
        '[etude]\ntitre = "Étude reçue"\n[entrees]\ninitiatives = "initiatives.csv"\n'
        '[sorties]\ncarte_impression = ""\ncarte = ""\ncarte_autonome = ""\n'
        'integration = ""\n', encoding="utf-8")
    return folder


def assert_inert(path: Path) -> None:
    """No cell or header of the CSV at ``path`` is read as a formula by a spreadsheet."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f, delimiter=";"):
            for cell in row:
                if cell[:1] in ("=", "+", "@", "\t", "\r"):
                    raise AssertionError(f"{path.name}: formula cell {cell!r}")
                if cell[:1] == "-":
                    float(cell.replace(",", "."))  # only a negative number may start so


def ess_qpv(*argv, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which("ess-qpv"), *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


# --------------------------------------------------------------------------- code from data


def test_a_received_folder_runs_no_code_through_run(tmp_path):
    folder = study_folder(tmp_path / "recue")
    mark = tmp_path / "EXECUTED"
    hostile_code(folder, mark)
    done = ess_qpv("run", "etude.toml", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert not mark.exists()
    assert (folder / "resultats" / "rapport.xlsx").is_file()


def test_a_received_folder_runs_no_code_through_the_job_process(tmp_path):
    """What « Lancer » does: a job process for the folder."""
    folder = study_folder(tmp_path / "recue")
    mark = tmp_path / "EXECUTED"
    hostile_code(folder, mark)
    jobs.start(folder, mark="m")
    try:
        for _ in range(600):
            if not jobs.running(folder):
                break
            time.sleep(0.1)
        state = jobs.state(folder)
    finally:
        jobs.suspend()
    assert state["etat"] == jobs.DONE, (folder / ".ess-qpv" / "journal.txt").read_text()
    assert not mark.exists()
    assert "-P" in jobs.command(folder)


def test_only_runs_this_server_started_are_resumed(tmp_path):
    """A folder received with a run « en cours » is not resumed (nor its code run); one
    that this server started and a restart interrupted is."""
    received = study_folder(tmp_path / "etudes" / "recue")
    mine = study_folder(tmp_path / "etudes" / "mienne")
    mark = tmp_path / "EXECUTED"
    hostile_code(received, mark)
    hostile_code(mine, mark)
    for folder, who in ((received, "un autre serveur"), (mine, "moi")):
        jobs.write_state(folder, etat=jobs.RUNNING, pid=None, debut=time.time(),
                         serveur=None if who != "moi" else f"mark:{folder.resolve()}")
    try:
        restarted = jobs.resume(tmp_path / "etudes", lambda f: f"mark:{f.resolve()}")
        assert restarted == [tmp_path / "etudes" / "mienne"]
        for _ in range(600):
            if not jobs.running(mine):
                break
            time.sleep(0.1)
    finally:
        jobs.suspend()
    assert jobs.state(mine)["etat"] == jobs.DONE
    left = jobs.state(received)
    assert left["etat"] == jobs.CANCELLED and "interrompue ailleurs" in left["message"]
    assert not (received / "resultats").exists() and not mark.exists()


# --------------------------------------------------------------------------- inert CSV


def formula_table(tmp_path: Path) -> Path:
    """Sites whose text cells, identifiers and one header would be formulas."""
    rows = [["id_initiative", "nom", "theme", "adresse", "code_postal", "commune", "latitude",
             "longitude", "=x"]]
    rows += [[p, p, p, p, "93200", "Saint-Denis", "48.9362", "2.3596", p] for p in FORMULAS]
    rows.append(["ok", "Sans formule", "-3.5", "", "33000", "Bordeaux", "44.8378", "-0.5792",
                 "-3.5"])
    path = tmp_path / "formules.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=";").writerows(rows)
    return path


def test_inert_keeps_numbers_and_marks_formulas():
    frame = pd.DataFrame({"a": [*FORMULAS, "-3.5", "-", "ok", None], "n": range(9)})
    out = inert(frame)
    assert list(out["a"][:5]) == ["'" + f for f in FORMULAS]
    assert list(out["a"][5:8]) == ["-3.5", "'-", "ok"] and pd.isna(out["a"][8])
    assert list(out["n"]) == list(range(9))


def test_no_csv_output_holds_a_formula(tmp_path, capsys):
    table = formula_table(tmp_path)
    out = tmp_path / "sorties"
    assert cli.main(["link", str(table), "-o", str(out / "sites.csv"), "--long",
                     str(out / "detail.csv"), "--per-initiative", str(out / "init.csv"),
                     "--per-qpv", str(out / "q.csv"), "--per-territory",
                     str(out / "t.csv")]) == 0
    assert cli.main(["link", str(table), "-o", str(out / "flux.csv"), "--flux"]) == 0
    written = sorted(out.glob("*.csv"))
    assert len(written) == 6
    for path in written:
        assert_inert(path)
    # read back by the tool, the cells are what was typed
    from geo.initiatives import read_table

    back = read_table(out / "sites.csv")[0]
    assert list(back["nom"][:5]) == FORMULAS and "=x" in back.columns


def test_review_and_corrections_files_are_inert_and_read_back(tmp_path, addok):
    table = tmp_path / "a.csv"
    table.write_text("id;adresse;commune\n=1+1;999 zzz qqq;Nulle Part\n"
                     "@x;3 Allée de l'Exemple Fictif;Saint-Denis\n", encoding="utf-8")
    out, review = tmp_path / "g.csv", tmp_path / "revue.csv"
    assert cli.main(["geocode", str(table), "-o", str(out), "--review", str(review),
                     "--geocoder-url", addok.url]) == 0
    assert_inert(out)
    assert_inert(review)
    fixed = pd.read_csv(review, sep=";", dtype=str, keep_default_na=False,
                        encoding="utf-8-sig")
    assert list(fixed["cle"]) == ["'=1+1"]  # as written for a spreadsheet
    fixed["latitude"], fixed["longitude"] = "48.9362", "2.3596"
    fixed.to_csv(review, sep=";", index=False, encoding="utf-8-sig")
    again = tmp_path / "g2.csv"
    assert cli.main(["geocode", str(table), "-o", str(again), "--corrections", str(review),
                     "--geocoder-url", addok.url]) == 0
    statuses = read_output(again)
    assert statuses["geocode_status"].iloc[0] == "corrige"  # the key found its row


def test_sirene_per_quartier_csv_is_inert(tmp_path, capsys):
    from geo.qpv import load_qpv
    from tests.sirene_files import write_samples

    qpv_file = tmp_path / "qpv.geojson"
    qpv = load_qpv()
    small = qpv[qpv["insee_dep"].isin(["93", "974"])].copy()
    small.loc[small.index[0], "nom_qp"] = "=HYPERLINK(\"http://evil.example\")"
    small.to_file(qpv_file, driver="GeoJSON")
    files = write_samples(tmp_path / "sirene", small, n=200)
    out = tmp_path / "par_qpv.csv"
    with quiet_warnings():
        code = cli.main(["sirene", str(files["geoloc"]), "--unites-legales",
                         str(files["units"]), "-o", str(tmp_path / "p.xlsx"), "--par-qpv",
                         str(out), "--source", str(qpv_file), "--coeurs", "1"])
    assert code == 0, capsys.readouterr().err
    assert_inert(out)
    assert "'=HYPERLINK" in out.read_text(encoding="utf-8-sig")


@contextlib.contextmanager
def quiet_warnings():
    """The CLI prints its French warnings; here they are not test failures."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        yield


# --------------------------------------------------------------------------- all or nothing


def outputs_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "resultats").iterdir())}


def full_study(folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(EXAMPLE, folder / "initiatives.csv")
    (folder / "etude.toml").write_text(
        '[entrees]\ninitiatives = "initiatives.csv"\n', encoding="utf-8")
    return folder


def test_a_run_failing_while_writing_leaves_the_previous_outputs(tmp_path, monkeypatch):
    from geo.study import run_study
    from geo.write import printmap

    folder = full_study(tmp_path / "etude")
    run_study(load_study(folder / "etude.toml"))
    before = outputs_of(folder)
    assert {"rapport.xlsx", "carte.html", "carte.pdf", "provenance.json"} <= set(before)
    # a temporary file that a killed run left behind
    stale = folder / "resultats" / ".ess-qpv-999999999-rapport-abc.xlsx"
    stale.write_bytes(b"half")
    (folder / "etude.toml").write_text(
        '[entrees]\ninitiatives = "initiatives.csv"\n[quartiers]\ndistance_m = 2000\n',
        encoding="utf-8")

    def broken(*args, **kwargs):  # the last output fails, after the tables and the maps
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(printmap, "print_map", broken)
    with pytest.raises(OSError):
        run_study(load_study(folder / "etude.toml"))
    assert outputs_of(folder) == {k: v for k, v in before.items()}  # byte for byte
    assert not stale.exists()  # the dead run's temporary is gone, and no new one stays
    assert not [p for p in (folder / "resultats").iterdir() if p.name.startswith(".")]


def test_a_study_file_mistake_is_found_before_any_output(tmp_path, capsys):
    folder = full_study(tmp_path / "etude")
    (folder / "etude.toml").write_text(
        '[entrees]\ninitiatives = "initiatives.csv"\n[sorties]\ncarte = ""\n',
        encoding="utf-8")
    assert cli.main(["run", str(folder / "etude.toml")]) == 2
    err = capsys.readouterr().err
    assert "l'extrait à intégrer a besoin de l'adresse de la carte" in err
    assert not (folder / "resultats").exists()


def test_a_cancelled_run_leaves_the_previous_outputs(tmp_path):
    folder = full_study(tmp_path / "etude")
    assert cli.main(["run", str(folder / "etude.toml")]) == 0
    before = outputs_of(folder)
    jobs.start(folder)
    try:
        for _ in range(1200):  # cancelled while it writes its outputs
            if jobs.read_state(folder).get("etape") == "ecriture":
                break
            time.sleep(0.02)
        assert jobs.read_state(folder).get("etape") == "ecriture"
        time.sleep(0.5)
        state = jobs.cancel(folder)
    finally:
        jobs.suspend()
    assert state["etat"] == jobs.CANCELLED
    assert outputs_of(folder) == before
    assert not [p for p in (folder / "resultats").iterdir() if p.name.startswith(".")]


def test_demo_never_overwrites_files_it_did_not_write(tmp_path, capsys):
    target = tmp_path / "mes-fichiers"
    target.mkdir()
    (target / "rapport.xlsx").write_bytes(b"my own report")
    assert cli.main(["demo", "-o", str(target)]) == 2
    assert "rapport.xlsx" in capsys.readouterr().err
    assert (target / "rapport.xlsx").read_bytes() == b"my own report"
    fresh = tmp_path / "demo"
    assert cli.main(["demo", "-o", str(fresh)]) == 0
    assert cli.main(["demo", "-o", str(fresh)]) == 0  # its own files: replaced


# --------------------------------------------------------------------------- never silently wrong


def test_a_windows_line_in_a_utf8_file_keeps_every_accent(tmp_path):
    from geo.initiatives import read_table

    text = ("id;nom;commune;latitude;longitude\n1;Les Clés;Bègles;44.8;-0.55\n"
            "2;Épicerie;Cenon;44.85;-0.52\n")
    path = tmp_path / "mixte.csv"
    path.write_bytes(text.encode("utf-8") + "3;Café Été;Floirac;44.83;-0.52\n".encode(
        "cp1252"))
    with pytest.warns(UserWarning, match=r"encodages mélangés.*\(ligne 4\) a été lue"):
        table = read_table(path)[0]
    assert list(table["nom"]) == ["Les Clés", "Épicerie", "Café Été"]
    assert list(table["commune"]) == ["Bègles", "Cenon", "Floirac"]


def test_sirene_refuses_duplicates_and_unknown_departements(tmp_path, capsys):
    from geo.qpv import load_qpv
    from tests.sirene_files import write_samples

    files = write_samples(tmp_path / "s", load_qpv(), n=150)
    geo = pd.read_csv(files["geoloc"], sep=";", dtype=str, keep_default_na=False)
    doubled = tmp_path / "double.csv"
    pd.concat([geo, geo]).to_csv(doubled, sep=";", index=False)
    out = tmp_path / "p.xlsx"
    with quiet_warnings():
        code = cli.main(["sirene", str(doubled), "--unites-legales", str(files["units"]),
                         "-o", str(out), "--coeurs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "150 sirets présents plusieurs fois" in err and "Traceback" not in err
    assert not out.exists()
    with quiet_warnings():
        code = cli.main(["sirene", str(files["geoloc"]), "--unites-legales",
                         str(files["units"]), "-o", str(out), "--departement", "930"])
    err = capsys.readouterr().err
    assert code == 2 and "département inconnu : 930" in err and not out.exists()


def test_sirene_counts_aberrant_and_misprojected_coordinates(tmp_path, capsys):
    from geo.qpv import load_qpv
    from tests.sirene_files import write_samples

    files = write_samples(tmp_path / "s", load_qpv(), n=150)
    geo = pd.read_csv(files["geoloc"], sep=";", dtype=str, keep_default_na=False)
    metro = geo.index[(geo["epsg"] == "2154") & ~geo["x"].isin(["", "[ND]"])]
    geo.loc[metro[:5], ["x", "y"]] = "1e15"
    overseas = geo.index[(geo["epsg"] == "2975") & ~geo["x"].isin(["", "[ND]"])]
    assert len(overseas) >= 2
    # Réunion's UTM metres read as Lambert-93 land nowhere near France
    geo.loc[overseas, "epsg"] = "2154"
    changed = tmp_path / "g.csv"
    geo.to_csv(changed, sep=";", index=False)
    out = tmp_path / "p.xlsx"
    with quiet_warnings():
        code = cli.main(["sirene", str(changed), "--unites-legales", str(files["units"]),
                         "-o", str(out), "--coeurs", "1"])
    err = capsys.readouterr().err
    assert code == 0, err
    reading = pd.read_excel(out, sheet_name="Lecture").set_index("mesure")["valeur"]
    assert reading["coordonnees hors france"] >= 5 + len(overseas)
    assert "coordonnées hors de France" in err


# --------------------------------------------------------------------------- French lines


def _nested_geojson(path: Path) -> None:
    path.write_text('{"type":"FeatureCollection","features":' + "[" * 50_000 + "]" * 50_000
                    + "}", encoding="utf-8")


@pytest.mark.parametrize("argv, expected", [
    (["link", "{dir}", "-o", "{tmp}/o.csv"], "c'est un dossier"),
    (["link", "{example}", "-o", "{tmp}/o.csv", "--corrections", "{dir}"],
     "c'est un dossier"),
    (["link", "{example}", "-o", "{tmp}/o.csv", "--qpv", "{table}"], "pas de géométries"),
    (["link", "{example}", "-o", "{tmp}/o.csv", "--qpv", "{dir}"], "c'est un dossier"),
    (["run", "{toml_table_source}"], "pas de géométries"),
    (["map", "{example}", "-o", "{tmp}/m.html", "--distance", "1e300"],
     "distance de proximité"),
    (["link", "{nested}", "-o", "{tmp}/o.csv"], "illisible"),
    (["sirene", "{table}", "--unites-legales", "{table}", "-o", "{tmp}/p.xlsx", "--coeurs",
      "-1"], "nombre de processus"),
    (["sirene", "{fullwidth}", "--unites-legales", "{units}", "-o", "{tmp}/p.xlsx"],
     "siret invalide"),
    (["sirene", "{latin1}", "--unites-legales", "{units}", "-o", "{tmp}/p.xlsx"],
     "pas en UTF-8"),
    (["sirene", "{badzip}", "--unites-legales", "{units}", "-o", "{tmp}/p.xlsx"],
     "archive zip"),
    (["serve", "--port", "-1", "--no-browser"], "un port de 0 à 65535"),
    (["serve", "--host", "999.1.1.1", "--no-browser"], "adresse d'écoute"),
    (["serve", "{example}", "--no-browser"], "est un fichier"),
    (["serve", "--taille-max", "nan", "--no-browser"], "un nombre positif"),
    (["serve", "--taille-max", "inf", "--no-browser"], "un nombre positif"),
    (["serve", "--host", "127.0.0.2", "--mot-de-passe", "        ", "--no-browser"],
     "mot de passe trop faible"),
    (["link", "{example}", "-o", "{tmp}/o.csv", "--flux", "--coeurs", "-1"], "1 au moins"),
    (["link", "{example}", "-o", "{tmp}/o.csv", "--flux", "--coeurs", "0"], "1 au moins"),
], ids=lambda v: v if isinstance(v, str) else " ".join(v)[:50])
def test_mistakes_are_one_french_line(tmp_path, argv, expected):
    (tmp_path / "dossier").mkdir()
    table = tmp_path / "table.csv"
    table.write_text("a;b\n1;2\n", encoding="utf-8")
    toml = tmp_path / "etude.toml"
    shutil.copy(EXAMPLE, tmp_path / "exemple.csv")  # a study reads inside its folder
    toml.write_text('[entrees]\ninitiatives = "exemple.csv"\n[quartiers]\n'
                    'source = "table.csv"\n', encoding="utf-8")
    _nested_geojson(tmp_path / "nested.geojson")
    units = tmp_path / "ul.csv"
    units.write_text("siren,etatAdministratifUniteLegale,economieSocialeSolidaireUniteLegale,"
                     "categorieJuridiqueUniteLegale,activitePrincipaleUniteLegale\n"
                     "123456789,A,O,9220,88.10A\n", encoding="utf-8")
    header = "siret;x;y;epsg;plg_qp24;plg_code_commune\n"
    (tmp_path / "fullwidth.csv").write_text(header + "１２３４５６７８９００００１;652000;"
                                            "6862000;2154;;93066\n", encoding="utf-8")
    # UTF-8 for far more than the first block read, then a line pasted from Windows-1252
    rows = "".join(f"{12345678900000 + k};652000;6862000;2154;Qé;93066\n" for k in range(3000))
    (tmp_path / "latin1.csv").write_bytes((header + rows).encode("utf-8")
                                          + "12345678999999;652000;6862000;2154;Qé;93066\n"
                                          .encode("cp1252"))
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04" + b"not a zip" * 50)
    values = {"dir": tmp_path / "dossier", "tmp": tmp_path, "example": EXAMPLE,
              "table": table, "toml_table_source": toml, "nested": tmp_path / "nested.geojson",
              "units": units, "fullwidth": tmp_path / "fullwidth.csv",
              "latin1": tmp_path / "latin1.csv", "badzip": tmp_path / "bad.zip"}
    done = ess_qpv(*[a.format(**values) for a in argv], cwd=tmp_path, timeout=120)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "Error" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("Erreur")]
    assert len(lines) == 1 and expected in lines[0], done.stderr


def test_a_full_disk_on_stdout_is_a_french_line(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        done = subprocess.run([shutil.which("ess-qpv"), "qpv", "info"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "plus de place sur le disque" in done.stderr


def test_a_report_on_a_full_disk_is_one_french_line(tmp_path):
    """openpyxl's row streams and zip, left open by a failed save, were closed later by
    the garbage collector onto the full disk: one « Exception ignored … Traceback » per
    sheet under the French line. A tiny disk of its own (root only)."""
    disk = tmp_path / "disque"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=60k", "tmpfs", str(disk)],
                             capture_output=True)
    if mounted.returncode:
        pytest.skip("no tmpfs of our own here (not root)")
    try:
        done = ess_qpv("link", EXAMPLE, "-o", disk / "sortie.csv", "--rapport",
                       disk / "rapport.xlsx")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)
    assert done.returncode == 2, done.stderr
    assert "plus de place sur le disque" in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr


def test_a_successful_dask_run_prints_no_traceback(tmp_path):
    pytest.importorskip("dask.distributed")
    from geo.qpv import load_qpv
    from tests.sirene_files import write_samples

    files = write_samples(tmp_path / "s", load_qpv(), n=200)
    done = ess_qpv("sirene", files["geoloc"], "--unites-legales", files["units"], "-o",
                   tmp_path / "p.xlsx", "--moteur", "dask", "--coeurs", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "INFO" not in done.stderr + done.stdout
    done = ess_qpv("sirene", files["geoloc"], "--unites-legales", files["units"], "-o",
                   tmp_path / "p2.xlsx", "--moteur", "dask", "--dask-scheduler",
                   "garbage://x", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "tcp://HÔTE:PORT" in done.stderr


def test_a_damaged_row_in_the_geocoding_cache_is_asked_again(addok, isolated_cache):
    import sqlite3

    from geo import geocode as gc

    table = pd.DataFrame({"adresse": ["3 Allée de l'Exemple Fictif"],
                          "commune": ["Saint-Denis"]})
    first = gc.geocode(table, geocoder=gc.Geocoder(addok.url))
    assert first.table["geocode_status"].iloc[0] == "ok"
    db = sqlite3.connect(isolated_cache / "geocode.sqlite")
    db.execute("UPDATE answers SET result = '{not json'")
    db.commit()
    db.close()
    again = gc.geocode(table, geocoder=gc.Geocoder(addok.url))
    assert again.stats.sent == 1 and again.table["geocode_status"].iloc[0] == "ok"


# --------------------------------------------------------------------------- the web server


def _workbook(kind: str, edit) -> bytes:
    """A real workbook written by pandas, its sheet's XML changed by ``edit``."""
    import io
    import zipfile

    buffer = io.BytesIO()
    frame = pd.DataFrame({"nom": ["a", "b"], "latitude": ["48.9", "48.8"],
                          "longitude": ["2.36", "2.35"]})
    frame.to_excel(buffer, index=False, engine="odf" if kind == "ods" else "openpyxl")
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    member = "content.xml" if kind == "ods" else "xl/worksheets/sheet1.xml"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == member:
                data = edit(data.decode("utf-8")).encode("utf-8")
            z.writestr(info, data)
    return out.getvalue()


def ods_bomb(rows: int, columns: int) -> bytes:
    """Under a kilobyte of OpenDocument that describes ``rows`` × ``columns`` filled
    cells."""
    row = (f'<table:table-row table:number-rows-repeated="{rows}"><table:table-cell '
           f'table:number-columns-repeated="{columns}" office:value-type="string"><text:p>x'
           '</text:p></table:table-cell></table:table-row>')
    return _workbook("ods", lambda xml: xml.replace("</table:table>", row + "</table:table>"))


def xlsx_far_cell() -> bytes:
    """A few kilobytes of Excel with one cell in column XFD and a few thousand rows."""
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>v</t></is></c></row>'
                   for i in range(4, 3000))
    far = '<c r="XFD1" t="inlineStr"><is><t>z</t></is></c></row>'
    return _workbook("xlsx", lambda xml: xml.replace("</row>", far, 1).replace(
        "</sheetData>", rows + "</sheetData>"))


def _peak_memory(pid: int) -> int:
    """The process's peak resident memory, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize("name, data, message", [
    ("bombe.ods", lambda: ods_bomb(1_000_000, 16_384), "16384 colonnes"),
    ("lignes.ods", lambda: ods_bomb(1_000_000, 3), "1000002 lignes"),
    ("cellules.ods", lambda: ods_bomb(50_000, 900), "cellules"),
    ("colonne-xfd.xlsx", xlsx_far_cell, "16384 colonnes"),
    ("entetes.csv", lambda: (";".join(["nom"] * 2000) + "\n" + ";".join(["x"] * 2000)
                             + "\n").encode(), "2000 colonnes"),
    ("imbrique.geojson", lambda: ('{"type":"FeatureCollection","features":' + "[" * 100_000
                                  + "]" * 100_000 + "}").encode(), "imbriqué"),
], ids=["ods-columns", "ods-rows", "ods-cells", "xlsx-xfd", "csv-headers", "nested-geojson"])
def test_upload_bombs_are_refused_in_bounded_time_and_memory(tmp_path, isolated_cache, name,
                                                             data, message):
    from tests.test_web import new_study
    from tests.web import WebServer

    server = WebServer(tmp_path / "etudes", isolated_cache)
    try:
        client = server.session()
        new_study(client, "gabarit")  # warm: the pages and their imports are loaded
        before = _peak_memory(server.process.pid)
        start = time.monotonic()
        slug, r = new_study(client, "bombe", data(), filename=name)
        took = time.monotonic() - start
        # numbers are written the French way (« 16 384 », with a thin no-break space)
        shown = r.text.replace("\u202f", "").replace("\u00a0", "")
        assert r.status_code == 400 and message in shown, r.text[-2000:]
        assert took < 5, took
        assert _peak_memory(server.process.pid) - before < 300 * 1024 ** 2
        assert client.page("/").status_code == 200  # the server goes on
    finally:
        server.stop()


def test_one_server_per_folder_and_keys_outside_it(tmp_path, isolated_cache):
    from tests.web import WebServer

    root = tmp_path / "etudes"
    first = WebServer(root, isolated_cache)
    try:
        second = ess_qpv("serve", root, "--port", "0", "--no-browser", timeout=60)
        assert second.returncode == 2 and "un autre serveur ess-qpv sert déjà" in second.stderr
        assert not list(root.rglob("secret*"))  # nothing in the shared folder grants access
    finally:
        first.stop()


def test_a_damaged_secret_is_replaced_atomically(tmp_path, isolated_cache):
    from geo.web.security import Keys, server_dir
    from tests.web import WebServer

    root = tmp_path / "etudes"
    root.mkdir()
    (server_dir(root) / "secret").write_text("", encoding="ascii")  # touch-then-write, cut
    server = WebServer(root, isolated_cache)
    try:
        assert server.session().page("/").status_code == 200
    finally:
        server.stop()
    assert len(Keys(root).secret) == 32


def test_sessions_follow_the_password_and_logins_slow_down(tmp_path, isolated_cache):
    from tests.web import WebServer

    root = tmp_path / "etudes"
    host = ("--host", "127.0.0.2")
    server = WebServer(root, isolated_cache, *host, env={"ESS_QPV_MOT_DE_PASSE": "premier secret"},
                       url_host="127.0.0.2")
    try:
        client = server.session()
        page = client.page("/connexion?suite=/%09/evil.example").text  # Flask decodes it
        assert 'name="suite" value="/"' in page
        for suite in ("/\t/evil.example", "//evil.example", "/\\evil.example",
                      "https://evil.example/", "/%09/evil.example"):
            client.page("/connexion")  # a login renews the session, and its form token
            r = client.post_form("/connexion", {"mot_de_passe": "premier secret",
                                                "suite": suite}, allow_redirects=False)
            target = urlsplit(r.headers["Location"])
            assert r.status_code == 302 and not target.netloc and not target.scheme, suite
            assert target.path.startswith("/") and not target.path.startswith("//")
        assert "Nouvelle étude" in client.page("/").text
        cookies = client.cookies.copy()
        # guesses: a few free, then each waits longer
        guesser = server.session()
        guesser.page("/connexion")
        statuses = [guesser.post_form("/connexion", {"mot_de_passe": f"essai {i}"}).status_code
                    for i in range(8)]
        assert statuses[:3] == [403, 403, 403] and 429 in statuses[3:]
    finally:
        server.stop()
    server = WebServer(root, isolated_cache, *host, env={"ESS_QPV_MOT_DE_PASSE": "second secret"},
                       url_host="127.0.0.2")
    try:
        old = server.session()
        old.cookies.update(cookies)
        assert "/connexion" in old.page("/").url  # the old password's session is closed
    finally:
        server.stop()


def test_results_say_which_run_they_come_from(tmp_path, isolated_cache):
    from tests.test_web import TABLE, new_study
    from tests.web import WebServer

    server = WebServer(tmp_path / "etudes", isolated_cache)
    try:
        client = server.session()
        slug, _ = new_study(client, "origine", TABLE.encode())
        client.page(f"/etudes/{slug}/parametres")
        client.post_form(f"/etudes/{slug}/parametres", {
            "source": "bundled-2024", "distance": "300", "score": "0.6", "format": "A4",
            "action": "lancer"})
        assert client.wait(slug)["etat"] == "termine"
        page = client.page(f"/etudes/{slug}/resultats").text
        assert "Résultats de l’analyse du" in page and "n’a pas abouti" not in page
        folder = server.root / slug
        state = json.loads((folder / ".ess-qpv" / "etat.json").read_text(encoding="utf-8"))
        state.update(etat="erreur", message="le géocodeur ne répond pas")
        (folder / ".ess-qpv" / "etat.json").write_text(json.dumps(state), encoding="utf-8")
        page = client.page(f"/etudes/{slug}/resultats").text
        assert "n’a pas abouti" in page and "analyse précédente" in page
    finally:
        server.stop()


def test_qpv_info_on_hostile_departement_codes(tmp_path):
    from tests.servers import qp2015_occitanie

    source = json.loads(qp2015_occitanie())
    source["features"] = source["features"][:3]
    source["features"][0]["properties"]["insee_dep"] = "<script>alert(1)</script>"
    path = tmp_path / "qpv.geojson"
    path.write_text(json.dumps(source), encoding="utf-8")
    done = ess_qpv("qpv", "info", "--qpv", path, cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "<SCRIPT>ALERT(1)</SCRIPT>" in done.stdout.upper()
