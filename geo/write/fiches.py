"""One page per initiative, as the study's publication presents them: who it is, where its
sites are, which quartiers it is implanted in, near or serves.

Each page (portrait, A3, A4 or A5; fonts embedded) holds the initiative's name, theme and
website, a map zoomed to its sites and quartiers (one panel per agglomeration when its sites
are far apart; its sites numbered, its quartiers filled by relation and named, the nearest
one too; a site far from any quartier framed with its commune, named; a locator of its
département in a corner; drawn by :mod:`geo.write.sitemaps`), the table of its sites and the
table of its quartiers with their communes and distances. A page is a reportlab drawing
(:mod:`geo.write.vectorpage`, :mod:`geo.write.pagelayout`), its text measured from the
font's advances. Each map is drawn once: the page's map is also written, cropped, as PNG
(300 dpi) and SVG (text kept as text) files for layout software, when asked or for a
study of a few dozen initiatives (:data:`IMAGES_UP_TO`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import InputError
from .._validate import safe_url, slug
from ..addresses import join_address
from ..initiatives import Initiatives, initiative_ids
from ..io import atomic_path, publish, retire, temporary_beside
from ..link import LinkResult
from ..territories import TERRITORIES, territory_of_points
from ..typography import french_spacing, number, plural, plural_form
from ..vocabulary import Relation
from .drawing import font_pt, shaped
from .drawnpages import write_drawings
from .mapstyle import metres_text, theme_values
from .pagelayout import PageText, legend
from .printlayers import PAPER, PRINT_SOURCES, PrintLayers, initiative_links, prepare_layers
from .printlegend import legend_handles
from .printmap import pdf_metadata
from .printpanels import find_agglomerations
from .sitemaps import Panel, SiteMaps, place_names
from .vectorpage import (
    PT_PER_MM,
    Drawing,
    Group,
    Rect,
    named,
    page_drawing,
    svg_text,
    text,
    write_png,
)

#: Relations in the order a page lists them (the closest first).
_ORDER = (Relation.IMPLANTED, Relation.NEARBY, Relation.SERVED)
#: At most this many map panels on a page (the largest agglomerations of the initiative).
_MAX_PANELS = 3
#: Served quartiers farther than this (metres) from a panel's sites don't widen it.
_SERVED_REACH = 8_000
#: Resolution of the PNG maps.
PNG_DPI = 300
#: Without a say, the PNG and SVG maps are written for a study of at most this many
#: initiatives (each costs more than its page).
IMAGES_UP_TO = 40
#: A site whose nearest quartier is closer than this (metres) has it in its map's frame
#: (a village's map then shows where the quartiers are; beyond, its locator does).
_NEAREST_REACH = 60_000
#: The smallest type on a page (points), whatever the paper: A5 stays readable.
_SMALLEST = 7.0
#: Names as the table's other name columns may hold them in proper case (SIRENE's brand
#: and usual name, a directory's short title), looked for when the name is in capitals.
_PROPER_NAMES = ("enseigne1etablissement", "enseigne", "brand",
                 "denominationusuelleetablissement", "nom_commercial", "titre_court",
                 "nom_usuel")


@dataclass
class Fiche:
    """What one page says of one initiative."""

    key: str
    name: str
    theme: str
    website: str
    #: Positions of its sites in the study's site table.
    positions: np.ndarray
    #: One row per site: ``n``, ``adresse``, ``situation``, ``quartier`` (its quartiers, else
    #: the nearest one), ``distance``.
    sites: pd.DataFrame
    #: One row per quartier: ``nom``, ``communes``, ``code``, ``relations``, ``distance``,
    #: ``sites``; and ``_relation``, its closest relation (for the map).
    quartiers: pd.DataFrame
    #: Whether at least one of its sites is placed (else nothing is said of quartiers but
    #: those it declares serving).
    located: bool = True
    #: Whether ``key`` is the table's own identifier (else a row number).
    identified: bool = True
    #: The commune typed in the table for each of its sites (position → name), if any.
    places: dict[int, str] = field(default_factory=dict)
    #: Why the coordinates typed for some of its sites were set aside (they contradict
    #: the site's own address: :mod:`geo.placecheck`), one cause per site.
    set_aside: list[str] = field(default_factory=list)
    #: How far (metres) the quartiers' outlines may be from the exact ones, when some of
    #: its sites are closer than that to a quartier's limit (``boundary_uncertain``): on
    #: which side they are is not certain.
    uncertain: float = 0.0

    @property
    def file_stem(self) -> str:
        """A file name for its maps: its identifier and name, ASCII, no separator (before
        the study's other initiatives are considered: :func:`map_stems`)."""
        return _stem(self.key, self.name)


def _stem(key: str, name: str) -> str:
    return slug(f"{key} {name}" if name and name != key else key, limit=80)


#: Names Windows keeps for its devices, with or without an extension, in any case.
_RESERVED = re.compile(r"(con|prn|aux|nul|com[1-9]|lpt[1-9])", re.IGNORECASE)


def map_stems(named: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The file stem of each initiative's maps, from its (identifier, name): distinct
    whatever the case and accents (two that would meet take ``_`` and a fingerprint of
    their identifier, the same from one run to the next, which no plain stem can hold),
    never a name Windows keeps for a device (``_fiche`` is added)."""
    base = {key: _stem(key, name) for key, name in named}
    counts: dict[str, int] = {}
    for stem in base.values():
        counts[stem.casefold()] = counts.get(stem.casefold(), 0) + 1
    stems = {}
    for key, stem in base.items():
        if counts[stem.casefold()] > 1:
            stem = f"{stem[:60]}_{_fingerprint(key, 8)}"
        stems[key] = stem
    if len({s.casefold() for s in stems.values()}) < len(stems):  # 8 hex digits met
        stems = {k: f"{base[k][:40]}_{_fingerprint(k, 64)}" if s != base[k] else s
                 for k, s in stems.items()}
    return {k: f"{s}_fiche" if _RESERVED.fullmatch(s.split(".")[0]) else s
            for k, s in stems.items()}


def _fingerprint(key: str, size: int) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:size]


def initiative_maps(result: LinkResult, initiatives: Initiatives) -> dict[str, str]:
    """The file stem of the maps of each initiative that has one (a located site), in the
    order of the table."""
    sites = result.sites
    ids = initiative_ids(initiatives).reset_index(drop=True)
    located = pd.Series(sites.geometry.notna().to_numpy()).groupby(ids, sort=False).any()
    column = initiatives.name_column
    names = (pd.Series(sites[column].to_numpy()) if column and column in sites
             else pd.Series([""] * len(ids)))
    head = ~ids.duplicated()
    first = pd.Series(names[head].to_numpy(), index=ids[head])  # the first site's, as shown
    return map_stems((str(key), _cell(first.get(key)) or str(key))
                     for key in located.index[located.to_numpy()])


def initiative_fiches(result: LinkResult, initiatives: Initiatives,
                      qpv: gpd.GeoDataFrame) -> list[Fiche]:
    """One :class:`Fiche` per initiative, in the order of the table."""
    sites = result.sites
    ids = initiative_ids(initiatives).to_numpy()
    long = result.long
    communes = qpv["communes"].to_numpy() if "communes" in qpv else None
    qpv_names = dict(zip(qpv["code_qp"], qpv["nom_qp"], strict=True))
    address = _addresses(sites, initiatives)
    proper = _proper_columns(sites, initiatives.name_column)
    located = sites.geometry.notna().to_numpy()
    towns = _towns(sites, initiatives)
    # the columns read, as arrays (a row of a DataFrame costs as much as a page's line)
    column = {c: sites[c].to_numpy() for c in {
        "relation", "distance_m", "nom_qp", "nearest_code_qp", "boundary_uncertain", *proper,
        *(c for c in (initiatives.name_column, initiatives.theme_column,
                      initiatives.website_column) if c)} if c in sites}
    by_key = dict(list(long.groupby(ids[long["_site"].to_numpy()], sort=False))) \
        if len(long) else {}
    set_aside = _set_aside(initiatives)
    out = []
    for key in pd.unique(ids):
        positions = np.flatnonzero(ids == key)
        first = positions[0]

        def text(name, first=first):
            return "" if not name or name not in column else _cell(column[name][first])

        rows = []
        doubt = column["boundary_uncertain"][positions] == "oui" \
            if "boundary_uncertain" in column else np.zeros(len(positions), dtype=bool)
        for n, i in enumerate(positions, start=1):
            relation = Relation(column["relation"][i])
            distance = column["distance_m"][i]
            nearest = _cell(column["nom_qp"][i]).replace(";", ", ") or \
                qpv_names.get(column["nearest_code_qp"][i], "")
            rows.append({"n": str(n), "adresse": address[i],
                         "situation": f"{relation.label} (limite incertaine)"
                         if doubt[n - 1] else relation.label,
                         "quartier": nearest,
                         "distance": "" if relation == Relation.NOT_LOCATED or pd.isna(distance)
                         else _metres(distance)})
        mine = by_key.get(key, long.iloc[:0])
        name = text(initiatives.name_column)
        out.append(Fiche(
            key=str(key), name=_proper_name(name, [text(c) for c in proper]) or str(key),
            theme=text(initiatives.theme_column), website=text(initiatives.website_column),
            positions=positions, sites=pd.DataFrame(rows, columns=[
                "n", "adresse", "situation", "quartier", "distance"]),
            quartiers=_quartiers(mine, positions, communes),
            located=bool(located[positions].any()),
            places={int(i): towns[i] for i in positions if towns[i]},
            set_aside=[set_aside[i] for i in positions if i in set_aside],
            uncertain=float(getattr(result, "rounding", 0.0)) if doubt.any() else 0.0,
            identified=initiatives.id_column is not None
            and not str(key).startswith("ligne ")))
    return out


def _set_aside(initiatives: Initiatives) -> dict[int, str]:
    """The cause, by site position, of each typed point set aside because it contradicts
    its own address (« coordonnées dans le département 38 (Isère), adresse à Vénissieux
    (69200) »), as the review states it."""
    said = {issue.row: issue.message for issue in initiatives.issues}
    return {i: french_spacing(said.get(initiatives.row_number(i), "").split(
        "\u00a0: à vérifier")[0]) for i in initiatives.contradicted}


def _towns(sites: pd.DataFrame, initiatives: Initiatives) -> list[str]:
    """Each site's commune as typed: the address column whose cells name communes."""
    from ..communes import name_key, name_keys

    known = name_keys()
    for column in reversed([c for c in initiatives.address_columns or () if c in sites]):
        cells = [_cell(v) for v in sites[column]]
        named = [c for c in cells if c]
        if named and sum(name_key(c) in known for c in named) >= len(named) / 2:
            return [c if name_key(c) in known else "" for c in cells]
    return [""] * len(sites)


def _outline_places(fiches: list[Fiche], sites: gpd.GeoDataFrame) -> None:
    """Name each located site by the commune outline that holds it (looked up once for the
    whole study, not once a page), over the commune typed in the table."""
    from ..outlines import commune_of_points

    codes = commune_of_points(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
    names = pd.Series(codes, index=sites.index).map(_commune_names()).dropna()
    held = names[names != ""].to_dict()
    for fiche in fiches:
        fiche.places.update({int(i): held[i] for i in fiche.positions if i in held})


def _proper_columns(sites: pd.DataFrame, name_column: str | None) -> list[str]:
    """The table's other name columns that may hold the name in proper case."""
    from ..vocabulary import normal_name

    wanted = {normal_name(c) for c in _PROPER_NAMES}
    return [c for c in sites.columns if c != name_column and isinstance(c, str)
            and normal_name(c) in wanted]


#: Words a French name keeps in lower case inside (articles, prepositions).
_LOWER = frozenset({"de", "du", "des", "d", "la", "le", "les", "l", "et", "en", "au", "aux",
                    "à", "sur", "sous", "pour", "par"})


def _proper_name(name: str, others: list[str]) -> str:
    """The name to print: as typed, unless it is in capitals; then another name column's
    value in proper case when there is one, else a careful title case (« ASSOCIATION DE LA
    RUE » → « Association de la Rue »)."""
    if not name or not _capitals(name):
        return name
    for other in others:
        if other and not _capitals(other):
            return other
    return _title(name)


def _capitals(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) > 3 and all(c.isupper() for c in letters)


def _title(text: str) -> str:
    """Title case for a French name in capitals, articles and prepositions in lower case
    (but the first word), elisions kept (« L'ÉCHOPPE D'ICI » → « L’Échoppe d’Ici »)."""
    words = []
    for k, word in enumerate(text.lower().split()):
        parts = re.split(r"(['’-])", word)
        done = []
        for j, part in enumerate(parts):
            if part in ("'", "’", "-"):
                done.append("’" if part == "'" else part)
            elif part in _LOWER and (k or j):
                done.append(part)
            else:
                done.append(part[:1].upper() + part[1:])
        words.append("".join(done))
    return " ".join(words)


def _cell(value) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) \
        else " ".join(str(value).split())


def _addresses(sites: pd.DataFrame, initiatives: Initiatives) -> list[str]:
    """Each site's address as typed (its columns joined, but the INSEE code, which is no
    postcode: the commune it names when no commune is typed), else as the geocoder found
    it."""
    citycode = initiatives.roles.get("citycode")
    columns = [c for c in initiatives.address_columns or () if c in sites and c != citycode]
    named = initiatives.roles.get("city") in columns
    codes = sites[citycode] if citycode in sites and not named else None
    out = []
    for i, (_, site) in enumerate(sites.iterrows()):
        parts = [_cell(site[c]) for c in columns]
        if codes is not None:
            parts.append(str(_commune_names().get(_cell(codes.iloc[i]).zfill(5), "")))
        text = join_address(parts)
        out.append(text or _cell(site.get("geocode_label")) or "(adresse non renseignée)")
    return out


def _metres(value: float) -> str:
    value = float(value)
    return "à l’intérieur" if value <= 0 else metres_text(value)


def _quartiers(long: pd.DataFrame, positions: np.ndarray, communes) -> pd.DataFrame:
    """The quartiers of one initiative, one row each: all its relations, the shortest
    distance, the numbers of the sites concerned; the closest relations first."""
    columns = ["nom", "communes", "code", "relations", "distance", "sites", "_relation"]
    if not len(long):  # most initiatives of a large directory: no groupby for nothing
        return pd.DataFrame(columns=columns)
    number = {int(p): n for n, p in enumerate(positions, start=1)}
    rows = []
    for qpv, part in long.groupby("_qpv", sort=False):
        relations = [r for r in _ORDER if (part["relation"] == r).any()]
        # a quartier one site is implanted in is not nearby for the initiative
        if Relation.IMPLANTED in relations and Relation.NEARBY in relations:
            relations.remove(Relation.NEARBY)
        distance = pd.to_numeric(part["distance_m"], errors="coerce").min()
        rows.append({
            "nom": _cell(part["nom_qp"].iloc[0]),
            "communes": _cell(communes[qpv]).replace(";", ", ") if communes is not None
            else "",
            "code": part["code_qp"].iloc[0],
            "relations": ", ".join(r.label for r in relations),
            "distance": _metres(distance) if pd.notna(distance) else "",
            "sites": ", ".join(str(number[s]) for s in sorted(set(part["_site"]))),
            "_relation": relations[0], "_rank": _ORDER.index(relations[0]),
            "_distance": distance})
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows).sort_values(["_rank", "_distance", "nom"], kind="stable")
    return frame[columns].reset_index(drop=True)


# --------------------------------------------------------------------------- writing


def fiche_images_folder(path: str | Path) -> Path:
    """Where the maps of the pages go: a folder named like the PDF, beside it."""
    path = Path(path)
    return path.with_name(path.stem)


#: The list of the maps the last run wrote in the fiches' folder (JSON, their names): the
#: next run removes those it does not write again (an initiative taken out of the table),
#: and never a file it did not write.
MAPS_LIST = ".ess-qpv-cartes.json"


def fiche_maps(folder: str | Path) -> list[Path]:
    """The maps the last run wrote in ``folder``, as its list names them (PNG and SVG files
    of that folder only, whatever the list holds)."""
    folder = Path(folder)
    try:
        names = json.loads((folder / MAPS_LIST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(names, list):
        return []
    return [folder / n for n in names if isinstance(n, str) and Path(n).name == n
            and not n.startswith(".") and Path(n).suffix in (".png", ".svg")
            and (folder / n).is_file() and not (folder / n).is_symlink()]


def check_fiche_maps(result: LinkResult, initiatives: Initiatives,
                     path: str | Path) -> None:
    """Refuse, before any work, maps that would replace a file of their folder that no
    run of the tool wrote (not in its list of maps; names compared as Windows and macOS do,
    whatever the case): the user's own file is never overwritten."""
    folder = fiche_images_folder(path)
    if folder.exists() and not folder.is_dir():
        raise InputError("les cartes des fiches vont dans un dossier de ce nom, et c'est un "
                         "fichier : déplacez-le ou renommez les fiches ; rien n'a été écrit.",
                         path=str(folder))
    try:
        present = {p.name.casefold(): p.name for p in folder.iterdir()}
    except OSError:
        return  # no folder yet: nothing to overwrite
    ours = {p.name.casefold() for p in fiche_maps(folder)}
    foreign = sorted({present[name] for stem in initiative_maps(result, initiatives).values()
                      for suffix in (".png", ".svg")
                      if (name := f"{stem}{suffix}".casefold()) in present
                      and name not in ours})
    if foreign:
        shown = ", ".join(f"« {n} »" for n in foreign[:5]) + (" …" if len(foreign) > 5 else "")
        what = (f"le fichier {shown}, qu'il n'a pas écrit" if len(foreign) == 1 else
                f"{len(foreign)} fichiers qu'il n'a pas écrits ({shown})")
        raise InputError(f"les cartes des fiches remplaceraient {what} : rien n'a été "
                         "écrasé ni écrit ; déplacez ou renommez ce que vous voulez garder, "
                         "ou choisissez un autre nom pour les fiches.", path=str(folder))


def fiche_pages(result: LinkResult, initiatives: Initiatives, qpv: gpd.GeoDataFrame, *,
                paper: str = "A4", title: str = "",
                previous: gpd.GeoDataFrame | None = None) -> Iterator[Drawing]:
    """The pages of :func:`write_fiches`, one reportlab drawing per initiative, made as
    they are asked for (to show one in a notebook: ``drawing.asString("png")``)."""
    fiches = initiative_fiches(result, initiatives, qpv)
    layers = prepare_layers(result, qpv, previous, initiatives.theme_column, None)
    _outline_places(fiches, layers.sites)
    for k, fiche in enumerate(fiches, start=1):
        yield fiche_page(fiche, layers, PAPER[paper], title, k, len(fiches))


def write_fiches(result: LinkResult, initiatives: Initiatives, qpv: gpd.GeoDataFrame,
                 path: str | Path, *, paper: str = "A4", title: str = "",
                 previous: gpd.GeoDataFrame | None = None,
                 images: bool | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 workers: int | None = None) -> list[Path]:
    """Write the PDF of one page per initiative to ``path`` and, with ``images``, each
    initiative's map as PNG (300 dpi) and SVG in :func:`fiche_images_folder`; return the
    files written (the PDF first).

    ``images=None`` writes the maps for a study of at most :data:`IMAGES_UP_TO`
    initiatives. Each map is drawn once, for the page and its files. ``progress(done,
    total)`` hears of each page written. The pages are shared by ``workers`` processes
    (default: every core; :func:`geo.write.drawnpages.write_drawings`)."""
    path = Path(path)
    if path.suffix.lower() != ".pdf":
        raise InputError("les fiches par initiative s'écrivent en .pdf.", path=path.name,
                         parameters=("fiches",))
    if paper not in PAPER:
        raise InputError(f"format de papier « {paper} » inconnu ; possibles : "
                         f"{', '.join(PAPER)}.", parameters=("paper",))
    fiches = initiative_fiches(result, initiatives, qpv)
    if images is None:
        images = len(fiches) <= IMAGES_UP_TO
    if images:
        check_fiche_maps(result, initiatives, path)
    layers = prepare_layers(result, qpv, previous, initiatives.theme_column, None)
    _outline_places(fiches, layers.sites)
    _site_maps(layers).project_all()  # before the workers fork: they inherit it
    size = PAPER[paper]
    folder = fiche_images_folder(path)
    stems = initiative_maps(result, initiatives) if images else {}
    written = [path]
    if progress:
        progress(0, len(fiches))

    def page(k: int) -> Drawing:
        return fiche_page(fiches[k], layers, size, title, k + 1, len(fiches))

    # the maps are drawn (maybe by worker processes) into a folder of their own, and
    # published with the PDF: a failed run leaves none of them behind
    scratch = folder / f".ess-qpv-cartes-{os.getpid()}"
    fresh = not folder.exists()

    def save(k: int, drawing: Drawing) -> list[tuple[Path, Path]]:
        key = fiches[k].key
        return _save_map(drawing, folder / stems[key], fiches[k].name, scratch) \
            if key in stems else []

    maps: list[tuple[Path, Path]] = []
    try:
        with atomic_path(path) as tmp:
            for files in write_drawings(
                    tmp, len(fiches), page, after=save, workers=workers,
                    metadata=pdf_metadata(".pdf", title or "Fiches par initiative"),
                    progress=progress):
                maps += files
            for tmp_map, target in maps:  # with the PDF, all or nothing
                publish(tmp_map, target)
                written.append(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if fresh and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    if not images:
        return written
    maps = [p.name for p in written[1:]]
    earlier = fiche_maps(folder)
    for stale in earlier:
        if stale.name not in maps:
            retire(stale)
    if maps or earlier:
        with atomic_path(folder / MAPS_LIST) as tmp:
            tmp.write_text(json.dumps(maps, ensure_ascii=False), encoding="utf-8")
    return written


def _save_map(page: Drawing, stem: Path, name: str, scratch: Path
              ) -> list[tuple[Path, Path]]:
    """Write the map of a page already drawn (``page.map``: its shapes and its box in
    points) as PNG (:data:`PNG_DPI`) and SVG, into the folder ``scratch``; the SVG keeps
    its text as ``<text>``. Return the (file written, its target) pairs, for the run to
    publish."""
    shown = getattr(page, "map", None)
    if shown is None:
        return []
    group, (x, y, w, h) = shown
    drawing = Drawing(w, h)
    drawing.add(Group(group, transform=(1, 0, 0, 1, -x, -y)))
    scratch.mkdir(parents=True, exist_ok=True)
    out = []
    for suffix in (".png", ".svg"):
        target = stem.with_name(stem.name + suffix)
        tmp = temporary_beside(scratch / target.name)  # made by its writer: the umask's mode
        if suffix == ".png":
            write_png(drawing, tmp, PNG_DPI, pdf_metadata(suffix, name))
        else:
            Path(tmp).write_text(svg_text(drawing, name), encoding="utf-8")
        out.append((Path(tmp), target))
    return out


# --------------------------------------------------------------------------- pages


def _size(size, points: float) -> float:
    """A type size for the page: the print's scaling for smaller paper, never below
    :data:`_SMALLEST` points."""
    return max(font_pt(size, points), _SMALLEST)


def fiche_page(fiche: Fiche, layers: PrintLayers, size: tuple[float, float], title: str,
               number: int, total: int) -> Drawing:
    """One initiative's page (``size`` in millimetres, portrait), a reportlab drawing.
    Its map (shapes and box in points, with its legend and sources) is kept as
    ``drawing.map`` to write it alone; its links (url, box) as ``drawing.links``."""
    drawing = page_drawing(size)
    w, h = size
    k = w / 210
    margin = max(12 * k, 8)
    page = PageText(drawing, size)
    top = h - margin
    small = _size(size, 7)
    page.text(margin, top, french_spacing(f"{title} – fiche {number} sur {total}") if title
              else f"Fiche {number} sur {total}", fontsize=small, color="#333")
    top -= small * 0.3528 + 3
    top = page.wrapped(margin, top, w - 2 * margin, fiche.name, fontsize=_size(size, 15),
                       fontweight="bold", max_lines=2)
    details = [f"Identifiant : {fiche.key}" if fiche.identified
               else f"{fiche.key[:1].upper()}{fiche.key[1:]} du tableau"]
    if themes := theme_values(fiche.theme):
        details.append(f"{plural_form(len(themes), 'Thème')} : {', '.join(themes)}")
    body = _size(size, 8.5)
    top = page.wrapped(margin, top - 1, w - 2 * margin, " · ".join(details),
                       fontsize=body, color="#222", max_lines=2)
    if url := safe_url(fiche.website):  # an http(s) address only (never javascript:)
        top = page.wrapped(margin, top - 0.5, w - 2 * margin, f"Site web : {url}",
                           fontsize=body, color="#1a4f8b", max_lines=1, url=url)
    top = page.wrapped(margin, top - 1, w - 2 * margin, _summary(fiche),
                       fontsize=body, color="#222", max_lines=3)
    foot = margin
    sources = _size(size, 6.5)
    source_room = sources * 0.3528 * 2.6 + 1
    room = top - 3 - foot
    row = _size(size, 7.2) * 0.3528 * 1.3
    # the tables' height as laid out (a cell wraps on two lines at most); the map takes the
    # rest of the page, at least 40 % of it: no blank half under short tables
    tables = 2 * (_size(size, 9) * 0.3528 * 1.3 + row + 3.6) + 3 + sum(
        (2 if len(a) > 48 or len(q) > 36 else 1) * row + 0.8
        for a, q in zip(fiche.sites["adresse"], fiche.sites["quartier"], strict=True)) + \
        max(len(fiche.quartiers), 1) * (row + 0.8) + 4
    located = layers.sites.index.isin(fiche.positions).any()
    if located:
        map_height = min(max(room - tables - 4, room * 0.4), room * 0.78)
        zone = (margin, top - 3 - map_height, w - 2 * margin, map_height)
        shown = Group()
        # the map's type and symbols as on A4 at least (A5 names stay readable)
        _maps(shown, _fiche_layers(fiche, layers), (
            zone[0], zone[1] + source_room, zone[2], zone[3] - source_room),
            (max(w, 210), max(h, 297)), fiche.places, _site_maps(layers))
        PageText(shown, size).wrapped(margin, zone[1] + source_room - 0.5, w - 2 * margin,
                                      PRINT_SOURCES, fontsize=sources, color="#333",
                                      max_lines=2)
        drawing.add(shown)
        drawing.map = (shown, tuple(v * PT_PER_MM for v in (
            zone[0] - 1, zone[1] - 1, zone[2] + 2, zone[3] + 2)))
        y = zone[1] - 4
    else:
        y = page.wrapped(margin, top - 4, w - 2 * margin, _unplaced(fiche),
                         fontsize=_size(size, 9), color="#7b241c", max_lines=4) - 4
        page.wrapped(margin, margin + source_room, w - 2 * margin, PRINT_SOURCES,
                     fontsize=sources, color="#333", max_lines=2)
        foot = margin + source_room
    tables = {"size": _size(size, 7.2), "caption_size": _size(size, 9), "bottom": foot}
    y = page.table(margin, y, w - 2 * margin, "Sites", fiche.sites,
                   [("n", "N°", 0.05), ("adresse", "Adresse", 0.38),
                    ("situation", "Situation", 0.14),
                    ("quartier", "Quartier (ou le plus proche)", 0.31),
                    ("distance", "Distance", 0.12)], **tables)
    page.table(margin, y - 3, w - 2 * margin, "Quartiers prioritaires", fiche.quartiers,
               [("nom", "Quartier", 0.3), ("communes", "Communes", 0.2),
                ("code", "Code", 0.12), ("relations", "Relation", 0.17),
                ("distance", "Distance", 0.11), ("sites", "Sites", 0.1)], **tables,
               empty="Aucun quartier prioritaire dans un rayon de la distance d'étude, "
                     "ni déclaré." if fiche.located else
                     "Aucun quartier déclaré ; les autres attendent des coordonnées corrigées "
                     "ou acceptées." if fiche.set_aside else
                     "Aucun quartier déclaré ; position inconnue pour les autres.")
    drawing.links = page.links
    return drawing


def _unplaced(fiche: Fiche) -> str:
    """What the page of an initiative without any placed site says instead of a map: why
    (its typed coordinates set aside, else no position at all) and what to do."""
    if fiche.set_aside:
        causes = " ; ".join(dict.fromkeys(fiche.set_aside))
        return french_spacing(
            f"Coordonnées du tableau écartées : elles contredisent l'adresse ({causes}). "
            "Pas de carte, et rien à dire des quartiers prioritaires alentour, tant qu'elles "
            "ne sont pas corrigées : corrigez-les dans le tableau, ou gardez-les à la "
            "relecture (« accepter » : oui, dans le fichier de relecture).")
    return french_spacing(
        "Position inconnue : aucun site localisé, donc pas de carte et rien à dire des "
        "quartiers prioritaires alentour. Vérifiez l'adresse (fichier de relecture) ou "
        "donnez les coordonnées.")


def _summary(fiche: Fiche) -> str:
    """The page's sentence on the initiative's quartiers; nothing about the quartiers
    around an initiative whose position is unknown."""
    n = len(fiche.sites)
    parts = [plural(n, "site")]
    unknown = int((fiche.sites["situation"] == Relation.NOT_LOCATED.label).sum())
    if not fiche.located:
        parts.append("coordonnées écartées (contraires à l'adresse)" if fiche.set_aside
                     else "position inconnue (aucun site localisé)")
    elif unknown:
        parts.append(f"dont {plural(unknown, 'non localisé')}")
    counts = fiche.quartiers["_relation"].value_counts() if len(fiche.quartiers) else {}
    implanted, nearby, served = (r.label for r in _ORDER)
    words = {Relation.IMPLANTED: lambda n: f"{implanted} dans {plural(n, 'quartier prioritaire')}",
             Relation.NEARBY: lambda n: f"{nearby} de {plural(n, 'autre')}"
             if Relation.IMPLANTED in counts
             else f"{nearby} de {plural(n, 'quartier prioritaire')}",
             Relation.SERVED: lambda n: f"{served} dans {plural(n, 'quartier')}"}
    said = [words[r](int(counts[r])) for r in _ORDER if r in counts]
    also = fiche.quartiers["relations"].str.contains(served) \
        if len(fiche.quartiers) else pd.Series(dtype=bool)
    if also.any() and Relation.SERVED not in counts:
        said.append(f"{served} dans {plural(int(also.sum()), 'quartier')}")
    if not said and fiche.located:
        said = ["ni dans ni près d'un quartier prioritaire"]
    if fiche.uncertain:
        doubts = int(fiche.sites["situation"].str.endswith("(limite incertaine)").sum())
        said.append(f"limite incertaine pour {plural(doubts, 'site')} : à moins de "
                    f"{number(fiche.uncertain, 0)}\u00a0m d'une limite de quartier, dont les "
                    f"contours sont arrondis, {'il peut' if doubts < 2 else 'ils peuvent'} "
                    "être de l'autre côté")
    return french_spacing(" ; ".join(parts + said) + ".")


#: The projections of the last run's layers (its ``sites``, the key), shared by its pages
#: and inherited by the workers that write them.
_SHARED: list = []


def _site_maps(layers: PrintLayers) -> SiteMaps:
    """The :class:`geo.write.sitemaps.SiteMaps` of a run's ``layers``, made once."""
    if not _SHARED or _SHARED[0] is not layers.sites:
        _SHARED[:] = [layers.sites, SiteMaps(layers.sites, layers.qpv, layers.previous)]
    return _SHARED[1]


def _fiche_layers(fiche: Fiche, layers: PrintLayers) -> PrintLayers:
    """The study's layers narrowed to one initiative: its sites (numbered when there are
    several), the line between them, its quartiers emphasised."""
    sites = layers.sites[layers.sites.index.isin(fiche.positions)]
    numbers = None
    if len(fiche.positions) > 1:
        numbers = pd.Series(np.arange(1, len(fiche.positions) + 1), index=fiche.positions)
    return replace(layers, sites=sites, links=initiative_links(sites), scale=None,
                   size_by=None, numbers=numbers,
                   emphasis=dict(zip(fiche.quartiers["code"], fiche.quartiers["_relation"],
                                     strict=True)))


def _maps(group: Group, layers: PrintLayers, zone, size,
          places: dict[int, str] | None = None, maps: SiteMaps | None = None) -> list[Panel]:
    """The initiative's map in ``zone`` (millimetres), added to ``group``: one panel per
    agglomeration of its sites (the largest first), each titled by its commune, with a
    locator of its département; the legend under them, names placed last."""
    maps = maps or SiteMaps(layers.sites, layers.qpv, layers.previous)
    x, y, w, h = zone
    panels = _panel_groups(layers, places, maps)
    legend_height = 16 * min(1.0, size[0] / 210) ** 0.5 + 4
    gap = 4
    pw = (w - gap * (len(panels) - 1)) / len(panels)
    ph = h - legend_height - 5
    drawn_maps = []
    title = {"fontsize": _size(size, 7.5)}
    for k, (crs, sites, extent, name) in enumerate(panels):
        box = tuple(v * PT_PER_MM for v in (x + k * (pw + gap), y + legend_height, pw, ph))
        panel = maps.draw(replace(layers, sites=sites), crs, shaped(extent, pw, ph), box,
                          size, nearest=_nearest(sites), places=places)
        top = box[1] + box[3] + 3
        panel.furniture.add(text(box[0], top + 0.236 * title["fontsize"], name, title))
        drawn_maps.append(panel)
    place_names(drawn_maps)
    for k, panel in enumerate(drawn_maps):
        # named groups in the SVG, for layout software
        named(group, f"carte-{k + 1}", Rect(*panel.box, fillColor=None, strokeColor=None))
        group.add(panel.group())
    drawn = {key: any(m.drawn[key] for m in drawn_maps) for key in drawn_maps[0].drawn}
    handles = legend_handles(layers, drawn, shown=layers.sites)
    key = Group()
    box = tuple(v * PT_PER_MM for v in (x, y, w, legend_height - 2))
    named(key, "legende", Rect(*box, fillColor=None, strokeColor=None))
    legend(key, handles, box, size=_size(size, 6.5), columns=3 if w > 120 else 2)
    group.add(key)
    return drawn_maps


def _nearest(group: gpd.GeoDataFrame) -> str | None:
    """The code of the quartier nearest to the sites of ``group``."""
    if "nearest_code_qp" not in group or not len(group):
        return None
    distance = _distances(group)
    if np.isnan(distance).all():
        return None
    return str(group["nearest_code_qp"].to_numpy()[int(np.nanargmin(distance))])


def _distances(sites: pd.DataFrame) -> np.ndarray:
    """The sites' distances to their nearest quartier (metres) as floats, NaN where there
    is none: ``distance_m`` is a nullable integer column, missing for a site located where
    no quartier is (New Caledonia, a site not placed), and a comparison of its ``<NA>``
    is neither true nor false."""
    if "distance_m" not in sites:
        return np.full(len(sites), np.nan)
    return pd.to_numeric(sites["distance_m"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)


@functools.cache
def _commune_names() -> pd.Series:
    from ..outlines import communes

    return communes().set_index("code")["nom"]


def _panel_groups(layers: PrintLayers, places: dict[int, str] | None = None,
                  maps: SiteMaps | None = None
                  ) -> list[tuple[str, gpd.GeoDataFrame, tuple, str]]:
    """(CRS, sites, extent, name) of each panel: the sites grouped by territory and
    agglomeration, the largest groups first; an extent holds the group's sites and its
    quartiers (implanted, nearby, and served ones close enough), else the nearest quartier
    when within :data:`_NEAREST_REACH`, else a wider frame around the sites (their
    commune and its neighbours). A panel is named by the commune that holds most of its
    sites (``places``, by site index: :func:`_outline_places`). ``maps``: the run's
    projections (:class:`geo.write.sitemaps.SiteMaps`)."""
    sites = layers.sites
    maps = maps or SiteMaps(sites, layers.qpv, layers.previous)
    keys = territory_of_points(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
    groups = []
    for key in keys.value_counts().index:
        crs = TERRITORIES[key].crs
        mine = sites[(keys == key).to_numpy()]
        groups += [(crs, g) for g in (find_agglomerations(mine, crs) if len(mine) > 1
                                      else [mine])]  # one site: its own group
    groups = sorted(groups, key=lambda g: len(g[1]), reverse=True)[:_MAX_PANELS]
    related = list(layers.emphasis or {})
    out = []
    for crs, group in groups:
        qpv = maps.layer("qpv", crs)
        codes = qpv.column("code_qp")
        points = maps.layer("sites", crs).geoms[maps.sites.index.get_indexer(group.index)]
        x0, y0, x1, y1 = shapely.total_bounds(points)
        pts = shapely.multipoints(points)
        own = np.flatnonzero(np.isin(codes, related))
        close = own[shapely.distance(qpv.geoms[own], pts) < _SERVED_REACH]
        least = 900  # a street-level frame around a lone site among its quartiers
        if not len(close) and "nearest_code_qp" in group:
            close = np.flatnonzero(np.isin(codes, group["nearest_code_qp"].to_numpy()[
                _distances(group) < _NEAREST_REACH]))
            least = 3_000  # far from any quartier: the commune and its neighbours
        if len(close):
            qx0, qy0, qx1, qy1 = shapely.total_bounds(qpv.geoms[close])
            x0, y0, x1, y1 = min(x0, qx0), min(y0, qy0), max(x1, qx1), max(y1, qy1)
        half = max(max(x1 - x0, y1 - y0) * 0.56 + 250, least)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        held = Counter(p for i in group.index if (p := (places or {}).get(i, "")))
        place = held.most_common(1)[0][0] if held else _departement_name(group, maps)
        count = plural(len(group), "site")
        out.append((crs, group, (cx - half, cy - half, cx + half, cy + half),
                    f"{place} ({count})" if place else count))
    return out


def _departement_name(group: gpd.GeoDataFrame, maps: SiteMaps) -> str:
    """The name of the département holding most sites of ``group`` (a panel's name when
    no commune is known)."""
    codes = maps.departement.reindex(group.index)
    codes = codes[codes.notna() & (codes != "")].value_counts()
    if not len(codes):
        return ""
    return str(_departement_names().get(codes.index[0], ""))


@functools.cache
def _departement_names() -> pd.Series:
    from ..outlines import departements

    return departements().set_index("code")["nom"]
