"""A study file (``etude.toml``): inputs, columns, quartiers, geocoding and outputs, run in one
go, the same way every time. ``ess-qpv demo`` runs the bundled fictional example with the
defaults of the template that ``ess-qpv init`` writes."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from . import assets, pipeline
from ._errors import InputError
from .io import atomic_path, write_table
from .link import compare, link
from .maps import embed_snippet
from .printmap import PAPER, print_map
from .qpv import filter_qpv, load_key_figures, load_qpv
from .report import write_report
from .sources import DEFAULT_SOURCE, bundled_path

EXAMPLE = "exemple/initiatives.csv"
DEMO_TITLE = "Exemple fictif – initiatives de l'ESS et quartiers prioritaires"
_OUTPUTS = ("tableau", "rapport", "carte", "carte_autonome", "carte_impression",
            "integration")


@dataclass
class Study:
    """Everything a run needs; paths are absolute."""

    initiatives: Path
    title: str = "Initiatives de l'ESS et quartiers prioritaires"
    sheet: str | None = None
    columns: pipeline.Columns = field(default_factory=pipeline.Columns)
    qpv_source: str = DEFAULT_SOURCE
    compare: str | None = None
    distance: float = 300.0
    departements: list[str] = field(default_factory=list)
    communes: list[str] = field(default_factory=list)
    geocoding: pipeline.Geocoding = field(default_factory=pipeline.Geocoding)
    outputs: dict[str, Path | None] = field(default_factory=dict)
    paper: str = "A4"


def default_outputs(folder: Path) -> dict[str, Path]:
    names = {"tableau": "initiatives_enrichies.csv", "rapport": "rapport.xlsx",
             "carte": "carte.html", "carte_autonome": "carte-autonome.html",
             "carte_impression": "carte.pdf", "integration": "carte-iframe.html"}
    return {k: folder / v for k, v in names.items()}


def demo_study(folder: Path) -> Study:
    """The bundled fictional example, with the template's defaults."""
    return Study(initiatives=bundled_path(EXAMPLE), title=DEMO_TITLE,
                 outputs=default_outputs(folder))


def load_study(path: str | Path) -> Study:
    """Read and check an ``etude.toml``; relative paths start from its folder."""
    path = Path(path)
    if not path.exists():
        raise InputError("fichier d'étude introuvable.", path=str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"fichier d'étude illisible ({exc}).", path=str(path)) from exc
    base = path.resolve().parent

    def get(section: str, key: str, kind: type, default):
        value = data.get(section, {}).get(key, default)
        if value is None or value == "":
            return default
        if kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, kind):
            raise InputError(f"[{section}] {key} doit être de type {kind.__name__} "
                             f"(trouvé : {value!r}).", path=str(path))
        return value

    source = get("entrees", "initiatives", str, None)
    if not source:
        raise InputError("[entrees] initiatives : indiquez le tableau des initiatives.",
                         path=str(path))
    folder = base / get("sorties", "dossier", str, "resultats")
    outputs = {}
    for key in _OUTPUTS:
        value = data.get("sorties", {}).get(key, default_outputs(folder)[key].name)
        outputs[key] = folder / value if value else None
    paper = get("sorties", "format_impression", str, "A4")
    if paper not in PAPER:
        raise InputError(f"[sorties] format_impression « {paper} » inconnu ; possibles : "
                         f"{', '.join(PAPER)}.", path=str(path))
    address = data.get("colonnes", {}).get("adresse") or None
    return Study(
        initiatives=base / source,
        title=get("etude", "titre", str, Study.title),
        sheet=get("entrees", "feuille", str, None),
        columns=pipeline.Columns(
            lon=get("colonnes", "longitude", str, None),
            lat=get("colonnes", "latitude", str, None),
            crs=get("colonnes", "crs", str, None), id=get("colonnes", "identifiant", str, None),
            theme=get("colonnes", "theme", str, None),
            served=get("colonnes", "quartiers_servis", str, None),
            radius=get("colonnes", "rayon", str, None),
            address=list(address) if address else None),
        qpv_source=_source(get("quartiers", "source", str, DEFAULT_SOURCE), base),
        compare=_source(get("quartiers", "comparer", str, None), base),
        distance=get("quartiers", "distance_m", float, 300.0),
        departements=[str(d) for d in get("quartiers", "departements", list, [])],
        communes=[str(c) for c in get("quartiers", "communes", list, [])],
        geocoding=pipeline.Geocoding(
            online=get("geocodage", "en_ligne", bool, False),
            url=get("geocodage", "url", str, pipeline.gc.DEFAULT_URL),
            min_score=get("geocodage", "score_minimal", float, pipeline.gc.DEFAULT_MIN_SCORE),
            corrections=str(base / c) if (c := get("geocodage", "corrections", str, None))
            else None),
        outputs=outputs, paper=paper)


def _source(value: str | None, base: Path) -> str | None:
    """A QPV source: a registry key or a URL as is, a path relative to the study file."""
    from .sources import SOURCES

    if not value or value in SOURCES or value.startswith(("http://", "https://")):
        return value
    return str(base / value)


def run_study(study: Study, *, progress=None) -> tuple[list[tuple[Path, str]], dict]:
    """Run the study; return the files written (path, what) and the link summary."""
    sites = pipeline.read_sites(study.initiatives, columns=study.columns,
                                geocoding=study.geocoding, sheet=study.sheet,
                                progress=progress)
    initiatives = sites.initiatives
    qpv = load_qpv(study.qpv_source)
    focus = study.departements or study.communes
    studied = filter_qpv(qpv, departement=study.departements or None,
                         commune=study.communes or None) if focus else qpv
    result = link(initiatives, studied, distance=study.distance)
    previous = None
    if study.compare:
        previous = load_qpv(study.compare)
        evolution = compare(result.sites, studied, previous)
        for column in evolution.columns:
            result.sites[column] = evolution[column].to_numpy()
    parameters = {"initiatives": str(study.initiatives), "distance_m": study.distance,
                  "comparaison": study.compare or "", "territoire":
                  ", ".join(study.departements + study.communes) or "tout le fichier",
                  "géocodage en ligne": study.geocoding.online,
                  "géocodeur": study.geocoding.url}
    info = pipeline.provenance(qpv, parameters)
    written: list[tuple[Path, str]] = []
    out = study.outputs
    if out.get("tableau"):
        table = result.sites
        if out["tableau"].suffix.lower() in (".csv", ".xlsx"):
            table = table.drop(columns=table.geometry.name)
        write_table(table, out["tableau"], layer="sites", sep=initiatives.separator)
        written.append((out["tableau"], "tableau enrichi, un site par ligne"))
    if out.get("rapport"):
        numeric = [*(initiatives.coordinate_columns or ()), initiatives.radius_column]
        write_report(out["rapport"], result, geocoded=sites.geocoded, sources=info,
                     numeric=[c for c in numeric if c])
        written.append((out["rapport"], "rapport Excel"))
    if any(out.get(k) for k in ("carte", "carte_autonome", "carte_impression")):
        written += _maps(study, initiatives, qpv, studied, result, previous, info)
    manifest = out.get("carte") or out.get("rapport") or out.get("tableau")
    if manifest is not None:
        path = manifest.parent / "provenance.json"
        info["fichiers"] = [str(p.name) for p, _ in written]
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        written.append((path, "provenance : version, sources, paramètres"))
    return written, result.summary()


def _maps(study: Study, initiatives, qpv, studied, result, previous, info) -> list:
    parts = pipeline.map_parts(initiatives, qpv, studied, result, previous,
                               focused=bool(study.departements or study.communes))
    fmap = pipeline.render_map(parts, initiatives, title=study.title, distance=study.distance,
                               key_figures=load_key_figures(), provenance=info)
    page = fmap.get_root().render()
    written = []
    out = study.outputs
    pages = [("carte", page, "carte interactive")]
    if out.get("carte_autonome"):
        pages.append(("carte_autonome", assets.self_contained(page),
                      "carte autonome, sans internet"))
    if out.get("integration") and out.get("carte"):
        pages.append(("integration", embed_snippet(out["carte"].name, title=study.title),
                      "extrait <iframe> à intégrer"))
    for key, text, what in pages:
        if out.get(key):
            with atomic_path(out[key]) as tmp:
                tmp.write_text(text, encoding="utf-8")
            written.append((out[key], what))
    if out.get("carte_impression"):
        print_map(parts.result, parts.shown, out["carte_impression"], paper=study.paper,
                  title=study.title, theme_column=initiatives.theme_column,
                  previous=parts.previous, bounds=parts.bounds)
        written.append((out["carte_impression"], f"carte à imprimer ({study.paper})"))
    return written


def write_template(folder: str | Path) -> list[tuple[Path, str]]:
    """Write ``etude.toml`` (commented) and ``initiatives_modele.xlsx`` into ``folder``."""
    import pandas as pd

    from .io import write_workbook

    folder = Path(folder)
    toml = folder / "etude.toml"
    if toml.exists():
        raise InputError("un fichier d'étude existe déjà ici ; rien n'a été écrasé.",
                         path=str(toml))
    text = resources.files("geo").joinpath("templates", "etude.toml").read_text(
        encoding="utf-8").format(titre=Study.title, initiatives="initiatives_modele.xlsx",
                                 sorties="resultats")
    with atomic_path(toml) as tmp:
        tmp.write_text(text, encoding="utf-8")
    columns = TEMPLATE_COLUMNS
    template = folder / "initiatives_modele.xlsx"
    write_workbook({"Initiatives": pd.DataFrame(columns=[c for c, _ in columns]),
                    "Colonnes": pd.DataFrame(columns, columns=["Colonne", "Contenu"])}, template)
    return [(toml, "fichier d'étude commenté"),
            (template, "modèle de tableau (feuille Colonnes : le sens de chaque colonne)")]


TEMPLATE_COLUMNS = [
    ("id_initiative", "Identifiant de l'initiative ; plusieurs sites d'une même initiative "
                      "partagent le même"),
    ("nom", "Nom de l'initiative ou du site"),
    ("theme", "Thème (conciergerie solidaire, recyclerie, épicerie solidaire…)"),
    ("adresse", "Numéro et voie, par exemple « 12 rue de la République »"),
    ("code_postal", "Code postal (texte : gardez le zéro initial)"),
    ("commune", "Commune"),
    ("latitude", "Latitude en degrés décimaux (vide : l'adresse sera géocodée)"),
    ("longitude", "Longitude en degrés décimaux"),
    ("qpv_servis", "Quartiers où l'initiative intervient : codes (QN…) ou noms, séparés par ;"),
    ("rayon_m", "Rayon d'intervention en mètres (facultatif)"),
    ("site_web", "Adresse du site web (https://…)"),
]
