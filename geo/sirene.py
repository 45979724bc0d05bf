"""The national panorama: every establishment of INSEE's SIRENE register and the QPV.

Reads INSEE's files as published (column names verbatim), streamed chunk by chunk
(:mod:`geo.stream`): the geolocation of establishments (``x``, ``y`` in the projection of
each row's ``epsg``), the legal units (``StockUniteLegale``: ESS flag, legal category,
activity) and optionally the establishments (``StockEtablissement``: state and activity).
Every active establishment is linked to the QPV by the engine; the ESS ones are counted per
quartier (implanted, within the distance), by family and NAF section, with the ESS share of
the active establishments implanted in each quartier, per territory, and against INSEE's own
``plg_qp24``.

The geolocation file covers active establishments; with ``StockEtablissement`` the state is
checked (``etatAdministratifEtablissement`` = ``A``) and the establishment's own activity is
used. Rows without coordinates, or with coordinates masked (``[ND]``, non-diffusible
establishments), are kept out of the linking and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import InputError
from .landgrid import in_france
from .stream import (
    MASKED,
    epsg_codes,
    identifiers,
    lonlat,
    map_chunks,
    numbers,
    pack,
    read_chunks,
    read_tables,
    text_frame,
    within_area_of_use,
)
from .typography import plural

GEOLOC_COLUMNS = ["siret", "x", "y", "epsg", "plg_qp24", "plg_code_commune"]
UL_COLUMNS = ["siren", "etatAdministratifUniteLegale", "economieSocialeSolidaireUniteLegale",
              "categorieJuridiqueUniteLegale", "activitePrincipaleUniteLegale"]
ETAB_COLUMNS = ["siret", "etatAdministratifEtablissement", "activitePrincipaleEtablissement"]

#: Families of the ESS, by legal category (INSEE's nomenclature, level III): associations
#: (92xx), foundations (93xx), mutual societies (82xx and 6411, insurance in mutual form),
#: cooperatives (SARL, SA and SAS cooperative forms, agricultural cooperatives and their
#: unions, CUMA); other ESS units are commercial companies of the ESS (ESS law of 2014).
FAMILIES = ["associations", "cooperatives", "mutuelles", "fondations",
            "societes_commerciales"]
_COOPERATIVE_ENDINGS = {"43", "51", "53", "54", "55", "58", "59", "60"}
_COOPERATIVE_CODES = {"6316", "6317", "6318"}

#: NAF rév. 2 sections by division (first two digits of the activity code).
_SECTIONS = [("A", 1, 3), ("B", 5, 9), ("C", 10, 33), ("D", 35, 35), ("E", 36, 39),
             ("F", 41, 43), ("G", 45, 47), ("H", 49, 53), ("I", 55, 56), ("J", 58, 63),
             ("K", 64, 66), ("L", 68, 68), ("M", 69, 75), ("N", 77, 82), ("O", 84, 84),
             ("P", 85, 85), ("Q", 86, 88), ("R", 90, 93), ("S", 94, 96), ("T", 97, 98),
             ("U", 99, 99)]
SECTIONS = [s for s, _, _ in _SECTIONS] + ["?"]
_DIVISION_SECTION = np.full(100, len(SECTIONS) - 1, dtype=np.int8)
for _i, (_s, _a, _b) in enumerate(_SECTIONS):
    _DIVISION_SECTION[_a:_b + 1] = _i

#: Regions (INSEE codes and names) of the départements.
REGIONS = {
    "11": ("Île-de-France", "75 77 78 91 92 93 94 95"),
    "24": ("Centre-Val de Loire", "18 28 36 37 41 45"),
    "27": ("Bourgogne-Franche-Comté", "21 25 39 58 70 71 89 90"),
    "28": ("Normandie", "14 27 50 61 76"),
    "32": ("Hauts-de-France", "02 59 60 62 80"),
    "44": ("Grand Est", "08 10 51 52 54 55 57 67 68 88"),
    "52": ("Pays de la Loire", "44 49 53 72 85"),
    "53": ("Bretagne", "22 29 35 56"),
    "75": ("Nouvelle-Aquitaine", "16 17 19 23 24 33 40 47 64 79 86 87"),
    "76": ("Occitanie", "09 11 12 30 31 32 34 46 48 65 66 81 82"),
    "84": ("Auvergne-Rhône-Alpes", "01 03 07 15 26 38 42 43 63 69 73 74"),
    "93": ("Provence-Alpes-Côte d'Azur", "04 05 06 13 83 84"),
    "94": ("Corse", "2A 2B"),
    "01": ("Guadeloupe", "971"), "02": ("Martinique", "972"), "03": ("Guyane", "973"),
    "04": ("La Réunion", "974"), "06": ("Mayotte", "976"),
}
REGION_OF = {dep: code for code, (_, deps) in REGIONS.items() for dep in deps.split()}


def family_of(categories: pd.Series) -> np.ndarray:
    """Index in :data:`FAMILIES` of each legal category code."""
    c = categories.astype(str).str.strip()
    out = np.full(len(c), FAMILIES.index("societes_commerciales"), dtype=np.int8)
    out[c.str.startswith("92").to_numpy()] = FAMILIES.index("associations")
    out[c.str.startswith("93").to_numpy()] = FAMILIES.index("fondations")
    mutual = c.str.startswith("82") | (c == "6411")
    out[mutual.to_numpy()] = FAMILIES.index("mutuelles")
    coop = (c.str[:2].isin(["54", "55", "56", "57"]) & c.str[2:].isin(
        _COOPERATIVE_ENDINGS)) | c.isin(_COOPERATIVE_CODES)
    out[coop.to_numpy()] = FAMILIES.index("cooperatives")
    return out


def section_of(activities: pd.Series) -> np.ndarray:
    """Index in :data:`SECTIONS` of each NAF activity code (``88.10A``); ``?`` if unreadable."""
    division = pd.to_numeric(activities.astype(str).str.strip().str[:2], errors="coerce")
    division = division.fillna(0).astype(int).clip(0, 99).to_numpy()
    out = _DIVISION_SECTION[division]
    out[division == 0] = len(SECTIONS) - 1
    return out


def departement_of_commune(codes: pd.Series) -> pd.Series:
    c = codes.astype(str).str.strip()
    return c.str[:3].where(c.str.startswith("97"), c.str[:2])


# --------------------------------------------------------------------------- lookups


@dataclass
class _Lookup:
    """Sorted identifiers with attributes, for vectorised joins of big files."""

    keys: np.ndarray
    values: dict[str, np.ndarray]
    _index: object = field(default=None, repr=False, compare=False)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Position of each key, -1 when absent."""
        if not len(self.keys):
            return np.full(len(keys), -1)
        if self._index is None:
            import pandas as pd

            index = pd.Index(self.keys)
            # a hash table (several times quicker than a binary search), for unique keys
            self._index = index if index.is_unique else False
        if self._index is not False:
            return self._index.get_indexer(keys)
        at = np.searchsorted(self.keys, keys).clip(0, len(self.keys) - 1)
        return np.where(self.keys[at] == keys, at, -1)

    def __getstate__(self) -> dict:
        # the hash table is made again where it is used, never sent
        return {**self.__dict__, "_index": None}


def read_ess_units(path: str | Path, *, chunk_rows: int) -> tuple[_Lookup, int]:
    """The active ESS legal units (siren → family, NAF section); and how many units read."""
    name = Path(path).name
    keys, families, sections = [], [], []
    read = 0
    import pyarrow.compute as pc

    for table in read_tables(path, columns=UL_COLUMNS, chunk_rows=chunk_rows):
        first = read + 2
        read += table.num_rows
        # the active ESS units (a tenth) kept by Arrow, before any other work
        cells = _text_columns(table)
        keep = pc.and_(
            pc.equal(pc.utf8_trim_whitespace(cells["economieSocialeSolidaireUniteLegale"]), "O"),
            pc.equal(pc.utf8_trim_whitespace(cells["etatAdministratifUniteLegale"]), "A"))
        chunk = text_frame(table.filter(keep))
        # a wrong siren is named by its line in the file
        lines = np.flatnonzero(keep.to_numpy(zero_copy_only=False)) + first
        keys.append(identifiers(chunk["siren"], 9, what="siren", path=name, lines=lines))
        families.append(family_of(chunk["categorieJuridiqueUniteLegale"]))
        sections.append(section_of(chunk["activitePrincipaleUniteLegale"]))
    return _sorted(keys, family=families, section=sections), read


def read_establishments(path: str | Path, *, chunk_rows: int) -> _Lookup:
    """Every establishment of ``StockEtablissement``: siret → active, NAF section."""
    name = Path(path).name
    keys, active, sections = [], [], []
    read = 0
    for chunk in read_chunks(path, columns=ETAB_COLUMNS, chunk_rows=chunk_rows):
        keys.append(identifiers(chunk["siret"], 14, what="siret", path=name,
                                first_row=read + 2))
        read += len(chunk)
        active.append((chunk["etatAdministratifEtablissement"].str.strip() == "A").to_numpy())
        sections.append(section_of(chunk["activitePrincipaleEtablissement"]))
    return _sorted(keys, active=active, section=sections)


def _sorted(keys: list[np.ndarray], **values: list[np.ndarray]) -> _Lookup:
    k = np.concatenate(keys) if keys else np.empty(0, dtype=np.int64)
    order = np.argsort(k, kind="stable")
    return _Lookup(k[order], {name: (np.concatenate(v) if v else np.empty(0))[order]
                              for name, v in values.items()})


# --------------------------------------------------------------------------- the panorama


@dataclass
class Panorama:
    """What the panorama found: tables and counts."""

    per_qpv: pd.DataFrame
    per_territory: pd.DataFrame
    agreement: pd.DataFrame
    disagreements: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    distance: float = 300.0


@dataclass
class _Totals:
    n_qpv: int
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    territory: list[pd.DataFrame] = field(default_factory=list)
    read: dict[str, int] = field(default_factory=dict)
    agree: np.ndarray = field(default_factory=lambda: np.zeros((2, 2), dtype=np.int64))
    disagreements: list[pd.DataFrame] = field(default_factory=list)

    def add(self, key: str, positions: np.ndarray) -> None:
        counted = np.bincount(positions[positions >= 0], minlength=self.n_qpv)
        self.counts[key] = self.counts.get(key, 0) + counted

    def count(self, key: str, n: int) -> None:
        self.read[key] = self.read.get(key, 0) + int(n)

    def merge(self, other: _Totals) -> None:
        """Add the totals of the next chunk."""
        for key, counted in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + counted
        for key, n in other.read.items():
            self.count(key, n)
        self.agree += other.agree
        kept = sum(len(d) for d in self.disagreements)
        for frame in other.disagreements:
            if kept < MAX_DISAGREEMENTS:
                self.disagreements.append(frame.iloc[:MAX_DISAGREEMENTS - kept])
                kept += len(self.disagreements[-1])
        self.territory.extend(other.territory)
        if len(self.territory) > 8:  # keep the running sums small
            self.territory = [pd.concat(self.territory).groupby(level=0).sum()]


#: Disagreements kept in detail (beyond, they are only counted).
MAX_DISAGREEMENTS = 20_000


def panorama(geoloc: str | Path, units: str | Path, qpv, *,
             establishments: str | Path | None = None, distance: float = 300.0,
             departements: list[str] | None = None, workers: int | None = None,
             chunk_rows: int = 150_000, engine: str = "local",
             scheduler: str | None = None, progress=None) -> Panorama:
    """Link every active establishment of ``geoloc`` to ``qpv`` and count the ESS ones.

    ``engine`` ``"dask"`` runs the linking of each chunk on a Dask cluster (``scheduler``:
    its address, else a local one on every core); the results are the same.
    """
    from .area import StudyArea
    from .link import check_distance

    check_distance(distance)
    if workers is not None and workers < 1:
        raise InputError(f"nombre de processus « {workers} » impossible : 1 au moins.",
                         parameters=("workers",))
    # an unknown code is refused here as everywhere, never an all-zero panorama
    departements = list(StudyArea.of(departements=departements or []).departements)
    grids = _build_grids(qpv, distance, geoloc, chunk_rows) if engine == "local" else None
    ess, n_units = read_ess_units(units, chunk_rows=chunk_rows)
    etab = read_establishments(establishments, chunk_rows=chunk_rows) \
        if establishments else None
    wanted = set(departements)
    totals = _Totals(len(qpv))
    totals.count("unites_legales_lues", n_units)
    totals.count("unites_legales_ess_actives", len(ess.keys))
    shared = _Shared(qpv, ess, etab, wanted, distance, Path(geoloc).name)

    def chunks():
        read = 0
        # raw Arrow tables: everything else is done where the chunk is linked
        for table in read_tables(geoloc, columns=GEOLOC_COLUMNS, chunk_rows=chunk_rows):
            yield pack(table), read + 2
            read += table.num_rows

    seen: list[np.ndarray] = []
    for part, sirets in _engine(engine, chunks(), shared, workers, scheduler, grids):
        totals.merge(part)
        seen.append(sirets)
        if progress:
            progress(totals.read.get("lignes_lues", 0))
    _refuse_duplicates(seen, shared.name)
    return _tables(totals, qpv, distance, wanted)


@dataclass
class _Shared:
    """What every chunk's count needs, sent once to each worker."""

    qpv: object
    ess: _Lookup
    etab: _Lookup | None
    wanted: set[str]
    distance: float
    name: str


def count_chunk(shared: _Shared, packed, first: int) -> tuple[_Totals, np.ndarray]:
    """Count one chunk of the geolocation file (a pyarrow Table packed by
    :func:`geo.stream.pack`, whose first row is line ``first``), on the worker that links
    it: its totals, and every siret read (for the duplicates, refused once all are
    read)."""
    from .stream import place, unpack

    qpv = shared.qpv
    totals = _Totals(len(qpv))
    # the cells stay Arrow arrays, as read: no pandas frame, no Python object per cell
    chunk = _text_columns(unpack(packed))
    totals.count("lignes_lues", len(chunk["siret"]))
    m = _prepare(chunk, shared.ess, shared.etab, shared.wanted, totals, shared.name, first)
    # only the ESS establishments' nearby quartiers are counted: the others are only
    # placed in the quartiers they are in
    placed = place(m["lon"], m["lat"], qpv, shared.distance, False, m["ess"])
    _accumulate(m, placed, totals, qpv["code_qp"].to_numpy())
    return totals, m["all_siret"]


def _refuse_duplicates(sirets: list[np.ndarray], name: str) -> None:
    """An establishment listed twice would be counted twice: refused, never counted."""
    every = np.concatenate(sirets) if sirets else np.empty(0, dtype=np.int64)
    del sirets[:]
    if (every[1:] > every[:-1]).all():  # INSEE's order (by siret): no sort needed
        return
    every.sort()
    twice = every[1:][every[1:] == every[:-1]]
    if len(twice):
        rows = np.unique(twice)
        shown = ", ".join(f"{v:014d}" for v in rows[:5]) + (" …" if len(rows) > 5 else "")
        raise InputError(f"{plural(len(rows), 'siret présent', 'sirets présents')} "
                         f"plusieurs fois ({shown}) : chaque "
                         "établissement serait compté deux fois ; dédoublonnez le fichier "
                         "(ou reprenez le fichier de l'INSEE tel quel). Aucun compte n'a été "
                         "écrit.", path=name, column="siret")


#: From how many bytes a geolocation file is worth the fine cells (about 20 000 rows zipped).
_FINE_FROM_BYTES = 1 << 20


def _build_grids(qpv, distance: float, geoloc, chunk_rows: int) -> list:
    """The grids of :mod:`geo.prefilter`, and for a big file France's outline and its grid
    (:mod:`geo.landgrid`), built in threads while the legal units are read (shapely and
    numpy let go of the interpreter): their futures."""
    from concurrent.futures import ThreadPoolExecutor

    from .landgrid import grid
    from .prefilter import prepare
    from .stream import SETTLE_FROM

    big = chunk_rows >= SETTLE_FROM and Path(geoloc).is_file() and \
        Path(geoloc).stat().st_size >= _FINE_FROM_BYTES
    pool = ThreadPoolExecutor(2)
    futures = [pool.submit(prepare, qpv, distance, fine=big)]
    if big:
        # France's outline with its coast tolerance, and its grid (once per process): built
        # here, not by the first chunk
        futures.append(pool.submit(grid))
    pool.shutdown(wait=False)  # the threads end with their work
    return futures


def _engine(engine, chunks, shared: _Shared, workers, scheduler, grids=None):
    """:func:`count_chunk` of every chunk, in order, on the engine asked (``grids``: the
    futures of the grids being built)."""
    if engine == "dask":
        from .stream_dask import map_chunks_dask

        return map_chunks_dask(count_chunk, chunks, shared, scheduler=scheduler,
                               workers=workers)
    if engine != "local":
        raise InputError(f"moteur « {engine} » inconnu ; possibles : local, dask.")

    def ready(first: tuple) -> None:
        from .prefilter import prepare
        from .stream import SETTLE_FROM, unpack

        # the grids are built once, before the workers are forked, and shared
        for future in grids or ():
            future.result()
        prepare(shared.qpv, shared.distance, fine=unpack(first[0]).num_rows >= SETTLE_FROM)

    return map_chunks(count_chunk, chunks, shared, workers=workers, ready=ready)


def _text_columns(table) -> dict:
    """The columns of a pyarrow Table as Arrow string arrays, ``""`` where empty (a
    Parquet file's numbers as text, as a CSV's)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        column = column.combine_chunks()
        if column.type != pa.string():
            column = column.cast(pa.string())
        out[name] = pc.fill_null(column, "")
    return out


def _prepare(chunk: dict, ess: _Lookup, etab: _Lookup | None, wanted: set[str],
             totals: _Totals, name: str, first: int) -> dict:
    """The rows of a chunk (Arrow text columns) to link (active, in the territory) and
    what is known of each."""
    import pyarrow as pa
    import pyarrow.compute as pc

    siret = identifiers(chunk["siret"], 14, what="siret", path=name, first_row=first)
    # trimmed later, once per distinct code (Arrow's dictionary), not once per row
    commune = chunk["plg_code_commune"]
    keep = np.ones(len(siret), dtype=bool)
    section = None
    if etab is not None:
        at = etab.find(siret)
        totals.count("absents_du_stock_etablissements", (at < 0).sum())
        active = np.where(at >= 0, etab.values["active"][np.maximum(at, 0)], False)
        keep &= active.astype(bool)
        section = np.where(at >= 0, etab.values["section"][np.maximum(at, 0)],
                           len(SECTIONS) - 1)
    if wanted:
        codes = pc.utf8_trim_whitespace(commune).to_pylist()
        keep &= departement_of_commune(pd.Series(codes, dtype=object)).isin(wanted).to_numpy()
    totals.count("etablissements_actifs", keep.sum())
    idx = np.flatnonzero(keep)
    whole = len(idx) == len(keep)  # the usual case: nothing to take

    def rows(column: pa.Array) -> pa.Array:
        return column if whole else column.take(pa.array(idx))

    x_text = pc.utf8_trim_whitespace(rows(chunk["x"]))
    y_text = pc.utf8_trim_whitespace(rows(chunk["y"]))
    masked = pc.or_(pc.equal(x_text, MASKED), pc.equal(y_text, MASKED)
                    ).to_numpy(zero_copy_only=False)
    x, y = numbers(x_text), numbers(y_text)
    empty = ~(np.isfinite(x) & np.isfinite(y)) & ~masked
    totals.count("non_diffusibles", masked.sum())
    totals.count("sans_coordonnees", empty.sum())
    codes = epsg_codes(rows(chunk["epsg"]), path=name, first_row=first)
    lon, lat = lonlat(x, y, codes, path=name, first_row=first)
    given = np.isfinite(x) & np.isfinite(y)
    # Coordinates that land outside France (1e15, a wrong projection): not located, as
    # everywhere, and counted, never silently dropped; those in France but outside the
    # area of their row's projection are counted too (a wrong epsg).
    located = np.isfinite(lon) & np.isfinite(lat)
    located[located] = in_france(lon[located], lat[located])
    abroad = given & ~located
    lon[abroad], lat[abroad] = np.nan, np.nan
    totals.count("coordonnees_hors_france", abroad.sum())
    totals.count("coordonnees_hors_zone_epsg",
                 (located & ~within_area_of_use(lon, lat, codes)).sum())
    unit = ess.find(siret[idx] // 100_000)
    is_ess = unit >= 0
    fam = np.where(is_ess, ess.values["family"][np.maximum(unit, 0)], -1)
    sec = section[idx] if section is not None else np.where(
        is_ess, ess.values["section"][np.maximum(unit, 0)], len(SECTIONS) - 1)
    totals.count("etablissements_ess", is_ess.sum())
    return {"lon": lon, "lat": lat, "ess": is_ess, "family": fam, "section": sec,
            "all_siret": siret, "siret": siret[idx],
            # text stays in Arrow memory (a few bytes a cell, not a Python object each)
            "commune": rows(commune), "insee": rows(chunk["plg_qp24"])}


def _accumulate(m: dict, placed, totals: _Totals, codes: np.ndarray) -> None:
    implanted, ess = placed.implanted, m["ess"]
    near_rows, near_qpv = placed.near_rows, placed.near_qpv
    # an establishment on a shared boundary or in an overlap counts in every quartier that
    # contains it, as in the studies' per-quartier tables
    in_rows, in_qpv = placed.inside_rows, placed.inside_qpv
    totals.add("etablissements_actifs_implantes", in_qpv)
    totals.add("etablissements_ess_implantes", in_qpv[ess[in_rows]])
    near_ess = ess[near_rows]
    totals.add("etablissements_ess_proximite", near_qpv[near_ess])
    for f, family in enumerate(FAMILIES):
        rows = ess & (m["family"] == f)
        totals.add(f"implantes_{family}", in_qpv[rows[in_rows]])
        totals.add(f"proximite_{family}", near_qpv[rows[near_rows]])
    for s, section in enumerate(SECTIONS):
        rows = ess & (m["section"] == s)
        if rows.any():
            totals.add(f"implantes_naf_{section}", in_qpv[rows[in_rows]])
            totals.add(f"proximite_naf_{section}", near_qpv[rows[near_rows]])
    located = np.isfinite(m["lon"])
    nearby_any = np.zeros(len(ess), dtype=bool)
    nearby_any[near_rows] = True
    # per commune: its codes hashed once (Arrow's dictionary), then counted
    # (a code written with spaces around it comes twice, summed with its twin by the
    # territory's groupby)
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = m["commune"].dictionary_encode()
    commune_at = encoded.indices.to_numpy(zero_copy_only=False)
    communes = pc.utf8_trim_whitespace(encoded.dictionary).to_numpy(zero_copy_only=False)
    counted = {name: np.bincount(commune_at, weights=rows, minlength=len(communes)
                                 ).astype(np.int64) for name, rows in (
        ("ess", ess), ("actif_implante", implanted >= 0),
        ("ess_implante", ess & (implanted >= 0)),
        ("ess_proximite", ess & (implanted < 0) & nearby_any))}
    counted["actifs"] = np.bincount(commune_at, minlength=len(communes))
    totals.territory.append(pd.DataFrame(counted, index=pd.Index(communes, name="commune")))
    if len(totals.territory) > 8:  # keep the running sums small
        totals.territory = [pd.concat(totals.territory).groupby(level=0).sum()]
    # agreement with INSEE's plg_qp24, on located establishments, by quartier positions
    # (-1 none; -2 a quartier INSEE names that ``codes`` lacks): no text compared per row
    # (each distinct code trimmed and looked up once)
    encoded = m["insee"].dictionary_encode()
    insee_at = encoded.indices.to_numpy(zero_copy_only=False)
    words = pc.utf8_trim_whitespace(encoded.dictionary)
    named = pc.starts_with(words, "QN").to_numpy(zero_copy_only=False)
    position = np.where(named, pc.fill_null(pc.index_in(words, value_set=pa.array(codes)), -2
                                            ).to_numpy(zero_copy_only=False), -1)
    insee = position[insee_at]
    ours, insee, rows_located = implanted[located], insee[located], np.flatnonzero(located)
    same = ours == insee
    totals.agree[0, 0] += int((same & (ours >= 0)).sum())
    totals.agree[0, 1] += int((same & (ours < 0)).sum())
    totals.agree[1, 0] += int((~same).sum())
    kept = sum(len(d) for d in totals.disagreements)
    if (~same).any() and kept < MAX_DISAGREEMENTS:
        rows = rows_located[~same][:MAX_DISAGREEMENTS - kept]
        words = words.to_numpy(zero_copy_only=False)
        totals.disagreements.append(pd.DataFrame({
            "siret": m["siret"][rows].astype(str),
            "code_qp_ess_qpv": np.where(implanted[rows] >= 0,
                                        codes[np.maximum(implanted[rows], 0)], ""),
            "code_qp_insee": np.where(named[insee_at[rows]], words[insee_at[rows]], ""),
            "lon": m["lon"][rows],
            "lat": m["lat"][rows]}))


def _tables(totals: _Totals, qpv, distance: float, wanted: set[str]) -> Panorama:
    """The panorama's tables; with départements ``wanted``, the quartiers of those only:
    a quartier elsewhere was never counted, and its zeros would say it was."""
    zeros = np.zeros(totals.n_qpv, dtype=np.int64)
    c = totals.counts

    def get(key: str) -> np.ndarray:
        return np.asarray(c.get(key, zeros), dtype=np.int64)

    per_qpv = pd.DataFrame({
        "code_qp": qpv["code_qp"].to_numpy(), "nom_qp": qpv["nom_qp"].to_numpy(),
        "commune": qpv["communes"].to_numpy() if "communes" in qpv else "",
        "insee_dep": qpv["insee_dep"].to_numpy(),
        "etablissements_ess_implantes": get("etablissements_ess_implantes"),
        "etablissements_ess_proximite": get("etablissements_ess_proximite")})
    for family in FAMILIES:
        per_qpv[f"implantes_{family}"] = get(f"implantes_{family}")
        per_qpv[f"proximite_{family}"] = get(f"proximite_{family}")
    for section in SECTIONS:
        if f"implantes_naf_{section}" in c or f"proximite_naf_{section}" in c:
            per_qpv[f"implantes_naf_{section}"] = get(f"implantes_naf_{section}")
            per_qpv[f"proximite_naf_{section}"] = get(f"proximite_naf_{section}")
    actifs = get("etablissements_actifs_implantes")
    per_qpv["etablissements_actifs_implantes"] = actifs
    per_qpv["part_ess"] = np.where(actifs > 0, get("etablissements_ess_implantes")
                                   / np.maximum(actifs, 1), np.nan).round(4)
    if wanted:
        per_qpv = per_qpv[per_qpv["insee_dep"].astype(str).isin(wanted)].reset_index(drop=True)
    per_territory = _territories(totals)
    ok_in, ok_out, differ = totals.agree[0, 0], totals.agree[0, 1], totals.agree[1, 0]
    compared = ok_in + ok_out + differ
    agreement = pd.DataFrame([
        ("établissements localisés comparés", compared),
        ("même quartier qu'INSEE (plg_qp24)", ok_in),
        ("hors quartier pour les deux", ok_out),
        ("désaccords", differ),
        ("part d'accord", round((ok_in + ok_out) / compared, 6) if compared else np.nan)],
        columns=["mesure", "valeur"])
    disagreements = _with_boundary_distance(
        pd.concat(totals.disagreements, ignore_index=True) if totals.disagreements else
        pd.DataFrame(columns=["siret", "code_qp_ess_qpv", "code_qp_insee", "lon", "lat"]),
        qpv)
    return Panorama(per_qpv, per_territory, agreement, disagreements, dict(totals.read),
                    distance)


def _territories(totals: _Totals) -> pd.DataFrame:
    columns = ["actifs", "actif_implante", "ess", "ess_implante", "ess_proximite"]
    if totals.territory:
        by_commune = pd.concat(totals.territory).groupby(level=0).sum()[columns]
    else:
        by_commune = pd.DataFrame(columns=columns, dtype=np.int64)
    by_commune = by_commune[by_commune.index.astype(str) != ""]
    levels = [("commune", by_commune)]
    deps = departement_of_commune(pd.Series(by_commune.index, index=by_commune.index))
    by_dep = by_commune.groupby(deps.to_numpy()).sum()
    levels.append(("departement", by_dep))
    regions = pd.Series(by_dep.index, index=by_dep.index).map(REGION_OF).fillna("")
    levels.append(("region", by_dep.groupby(regions.to_numpy()).sum()))
    levels.append(("france", by_dep.sum().to_frame("FR").T))
    frames = []
    for level, table in levels:
        t = table.copy()
        t.index.name = "code"
        t = t.reset_index()
        t.insert(0, "niveau", level)
        frames.append(t)
    out = pd.concat(frames, ignore_index=True).rename(columns={
        "actifs": "etablissements_actifs", "actif_implante": "etablissements_actifs_implantes",
        "ess": "etablissements_ess", "ess_implante": "etablissements_ess_implantes",
        "ess_proximite": "etablissements_ess_proximite"})
    names = {code: name for code, (name, _) in REGIONS.items()}
    out.insert(2, "nom", np.where(out["niveau"] == "region", out["code"].map(names), ""))
    out.loc[out["niveau"] == "france", "nom"] = "France"
    out["part_ess_implantes_en_qpv"] = (out["etablissements_ess_implantes"]
                                        / out["etablissements_ess"].where(
                                            out["etablissements_ess"] > 0)).round(4)
    out["part_ess_parmi_actifs_en_qpv"] = (out["etablissements_ess_implantes"]
                                           / out["etablissements_actifs_implantes"].where(
                                               out["etablissements_actifs_implantes"] > 0)
                                           ).round(4)
    return out


def _with_boundary_distance(frame: pd.DataFrame, qpv) -> pd.DataFrame:
    """Distance (metres) from each disagreeing establishment to the boundary of the
    quartier(s) in question."""
    import shapely
    from pyproj import Transformer

    from .geometry import to_metric
    from .territories import TERRITORIES, territory_of_departement, territory_of_points

    frame = frame.copy()
    frame["distance_frontiere_m"] = np.nan
    if not len(frame):
        return frame.drop(columns=["lon", "lat"])
    position = pd.Series(np.arange(len(qpv)), index=qpv["code_qp"].to_numpy())
    qpv_territory = qpv["insee_dep"].map(territory_of_departement).to_numpy()
    territory = territory_of_points(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    for key, t in TERRITORIES.items():
        rows = np.flatnonzero((territory == key).to_numpy())
        polys_at = np.flatnonzero(qpv_territory == key)
        if not len(rows) or not len(polys_at):
            continue
        boundaries = np.full(len(qpv), None, dtype=object)
        boundaries[polys_at] = shapely.boundary(to_metric(qpv.geometry.iloc[polys_at], t.crs))
        x, y = Transformer.from_crs(4326, t.crs, always_xy=True).transform(
            frame["lon"].to_numpy()[rows], frame["lat"].to_numpy()[rows])
        points = shapely.points(x, y)
        best = np.full(len(rows), np.inf)
        for column in ("code_qp_ess_qpv", "code_qp_insee"):
            at = frame[column].iloc[rows].map(position).to_numpy()
            has = ~pd.isna(at)
            if has.any():
                lines = boundaries[at[has].astype(int)]
                ok = ~pd.isna(lines)
                d = np.full(has.sum(), np.inf)
                d[ok] = shapely.distance(points[has][ok], lines[ok])
                best[has] = np.minimum(best[has], d)
        frame.loc[frame.index[rows], "distance_frontiere_m"] = np.where(
            np.isfinite(best), best.round(1), np.nan)
    return frame.drop(columns=["lon", "lat"])
