"""The studies folder behind the web page: one folder per study.

A study folder holds its ``etude.toml``, its table of initiatives, its geocoding corrections
(``corrections.csv``) and its outputs (``resultats/``): the very folder that
``ess-qpv run etude.toml`` reproduces. The page only edits these files; the engine
(:func:`geo.study.run_study`, run by :mod:`geo.web.jobs`) does the work.

Everything that arrives from a browser is hostile: study names become safe folder names, an
uploaded file's type is decided by its content, never by its name, and its size and rows are
bounded.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import tomli_w

from .._errors import EssQpvError, InputError
from .._validate import slug
from ..columns import detect_columns
from ..confine import inside, regular_file
from ..geocode import REVIEW_COLUMNS, RefusedCorrection, still_matching
from ..io import atomic_path, write_table
from ..model import Study
from ..parameters import PARAMETER, PARAMETERS
from ..studyfile import RESULTS, read_study_file, save_study_file
from ..typography import number
from ..uploads import Limits, check_expansion, parse_in_worker, sniff
from ..vocabulary import COLUMN_KEYS, OUTPUT, OUTPUTS, Columns, Detection

STUDY_FILE = "etude.toml"
CORRECTIONS = "corrections.csv"
#: The page's own files in a study folder (job state, log); never an output.
STATE_DIR = ".ess-qpv"
TABLE_STEM = "initiatives"
#: Folder names the page makes: lower-case letters, digits and dashes.
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
HEADER = ("Étude créée avec la page web d'ess-qpv (ess-qpv serve).\n"
          "La même étude se relance en ligne de commande : ess-qpv run etude.toml")
#: The outputs of a study made by the page (the keys of [sorties]): every declared output.
OUTPUT_FILES = {"dossier": RESULTS, **{o.key: o.file for o in OUTPUTS}}
#: The [sorties] keys the page sets besides the files (:data:`geo.parameters.PARAMETERS`).
PAGE_SETTINGS = {p.key for p in PARAMETERS if p.section == "sorties" and p.field}
#: A new table gets the fiches (a page per initiative, about half a second each on a small
#: machine) when it has at most this many rows; above, when the person asks for them.
FICHES_UP_TO = 100
#: What a person may decide about a doubtful address (the columns of the corrections file).
#: ``nom`` and ``adresse_saisie`` say which site a decision is for (see
#: :func:`geo.geocode.match_corrections`); files without ``nom`` (earlier versions) still read.
CORRECTION_COLUMNS = ["cle", "nom", "adresse_saisie", "accepter", "adresse_corrigee",
                      "latitude", "longitude"]
#: The longest title of a study (its name on the list, its maps' title), from its declaration.
TITLE_LENGTH = PARAMETER["title"].web.max_length


class NotFound(EssQpvError):
    """No study of that name in the studies folder."""


# --------------------------------------------------------------------------- names


def create(root: Path, name: str) -> Path:
    """Make a new study folder for ``name`` (a free folder name: ``-2``, ``-3``… on
    collision) with its study file and an empty corrections file."""
    title = " ".join(name.split())
    if not title:
        raise InputError("donnez un nom à l'étude.")
    if len(title) > TITLE_LENGTH:
        raise InputError(f"nom d'étude trop long ({TITLE_LENGTH} caractères au plus).")
    base = slug(title)
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = root / (base if n == 1 else f"{base}-{n}")
        try:
            folder.mkdir()
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - a thousand studies of one name
        raise InputError("trop d'études portent déjà ce nom.")
    write_table(pd.DataFrame(columns=CORRECTION_COLUMNS), folder / CORRECTIONS)
    # not yet a whole study (no table): written as is, checked once the table is imported
    (folder / STUDY_FILE).write_text(
        "".join(f"# {line}\n" for line in HEADER.splitlines())
        + tomli_w.dumps({"etude": {"titre": title},
                         # new studies geocode online: the address service is public
                         "geocodage": {"en_ligne": PARAMETER["geocode"].new_study}}),
        encoding="utf-8")
    return folder


def folder_of(root: Path, name: str) -> Path:
    """The folder of the study ``name`` in ``root``; :class:`NotFound` for anything else."""
    if not SLUG.match(name or ""):
        raise NotFound("étude introuvable.")
    folder = root / name
    if not (folder / STUDY_FILE).is_file() or folder.resolve().parent != root.resolve():
        raise NotFound("étude introuvable.")
    return folder


def studies(root: Path) -> list[tuple[str, str]]:
    """(folder name, title) of every study in ``root``, by title."""
    found = []
    if root.is_dir():
        for folder in root.iterdir():
            if SLUG.match(folder.name) and (folder / STUDY_FILE).is_file():
                found.append((folder.name, title_of(folder)))
    return sorted(found, key=lambda s: s[1].lower())


def title_of(folder: Path) -> str:
    try:
        return str(read_study_file(folder / STUDY_FILE).get("etude", {}).get("titre")
                   or folder.name)
    except EssQpvError:
        return folder.name


def confined(folder: Path, path: Path, what: str) -> Path:
    """``path``, a file of the study ``folder`` that the page reads or writes, if it stays
    inside the folder once its symbolic links are followed and is an ordinary file (the rule
    of ``ess-qpv run``, :func:`geo.confine.inside`); :class:`InputError` otherwise (a
    received folder may hold a link to another folder's file)."""
    return regular_file(inside(path, folder, what=what), what=what)


# --------------------------------------------------------------------------- settings


def settings(folder: Path) -> dict:
    """The study file's sections, as written."""
    return read_study_file(confined(folder, folder / STUDY_FILE, "le fichier d'étude"))


def save_settings(folder: Path, data: dict) -> Study:
    """Write the study file with the page's outputs and corrections file; refused (file
    unchanged) when the engine refuses it."""
    data = {section: dict(keys) for section, keys in data.items()}
    asked = data.get("sorties", {})
    data["sorties"] = {**OUTPUT_FILES, **{k: v for k, v in asked.items() if k in PAGE_SETTINGS}}
    if not asked.get("fiches", OUTPUT_FILES["fiches"]):  # the person's choice, or the size's
        data["sorties"]["fiches"] = ""
    data.setdefault("geocodage", {})["corrections"] = CORRECTIONS
    study = save_study_file(folder / STUDY_FILE, data, header=HEADER)
    if not (folder / CORRECTIONS).exists():  # a received folder may come without one
        write_table(pd.DataFrame(columns=CORRECTION_COLUMNS), folder / CORRECTIONS)
    return study


def table_path(folder: Path) -> Path | None:
    """The study's table of initiatives, if one was imported."""
    name = settings(folder).get("entrees", {}).get("initiatives")
    if not name or not isinstance(name, str):
        return None
    path = confined(folder, folder / name, "le tableau des initiatives")
    return path if path.is_file() else None


def columns(folder: Path) -> Columns:
    """The columns chosen in the study file (``None`` where left to detection)."""
    given = settings(folder).get("colonnes", {})
    values = {role: given.get(key) or None for role, key in COLUMN_KEYS.items()}
    indicators = settings(folder).get("indicateurs", {}).get("colonnes") or None
    return Columns(**values, indicators=indicators)


# --------------------------------------------------------------------------- uploads


def save_table(folder: Path, data: bytes, filename: str, limits: Limits
               ) -> tuple[pd.DataFrame, Detection, list[RefusedCorrection]]:
    """Check an uploaded table (type by content, size, rows, columns, cells, all before it is
    expanded; then read in a bounded process) and make it the study's table; the previous
    table stays until the new one has been read. The study's corrections whose site is no
    longer in the new table, or whose address changed, are dropped (and returned)."""
    from ..initiatives import read_table

    shown = Path(filename or "fichier").name[:120]
    if len(data) > limits.max_bytes:
        raise InputError(f"fichier trop volumineux ({number(len(data) / 1e6, 1)} Mo ; limite "
                         f"{limits.max_bytes / 1e6:.0f} Mo).", path=shown)
    try:
        kind = sniff(data)
        check_expansion(data, kind, limits)
    except InputError as exc:
        raise InputError(str(exc), path=shown) from None
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError, OSError, ValueError,
            EOFError):
        raise InputError("classeur abîmé (sa structure ne se lit pas) : refusé.",
                         path=shown) from None
    target = folder / f"{TABLE_STEM}{kind}"
    with atomic_path(target, defer=False) as tmp:
        tmp.write_bytes(data)
        parse_in_worker(tmp, shown, limits)
        # within its bounds now: read here for the columns
        table, first_row, _ = read_table(tmp)
        detection = detect_columns(table, Columns(), path=shown)
    for old in folder.glob(f"{TABLE_STEM}.*"):
        if old != target:
            old.unlink()
    data_ = settings(folder)
    data_["entrees"] = {"initiatives": target.name}
    data_.pop("colonnes", None)  # a new table: its columns are found anew
    data_.setdefault("sorties", {})["fiches"] = (OUTPUT_FILES["fiches"]
                                                 if len(table) <= FICHES_UP_TO else "")
    save_settings(folder, data_)
    return table, detection, keep_matching_corrections(folder, table, detection, first_row)


def keep_matching_corrections(folder: Path, table: pd.DataFrame, detection: Detection,
                              first_row: int) -> list[RefusedCorrection]:
    """Keep only the decisions whose site is still in ``table`` with the same address as
    typed (and name); return the others, dropped from the corrections file."""
    decided = corrections(folder)
    if decided.empty:
        return []
    kept, dropped = still_matching(table, decided, id_column=detection.columns.id,
                                   address_columns=detection.columns.address,
                                   first_row=first_row)
    if dropped:
        write_table(decided.iloc[kept], folder / CORRECTIONS)
    return dropped


def preview(folder: Path, given: Columns | None = None
            ) -> tuple[pd.DataFrame, Detection | None, str | None]:
    """The study's table, the columns the engine recognises in it (with ``given``, else the
    study file's choices) and the engine's refusal, if any."""
    from ..indicators import read_measures
    from ..initiatives import read_table

    path = table_path(folder)
    if path is None:
        raise InputError("importez d'abord le tableau des initiatives.")
    table, first_row, _ = read_table(path)
    try:
        detection = detect_columns(table, given or columns(folder), path=path.name)
        # a number or a year that does not read is said here, before any run
        measures = read_measures(table, detection, path=path.name, first_row=first_row)
    except InputError as exc:
        return table, None, str(exc)
    detection.report.extend(measures.report)
    return table, detection, None


# --------------------------------------------------------------------------- outputs


def results_folder(folder: Path) -> Path:
    """The study's results folder (:func:`confined`: never a link out of the study)."""
    return inside(folder / OUTPUT_FILES["dossier"], folder, what="le dossier des résultats")


def result_file(folder: Path, key: str) -> Path:
    """The output ``key`` (:data:`OUTPUT_FILES`) of the study ``folder``, :func:`confined`."""
    return confined(folder, results_folder(folder) / OUTPUT_FILES[key], OUTPUT[key].what)


# --------------------------------------------------------------------------- review


def review(folder: Path) -> pd.DataFrame:
    """The doubtful addresses of the last run, with the decision already taken for each."""
    from ..initiatives import read_table

    path = result_file(folder, "relecture")
    if not path.is_file():
        return pd.DataFrame(columns=REVIEW_COLUMNS)
    rows = read_table(path)[0]
    decided = corrections(folder).set_index("cle")
    for column in ("accepter", "adresse_corrigee", "latitude", "longitude"):
        rows[column] = rows["cle"].map(decided[column]).fillna("") if len(decided) else ""
    return rows


def corrections(folder: Path) -> pd.DataFrame:
    """The corrections file (one row per decided address)."""
    from ..initiatives import read_table

    path = confined(folder, folder / CORRECTIONS, "le fichier de corrections")
    if not path.is_file():
        return pd.DataFrame(columns=CORRECTION_COLUMNS)
    table = read_table(path)[0]
    for column in CORRECTION_COLUMNS:
        if column not in table:
            table[column] = ""
    return table[CORRECTION_COLUMNS]


def decide(folder: Path, key: str, *, asked: str = "", name: str = "", accept: bool = False,
           address: str = "", point: tuple[float, float] | None = None) -> None:
    """Record one decision about the doubtful address ``key`` (replacing an earlier one):
    accept the proposal, give a corrected address, or place the point; nothing clears it."""
    table = corrections(folder)
    table = table[table["cle"] != key]
    if accept or address.strip() or point:
        row = {"cle": key, "nom": name, "adresse_saisie": asked,
               "accepter": "oui" if accept else "",
               "adresse_corrigee": address.strip(), "latitude": "", "longitude": ""}
        if point:
            row["latitude"], row["longitude"] = f"{point[0]:.6f}", f"{point[1]:.6f}"
        table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
    write_table(table, folder / CORRECTIONS)
