"""Static maps for print (PDF, PNG, SVG at A3, A4 or A5), with no tiles: geopandas + matplotlib.

Each page is drawn in the metric CRS of its territory: département and commune outlines with
the names of the places that hold sites (IGN ADMIN EXPRESS), the quartiers where the scale
shows them and a count per département where it does not, the sites by theme (colour and
shape, as on the interactive map), dashed lines between the sites of one initiative, overseas
territories as insets, a legend that explains every symbol, a metric scale bar, a north arrow
and the sources. ``atlas`` adds its contents and one page per département (or per commune
for a study within one département) after the overview, in one PDF: those pages are drawn
with reportlab from the same layers (:func:`geo.write.atlas.area_page`), a hundred of
them in the time of a few matplotlib pages. Fonts (DejaVu Sans, shipped with matplotlib)
are embedded, so the PDF looks the same at the print shop.

Here: the entry (:func:`print_map`), the pages of a print and the PDF written at once;
the layers in :mod:`geo.write.printlayers`, the matplotlib pages in
:mod:`geo.write.printpages` (their maps in :mod:`geo.write.printpanels`), the atlas's pages
in :mod:`geo.write.atlas`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import geopandas as gpd
import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from .._errors import InputError
from ..indicators import Measures
from ..io import atomic_path
from ..link import LinkResult
from ..vocabulary import DEFAULT_TITLE
from .atlas import area_page, atlas_areas, contents_page
from .mapstyle import SOURCES_LINE, indicator_label, symbol_sizes
from .printlayers import PAPER, PRINT_FONTS, prepare_layers
from .printpages import overview_page, periods_page


def print_map(
    result: LinkResult,
    qpv: gpd.GeoDataFrame,
    path: str | Path,
    *,
    paper: str = "A4",
    landscape: bool = True,
    title: str = DEFAULT_TITLE,
    theme_column: str | None = None,
    id_column: str | None = None,
    previous: gpd.GeoDataFrame | None = None,
    dpi: int = 200,
    bounds: tuple[float, float, float, float] | None = None,
    atlas: bool = False,
    measures: Measures | None = None,
    size_by: str | None = None,
    periods: list[int] | tuple[int, ...] = (),
) -> Path:
    """Write a print map to ``path`` (``.pdf``, ``.png`` or ``.svg``, by extension).

    Parameters
    ----------
    paper
        ``"A4"``, ``"A5"`` or ``"A3"``.
    landscape
        Landscape (default) or portrait page.
    dpi
        Resolution of a PNG, in dots per inch.
    bounds
        Area of the overview, min lon, min lat, max lon, max lat (EPSG:4326); default: the
        sites, with overseas territories that hold sites as insets.
    atlas
        After the overview, one page per département holding sites (per commune when every
        site lies in one département); PDF only.
    measures, size_by
        The sites' indicators and years; ``size_by`` sizes the symbols by one indicator
        (proportional symbols, their sizes in the legend).
    periods
        Years drawn as small multiples on the first page: one panel per year, the same
        frame, the sites open that year (``measures`` must hold years).
    """
    suffix = Path(path).suffix.lower()
    if suffix not in (".pdf", ".png", ".svg"):
        raise InputError("format d'impression inconnu : choisissez .pdf, .png ou .svg.",
                         path=str(path), parameters=("carte_impression",))
    if paper not in PAPER:
        raise InputError(f"format de papier « {paper} » inconnu ; possibles : "
                         f"{', '.join(PAPER)}.", parameters=("paper",))
    if atlas and suffix != ".pdf":
        raise InputError("un atlas a plusieurs pages : choisissez un fichier .pdf.",
                         path=str(path), parameters=("carte_impression",))
    makers = _page_makers(result, qpv, paper=paper, landscape=landscape, title=title,
                          theme_column=theme_column, id_column=id_column,
                          previous=previous, bounds=bounds, atlas=atlas, measures=measures,
                          size_by=size_by, periods=periods)
    with atomic_path(path) as tmp, matplotlib.rc_context(PRINT_FONTS):
        if suffix == ".pdf":
            _write_pdf(Path(tmp), *makers, metadata=pdf_metadata(suffix, title))
        else:
            makers[0][0]().savefig(tmp, dpi=dpi, format=suffix[1:],
                                   metadata=pdf_metadata(suffix, title))
    return Path(path)


def _write_pdf(path: Path, figures: list[Callable[[], Figure]], drawings: list[Callable],
               *, metadata: dict[str, str]) -> None:
    """The matplotlib pages ``figures``, then the reportlab pages ``drawings`` (an atlas's
    contents and areas, shared by the cores: each worker forked with the prepared layers,
    nothing pickled), to the PDF ``path``."""
    import tempfile

    from pypdf import PdfReader, PdfWriter

    from .drawnpages import write_drawings
    from .pdfpages import write_pdf_pages

    if not drawings:
        write_pdf_pages(path, len(figures), lambda k: figures[k](), metadata=metadata)
        return
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".ess-qpv-atlas-") as tmp:
        first, rest = Path(tmp) / "figures.pdf", Path(tmp) / "drawings.pdf"
        write_pdf_pages(first, len(figures), lambda k: figures[k](), metadata=metadata)
        write_drawings(rest, len(drawings), lambda k: drawings[k](), metadata=metadata)
        writer = PdfWriter()
        for part in (first, rest):
            writer.append(PdfReader(part))
        writer.add_metadata({f"/{key}": value for key, value in metadata.items()})
        writer.write(path)


def print_pages(result: LinkResult, qpv: gpd.GeoDataFrame, *, paper: str = "A4",
                landscape: bool = True, title: str = DEFAULT_TITLE,
                theme_column: str | None = None, id_column: str | None = None,
                previous: gpd.GeoDataFrame | None = None,
                bounds: tuple[float, float, float, float] | None = None, atlas: bool = False,
                measures: Measures | None = None, size_by: str | None = None,
                periods: list[int] | tuple[int, ...] = ()) -> list[Figure]:
    """The pages of :func:`print_map` drawn with matplotlib, as figures (same parameters;
    an atlas's contents and areas, drawn with reportlab, are not among them)."""
    return [make() for make in _page_makers(
        result, qpv, paper=paper, landscape=landscape, title=title,
        theme_column=theme_column, id_column=id_column, previous=previous, bounds=bounds,
        atlas=atlas, measures=measures, size_by=size_by, periods=periods)[0]]


def _page_makers(result: LinkResult, qpv: gpd.GeoDataFrame, *, paper: str, landscape: bool,
                 title: str, theme_column: str | None, id_column: str | None,
                 previous: gpd.GeoDataFrame | None, bounds, atlas: bool,
                 measures: Measures | None, size_by: str | None,
                 periods) -> tuple[list[Callable[[], Figure]], list[Callable]]:
    """What draws each page, in order, once the layers are prepared and the parameters
    checked: a page is drawn when it is written (an atlas's pages by several processes).
    The matplotlib pages (the periods, the overview), then the reportlab ones (an atlas's
    contents and areas, :func:`area_page`)."""

    width, height = PAPER[paper]
    size = ((height, width) if landscape else (width, height))
    layers = prepare_layers(result, qpv, previous, theme_column, id_column)
    if measures is not None and size_by:
        values = measures.values[size_by]
        layers.scale = pd.Series(symbol_sizes(values), index=result.sites.index) / 22
        layers.size_by = (indicator_label(measures, size_by), values)
    if periods and (measures is None or not measures.has_years):
        raise InputError("les périodes demandent l'année d'ouverture de chaque site.",
                         parameters=("periods", "year"))
    areas = []
    if atlas:
        sites = layers.sites if bounds is None else \
            layers.sites.cx[bounds[0]:bounds[2], bounds[1]:bounds[3]]
        areas = atlas_areas(sites)
    # the periods' page, the overview, the contents on their own page, the areas
    contents = 2 + bool(periods)
    makers = [partial(overview_page, layers, result, size, title, bounds,
                      contents if areas else None)]
    if periods:
        makers.insert(0, partial(periods_page, layers, measures, size, title,
                                 list(periods)))
    drawings = []
    if areas:
        drawings.append(partial(contents_page, size, title, [name for name, _ in areas],
                                contents + 1))
    drawings += [partial(area_page, layers, size, title, name, outline)
                 for name, outline in areas]
    return makers, drawings


def pdf_metadata(suffix: str, title: str) -> dict:
    """The metadata of a printed file of type ``suffix`` (its title, creator, sources)."""
    from .. import __version__

    creator = f"ess-qpv {__version__}"
    if suffix == ".pdf":
        return {"Title": title, "Creator": creator, "Subject": SOURCES_LINE}
    if suffix == ".png":
        return {"Title": title, "Software": creator, "Source": SOURCES_LINE}
    return {"Title": title, "Creator": creator}
