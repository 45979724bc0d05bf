"""The study and what a run of it gives: pure data, below both the runner
(:mod:`geo.study`) and the writers (:mod:`geo.write.outputs`), so that neither imports the other's
types through the other.

A :class:`Study` describes a run; :class:`StudyResult` (or :class:`StreamedResult` for a
table read chunk by chunk) is what :func:`geo.study.run_study` found and wrote;
:class:`PanoramaStudy` and :class:`PanoramaRun` are the same for the national panorama.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .area import StudyArea
from .parameters import default
from .vocabulary import Columns

if TYPE_CHECKING:  # what a run found: the engine's types, read here, never run
    import geopandas as gpd

    from .geocode import GeocodeResult
    from .impact import Population
    from .initiatives import Initiatives
    from .link import LinkResult
    from .stream import Linked
    from .vocabulary import Detection

#: Tables always read chunk by chunk (too big to be read at once, or a zipped CSV).
STREAMED_FORMATS = (".parquet", ".geoparquet", ".zip")


def _empty_review() -> pd.DataFrame:
    """A review with no row, in the columns of the review file."""
    from .geocode import REVIEW_COLUMNS

    return pd.DataFrame(columns=REVIEW_COLUMNS)


@dataclass
class Streaming:
    """A study read, linked and written chunk by chunk on every core: memory stays bounded
    whatever the table's size. ``crs_column`` names a column of EPSG codes, one per row
    (INSEE's ``epsg``); ``workers``: processes (default: every core)."""

    crs_column: str | None = None
    workers: int | None = None


@dataclass
class Geocoding:
    """How rows without coordinates are geocoded."""

    online: bool = default("geocode")
    url: str = default("geocoder_url")
    min_score: float = default("min_score")
    chunk_size: int = default("chunk_size")
    corrections: Path | None = None
    force: bool = False
    #: Whether the person running the study agreed to send addresses to ``url``: a study
    #: file received from someone else may name its own geocoder (:func:`geo.study.check_study`).
    confirmed: bool = True


@dataclass
class Study:
    """Everything a run needs.

    ``outputs`` maps keys of :data:`geo.vocabulary.OUTPUTS` to paths; ``folder``, when set,
    is the study's folder: every file it reads or writes must stay inside it, unless
    ``allow_outside`` (:mod:`geo.confine`).
    """

    initiatives: Path
    title: str = default("title")
    sheet: str | None = None
    columns: Columns = field(default_factory=Columns)
    qpv_source: str = default("source")
    compare: str | None = None
    distance: float = default("distance")
    area: StudyArea = field(default_factory=StudyArea)
    #: With no ``area``: the per-quartier and per-territory tables hold every quartier of
    #: France, not only those of the sites' départements.
    all_quartiers: bool = default("all_quartiers")
    geocoding: Geocoding = field(default_factory=Geocoding)
    outputs: dict[str, Path] = field(default_factory=dict)
    paper: str = default("paper")
    landscape: bool = True
    #: The print map as an atlas: an overview, then one page per département or commune.
    atlas: bool = default("atlas")
    #: Paper of the per-initiative pages (always portrait).
    fiche_paper: str = default("fiche_paper")
    #: The fiches' maps as PNG and SVG files too (``None``: for a few dozen initiatives,
    #: :data:`geo.write.fiches.IMAGES_UP_TO`).
    fiche_images: bool | None = None
    cluster: bool = True
    embed_url: str | None = None
    folder: Path | None = None
    allow_outside: bool = False
    #: An indicator column that sizes the markers (proportional symbols).
    size_by: str | None = None
    #: Years of the print's panels (small multiples), e.g. ``[2015, 2018, 2021]``.
    periods: list[int] = field(default_factory=list)
    #: A table of key figures by quartier (population), and how to credit it.
    key_figures: Path | None = None
    key_figures_source: str | None = None
    #: Chunk by chunk (:class:`Streaming`); ``None``: only for the formats of
    #: :data:`STREAMED_FORMATS`.
    stream: Streaming | None = None

    @property
    def streamed(self) -> bool:
        """Whether this study runs chunk by chunk."""
        return self.stream is not None or \
            Path(self.initiatives).suffix.lower() in STREAMED_FORMATS


@dataclass
class StreamedResult:
    """What a streamed run did: the rows linked and written, and how long it took."""

    study: Study
    qpv: gpd.GeoDataFrame
    rows: int
    seconds: float
    written: list[tuple[Path, str]] = field(default_factory=list)
    #: Rows per relation, and the rows whose point was not used (:class:`geo.stream.Linked`).
    linked: Linked | None = None


@dataclass
class StudyResult:
    """What a run found and wrote; ``review``: every site to look at (doubtful address, or
    not placed whatever the reason), in the columns of the review file."""

    study: Study
    initiatives: Initiatives
    detection: Detection
    geocoded: GeocodeResult | None
    qpv: gpd.GeoDataFrame
    previous: gpd.GeoDataFrame | None
    result: LinkResult
    provenance: dict
    review: pd.DataFrame = field(default_factory=_empty_review)
    written: list[tuple[Path, str]] = field(default_factory=list)
    #: What the initiatives bring, per quartier, commune, département and in all
    #: (:func:`geo.impact.impact_table`; empty without indicators nor population).
    impact: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: How they spread, per year (:func:`geo.impact.years_table`; empty without years).
    years: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The quartiers' population where known, with its source (:mod:`geo.impact`).
    population: Population | None = None


@dataclass
class PanoramaStudy:
    """The national panorama from INSEE's SIRENE files: every active establishment linked
    chunk by chunk to the quartiers, the ESS ones counted per quartier and territory
    (:func:`geo.sirene.panorama`). ``outputs`` maps keys of
    :data:`geo.vocabulary.PANORAMA_OUTPUTS` to paths; ``engine`` ``"dask"`` links on a Dask
    cluster (``scheduler``, else a local one)."""

    geoloc: Path
    units: Path
    establishments: Path | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    departements: list[str] = field(default_factory=list)
    distance: float = default("distance")
    qpv_source: str = default("source")
    engine: str = "local"
    scheduler: str | None = None
    workers: int | None = None
    chunk_rows: int = 150_000


@dataclass
class PanoramaRun:
    """What a panorama found (:class:`geo.sirene.Panorama`) and wrote."""

    study: PanoramaStudy
    qpv: gpd.GeoDataFrame
    result: object
    seconds: float
    written: list[tuple[Path, str]] = field(default_factory=list)
