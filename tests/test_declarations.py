"""Adding a study parameter or a column role touches at most two files (issue 34): the
package is copied, only its declarations are edited (and, for a parameter, its field of
:class:`geo.model.Study`), and every door shows the new one: the command line, the study
file and its template, the web page's forms and the workbook template."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: A new parameter, as docs/architecture.md's worked example declares it.
PARAMETER = '''
    Parameter("max_radius", 5000.0, "rayon d'action le plus grand accepté, en mètres "
              "(défaut : {default})", kind=float, section="quartiers", key="rayon_max",
              flags=("--rayon-max",), group="quartiers", metavar="MÈTRES",
              attr="max_radius", what="le rayon d'action le plus grand",
              web=WebField("rayon_max", "Rayon d'action le plus grand (mètres)",
                           note="Un rayon déclaré plus grand est ramené à {default} m.")),
)

#: The parameters by name.'''

#: A new column role.
ROLE = '''
    Role("contact", "courriel de contact", "adresse électronique de contact",
         ("courriel", "email", "mel"), "courriel", "--contact-column", True, "named",
         template=TemplateColumn(12, "Adresse électronique de contact (nom@exemple.fr)",
                                 30)),
)
#: Numbers an initiative brings'''

#: A table the web page reads, with the new role's column.
TABLE = "id_initiative;nom;latitude;longitude;courriel\nI1;Atelier;48.9;2.3;a@b.fr\n"

#: Run in the edited copy: what each door shows, as JSON on the last line.
SHOW = '''
import argparse, io, json, sys, tomllib

import tomli_w
from pathlib import Path

import geo
assert Path(geo.__file__).is_relative_to(Path.cwd()), geo.__file__
import pandas as pd
from geo import cli
from geo._errors import EssQpvError
from geo.cli.geocode import columns_from_args
from geo.cli.link import study_of
from geo.studyfile import SCHEMA, load_study, write_template
from geo.web import create_app

work = Path(sys.argv[1])
asked = json.loads(sys.argv[2])
parser = cli.build_parser()
sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
shown = {"help": {c: sub.choices[c].format_help() for c in ("link", "map")},
         "schema": {s: {k: [t.__name__, d] for k, (t, d) in keys.items()}
                    for s, keys in SCHEMA.items()}}
args = parser.parse_args(["map", "x.csv", "-o", "c.html", *asked["argv"]])
shown["cli_study"] = {"max_radius": getattr(study_of(args), "max_radius", None),
                      "contact": getattr(columns_from_args(args), "contact", None)}
write_template(work / "init")
toml = (work / "init" / "etude.toml").read_text(encoding="utf-8")
shown["template"] = toml
sheets = pd.read_excel(work / "init" / "initiatives_modele.xlsx", sheet_name=None)
shown["workbook"] = {"columns": list(sheets["Initiatives"].columns),
                     "documented": sheets["Colonnes"].values.tolist()}
data = tomllib.loads(toml)
for section, keys in asked["file"].items():
    data[section].update(keys)
(work / "init" / "etude.toml").write_text(tomli_w.dumps(data), encoding="utf-8")
try:
    study = load_study(work / "init" / "etude.toml")
    shown["file_study"] = {"max_radius": getattr(study, "max_radius", None),
                           "contact": getattr(study.columns, "contact", None)}
except EssQpvError as exc:  # a key the schema does not know
    shown["file_study"] = str(exc)
app = create_app(work / "etudes")
app.config["WTF_CSRF_ENABLED"] = False
client = app.test_client()
slug = client.post("/nouvelle", data={"nom": "essai"}).headers["Location"].rstrip(
    "/").split("/")[-2]
client.post(f"/etudes/{slug}/import", content_type="multipart/form-data",
            data={"tableau": (io.BytesIO(TABLE.encode()), "a.csv")})
shown["columns_page"] = client.get(f"/etudes/{slug}/colonnes").get_data(as_text=True)
client.post(f"/etudes/{slug}/colonnes", data={"contact": "courriel", "lat": "latitude",
                                              "lon": "longitude"})
shown["parameters_page"] = client.get(f"/etudes/{slug}/parametres").get_data(as_text=True)
client.post(f"/etudes/{slug}/parametres", data={
    "titre": "Essai", "source": "bundled-2024", "distance": "300", "score": "0.6",
    "format": "A4", "format_fiches": "A4", "rayon_max": "900", "action": "enregistrer"})
shown["saved"] = tomllib.loads((work / "etudes" / slug / "etude.toml").read_text("utf-8"))
print(json.dumps(shown))
'''


def show(tmp_path: Path, edits: dict[str, list[tuple[str, str]]], argv: tuple = (),
         study_file: dict | None = None) -> dict:
    """What every door shows once the copied package's files are ``edits`` (file → old,
    new), given the command line's options ``argv`` and the study file's keys
    ``study_file`` (section → key → value): the package is copied beside its bundled data,
    edited, and asked in a process of its own (every declaration is read again at
    import)."""
    root = tmp_path / "src"
    shutil.copytree(REPO / "geo", root / "geo", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "data").symlink_to(REPO / "data")
    for name, pairs in edits.items():
        path = root / "geo" / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            assert text.count(old) == 1, (name, old)
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    script = f"TABLE = {TABLE!r}\n{SHOW}"
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "work"),
         json.dumps({"argv": list(argv), "file": study_file or {}})], cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), "ESS_QPV_CACHE": str(tmp_path / "cache")},
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


NEW_PARAMETER = {
    "parameters.py": [("\n)\n\n#: The parameters by name.", PARAMETER)],
    "model.py": [('    compare: str | None = None\n    distance: float = default("distance")\n',
                  '    compare: str | None = None\n    distance: float = default("distance")\n'
                  '    max_radius: float = default("max_radius")\n')],
}
NEW_ROLE = {"vocabulary.py": [("\n)\n#: Numbers an initiative brings", ROLE)]}


@pytest.fixture(scope="module")
def with_parameter(tmp_path_factory) -> dict:
    return show(tmp_path_factory.mktemp("parametre"), NEW_PARAMETER, ("--rayon-max", "800"),
                {"quartiers": {"rayon_max": 750}})


@pytest.fixture(scope="module")
def with_role(tmp_path_factory) -> dict:
    return show(tmp_path_factory.mktemp("role"), NEW_ROLE, ("--contact-column", "mel"),
                {"colonnes": {"courriel": "mel"}})


def test_a_parameter_is_its_declaration_and_its_study_field(with_parameter):
    shown = with_parameter
    assert len(NEW_PARAMETER) == 2  # the two files touched
    # the command line: link's and map's option, with its help, read into the Study
    for command in ("link", "map"):
        assert "--rayon-max MÈTRES" in shown["help"][command]
    assert "(défaut : 5\u202f000)" in shown["help"]["map"]
    assert shown["cli_study"]["max_radius"] == 800.0
    # the study file: its key, read into the Study; the template writes it with its help
    assert shown["schema"]["quartiers"]["rayon_max"] == ["float", 5000.0]
    assert shown["file_study"]["max_radius"] == 750.0
    assert "# Rayon d'action le plus grand accepté, en mètres (défaut : 5\u202f000).\n" \
           "rayon_max = 5000.0\n" in shown["template"]
    # the web form: a labelled field in its fieldset, its help linked, its value saved
    page = shown["parameters_page"]
    quartiers = page.split("<legend>Quartiers prioritaires</legend>")[1].split("</fieldset>")[0]
    assert ('<label for="rayon_max">Rayon d’action le plus grand (mètres)</label>'
            in quartiers)
    assert ('<input id="rayon_max" name="rayon_max" type="text" inputmode="decimal" '
            'value="5000" aria-describedby="rayon_max-aide">') in quartiers
    assert ('<p class="aide" id="rayon_max-aide">Un rayon déclaré plus grand est ramené à '
            '5\u202f000 m.</p>') in quartiers
    assert shown["saved"]["quartiers"]["rayon_max"] == 900.0


def test_a_role_is_its_declaration(with_role):
    shown = with_role
    assert len(NEW_ROLE) == 1
    assert "--contact-column COLONNE" in shown["help"]["map"]
    assert shown["cli_study"]["contact"] == "mel"
    assert shown["schema"]["colonnes"]["courriel"] == ["str", None]
    assert shown["file_study"]["contact"] == "mel"
    assert "# Adresse électronique de contact.\ncourriel = \"\"\n" in shown["template"]
    # the workbook template: its column, named by its first alias, and what it holds
    assert shown["workbook"]["columns"][11] == "courriel"
    assert ["courriel", "Adresse électronique de contact (nom@exemple.fr)"] in \
        shown["workbook"]["documented"]
    # the web page's columns step offers it, and the study file keeps the choice
    assert "Courriel de contact" in shown["columns_page"]
    assert shown["saved"]["colonnes"]["courriel"] == "courriel"


def test_without_the_declaration_no_door_shows_them(tmp_path):
    """The checks above see a door that misses the new declarations."""
    shown = show(tmp_path, {}, (), {"quartiers": {"rayon_max": 750}})
    assert "--rayon-max" not in shown["help"]["map"]
    assert "rayon_max" not in shown["schema"]["quartiers"]
    assert "rayon_max" not in shown["parameters_page"]
    assert "courriel" not in shown["workbook"]["columns"]
    assert "Courriel de contact" not in shown["columns_page"]
    assert "inconnue" in shown["file_study"]
