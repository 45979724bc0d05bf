"""One answer per mistake, at every door: the same input mistake gives the same French
message and the same exit code from ``ess-qpv link``, ``map``, ``run``, ``geocode`` and the
web page's import (HTTP 400), because every door reads the table through the same reader."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import openpyxl
import pytest

from geo import cli
from geo.uploads import Limits
from geo.web import create_app

#: A header, no row under it.
HEADER_ONLY = b"nom;adresse;code_postal;commune\n"
#: The start of a real PDF (with the binary bytes of its first stream).
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" \
      b"stream\nx\x9c\x00\x01\xff\x81\nendstream\n"
#: An old Excel workbook (.xls, OLE2): its signature and a few bytes.
OLD_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
#: A file of bytes that no table holds (an image, a program…).
BINARY = b"\x89\x00\x01\x02 garbage \x00\xff\xfe" * 50
ROWS = b"nom;adresse;code_postal;commune;latitude;longitude\n" \
       b"Atelier;1 rue Haute;93200;Saint-Denis;48.9205;2.3601\n"

CLI_DOORS = ("link", "map", "geocode", "run")
#: ``link --flux`` reads the table chunk by chunk: its file is checked the same way.
FILE_DOORS = (*CLI_DOORS, "flux")
ALL_DOORS = (*FILE_DOORS, "web")


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    book.active.title = "Sites"
    book.active.append(["nom", "latitude", "longitude"])
    book.active.append(["Atelier", 48.9205, 2.3601])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


#: name → (file name, content (None: a folder; absent file: no content), extra options,
#: study-file lines, doors that can meet the mistake, expected message).
MISTAKES = {
    "header_only": ("sites.csv", HEADER_ONLY, [], "", ALL_DOORS,
                    "fichier sites.csv : le tableau n'a aucune ligne de données, seulement "
                    "l'en-tête."),
    "renamed_pdf": ("sites.csv", PDF, [], "", ALL_DOORS,
                    "fichier sites.csv : document PDF, pas un tableau : exportez le tableau "
                    "au format .xlsx ou .csv."),
    "old_xls": ("sites.xls", OLD_XLS, [], "", ALL_DOORS,
                "fichier sites.xls : classeur Excel de l'ancien format (.xls) : "
                "enregistrez-le au format .xlsx ou .csv (Fichier > Enregistrer sous)."),
    "binary": ("sites.csv", BINARY, [], "", ALL_DOORS,
               "fichier sites.csv : fichier binaire non reconnu : ni classeur (.xlsx, .ods), "
               "ni CSV, ni GeoJSON, ni GeoPackage (un fichier renommé ?)."),
    "empty": ("sites.csv", b"", [], "", ALL_DOORS, "fichier sites.csv : le fichier est vide."),
    "folder": ("sites.csv", None, [], "", FILE_DOORS,
               "fichier sites.csv : c'est un dossier : indiquez le fichier (le tableau des "
               "initiatives)."),
    "missing": ("sites.csv", "absent", [], "", FILE_DOORS,
                "fichier sites.csv : fichier introuvable."),
    "unknown_column": ("sites.csv", ROWS, ["--postcode-column", "CP"],
                       '[colonnes]\ncode_postal = "CP"\n', CLI_DOORS,
                       "fichier sites.csv : la colonne de code postal « CP » n'existe pas ; "
                       "colonnes présentes : nom, adresse, code_postal, commune, latitude, "
                       "longitude."),
    "wrong_sheet": ("sites.xlsx", _workbook(), ["--sheet", "Feuil1"],
                    '[entrees]\nfeuille = "Feuil1"\n', CLI_DOORS,
                    "fichier sites.xlsx : feuille « Feuil1 » introuvable ; feuilles du "
                    "classeur : Sites."),
}

#: The hint each door adds after the message: its own way to change the parameter.
_HINT = re.compile(r" \((option|clé) [^()]*\)$")


def _place(folder: Path, name: str, content) -> None:
    if content is None:
        (folder / name).mkdir()
    elif isinstance(content, bytes):
        (folder / name).write_bytes(content)


def _cli(door: str, folder: Path, name: str, options: list[str], study: str,
         capsys) -> tuple[int, str]:
    if door == "run":
        lines = [f'[entrees]\ninitiatives = "{name}"\n']
        if study.startswith("[entrees]"):
            lines = [f'[entrees]\ninitiatives = "{name}"\n{study.split(chr(10), 1)[1]}']
        elif study:
            lines.append(study)
        (folder / "etude.toml").write_text("\n".join(lines), encoding="utf-8")
        argv = ["run", "etude.toml"]
    elif door == "flux":
        argv = ["link", name, "-o", "sortie.csv", "--flux", *options]
    else:
        out = "carte.html" if door == "map" else "sortie.csv"
        argv = [door, name, "-o", out, *options]
    capsys.readouterr()
    code = cli.main(argv)
    error = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("Erreur : ")]
    assert len(error) == 1, (door, error)
    message = error[0].removeprefix("Erreur : ").replace(f"{folder}/", "")
    return code, _HINT.sub("", message)


def _web(root: Path, name: str, content: bytes) -> tuple[int, str]:
    app = create_app(root, limits=Limits())
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    r = client.post("/nouvelle", data={"nom": "essai"})
    slug = r.headers["Location"].rstrip("/").split("/")[-2]
    r = client.post(f"/etudes/{slug}/import",
                    data={"tableau": (io.BytesIO(content), name)},
                    content_type="multipart/form-data")
    found = re.search(r'<p class="message erreur" role="alert" id="erreur">(.*?)</p>',
                      r.get_data(as_text=True), re.S)
    return r.status_code, html.unescape(found.group(1)) if found else ""


@pytest.mark.parametrize("mistake", MISTAKES)
def test_one_answer_per_mistake_at_every_door(mistake, tmp_path, monkeypatch, capsys):
    name, content, options, study, doors, expected = MISTAKES[mistake]
    answers = {}
    for door in doors:
        folder = tmp_path / door
        folder.mkdir()
        if door == "web":
            answers[door] = _web(folder, name, content)
            continue
        _place(folder, name, content)
        monkeypatch.chdir(folder)
        answers[door] = _cli(door, folder, name, options, study, capsys)
        assert not (folder / "sortie.csv").exists() and not (folder / "carte.html").exists()
        assert not (folder / "resultats").exists() or not any(
            (folder / "resultats").iterdir())
    expected_codes = {door: 400 if door == "web" else cli.EXIT_ERROR for door in doors}
    assert {door: code for door, (code, _) in answers.items()} == expected_codes
    assert {door: text for door, (_, text) in answers.items()} == dict.fromkeys(doors,
                                                                                 expected)
