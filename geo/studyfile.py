"""The study file (``etude.toml``) read into a :class:`geo.study.Study`, the bundled demo
study, and the template that ``ess-qpv init`` writes."""

from __future__ import annotations

import difflib
import re
import tomllib
from importlib import resources
from pathlib import Path

from . import parameters as declared
from ._errors import EssQpvError, InputError
from .area import StudyArea
from .io import atomic_path
from .model import Geocoding, Streaming, Study
from .parameters import PARAMETERS, RESULTS
from .settings import bundled_path
from .sources import SOURCES
from .study import DEMO_TITLE, EXAMPLE
from .vocabulary import COLUMN_KEYS, OUTPUT, OUTPUTS, ROLES, Columns

#: Every key of a study file: section → key → (type, default), from the declarations of
#: the parameters, the column roles and the outputs. A key holding a path is relative to
#: the file's folder.
SCHEMA: dict[str, dict[str, tuple[type, object]]] = {
    "etude": declared.section("etude"),
    "entrees": declared.section("entrees"),
    "colonnes": {key: (list if role == "address" else str, None)
                 for role, key in COLUMN_KEYS.items()},
    "indicateurs": declared.section("indicateurs"),
    "quartiers": declared.section("quartiers"),
    "geocodage": declared.section("geocodage"),
    # the results folder, the output files, then the settings of how they look
    "sorties": {"dossier": declared.section("sorties")["dossier"],
                **{o.key: (str, o.file if o.default else None) for o in OUTPUTS},
                **declared.section("sorties")},
}


def _closest(word: str, choices) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" ; vouliez-vous dire « {match[0]} » ?" if match else ""


#: tomllib's English messages, in French (the first words of each); others get the last.
_TOML_MISTAKES = (
    ("Cannot declare", "une section ou une table est déclarée deux fois"),
    ("Cannot overwrite", "une clé reçoit deux valeurs (écrite deux fois ?)"),
    ("Duplicate inline table key", "une clé est écrite deux fois"),
    ("Illegal character '\\n'", "une ligne se termine avant la fin d'un texte (guillemet "
                                  "fermant manquant ?)"),
    ("Illegal character", "un caractère interdit (caractère de contrôle ou nul)"),
    ("Unterminated string", "un texte n'a pas de guillemet fermant"),
    ("Unclosed array", "une liste [..] n'est pas fermée"),
    ("Unclosed inline table", "une table {..} n'est pas fermée"),
    ("Expected '=' after a key", "il manque « = » entre la clé et sa valeur"),
    ("Expected ']' at the end of a table", "il manque « ] » à la fin du nom de section"),
    ("Expected newline or end of document", "quelque chose suit la valeur sur la même "
                                            "ligne (texte sans guillemets ?)"),
    ("Invalid value", "valeur illisible (un texte s'écrit entre guillemets, un nombre sans, "
                      "et true ou false)"),
    ("Unescaped '\\'", "une barre oblique inverse « \\ » dans un texte entre guillemets "
                        "doubles (doublez-la ou utilisez des guillemets simples)"),
    ("", "la syntaxe TOML n'est pas respectée"),
)
_TOML_WHERE = re.compile(r"\(at line (\d+), column (\d+)\)|\(at end of document\)")


def parse_study_text(text: str, name: str) -> dict:
    """The sections of a study file's ``text`` (TOML); a mistake is said in French with
    its line and column (``name``: the file, for the message)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        english = str(exc)
        what = next(fr for start, fr in _TOML_MISTAKES if english.startswith(start))
        where = _TOML_WHERE.search(english)
        line = int(where[1]) if where and where[1] else None
        at = (f" (colonne {where[2]})" if line else " (à la fin du fichier)") if where else ""
        raise InputError(f"fichier d'étude illisible : {what}{at}.", path=name,
                         row=line) from None


def _checked(data: dict, name: str) -> dict[str, dict]:
    """Every section and key known and of its type; values with defaults filled in."""
    out: dict[str, dict] = {}
    for section, keys in data.items():
        if section not in SCHEMA:
            raise InputError(f"section [{section}] inconnue{_closest(section, SCHEMA)} "
                             f"(sections possibles : {', '.join(SCHEMA)}).", path=name)
        if not isinstance(keys, dict):
            raise InputError(f"« {section} » doit être une section [{section}], pas une "
                             "valeur.", path=name)
        for key in keys:
            if key not in SCHEMA[section]:
                raise InputError(f"[{section}] clé « {key} » inconnue"
                                 f"{_closest(key, SCHEMA[section])} (clés possibles : "
                                 f"{', '.join(SCHEMA[section])}).", path=name)
    for section, keys in SCHEMA.items():
        given = data.get(section, {})
        values = out.setdefault(section, {})
        for key, (kind, default) in keys.items():
            value = given.get(key, default)
            if value == "" or value is None:
                value = default if key not in given or kind is not str else None
            if value is None:
                values[key] = None
                continue
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                expected = {str: "du texte entre guillemets", float: "un nombre",
                            bool: "true ou false", list: "une liste [..]"}[kind]
                raise InputError(f"[{section}] {key} doit être {expected} (trouvé : "
                                 f"{value!r}).", path=name)
            if kind is list and not all(isinstance(v, str | int) for v in value):
                raise InputError(f"[{section}] {key} : une liste de textes est attendue.",
                                 path=name)
            if any("\x00" in v for v in (value if kind is list else [value])
                   if isinstance(v, str)):
                raise InputError(f"[{section}] {key} contient un caractère nul (\\u0000) : "
                                 "retirez-le (aucun nom de fichier ni texte n'en contient).",
                                 path=name)
            values[key] = value
    return out


def load_study(path: str | Path) -> Study:
    """Read and check an ``etude.toml``; relative paths start from its folder, outputs must
    stay inside it."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InputError("fichier d'étude introuvable.", path=str(path))
    data = read_study_file(path)
    v = _checked(data, name)
    # the folder the study file is in, as given: a study file that is a link to another
    # folder's file does not move the study there
    base = path.absolute().parent
    if not v["entrees"]["initiatives"]:
        raise InputError("[entrees] initiatives : indiquez le tableau des initiatives.",
                         path=name)
    if not v["sorties"]["dossier"]:
        raise InputError(f"[sorties] dossier est vide : indiquez le dossier des résultats, "
                         f"par exemple « {RESULTS} » (un chemin relatif au dossier de "
                         "l'étude).", path=name)
    folder = base / v["sorties"]["dossier"]
    outputs = {key: folder / value for key, value in v["sorties"].items()
               if key in OUTPUT and value}
    c = {role: v["colonnes"][key] for role, key in COLUMN_KEYS.items()}
    c["indicators"] = [str(x) for x in v["indicateurs"]["colonnes"]] or None
    if c["address"]:
        c["address"] = [str(a) for a in c["address"]]
    for p in PARAMETERS:
        if p.section and p.choices and v[p.section][p.key] not in p.choices:
            raise InputError(f"{p.study_key} « {v[p.section][p.key]} » inconnu ; possibles : "
                             f"{', '.join(p.choices)}.", path=name)
    q, g = v["quartiers"], v["geocodage"]
    national = str(declared.default("geocoder_url"))
    q["source"] = q["source"] or declared.default("source")
    study = Study(
        initiatives=base / v["entrees"]["initiatives"],
        columns=Columns(**c),
        qpv_source=_source(q["source"], base),
        compare=_source(q["comparer"], base),
        area=StudyArea.of(q["departements"], q["communes"]),
        geocoding=Geocoding(corrections=base / g["corrections"] if g["corrections"] else None,
                            # another geocoder than the national one: the person's say first
                            confirmed=g["url"].rstrip("/") == national.rstrip("/")),
        outputs=outputs, folder=base,
        periods=periods(v["sorties"]["periodes"], name),
        key_figures=base / q["chiffres_cles"] if q["chiffres_cles"] else None,
        stream=Streaming(crs_column=v["entrees"]["colonne_epsg"])
        if v["entrees"]["par_morceaux"] or v["entrees"]["colonne_epsg"] else None)
    for p in PARAMETERS:  # the values taken as written
        if p.section and p.attr and p.as_is:
            declared.assign(study, p, v[p.section][p.key])
    return study


def periods(values, name: str = "") -> list[int]:
    """The years of a print in small multiples (``[2015, "2018"]`` or ``"2015,2018"``),
    checked: whole years, at most :data:`MAX_PERIODS`, in order."""
    from .indicators import YEARS

    items = values.split(",") if isinstance(values, str) else list(values or [])
    out = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not text.isdigit() or not YEARS[0] <= int(text) <= YEARS[1]:
            raise InputError(f"période « {text} » : une année est attendue (par exemple "
                             "2015,2018,2021).", path=name or None, parameters=("periods",))
        out.append(int(text))
    if len(out) > MAX_PERIODS:
        raise InputError(f"{len(out)} périodes : {MAX_PERIODS} au plus tiennent sur une page.",
                         path=name or None, parameters=("periods",))
    return sorted(set(out))


#: Panels of a print in small multiples.
MAX_PERIODS = 6


def read_study_file(path: str | Path) -> dict:
    """The study file as written (sections and keys, no defaults filled in)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("fichier d'étude illisible : il n'est pas enregistré en UTF-8 "
                         "(réenregistrez-le en UTF-8 depuis votre éditeur de texte).",
                         path=path.name) from None
    return parse_study_text(text, path.name)


def save_study_file(path: str | Path, data: dict, *, header: str = "") -> Study:
    """Check ``data`` as a study file and write it to ``path`` (atomically); the file is
    left as it was when the check fails."""
    import tomli_w

    path = Path(path)
    clean = {section: {k: v for k, v in keys.items() if v is not None}
             for section, keys in data.items()}
    text = "".join(f"# {line}\n" for line in header.splitlines()) + tomli_w.dumps(clean)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        try:
            study = load_study(tmp)
        except EssQpvError as exc:  # name the file the user knows, not the temporary one
            raise EssQpvError(str(exc).replace(tmp.name, path.name),
                              parameters=exc.parameters) from None
    return study


def _source(value: str | None, base: Path) -> str | None:
    """A QPV source: a registry key or a URL as is, a path relative to the study file."""
    if not value or value in SOURCES or value.startswith(("http://", "https://")):
        return value
    return str(base / value)


def default_outputs(folder: Path) -> dict[str, Path]:
    """The outputs of a study file left at its defaults, in ``folder``."""
    return {o.key: folder / o.file for o in OUTPUTS if o.default}


def demo_study(folder: Path, *, fiches: bool = False) -> Study:
    """The bundled fictional example, with the template's defaults, in ``folder`` (and the
    per-initiative pages with ``fiches``): a folder that holds files of the same names the
    demo did not write is refused (never lost)."""
    outputs = default_outputs(Path(folder))
    if fiches:
        outputs["fiches"] = Path(folder) / OUTPUT["fiches"].file
    ours = _written_by_us(Path(folder) / OUTPUT["provenance"].file)
    foreign = sorted(p.name for p in outputs.values() if p.exists() and p.name not in ours)
    if foreign:
        raise InputError(f"ce dossier contient déjà {', '.join(foreign)}, que la démonstration "
                         "n'a pas écrits : rien n'a été écrasé ; choisissez un autre dossier "
                         "(-o).", path=str(folder))
    return Study(initiatives=bundled_path(EXAMPLE), title=DEMO_TITLE, outputs=outputs,
                 periods=DEMO_PERIODS)


#: The demo's print opens on these years (its fictitious sites opened from 2005 to 2023).
DEMO_PERIODS = [2008, 2013, 2018, 2023]


def _written_by_us(provenance: Path) -> set[str]:
    """The files an earlier run recorded in its ``provenance.json`` (with that file)."""
    import json

    try:
        info = json.loads(provenance.read_text(encoding="utf-8"))
        if not str(info.get("outil", "")).startswith("ess-qpv"):
            return set()
        return {str(n) for n in info.get("fichiers", [])} | {provenance.name}
    except (OSError, ValueError, AttributeError):
        return set()


def template_outputs() -> str:
    """The template's output lines, one commented key per declared output."""
    import textwrap

    lines = []
    for o in OUTPUTS:
        text = f"{o.what[0].upper()}{o.what[1:]} ({', '.join(o.extensions)})" + (
            f" : {o.more}" if o.more else "") + "." + (_fiches_note() if o.key == "fiches" else "")
        lines += textwrap.wrap(text, 88, initial_indent="# ", subsequent_indent="# ")
        # the fiches cost far more than the rest of a study: asked for, not by default
        written = o.file if o.template and o.key != "fiches" else ""
        lines.append(f'{o.key} = "{written}"')
    return "\n".join(lines)


def _fiches_note() -> str:
    """How to ask for the fiches, in the template (they are off: a page per initiative
    takes about as long as the whole study for a few dozen initiatives)."""
    from .write.fiches import IMAGES_UP_TO

    return (" Elles ne sont pas écrites par défaut : chaque page prend environ 0,5 s "
            "(plusieurs minutes pour quelques centaines d'initiatives) ; pour les avoir, "
            "écrivez fiches = \"fiches.pdf\". Leurs cartes PNG et SVG ne sont écrites que "
            f"pour {IMAGES_UP_TO} initiatives au plus.")


def template_text(initiatives: str) -> str:
    """The commented ``etude.toml`` that ``ess-qpv init`` writes, reading ``initiatives``:
    the written template (``geo/templates/etude.toml``), where each declared key that it
    does not name (a parameter or a column role declared since) is added at the end of its
    section, after its help."""
    text = resources.files("geo").joinpath("templates", "etude.toml").read_text(
        encoding="utf-8").format(titre=declared.default("title"), initiatives=initiatives,
                                 sorties=RESULTS, fichiers=template_outputs())
    blocks = re.split(r"(?m)^(?=\[\w+\]\s*$)", text)
    named = {re.match(r"\[(\w+)\]", b).group(1): i for i, b in enumerate(blocks)
             if b.startswith("[")}
    for section, keys in _template_keys().items():
        if section not in named:
            named[section] = len(blocks)
            blocks.append(f"\n[{section}]\n")
        i = named[section]
        for key, kind, value, help_ in keys:
            if not re.search(rf"(?m)^#?\s*{re.escape(key)}\s*=", blocks[i]):
                blocks[i] = blocks[i].rstrip("\n") + "\n" + _template_key(
                    key, kind, value, help_) + ("\n\n" if i < len(blocks) - 1 else "\n")
    return "".join(blocks)


def _template_keys() -> dict[str, list[tuple[str, type, object, str]]]:
    """Section → (key, type, value a new study starts with, French help) of every key a
    study file holds, from the declarations of the parameters and the column roles."""
    keys: dict[str, list] = {}
    for p in PARAMETERS:
        if p.section:
            keys.setdefault(p.section, []).append(
                (p.key, p.kind, p.default if p.new_study is None else p.new_study,
                 p.help_text()))
    for r in ROLES:
        if r.study_key:
            keys.setdefault("colonnes", []).append(
                (r.study_key, list if r.kind == "address" else str, None, r.help))
    return keys


def _template_key(key: str, kind: type, value: object, help_: str) -> str:
    """A key of the template with its help as a comment (commented out when it has no
    value to show)."""
    import textwrap

    import tomli_w

    lines = textwrap.wrap(f"{help_[:1].upper()}{help_[1:]}.", 88, initial_indent="# ",
                          subsequent_indent="# ")
    if value is None and kind is str:
        value = ""
    lines.append(f"# {key} =" if value is None else tomli_w.dumps({key: value}).strip())
    return "\n".join(lines)


def write_template(folder: str | Path) -> list[tuple[Path, str]]:
    """Write ``etude.toml`` (commented) and ``initiatives_modele.xlsx`` into ``folder``;
    refuse to overwrite either."""
    import pandas as pd

    from .io import write_workbook

    folder = Path(folder)
    toml = folder / "etude.toml"
    template = folder / "initiatives_modele.xlsx"
    for existing in (toml, template):
        if existing.exists():
            raise InputError("ce fichier existe déjà ; rien n'a été écrasé (choisissez un "
                             "autre dossier).", path=str(existing))
    text = template_text(template.name)
    with atomic_path(toml) as tmp:
        tmp.write_text(text, encoding="utf-8")
    write_workbook({"Initiatives": pd.DataFrame(columns=[c for c, _ in TEMPLATE_COLUMNS]),
                    "Colonnes": pd.DataFrame(TEMPLATE_COLUMNS, columns=["Colonne", "Contenu"])},
                   template, text_columns=TEMPLATE_TEXT, widths=TEMPLATE_WIDTHS)
    return [(toml, "fichier d'étude commenté"),
            (template, "modèle de tableau (feuille Colonnes : le sens de chaque colonne)")]


#: The roles the workbook template has a column for, left to right (their declaration's
#: :attr:`~geo.vocabulary.Role.template`).
TEMPLATE_ROLES = tuple(sorted((r for r in ROLES if r.template),
                              key=lambda r: r.template.position))
#: The template's columns, each named by its role's first alias, with what it holds.
TEMPLATE_COLUMNS = [(r.aliases[0], r.template.content) for r in TEMPLATE_ROLES]
#: Template columns typed as text (codes keep their leading zeros; nothing becomes a date).
TEMPLATE_TEXT = tuple(r.aliases[0] for r in TEMPLATE_ROLES if r.template.text)
#: Widths of the template's columns, and of its « Colonnes » sheet.
TEMPLATE_WIDTHS = {**{r.aliases[0]: r.template.width for r in TEMPLATE_ROLES},
                   "Colonne": 16, "Contenu": 90}
