"""Every study parameter is declared once (:data:`geo.parameters.PARAMETERS`): the command
line, the study file, the web form, the template and the :class:`~geo.model.Study` take
its default, choices and help from there, and no door writes a default of its own. Adding
a parameter touches its declaration and the code that uses it."""

from __future__ import annotations

import argparse
import ast
import tomllib
from pathlib import Path

import pytest

from geo import cli
from geo.cli.study import STUDY_KEYS
from geo.model import Streaming, Study
from geo.parameters import PARAMETER, PARAMETERS
from geo.studyfile import SCHEMA, write_template
from geo.web import studies

GEO = Path(__file__).resolve().parents[1] / "geo"
#: The doors and the model: what a parameter's default must never be written in again.
DOORS = ("cli/__init__.py", "cli/link.py", "cli/geocode.py", "cli/study.py", "cli/qpv.py",
         "cli/serve.py", "studyfile.py", "web/workspace.py", "model.py", "study.py",
         "web/studies.py")
#: The vocabulary's defaults, read by the declarations only.
DEFAULT_NAMES = {"DEFAULT_DISTANCE", "DEFAULT_SOURCE", "DEFAULT_TITLE",
                 "DEFAULT_GEOCODER_URL", "DEFAULT_MIN_SCORE", "DEFAULT_CHUNK",
                 "PAPER_FORMATS"}


def _actions() -> dict[str, argparse.Action]:
    """Every option of ``link``, ``map`` and ``geocode``, by option string."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {flag: action for command in ("link", "map", "geocode")
            for action in sub.choices[command]._actions for flag in action.option_strings}


@pytest.mark.parametrize("p", [p for p in PARAMETERS if p.flags], ids=lambda p: p.name)
def test_the_command_line_takes_each_parameter_from_its_declaration(p):
    action = _actions()[p.flag]
    assert action.dest == p.argument and set(p.flags) <= set(action.option_strings)
    # a list is one comma-separated value (or a repeated option), read by the door
    assert action.default == (None if p.kind is list else p.default)
    assert tuple(action.choices or ()) == tuple(p.choices or ())
    assert action.help == p.help_text()
    assert cli.FLAGS[p.name] == p.flag


@pytest.mark.parametrize("p", [p for p in PARAMETERS if p.section], ids=lambda p: p.name)
def test_the_study_file_takes_each_parameter_from_its_declaration(p):
    assert SCHEMA[p.section][p.key] == (p.kind, p.default)
    assert STUDY_KEYS[p.name] == f"[{p.section}] {p.key}"


@pytest.mark.parametrize("p", [p for p in PARAMETERS if p.attr], ids=lambda p: p.name)
def test_the_study_starts_from_each_default(p):
    value = Study(initiatives=Path("x.csv"), stream=Streaming())
    for part in p.attr.split("."):
        value = getattr(value, part)
    assert value == p.default


def parameters_page(tmp_path) -> str:
    """The web page's form of a new study, as served."""
    import io

    from geo.web import create_app

    app = create_app(tmp_path / "etudes")
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    slug = client.post("/nouvelle", data={"nom": "essai"}).headers["Location"].rstrip(
        "/").split("/")[-2]
    client.post(f"/etudes/{slug}/import", content_type="multipart/form-data",
                data={"tableau": (io.BytesIO(b"id;nom;latitude;longitude\nS1;A;48.9;2.3\n"),
                                  "a.csv")})
    return client.get(f"/etudes/{slug}/parametres").get_data(as_text=True)


def test_the_web_form_shows_and_reads_each_parameter(tmp_path):
    template = (GEO / "templates" / "web" / "parametres.html").read_text(encoding="utf-8")
    form = parameters_page(tmp_path)
    shown = studies.form_values({})
    for p in studies.FORM:
        assert p.section, p.name  # the form edits the study file
        assert f'name="{p.field}"' in form, p.field
        assert f'name="{p.field}"' not in template, p.field  # from the declaration only
        if isinstance(p.default, float):  # said in the help from the declaration only
            assert f"{p.default:g} m" not in template and f"{p.default} m" not in template
        value = shown[p.field]
        assert value == (", ".join(p.default) if p.kind is list else p.default), p.name
        posted = {p.field: "oui" if value is True else str(value or "")}
        assert studies.form_value(p, posted) == p.default, p.name
    assert list(PARAMETER["source"].offered) == studies.QPV_CHOICES


def test_the_template_writes_the_defaults(tmp_path):
    write_template(tmp_path)
    data = tomllib.loads((tmp_path / "etude.toml").read_text(encoding="utf-8"))
    checked = 0
    for p in PARAMETERS:
        if p.section and p.key in data.get(p.section, {}) and p.name != "initiatives":
            written = data[p.section][p.key]
            expected = p.default if p.new_study is None else p.new_study
            assert (written or None) == (expected or None), p.study_key
            checked += 1
    assert checked >= 15


def _defaults_written_in(source: str) -> list[str]:
    """The parameters' text defaults written as literals in ``source``, and the
    vocabulary's default names it imports."""
    texts = {p.default for p in PARAMETERS if isinstance(p.default, str) and len(p.default) > 1}
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and node.value in texts:
            found.append(repr(node.value))
        elif isinstance(node, ast.ImportFrom):
            found += [a.name for a in node.names if a.name in DEFAULT_NAMES]
    return found


@pytest.mark.parametrize("door", DOORS)
def test_no_door_writes_a_default_of_its_own(door):
    assert _defaults_written_in((GEO / door).read_text(encoding="utf-8")) == []


def test_the_check_sees_a_default_written_again():
    assert _defaults_written_in('x = getattr(args, "paper", "A4")\n') == ["'A4'"]
    assert _defaults_written_in("from .vocabulary import DEFAULT_DISTANCE\n") == [
        "DEFAULT_DISTANCE"]


def _other_value(p):
    """A valid value of ``p`` other than its default."""
    if p.choices:
        return next(c for c in p.choices if c != p.default)
    return {bool: not p.default, float: 0.75, int: 7, str: "https://geo.example.org"
            if p.name == "geocoder_url" else "Autre"}[p.kind]


PLAIN = [p for p in PARAMETERS if p.attr and p.as_is]


def _value(study, p):
    for part in p.attr.split("."):
        study = getattr(study, part)
    return study


def test_each_plain_parameter_reaches_the_study_from_the_command_line(tmp_path):
    from geo.cli.link import study_of

    argv = ["map", str(tmp_path / "x.csv"), "-o", str(tmp_path / "carte.html")]
    for p in PLAIN:
        argv += [p.flag] if p.action else [p.flag, str(_other_value(p))]
    study = study_of(cli.build_parser().parse_args(argv))
    assert {p.name: _value(study, p) for p in PLAIN} == {p.name: _other_value(p)
                                                         for p in PLAIN}


def test_each_plain_parameter_reaches_the_study_from_the_study_file(tmp_path):
    import tomli_w

    from geo.studyfile import load_study

    written = [p for p in PLAIN if p.section]
    data: dict = {"entrees": {"initiatives": "x.csv"}}
    for p in written:
        data.setdefault(p.section, {})[p.key] = _other_value(p)
    (tmp_path / "etude.toml").write_text(tomli_w.dumps(data), encoding="utf-8")
    study = load_study(tmp_path / "etude.toml")
    assert {p.name: _value(study, p) for p in written} == {p.name: _other_value(p)
                                                           for p in written}
    assert len(written) >= 10
