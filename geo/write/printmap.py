"""Static maps for print (PDF, PNG, SVG at A3, A4 or A5), with no tiles: geopandas + matplotlib.

Each page is drawn in the metric CRS of its territory: département and commune outlines with
the names of the places that hold sites (IGN ADMIN EXPRESS), the quartiers where the scale
shows them and a count per département where it does not, the sites by theme (colour and
shape, as on the interactive map), dashed lines between the sites of one initiative, overseas
territories as insets, a legend that explains every symbol, a metric scale bar, a north arrow
and the sources. ``atlas`` adds its contents and one page per département (or per commune
for a study within one département) after the overview, in one PDF: those pages are drawn
with reportlab from the same layers (:func:`area_page`), a hundred of them in the time of a
few matplotlib pages. Fonts (DejaVu Sans, shipped with matplotlib) are embedded, so the
PDF looks the same at the print shop.
"""

from __future__ import annotations

import datetime
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .._errors import InputError
from ..cities import CREDIT as CITIES_CREDIT
from ..indicators import Measures
from ..io import atomic_path
from ..link import LinkResult
from ..outlines import CREDIT
from ..territories import TERRITORIES, territory_of_points
from ..typography import NBSP, date_text, french_spacing, number, place_name, plural
from ..vocabulary import (
    DEFAULT_TITLE,
    GENERATION,
    GENERATIONS,
    UNCERTAIN_SHORT,
    Generation,
    Relation,
)
from .drawing import Projected, cut, font_pt, scale_bar_place, shaped, symbols
from .mapstyle import (
    LINK_MAX,
    SEVERAL_THEMES_NOTE,
    SOURCES_LINE,
    french_number,
    indicator_label,
    legend_values,
    path_length,
    site_themes,
    symbol_sizes,
)
from .pagelayout import MM_PER_PT, PageText, legend
from .printlabels import place_on_page, unescaped
from .printsymbols import EDGE, RINGS, reference_height, reference_values
from .vectormap import MapShapes, free_corners, scale_bar
from .vectorpage import (
    ASCENT,
    DESCENT,
    PT_PER_MM,
    Circle,
    Drawing,
    Group,
    dots,
    marker,
    page_drawing,
    polyline,
)
from .vectorpage import (
    colour as rl_colour,
)
from .vectorpage import text as rl_text

#: The sources line of every printed page and image.
PRINT_SOURCES = french_spacing(f"{SOURCES_LINE} ; {CREDIT} (limites) ; {CITIES_CREDIT}. "
                                "Licence Ouverte / Etalab 2.0.")
#: Paper sizes in millimetres (portrait).
PAPER = {"A4": (210, 297), "A5": (148, 210), "A3": (297, 420)}
_MARKERS = {"circle": "o", "square": "s", "triangle": "^", "diamond": "D", "pentagon": "p",
            "star": "*", "hexagon": "h", "cross": "P", "triangle_down": "v", "x": "X",
            "ring": "o", "bar": [(-1, -0.35), (1, -0.35), (1, 0.35), (-1, 0.35), (-1, -0.35)]}
#: Shapes drawn hollow (their colour on the outline).
_HOLLOW = {"ring"}
INCH_PER_MM = 1 / 25.4
#: Wider than this (metres), quartiers are too small to see: they are counted instead.
_QPV_VISIBLE = 150_000
#: Fonts embedded as TrueType in PDF; SVG text drawn as paths (no font needed to view it).
#: Matplotlib 3.11 sizes a PDF's font subsets from ``ps.fonttype``: left at Type 3, every
#: character beyond Latin-1 (« – ») put each font in the file twice.
PRINT_FONTS = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "path",
          "font.family": "DejaVu Sans"}
_DEP_COLOR, _COM_COLOR, _LINK_COLOR = "#4d4d4d", "#8c8c8c", "#555555"


@dataclass
class PrintLayers:
    """What every page draws from (EPSG:4326), prepared once."""

    sites: gpd.GeoDataFrame
    themes: pd.Series
    styles: dict
    qpv: gpd.GeoDataFrame
    previous: gpd.GeoDataFrame | None
    links: list
    generation: str
    #: Diameter of each site's symbol relative to the usual one (proportional symbols), and
    #: the indicator and its values for the legend.
    scale: pd.Series | None = None
    size_by: tuple[str, pd.Series] | None = None
    #: The quartiers one initiative relates to (code → its closest relation), drawn and
    #: named first (the per-initiative pages, :mod:`geo.write.fiches`).
    emphasis: dict[str, str] | None = None
    #: A number shown beside each site (its line in a page's table), by site index.
    numbers: pd.Series | None = None
    #: The largest count of a proportional symbol drawn (national maps aggregate their
    #: sites per département): the legend's reference.
    aggregate_max: int = 0
    #: The study's distance to a quartier (metres): the legend of the circles says it.
    distance: float = 300
    #: The quartiers already cut and projected for a frame, shared by the maps of a page
    #: that show the same frame (small multiples) and by the copies of these layers.
    _framed: dict = field(default_factory=dict, repr=False)
    #: ``qpv`` and ``previous`` projected once per CRS (:class:`Projected`), shared too.
    _projected: dict = field(default_factory=dict, repr=False)
    #: The commune and département of every site, found once (:meth:`places`).
    _places: list = field(default_factory=list, repr=False)

    def places(self, sites: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The codes of the commune and of the département of each of ``sites`` (``""``
        outside any), found once for all the study's sites and read by each page."""
        from ..outlines import commune_of_points, departement_of_points

        if not self._places:
            x, y = self.sites.geometry.x.to_numpy(), self.sites.geometry.y.to_numpy()
            self._places += [self.sites.index, commune_of_points(x, y),
                             departement_of_points(x, y)]
        index, commune, departement = self._places[:3]
        at = index.get_indexer(sites.index) if index.is_unique else np.array([-1])
        if (at >= 0).all():
            return commune[at], departement[at]
        x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
        return commune_of_points(x, y), departement_of_points(x, y)

    def located(self, box: tuple) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """The sites inside ``box`` (EPSG:4326) as a plain table (their columns without
        the geometry: a GeoDataFrame's selection costs more than a page reads from it),
        with their longitudes and latitudes."""
        if len(self._places) < 4:
            self.places(self.sites.iloc[:0])
            self._places += [pd.DataFrame(self.sites.drop(columns=self.sites.geometry.name)),
                             self.sites.geometry.x.to_numpy(), self.sites.geometry.y.to_numpy()]
        table, x, y = self._places[3:6]
        inside = (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
        return table[inside], x[inside], y[inside]

    def framed(self, name: str, box: tuple, crs: str, tolerance: float | None
               ) -> pd.DataFrame:
        """``qpv`` or ``previous`` inside ``box`` (EPSG:4326) drawn in ``crs``, simplified to
        ``tolerance`` metres (what the page cannot show): a plain table of their columns
        (a GeoDataFrame's checks cost more than a page draws from it), their shapes in
        ``geometry`` and a point inside each (found on its whole shape) in ``spot_x``,
        ``spot_y``; ``tolerance=None``: the points alone (``geometry`` empty), for a wide
        map that draws the quartiers as dots."""
        key = (name, box, crs, tolerance)
        if key not in self._framed:
            if len(self._framed) >= 64:  # an atlas or the fiches: a frame per page
                self._framed.clear()
            layer = getattr(self, name)
            if (name, crs) not in self._projected:  # each quartier projected once per CRS
                self._projected[name, crs] = Projected(layer.geometry.values, crs)
            if name not in self._projected:  # the quartiers' other columns, once
                self._projected[name] = pd.DataFrame(layer.drop(columns=layer.geometry.name))
            rows = np.sort(layer.sindex.query(shapely.box(*box), predicate="intersects"))
            if tolerance is None:  # dots only: no shape projected nor simplified
                shapes = np.full(len(rows), None, dtype=object)
                spots = self._projected[name, crs].spots_at(rows)
            else:  # to one significant digit: the pages of one scale simplify each once
                shapes, spots = self._projected[name, crs].take(rows,
                                                                float(f"{tolerance:.1g}"))
            self._framed[key] = self._projected[name].iloc[rows].assign(
                geometry=shapes, spot_x=spots[:, 0], spot_y=spots[:, 1])
        return self._framed[key]


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
        areas = _atlas_areas(sites)
    # the periods' page, the overview, the contents on their own page, the areas
    contents = 2 + bool(periods)
    makers = [partial(_overview, layers, result, size, title, bounds,
                      contents if areas else None)]
    if periods:
        makers.insert(0, partial(_periods_page, layers, measures, size, title,
                                 list(periods)))
    drawings = []
    if areas:
        drawings.append(partial(contents_page, size, title, [name for name, _ in areas],
                                contents + 1))
    drawings += [partial(area_page, layers, size, title, name, outline)
                 for name, outline in areas]
    return makers, drawings


def prepare_layers(result, qpv, previous, theme_column, id_column) -> PrintLayers:
    sites = result.sites[result.sites.geometry.notna()]
    themes, styles = site_themes(sites, theme_column)
    styles = {t: s for t, s in styles.items() if (themes == t).any()}
    links = []
    if id_column and id_column in sites:
        ids = sites[id_column].astype(str)
        several = ids.duplicated(keep=False).to_numpy()  # a lone site has no line
        for _, group in sites[several].groupby(ids[several]):
            links += initiative_links(group)
    return PrintLayers(sites, themes, styles, qpv, previous, links,
                   ", ".join(sorted(set(qpv["generation"]))) or "",
                   distance=getattr(result, "distance", 300))


def initiative_links(sites: gpd.GeoDataFrame) -> list[shapely.LineString]:
    """The dashed line between the sites of one initiative, unless they are far apart
    (another city, overseas): a line across the country says nothing a reader can use."""
    if len(sites) < 2 or path_length(sites.geometry.x, sites.geometry.y) >= LINK_MAX:
        return []
    return [shapely.LineString(list(sites.geometry))]


# --------------------------------------------------------------------------- layout

#: Page margins, title band and sources band, in millimetres.
_MARGIN, _TITLE_BAND, _FOOT_BAND = 10.0, 24.0, 8.0
#: Width of the legend column, in millimetres, and the characters of its longest line
#: (longer names are wrapped: nothing runs off the page).
_LEGEND_WIDTH = 64.0
_LEGEND_CHARS = 34
#: Sites closer than this (metres) belong to the same agglomeration.
_AGGLOMERATION = 12_000
#: At most this many agglomeration panels; more and the page shows France.
_MAX_PANELS = 6
#: The inner ring of Paris: the Île-de-France inset of national maps.
_IDF = ("75", "92", "93", "94")


@dataclass
class PageFrame:
    """Where things go on a page, in figure fractions: the map zone (left) and the legend
    column (right), inside the margins."""

    size: tuple[float, float]

    def fraction(self, x_mm, y_mm, w_mm, h_mm) -> tuple[float, float, float, float]:
        w, h = self.size
        return x_mm / w, y_mm / h, w_mm / w, h_mm / h

    @property
    def inside(self) -> tuple[float, float, float, float]:
        w, h = self.size
        return (_MARGIN, _MARGIN + _FOOT_BAND, w - 2 * _MARGIN,
                h - 2 * _MARGIN - _FOOT_BAND - _TITLE_BAND)

    @property
    def map_zone(self) -> tuple[float, float, float, float]:
        x, y, w, h = self.inside
        return x, y, w - self._legend_width - 4, h

    @property
    def legend_zone(self) -> tuple[float, float, float, float]:
        x, y, w, h = self.inside
        return x + w - self._legend_width, y, self._legend_width, h

    @property
    def _legend_width(self) -> float:
        return _LEGEND_WIDTH * min(1.0, self.size[0] / 297) ** 0.5 + (
            0 if self.size[0] > self.size[1] else 0)


def page_fill(fig: Figure) -> float:
    """Share of the page inside the margins covered by maps and the legend (their boxes,
    after the maps took their shape): what a reader sees as the map, from 0 to 1."""
    renderer = fig.canvas.get_renderer()
    frame = PageFrame((fig.get_figwidth() / INCH_PER_MM, fig.get_figheight() / INCH_PER_MM))
    boxes = []
    for ax in fig.axes:
        ax.apply_aspect()
        boxes.append(ax.get_window_extent(renderer))
    boxes += [legend.get_window_extent(renderer) for legend in fig.legends]
    dpmm = fig.dpi * INCH_PER_MM
    x, y, w, h = frame.inside
    grid = np.zeros((int(h), int(w)), dtype=bool)  # millimetre cells
    for box in boxes:
        c0, c1 = int(box.x0 / dpmm - x), int(np.ceil(box.x1 / dpmm - x))
        r0, r1 = int(box.y0 / dpmm - y), int(np.ceil(box.y1 / dpmm - y))
        grid[max(r0, 0):max(r1, 0), max(c0, 0):max(c1, 0)] = True
    return float(grid.mean())


# --------------------------------------------------------------------------- pages


def _overview(layers: PrintLayers, result: LinkResult, size, title: str, bounds,
              contents: int | None = None) -> Figure:
    """The first page. A territory given by ``bounds`` is drawn whole; sites in a few
    agglomerations get one zoomed panel each and a locator of France; otherwise France,
    with Paris and its inner ring and the overseas territories that hold sites as insets."""
    sites = layers.sites
    keys = territory_of_points(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
    counts = keys.value_counts()
    main = counts.index[0] if len(counts) else "metropole"
    outline = None
    if bounds is not None:
        bounds = _with_territory_sites(bounds, sites)
        outline = _study_outline(result)
        if outline is not None:  # the whole département or commune, not its quartiers
            ox0, oy0, ox1, oy1 = outline.bounds
            bounds = (min(bounds[0], ox0), min(bounds[1], oy0), max(bounds[2], ox1),
                      max(bounds[3], oy1))
    subtitle = _subtitle(result, layers, bounds)
    if contents:
        subtitle += f"\u202f; sommaire de l’atlas p.\u00a0{contents}"
    fig = _figure(size, title, subtitle)
    frame = PageFrame(size)
    crs = TERRITORIES[main].crs
    legend_zone = None
    if bounds is not None:
        main = territory_of_points(np.array([(bounds[0] + bounds[2]) / 2]),
                                   np.array([(bounds[1] + bounds[3]) / 2]))[0] or main
        crs = TERRITORIES[main].crs
        area = gpd.GeoSeries([shapely.box(*bounds)], crs=4326).to_crs(crs)
        maps = [_single(fig, frame, layers, crs, _extent(area, crs, main, pad=0.03), size,
                        focus=outline)]
        # the legend counts what the subtitle says the frame holds
        shown = sites.cx[bounds[0]:bounds[2], bounds[1]:bounds[3]]
    else:
        home = sites[(keys == main).to_numpy()]
        count = _agglomeration_of(home, crs)[1]
        # the groups themselves only for a few panels (a national directory: a thousand)
        groups = find_agglomerations(home, crs) if count <= _MAX_PANELS else [None] * count
        extent = _extent(home.geometry.to_crs(crs) if len(home) else None, crs, main)
        wide = extent[2] - extent[0] > _QPV_VISIBLE
        if wide and 2 <= len(groups) <= _MAX_PANELS:
            maps, legend_zone = _panels(fig, frame, layers, crs, groups, size)
        else:
            if wide and main == "metropole":  # the whole country, its sites or not
                extent = _union(extent, _extent(_metropole(crs), crs, main, pad=0.02))
            others = [k for k in counts.index if k != main][:6]
            maps, rest = _national(fig, frame, layers, crs, extent, size, main, others)
    drawn = {key: any(m.drawn[key] for m in maps) for key in maps[0].drawn}
    legend = _legend(fig, frame, layers, drawn, size, zone=legend_zone,
                     shown=None if bounds is None else shown)
    if bounds is None and not (wide and 2 <= len(groups) <= _MAX_PANELS) and others:
        # overseas under the legend when it leaves room, else in the column of insets
        bottom = legend_bottom(fig, legend)
        lx, ly, lw, _ = frame.legend_zone
        under = (lx, ly, lw, bottom - 6 - ly)
        maps += _overseas(fig, frame, layers, size, others, keys,
                          under if _cell(under, len(others)) >= 22 else rest)
    _label(fig, maps)
    return fig


def _union(a: tuple, b: tuple) -> tuple:
    """The box (x0, y0, x1, y1) that holds boxes ``a`` and ``b``."""
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _metropole(crs: str) -> gpd.GeoSeries:
    """Metropolitan France and Corsica (their départements' outlines) in ``crs``."""
    from ..outlines import departements

    deps = departements()
    return deps[deps["code"].str.len() == 2].geometry.to_crs(crs)


def _study_outline(result: LinkResult) -> shapely.Geometry | None:
    """The outline of the study's territory (its départements and communes, EPSG:4326), or
    ``None`` when the study has none (or no outline is bundled for it)."""
    from ..outlines import communes, departements

    area = getattr(result, "area", None)
    if not area:
        return None
    parts = []
    for frame, codes in ((departements(), area.departements), (communes(), area.communes)):
        if codes:
            parts += list(frame[frame["code"].isin(list(codes))].geometry)
    return shapely.union_all(parts) if parts else None


def _with_territory_sites(bounds: tuple, sites: gpd.GeoDataFrame) -> tuple:
    """``bounds`` (the study territory's quartiers) widened to every site of the
    départements that hold the sites inside it: the frame shows the whole study, not only
    where its quartiers are (a département's sites far from them were cut off)."""
    from ..outlines import departement_of_points

    if not len(sites):
        return bounds
    x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    deps = departement_of_points(x, y)
    inside = (x >= bounds[0]) & (x <= bounds[2]) & (y >= bounds[1]) & (y <= bounds[3])
    mine = np.isin(deps, list(set(deps[inside]) - {""}))
    if not mine.any():
        return bounds
    return (min(bounds[0], x[mine].min()), min(bounds[1], y[mine].min()),
            max(bounds[2], x[mine].max()), max(bounds[3], y[mine].max()))


@dataclass
class MapPanel:
    """One map of a page: its axes, what it drew and the names it may show."""

    ax: object
    drawn: dict
    labels: list
    markers: list


def _single(fig, frame, layers, crs, extent, size, *, zone=None, furniture=True,
            counts_label=None, focus=None, aggregate: bool = True) -> MapPanel:
    """One map filling ``zone`` (default: the map zone), shaped by its extent;
    ``aggregate=False``: its sites one by one, however many."""
    x, y, w, h = zone or frame.map_zone
    extent = shaped(extent, w, h)
    ax = fig.add_axes(frame.fraction(x, y, w, h))
    return _draw(ax, layers, crs, extent, size, furniture=furniture, focus=focus,
                 aggregate=aggregate)


def _national(fig, frame, layers, crs, extent, size, main, others
              ) -> tuple[list[MapPanel], tuple[float, float, float, float]]:
    """France (or the main territory) on the left of the map zone; a column of insets on
    its right: Paris and its inner ring when sites are there. Return the maps and the room
    left in the column (for the overseas insets)."""
    from ..outlines import departement_of_points, departements

    sites = layers.sites
    deps = pd.Series(departement_of_points(sites.geometry.x.to_numpy(),
                                           sites.geometry.y.to_numpy()))
    idf = main == "metropole" and deps.isin(_IDF).any() and \
        extent[2] - extent[0] > _QPV_VISIBLE
    x, y, w, h = frame.map_zone
    column = 0.0
    if idf or others:
        column = min(w * 0.3, 70.0)
    x0, y0, x1, y1 = extent
    # The main map takes the height; its width follows the territory's shape.
    mw = min(w - column - (3 if column else 0), h * (x1 - x0) / (y1 - y0))
    maps = [_single(fig, frame, layers, crs, extent, size, zone=(x, y, mw, h))]
    cx, top = x + mw + 3, y + h
    column = w - mw - 3 if column else 0
    if idf:
        outline = departements()
        ring = outline[outline["code"].isin(_IDF)].to_crs(crs)
        box = ring.total_bounds
        pad = (box[2] - box[0]) * 0.03
        inner = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
        side = min(column, h * 0.5)
        m = _single(fig, frame, layers, crs, inner, size,
                    zone=(cx, top - side - 5, column, side), furniture=False)
        m.ax.set_title("Paris et la petite couronne", fontsize=font_pt(size, 7.5), pad=2)
        maps.append(m)
        top -= side + 8
        maps[0].ax.add_patch(matplotlib.patches.Rectangle(
            (inner[0], inner[1]), inner[2] - inner[0], inner[3] - inner[1], fill=False,
            edgecolor="#1a1a1a", linewidth=0.8, zorder=7))
    return maps, (cx, y, column, top - y)


def _cell(zone, n: int) -> float:
    """The side of the squares of ``n`` insets, two per row, in ``zone`` (millimetres)."""
    x, y, w, h = zone
    rows = (n + 1) // 2
    return min(w / 2 - 2, h / max(rows, 1) - 7) if w > 0 and h > 0 else 0


def _overseas(fig, frame, layers, size, others, keys, zone) -> list[MapPanel]:
    """The overseas territories that hold sites, whole (their island's outline), two per
    row in ``zone``."""
    x, y, w, h = zone
    h -= 4  # the note « échelles différentes » on top
    cell = _cell((x, y, w, h), len(others))
    if cell < 8:
        return []
    maps = []
    for i, key in enumerate(others):
        r, c = divmod(i, 2)
        inset = (x + c * (cell + 4), y + h - (r + 1) * (cell + 7), cell, cell)
        icrs = TERRITORIES[key].crs
        whole = gpd.GeoSeries([shapely.box(*TERRITORIES[key].bbox)], crs=4326).to_crs(icrs)
        # its sites one by one: circles at the scale of the main map would hide the island
        m = _single(fig, frame, layers, icrs, _extent(whole, icrs, key, pad=0.02), size,
                    zone=inset, furniture=False, aggregate=False)
        n = int((keys == key).sum())
        m.ax.set_title(f"{TERRITORIES[key].name} ({n})", fontsize=font_pt(size, 6.5), pad=2)
        m.labels = _inset_cities(m.labels, size)
        # each inset its own scale bar (the scales differ, as the note above says)
        m.ax._essqpv_furniture = _scale_bar(m.ax, *m.ax.get_xlim(), *m.ax.get_ylim(), size,
                                            corner="bl", points=5.5)
        maps.append(m)
    if maps:
        fig.text(x / frame.size[0], (y + h + 2) / frame.size[1],
                 "Outre-mer (échelles différentes)", fontsize=font_pt(size, 6.5), color="#333",
                 va="center")
    return maps


#: An overseas inset names this many of its largest cities.
_INSET_CITIES = 3


def _inset_cities(labels: list, size) -> list:
    """The names of an overseas inset: its main cities only (no quartier, no commune for
    its sites), small enough to fit its square."""
    from dataclasses import replace

    return [replace(label, style={**label.style, "fontsize": font_pt(size, 6.5)}, smaller=5.5)
            for label in labels
            if label.over_symbols and label.priority > _CITY - _INSET_CITIES]


def find_agglomerations(sites: gpd.GeoDataFrame, crs: str) -> list[gpd.GeoDataFrame]:
    """The sites grouped by agglomeration (closer than :data:`_AGGLOMERATION` to one
    another), the largest first."""
    which, count = _agglomeration_of(sites, crs)
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(count + 1))
    return [sites.iloc[order[bounds[k]:bounds[k + 1]]] for k in range(count)]


def _agglomeration_of(sites: gpd.GeoDataFrame, crs: str) -> tuple[np.ndarray, int]:
    """The agglomeration of each site (0 the largest, 1 the next…) and their number: the
    sites linked by chains of neighbours closer than :data:`_AGGLOMERATION` (a tree
    query and the graph's connected components, not a union of buffers)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(sites)
    if not n:
        return np.zeros(0, dtype=int), 0
    metric = sites.geometry.to_crs(crs).values
    left, right = shapely.STRtree(metric).query(metric, predicate="dwithin",
                                                distance=_AGGLOMERATION)
    count, labels = connected_components(
        coo_matrix((np.ones(len(left), dtype=bool), (left, right)), shape=(n, n)),
        directed=False)
    sizes = np.bincount(labels, minlength=count)
    rank = np.empty(count, dtype=int)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(count)
    return rank[labels], count


def _panels(fig, frame, layers, crs, groups, size) -> tuple[list[MapPanel], tuple]:
    """One zoomed panel per agglomeration (its quartiers and their names readable), a
    locator of France naming them, and the legend in the last cell of the grid (its zone
    is returned with the maps)."""
    from math import ceil

    from ..outlines import commune_of_points, communes

    n = len(groups) + 2  # the panels, the locator, the legend
    x, y, w, h = frame.inside
    cols = ceil(np.sqrt(n * w / h))
    rows = ceil(n / cols)
    cw, ch = w / cols, h / rows
    names = communes().set_index("code")["nom"]
    maps, places = [], []
    for k, group in enumerate(groups):
        r, c = divmod(k + 1, cols)
        zone = (x + c * cw + 1.5, y + (rows - 1 - r) * ch + 1.5, cw - 3, ch - 7.5)
        metric = group.geometry.to_crs(crs)
        x0, y0, x1, y1 = metric.total_bounds
        half = max(x1 - x0, y1 - y0, 3000) * 0.6 + 800
        cxm, cym = (x0 + x1) / 2, (y0 + y1) / 2
        m = _single(fig, frame, layers, crs, (cxm - half, cym - half, cxm + half, cym + half),
                    size, zone=zone, furniture=True)
        held = pd.Series(commune_of_points(group.geometry.x.to_numpy(),
                                           group.geometry.y.to_numpy()))
        held = held[held != ""].value_counts()
        place = names.get(held.index[0], "") if len(held) else ""
        more = " et environs" if len(held) > 1 else ""
        m.ax.set_title(plain_text(f"{k + 1}. {place}{more} ({plural(len(group), 'site')})"),
                       fontsize=font_pt(size, 8), pad=3, loc="left")
        places.append((f"{k + 1}. {place}", cxm, cym))
        maps.append(m)
    # the locator, first cell; the legend, the cell after the last panel
    zone = (x + 1.5, y + (rows - 1) * ch + 1.5, cw - 3, ch - 7.5)
    locator = _locator(fig, frame, crs, zone, places, size)
    r, c = divmod(len(groups) + 1, cols)
    legend = (x + c * cw + 3, y, w - c * cw - 3, (rows - r) * ch - 3)
    return [locator, *maps], legend


def _locator(fig, frame, crs, zone, places, size) -> MapPanel:
    """France with the places of the panels, named."""
    from ..outlines import departements
    from .printlabels import Label

    rows = np.flatnonzero(departements()["code"].map(
        lambda c: len(c) == 2 or c in ("2A", "2B")).to_numpy())
    projected = _outlines(crs)[0]  # projected once, shared with the other maps
    extent = shaped(tuple(shapely.total_bounds(projected.take(rows)[0])), zone[2], zone[3])
    # simplified to the locator's scale, like the outlines of the other maps
    metres_per_mm = (extent[2] - extent[0]) / zone[2]
    shapes, _ = projected.take(rows, float(f"{metres_per_mm * _OUTLINE_MM:.1g}"))
    ax = fig.add_axes(frame.fraction(*zone))
    _shapes(ax, pd.DataFrame({"geometry": shapes}), 1, facecolor="#f3f1ec",
            edgecolor="#8c8c8c", linewidth=0.3)
    xs = [p[1] for p in places]
    ys = [p[2] for p in places]
    ax.scatter(xs, ys, s=30, color="#b03a2e", edgecolor="#1a1a1a", linewidth=0.6, zorder=6)
    _axes_style(ax, extent)
    ax.set_title("Situation des panneaux", fontsize=font_pt(size, 8), pad=3, loc="left")
    from .printlabels import marker_boxes

    labels = [Label(100 - k, plain_text(text), px, py, {"fontsize": font_pt(size, 7)})
              for k, (text, px, py) in enumerate(places)]
    return MapPanel(ax, {k: False for k in _DRAWN}, labels,
                marker_boxes(ax, np.array(xs), np.array(ys), 6.0))


def _label(fig, maps: list[MapPanel], halo: str = "stroke") -> None:
    """Place every map's names, clear of every symbol, every other map, the legend and
    the furniture (scale bar, north arrow); ``halo`` as :func:`geo.write.printlabels.place`."""
    from .printlabels import artist_boxes, place

    renderer = fig.canvas.get_renderer()
    for m in maps:
        m.ax.apply_aspect()
    axes_boxes = {id(m.ax): m.ax.get_window_extent(renderer) for m in maps}
    # a legend starts at its anchor and grows rightwards and down: measured (its whole
    # layout) only when it may reach a map
    right = max((b.x1 for b in axes_boxes.values()), default=0)
    legend_boxes = artist_boxes(fig, [legend for legend in fig.legends
                                      if legend.get_bbox_to_anchor().x0 < right])
    for m in maps:
        others = [b for k, b in axes_boxes.items() if k != id(m.ax)
                  and b.overlaps(axes_boxes[id(m.ax)])]
        furniture = artist_boxes(fig, getattr(m.ax, "_essqpv_furniture", []))
        # markers are refreshed now that every axes has its final shape
        markers = m.markers() if callable(m.markers) else m.markers
        # the main cities first, over the symbols; then the other names, clear of them
        first = place(m.ax, [label for label in m.labels if label.over_symbols],
                      obstacles=[*furniture, *legend_boxes, *others], halo=halo)
        place(m.ax, [label for label in m.labels if not label.over_symbols],
              obstacles=[*markers, *furniture, *legend_boxes, *others, *first.boxes],
              halo=halo)


def _periods_page(layers: PrintLayers, measures: Measures, size, title: str,
                  periods: list[int]) -> Figure:
    """Small multiples: one panel per year, the same frame (the main territory of the
    sites), each with the sites open that year."""
    from dataclasses import replace
    from math import ceil

    sites = layers.sites
    keys = territory_of_points(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
    main = keys.value_counts().index[0] if len(keys) else "metropole"
    crs = TERRITORIES[main].crs
    area = sites[(keys == main).to_numpy()].geometry
    extent = _extent(area.to_crs(crs) if len(area) else None, crs, main, pad=0.12)
    if extent[2] - extent[0] > _QPV_VISIBLE:  # the country: all of it in every panel
        whole = _extent(None, crs, main, pad=0.0)
        extent = (min(extent[0], whole[0]), min(extent[1], whole[1]),
                  max(extent[2], whole[2]), max(extent[3], whole[3]))
    elsewhere = int((keys != main).sum())
    note = f" ; {plural(elsewhere, 'site')} hors de ce cadre (outre-mer)" if elsewhere else ""
    fig = _figure(size, title, "Sites ouverts à chaque date, même cadre pour chaque "
                               f"panneau{note}")
    frame = PageFrame(size)
    x, y, w, h = frame.map_zone
    # the grid that draws the frame largest
    ew, eh = extent[2] - extent[0], extent[3] - extent[1]
    cols = max(range(1, len(periods) + 1), key=lambda c: min(
        (w / c - 4) / ew, (h / ceil(len(periods) / c) - 9) / eh))
    rows = ceil(len(periods) / cols)
    cw, ch = w / cols, h / rows
    # positions in the table, as the sites' index
    start = pd.Series(measures.start).reindex(sites.index)
    end = pd.Series(measures.end if measures.end is not None else np.nan,
                    index=pd.RangeIndex(len(measures.start))).reindex(sites.index)
    fitted = shaped(extent, cw - 4, ch - 9)
    maps = []
    for k, year in enumerate(periods):
        r, c = divmod(k, cols)
        alive = ((start <= year) & ~(end < year)).to_numpy()
        shown = replace(layers, sites=sites[alive], links=[])
        zone = (x + c * cw + 2, y + (rows - 1 - r) * ch + 2, cw - 4, ch - 9)
        m = _single(fig, frame, shown, crs, fitted, size, zone=zone, furniture=k == 0)
        m.ax.set_title(f"{year}\u00a0: {plural(int(alive.sum()), 'site ouvert')}",
                       fontsize=font_pt(size, 8.5), pad=3)
        if fitted[2] - fitted[0] > _QPV_VISIBLE:
            # the same frame again and again: the places that hold sites are named, the
            # départements' names would only repeat themselves in every panel
            m.labels = _places_with_sites(m.labels)
        maps.append(m)
    drawn = {key: any(m.drawn[key] for m in maps) for key in maps[0].drawn}
    # the themes without a count: each panel's title gives its own
    _legend(fig, frame, layers, drawn, size, counted=False)
    _label(fig, maps)
    return fig


def _atlas_areas(sites: gpd.GeoDataFrame) -> list[tuple[str, shapely.Geometry]]:
    """The départements holding sites, or the communes when they all lie in one."""
    from ..outlines import commune_of_points, communes, departement_of_points, departements

    x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    deps = pd.Series(departement_of_points(x, y))
    deps = deps[deps != ""]
    if deps.nunique() == 1:
        coms = pd.Series(commune_of_points(x, y))
        held = coms[coms != ""].value_counts()
        if len(held) > 1:
            frame = communes().set_index("code")
            return [(f"{frame.at[c, 'nom']} ({c})", frame.at[c, "geometry"])
                    for c in sorted(held.index, key=lambda c: frame.at[c, "nom"])]
    frame = departements().set_index("code")
    return [(f"{frame.at[d, 'nom']} ({d})", frame.at[d, "geometry"])
            for d in sorted(deps.unique()) if d in frame.index]


def new_figure(size: tuple[float, float]) -> Figure:
    """A figure of ``size`` millimetres without pyplot (no global state, no screen), on an
    Agg canvas that measures the text and draws only when the page is saved."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    class Canvas(FigureCanvasAgg):
        def draw_idle(self, *args, **kwargs):
            # geopandas asks for a redraw after every layer: that is the whole page drawn
            # again and again, most of the time a print took
            pass

    fig = Figure(figsize=(size[0] * INCH_PER_MM, size[1] * INCH_PER_MM))
    Canvas(fig)
    return fig


def _figure(size, title: str, subtitle: str) -> Figure:
    fig = new_figure(size)
    w, h = size
    fig.text(_MARGIN / w, 1 - (_MARGIN + 5) / h, plain_text(title), fontsize=font_pt(size, 14),
             fontweight="bold", va="center")
    fig.text(_MARGIN / w, 1 - (_MARGIN + 13) / h, plain_text(subtitle), fontsize=font_pt(size, 8.5),
             va="center", color="#333", wrap=True)
    fig.text(_MARGIN / w, _MARGIN / h, page_sources(), fontsize=font_pt(size, 6.5),
             color="#333")
    return fig


def page_sources() -> str:
    """The sources line at the foot of each page, with the day it is drawn."""
    return f"{PRINT_SOURCES} Carte du {date_text(datetime.date.today())}."


def _subtitle(result: LinkResult, layers: PrintLayers, bounds) -> str:
    s, uncertain = result.summary(), result.uncertain()

    def but(relation) -> str:  # « (dont 12 à une limite incertaine) »
        n = uncertain.get(relation, 0)
        return f" (dont {number(n)} à une {UNCERTAIN_SHORT})" if n else ""

    text = (f"{plural(s['located'], 'site localisé')} sur {number(s['sites'])}\u00a0: "
            f"{plural(s[Relation.IMPLANTED], 'implanté')} dans un QPV{but(Relation.IMPLANTED)}, "
            f"{number(s[Relation.NEARBY])} à moins "
            f"de {result.distance:g}\u00a0m{but(Relation.NEARBY)}")
    if bounds is not None:
        inside = layers.sites.cx[bounds[0]:bounds[2], bounds[1]:bounds[3]]
        text += f"\u202f; {plural(len(inside), 'site')} dans le cadre de la carte"
    return text


# --------------------------------------------------------------------------- drawing

_DRAWN = ("qpv", "qpv_dots", "previous", "links", "communes", Relation.IMPLANTED,
          Relation.NEARBY, Relation.SERVED, "aggregate")
#: The limits of départements and communes are simplified to this many millimetres on the
#: page: drawn 0.4 to 1 point wide (0.14 to 0.35 mm), they show no finer detail (the
#: earlier outlines, simplified twice, in degrees then in metres, were as coarse).
_OUTLINE_MM = 0.2
#: Above this many sites per square centimetre of a map, they are counted per commune
#: (proportional symbols, :mod:`geo.write.printsymbols`) instead of drawn one by one: about 350
#: sites on France on A4, the Paris inset of a national directory.
_AGGREGATE_DENSITY = 1.5
#: Diameter of the largest proportional symbol, in millimetres (A4; scaled with the page).
_AGGREGATE_MM = 13.0
#: Largest diameter of the circle of a single site, in millimetres (A4).
_ONE_SITE_MM = 1.6
#: How a quartier related to the initiative of a page is drawn, by relation: matplotlib
#: styles, and the legend's French text (with the relation's label).
EMPHASIS = {
    Relation.IMPLANTED: ({"facecolor": "#c0392b", "alpha": 0.55, "edgecolor": "#7b241c",
                          "linewidth": 1.6},
                         f"Quartier où l'initiative est {Relation.IMPLANTED.label}"),
    Relation.NEARBY: ({"facecolor": "#f5b041", "alpha": 0.45, "edgecolor": "#9c640c",
                       "linewidth": 1.4}, f"Quartier {Relation.NEARBY.label} d'un site"),
    Relation.SERVED: ({"facecolor": "none", "hatch": "////", "edgecolor": "#6c3483",
                       "linewidth": 1.2}, f"Quartier où l'initiative {Relation.SERVED.label}"),
}
#: The generation whose quartiers a print draws filled (the newest, the interactive map's
#: default), and the one its earlier quartiers are drawn in when none is said.
_CURRENT, _EARLIER = GENERATIONS[0], GENERATIONS[-1]


def qpv_style(generation: Generation) -> dict:
    """A generation's style (declared in Leaflet's names, :mod:`geo.vocabulary`) in
    matplotlib's: ``edgecolor``, ``facecolor`` and ``linestyle`` (dashed or solid)."""
    style = generation.style
    return {"edgecolor": style["color"], "facecolor": style.get("fillColor", "none"),
            "linestyle": "--" if style.get("dashArray") else "-"}


def _generation_of(frame: gpd.GeoDataFrame | None, default: Generation) -> Generation:
    """The generation of the quartiers of ``frame`` (its first), else ``default``."""
    keys = frame["generation"] if frame is not None and "generation" in frame else ()
    return next((GENERATION[k] for k in keys if k in GENERATION), default)


def _extent(area: gpd.GeoSeries | None, crs: str, territory: str, pad: float = 0.08):
    if area is None or not len(area):
        x0, y0, x1, y1 = gpd.GeoSeries([shapely.box(*TERRITORIES[territory].bbox)],
                                       crs=4326).to_crs(crs).total_bounds
    else:
        x0, y0, x1, y1 = area.total_bounds
    margin = max(x1 - x0, y1 - y0) * pad + 800
    return x0 - margin, y0 - margin, x1 + margin, y1 + margin


def _axes_style(ax, extent) -> None:
    x0, y0, x1, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for spine in ax.spines.values():
        spine.set_color("#777")


def _draw(ax, layers: PrintLayers, crs: str, extent, size, *, focus: shapely.Geometry | None = None,
          furniture: bool = True, aggregate: bool = True) -> MapPanel:
    """Draw one map on ``ax``; return it with what it drew (for the legend) and the names
    it may show (placed once the page is laid out)."""
    from .printlabels import marker_boxes

    x0, y0, x1, y1 = extent
    box = tuple(gpd.GeoSeries([shapely.box(x0, y0, x1, y1)], crs=crs).to_crs(4326)
                .total_bounds.tolist())
    wide = (x1 - x0) > _QPV_VISIBLE
    # a tenth of a millimetre on the page: finer than any line drawn
    fig_width = ax.figure.get_figwidth() / INCH_PER_MM
    metres_per_mm = (x1 - x0) / (ax.get_position().width * fig_width)
    tolerance = metres_per_mm * 0.1
    # outlines simplified to their scale (rounded: maps of one scale share them)
    deps, coms = _background(box, crs, float(f"{metres_per_mm * _OUTLINE_MM:.1g}"))
    drawn = dict.fromkeys(_DRAWN, False)
    ax.set_facecolor("#ffffff")
    if len(deps) and wide:  # no commune drawn between the land and the limits: one layer
        _shapes(ax, deps, 0, facecolor="#f3f1ec", edgecolor=_DEP_COLOR, linewidth=0.5)
    elif len(deps):  # at sea or in a territory without outline, nothing to draw
        _shapes(ax, deps, 0, facecolor="#f3f1ec", edgecolor="none")
        _shapes(ax, deps, 2, edgecolor=_DEP_COLOR, linewidth=1.0)
    if not wide and len(coms):
        _shapes(ax, coms, 1, edgecolor=_COM_COLOR, linewidth=0.4, linestyle=(0, (3, 2)))
        drawn["communes"] = True
    if focus is not None:
        _shapes(ax, gpd.GeoSeries([focus], crs=4326).to_crs(crs), 2, edgecolor="#1a1a1a",
                linewidth=1.6)
    qpv_m = layers.framed("qpv", box, crs, None if wide else tolerance)
    st = qpv_style(_CURRENT)
    if len(qpv_m) and not wide:
        _shapes(ax, qpv_m, 3, facecolor=st["facecolor"], alpha=0.35, edgecolor="none")
        _shapes(ax, qpv_m, 3, edgecolor=st["edgecolor"], linewidth=0.7)
        drawn["qpv"] = True
        related = qpv_m["code_qp"].map(layers.emphasis).to_numpy() if layers.emphasis \
            else np.full(len(qpv_m), None)
        for relation, (style, _) in EMPHASIS.items():
            if not (related == relation).any():
                continue
            mine = qpv_m[related == relation]
            if len(mine):
                _shapes(ax, mine, 3.5, **style)
                drawn[relation] = True
    elif len(qpv_m):  # too small to see: a light dot each, under the sites
        symbols(ax, qpv_m["spot_x"].to_numpy(), qpv_m["spot_y"].to_numpy(), sizes=1.2,
                facecolor=st["edgecolor"], alpha=0.55, zorder=3)
        drawn["qpv_dots"] = True
    if layers.previous is not None and not wide:
        prev = layers.framed("previous", box, crs, tolerance)
        if len(prev):
            earlier = qpv_style(_generation_of(layers.previous, _EARLIER))
            _shapes(ax, prev, 3, edgecolor=earlier["edgecolor"], linewidth=0.7,
                    linestyle=earlier["linestyle"])
            drawn["previous"] = True
    links = [line for line in layers.links if line.intersects(shapely.box(*box))]
    if links:
        gpd.GeoSeries(links, crs=4326).to_crs(crs).plot(
            ax=ax, color=_LINK_COLOR, linewidth=0.9, linestyle=(0, (4, 3)), zorder=4)
        drawn["links"] = True
    sites = layers.sites.cx[box[0]:box[2], box[1]:box[3]]
    sites_m = sites.to_crs(crs)
    themes = layers.themes.reindex(sites.index)
    marker = (30 if wide else 46) * min(1.0, min(size) / 210)
    scale = layers.scale.reindex(sites.index).to_numpy() ** 2 if layers.scale is not None \
        else np.ones(len(sites))
    area = np.zeros(len(sites))
    position, fig = ax.get_position(), ax.figure
    if aggregate and crowded(layers, len(sites), position.width * fig.get_figwidth()
                             * position.height * fig.get_figheight() * 2.54 ** 2):
        sx, sy, area = _aggregate(ax, layers, sites, coms, size)
        drawn["aggregate"] = True
        _axes_style(ax, extent)
        if furniture:
            ax._essqpv_furniture = _furniture(ax, sx, sy, area, size)
        cities = _city_names(box, crs, wide, size, focus)
        named = {label.text for label in cities}
        labels = cities + [label for label in _names(layers, sites, sites_m, qpv_m, deps,
                                                     coms, wide, size)
                           if label.text not in named]
        return MapPanel(ax, drawn, labels, lambda: marker_boxes(ax, sx, sy, np.sqrt(area) + 1.5))
    sx, sy = sites_m.geometry.x.to_numpy(), sites_m.geometry.y.to_numpy()
    theme_of = themes.to_numpy()
    for theme, style in layers.styles.items():
        mine = theme_of == theme
        if mine.any():
            hollow = style.shape in _HOLLOW
            s = marker * scale[mine] * (2 if style.shape == "star" else 1)
            area[mine] = s
            symbols(ax, sx[mine], sy[mine], sizes=s,
                    alpha=0.85 if layers.scale is not None else 1,
                    marker=_MARKERS[style.shape],
                    facecolor="white" if hollow else style.color,
                    edgecolor=style.color if hollow else "#1a1a1a",
                    linewidth=2 if hollow else 0.5, zorder=6)
    _axes_style(ax, extent)
    if furniture:
        ax._essqpv_furniture = _furniture(ax, sx, sy, area, size)
    labels = _names(layers, sites, sites_m, qpv_m, deps, coms, wide, size)
    if layers.numbers is None and layers.emphasis is None:  # not a fiche's map
        cities = _city_names(box, crs, wide, size, focus)
        if cities:  # each city a small dot, its name beside it
            symbols(ax, [c.x for c in cities], [c.y for c in cities], sizes=7,
                    facecolor="#1a1a1a", edgecolor="white", linewidth=0.6, zorder=8)
        named = {label.text for label in cities}
        labels = cities + [label for label in labels if label.text not in named]
    return MapPanel(ax, drawn, labels,
                lambda: marker_boxes(ax, sx, sy, np.sqrt(area) + 1.5))


def _shapes(ax, frame, zorder: float, **style) -> None:
    """The polygons of ``frame`` (a GeoDataFrame or GeoSeries in the map's CRS) as one
    patch (:func:`geo.write.drawing.compound_path`): one artist per layer, not one per shape
    (``facecolor="none"`` by default: their outlines only)."""
    from matplotlib.patches import PathPatch

    from .drawing import compound_path

    path = compound_path(np.asarray(frame.geometry.values))
    if path is not None:  # an artist of the map, not of its limits (set from its extent)
        ax.add_artist(PathPatch(path, zorder=zorder, **{"facecolor": "none", **style}))


def _aggregate(ax, layers: PrintLayers, sites: gpd.GeoDataFrame, coms: gpd.GeoDataFrame,
               size) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sites counted per commune, drawn at its name's spot as nested circles whose
    areas follow the counts (:mod:`geo.write.printsymbols`), one scale for every map of the
    page. Return the circles' positions and outer areas (points²)."""
    from .printsymbols import draw_circles

    x, y, counts, top = aggregate_counts(layers, sites, coms)
    if not top:
        return x, y, np.array([])
    return x, y, draw_circles(ax, x, y, counts, top, largest_circle(size, top))


def aggregate_counts(layers: PrintLayers, sites: gpd.GeoDataFrame, coms: pd.DataFrame
                     ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, int]:
    """The sites counted per commune (:func:`geo.write.printsymbols.counts_per_place`) at
    its name's spot (``coms`` as :func:`_background` gives them, in the map's CRS), and
    the largest count of the page's maps (kept in ``layers``: one scale for the page)."""
    from .printsymbols import counts_per_place

    code = pd.Series(layers.places(sites)[0], index=sites.index)
    spots = coms.drop_duplicates("code").set_index("code")
    counts = counts_per_place(code, sites["relation"].astype(str))
    counts = counts[counts.index.isin(spots.index)]
    top = max(int(counts[0].max()) if len(counts) else 0, layers.aggregate_max)
    layers.aggregate_max = top
    if not top:
        return np.array([]), np.array([]), counts, 0
    x = spots.loc[counts.index, "label_x"].to_numpy()
    y = spots.loc[counts.index, "label_y"].to_numpy()
    return x, y, counts, top


def crowded(layers: PrintLayers, n: int, area_cm2: float) -> bool:
    """Whether ``n`` sites are too many to read one by one on a map of ``area_cm2``
    square centimetres (never on a map of sized symbols nor on a fiche's)."""
    if layers.scale is not None or layers.numbers is not None or layers.emphasis is not None:
        return False
    return n > _AGGREGATE_DENSITY * area_cm2


def largest_circle(size, top: int) -> float:
    """Area (points²) of the circle of the largest count, ``top``: at most
    :data:`_AGGREGATE_MM` across, and a single site at most :data:`_ONE_SITE_MM` (a few
    sites per commune: small circles, not blots over the country)."""
    diameter = min(_AGGREGATE_MM, _ONE_SITE_MM * np.sqrt(max(top, 1)))
    return (diameter * min(1.0, min(size) / 210) / 25.4 * 72) ** 2


#: A wide map names at most this many communes for their sites (besides the cities).
_WIDE_PLACES = 12
#: Priority of the largest city of a map (the next ones a step lower each): above every
#: other name, placed over the symbols.
_CITY = 10_000
#: Width of a map (kilometres) under which its villages are named, from 500 inhabitants
#: (a local study: the commune of its sites), and under which its towns are, from 5 000
#: (a département); wider, its cities from 15 000 (a region, the country).
_LOCAL_KM, _DEPARTEMENT_KM = 15, 300


def _smallest_city(box) -> int:
    """The population from which a map of ``box`` (EPSG:4326) names a city."""
    km = (box[2] - box[0]) * 111.3 * np.cos(np.radians((box[1] + box[3]) / 2))
    return 500 if km < _LOCAL_KM else 5000 if km < _DEPARTEMENT_KM else 15000



def _city_names(box, crs: str, wide: bool, size, focus=None) -> list:
    """The names of the largest cities in ``box`` (EPSG:4326; in ``focus`` when given: an
    atlas page or a département's print names its own territory's cities), the most
    populous first: a wide map names the country's main cities, a département's map its
    main towns (from 5 000 inhabitants), a local map its villages (from 500)."""
    from ..cities import largest_cities
    from .printlabels import Label

    n = int((14 if wide else 10) * max(1.0, min(size) / 210))
    found = largest_cities(box, n, within=focus,
                           min_population=_smallest_city(box))
    if not len(found):
        return []
    x, y = _from_degrees(crs).transform(
        found.geometry.x.to_numpy(), found.geometry.y.to_numpy())
    style = {"fontsize": font_pt(size, 8 if wide else 8.5), "fontweight": "bold",
             "color": "#1a1a1a"}
    return [Label(_CITY - k, plain_text(name), px, py, style, over_symbols=True)
            for k, (name, px, py) in enumerate(zip(found["nom"], x, y, strict=True))]


#: Priority of the name of a commune that holds sites (plus their number): above the
#: other communes and the départements, below the quartiers and the sites' numbers.
_PLACE_WITH_SITES = 1000


def _places_with_sites(labels: list) -> list:
    """Only the names of the communes that hold sites and of the five largest cities
    (small or repeated maps)."""
    return [label for label in labels if label.priority >= _PLACE_WITH_SITES
            and (not label.over_symbols or label.priority > _CITY - 5)]


def _names(layers, sites, sites_m, qpv, deps, coms, wide, size) -> list:
    """The names a map may show, by priority: on a close map, the quartiers that hold or
    neighbour sites, then the communes that hold sites, then the other communes; on a wide
    map, the communes that hold the most sites (the main cities), then the départements.
    ``sites_m``, ``qpv``, ``deps`` and ``coms`` are in the map's CRS (:func:`_background`)."""
    from .printlabels import Label, area_spots

    out = []
    commune, departement = layers.places(sites)
    held = pd.Series(commune).value_counts() if len(sites) else pd.Series()
    held = held[held.index != ""]
    if wide:  # a wide map names the communes holding the most sites, not every one
        held = held.nlargest(_WIDE_PLACES, keep="first")
    held = held.to_dict()  # read once per commune of the frame: a dictionary, not a Series
    city = {"fontsize": font_pt(size, 7 if wide else 7.5), "color": "#1a1a1a"}
    bold, other = {**city, "fontweight": "bold"}, {**city, "color": "#555",
                                                   "fontsize": font_pt(size, 6.5)}
    for code, nom, lx, ly in zip(*(coms[c].to_numpy() for c in
                                   ("code", "nom", "label_x", "label_y")), strict=True):
        n = int(held.get(code, 0))
        if wide and not n:
            continue
        out.append(Label(_PLACE_WITH_SITES + n if n else 10, plain_text(nom), lx, ly,
                         bold if n else other, leader=bool(n)))
    if wide:
        holding = pd.Series(departement).value_counts().to_dict() if len(sites) else {}
        for code, nom, lx, ly, shape in zip(*(deps[c].to_numpy() for c in (
                "code", "nom", "label_x", "label_y", "geometry")), strict=True):
            n = int(holding.get(code, 0))
            # of equal rank, the smallest area first: it has the least room for its name
            small = 0.5 / (1 + shape.area / 1e9)
            out.append(Label((100 + n if n else 1) + small, plain_text(nom.upper()), lx, ly,
                             {"fontsize": font_pt(size, 5.8), "color": "#555"},
                             leader=False, centred=True, smaller=5.0,
                             spots=area_spots(shape, lx, ly)))
    metric = sites_m.geometry
    if layers.numbers is not None and len(sites):
        sx, sy = metric.x, metric.y
        for i, number in layers.numbers.reindex(sites.index).dropna().items():
            out.append(Label(5000, str(number), sx[i], sy[i],
                             {"fontsize": font_pt(size, 8.5), "fontweight": "bold"}, gap=5))
    if not wide and len(qpv):
        related = layers.emphasis or {}
        close = shapely.distance(np.asarray(qpv.geometry.values),
                                 shapely.union_all(metric.values)) < 400 \
            if len(sites) else np.zeros(len(qpv), dtype=bool)
        named = qpv[close | qpv["code_qp"].isin(list(related)).to_numpy()]
        for row in named.itertuples():  # at the point found inside its whole shape
            style = {"fontsize": font_pt(size, 6.5), "color": qpv_style(_CURRENT)["edgecolor"],
                     "fontstyle": "italic"}
            if row.code_qp in related:  # the page's own quartiers: first, and darker
                style.update(fontsize=font_pt(size, 7.5), color="#1a1a1a", fontweight="bold")
            out.append(Label(3000 if row.code_qp in related else 2000,
                             plain_text(place_name(row.nom_qp)), row.spot_x, row.spot_y,
                             style))
    return out


@lru_cache(maxsize=8)
def _from_degrees(crs: str):
    """The transformation from EPSG:4326 to ``crs`` (x, y order), made once."""
    from pyproj import Transformer

    return Transformer.from_crs(4326, crs, always_xy=True)


@lru_cache(maxsize=8)
def _outlines(crs: str) -> tuple[Projected, Projected]:
    """The départements and communes for the maps drawn in ``crs``: each shape projected
    once, for every page that shows it (an atlas's hundred pages share their borders)."""
    from ..outlines import communes, departements

    return (Projected(departements().geometry.values, crs),
            Projected(communes().geometry.values, crs))


@lru_cache(maxsize=16)
def _background(box: tuple[float, float, float, float], crs: str, tolerance: float = 0.0
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The départements and communes around ``box`` (EPSG:4326) drawn in ``crs``: tables of
    ``code``, ``nom``, their name's spot (``label_x``, ``label_y``) and their shapes
    (``geometry``; a GeoDataFrame's checks cost more than a page draws from it), cut to the
    frame and simplified to ``tolerance`` metres (what the page cannot show: a page's file
    holds no outline beyond its frame nor finer than its print); shared by the maps of the
    same frame, never modified."""
    from ..outlines import communes, departements

    x, y = _from_degrees(crs).transform(np.array([box[0], box[2], box[2], box[0]]),
                                        np.array([box[1], box[1], box[3], box[3]]))
    grow = (x.max() - x.min()) * 0.05
    frame_m = (x.min() - grow, y.min() - grow, x.max() + grow, y.max() + grow)
    near = shapely.box(box[0] - 0.05, box[1] - 0.05, box[2] + 0.05, box[3] + 0.05)
    out = []
    for layer, projected in zip((departements(), communes()), _outlines(crs), strict=True):
        rows = np.sort(layer.sindex.query(near, predicate="intersects"))
        shapes, spots = projected.take(rows, tolerance)
        shapes, keep = cut(shapes, frame_m, 0.0)
        out.append(pd.DataFrame({"code": layer["code"].to_numpy()[rows][keep],
                                 "nom": layer["nom"].to_numpy()[rows][keep],
                                 "label_x": spots[keep, 0], "label_y": spots[keep, 1],
                                 "geometry": shapes}))
    return out[0], out[1]


def _furniture(ax, x: np.ndarray, y: np.ndarray, area: np.ndarray, size) -> list:
    """The scale bar and the north arrow, each in a corner without sites."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = x1 - x0, y1 - y0

    def free(cx: float, cy: float) -> bool:  # a corner box of 30 % × 16 % of the map
        inside = (np.abs(x - cx) < w * 0.16) & (np.abs(y - cy) < h * 0.1)
        return not inside.any()

    corners = {"bl": (x0 + w * 0.15, y0 + h * 0.08), "br": (x1 - w * 0.15, y0 + h * 0.08),
               "tl": (x0 + w * 0.15, y1 - h * 0.08), "tr": (x1 - w * 0.15, y1 - h * 0.08)}
    order = [k for k in ("bl", "br", "tl", "tr") if free(*corners[k])] or ["bl"]
    scale_at = order[0]
    north_at = next((k for k in ("tr", "tl", "br", "bl") if k != scale_at
                     and k in order), "tr" if scale_at != "tr" else "tl")
    artists = _scale_bar(ax, x0, x1, y0, y1, size, corner=scale_at)
    artists.append(_north_arrow(ax, size, corner=north_at))
    return artists


def _legend(fig: Figure, frame: PageFrame, layers: PrintLayers, drawn: dict, size,
            shown: gpd.GeoDataFrame | None = None, zone=None, counted: bool = True):
    """The legend, in its column: every symbol drawn, counted on ``shown`` (default: every
    site of the page's study; ``counted=False``: no count)."""
    handles = legend_handles(layers, drawn, shown, counted=counted)
    x, y, w, h = frame.fraction(*(zone or frame.legend_zone))
    legend = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(x, y + h),
                        frameon=False, fontsize=font_pt(size, 7.5), title="Légende",
                        title_fontsize=font_pt(size, 8.5), alignment="left", borderaxespad=0,
                        borderpad=0)
    if drawn["aggregate"] and layers.aggregate_max:
        # the nested reference circles under the entries (mapsf's « prop » legend)
        from .printsymbols import draw_reference, reference_height

        largest = largest_circle(size, layers.aggregate_max)
        points = font_pt(size, 7.5)
        top = legend_bottom(fig, legend) - 3
        high = reference_height(largest, points) / 72 * 25.4
        draw_reference(fig, frame.fraction(x * size[0], top - high, w * size[0], high),
                       layers.aggregate_max, largest, points,
                       "Nombre de sites par commune")
        legend.essqpv_bottom = top - high
    return legend


def legend_bottom(fig: Figure, legend) -> float:
    """Where the legend (with its reference circles) ends, in millimetres from the bottom
    of the page."""
    if hasattr(legend, "essqpv_bottom"):
        return legend.essqpv_bottom
    return legend.get_window_extent(fig.canvas.get_renderer()).y0 / (fig.dpi * INCH_PER_MM)


def legend_handles(layers: PrintLayers, drawn: dict, shown: gpd.GeoDataFrame | None = None,
                   *, counted: bool = True) -> list:
    """The legend's entries: every symbol drawn on the page, themes counted on ``shown``
    (default: every site of the study)."""
    st = qpv_style(_CURRENT)
    themes = layers.themes if shown is None else layers.themes.reindex(shown.index)
    held = themes.value_counts()
    handles = [_theme_handle(s.shape, s.color, plain_text(textwrap.fill(
                   f"{t} ({number(int(held.get(t, 0)))})" if counted else t, _LEGEND_CHARS)))
               for t, s in layers.styles.items() if shown is None or held.get(t, 0) > 0]
    if layers.themes.attrs.get("several") and len(handles) > 1:
        handles.append(Line2D([], [], color="none", label=textwrap.fill(
            f"({SEVERAL_THEMES_NOTE})", _LEGEND_CHARS)))
    if drawn["qpv"]:
        handles.append(Patch(facecolor=st["facecolor"], alpha=0.5, edgecolor=st["edgecolor"],
                             label=f"Quartier prioritaire {layers.generation}"))
    for relation, (style, text) in EMPHASIS.items():
        if drawn[relation]:
            handles.append(Patch(label=text, **style))
    if drawn["aggregate"] and layers.aggregate_max:
        from .printsymbols import EDGE, RINGS

        texts = ("Autres sites", f"Sites à moins de {number(layers.distance)}\u00a0m "
                 "d’un quartier prioritaire", "Sites implantés dans un quartier prioritaire")
        for (_, colour), text in reversed(list(zip(RINGS, texts, strict=True))):
            handles.append(Line2D([], [], color="none", marker="o", markersize=7,
                                  markerfacecolor=colour, markeredgecolor=EDGE,
                                  markeredgewidth=0.5, label=textwrap.fill(
                                      text, _LEGEND_CHARS)))
    if drawn["qpv_dots"]:
        handles.append(Line2D([], [], color="none", marker="o", markersize=2.5,
                              markerfacecolor=st["edgecolor"], markeredgecolor="none",
                              label=f"Quartier prioritaire {layers.generation}\n"
                                    f"(un point{NBSP}: trop petit à cette échelle)"))
    if drawn["previous"]:
        gen = ", ".join(sorted(set(layers.previous["generation"])))
        earlier = qpv_style(_generation_of(layers.previous, _EARLIER))
        handles.append(Line2D([], [], color=earlier["edgecolor"],
                              linestyle=earlier["linestyle"],
                              label=f"Quartier prioritaire {gen}"))
    if drawn["links"]:
        handles.append(Line2D([], [], color=_LINK_COLOR, linestyle=(0, (4, 3)),
                              label="Sites d'une même initiative"))
    if layers.size_by is not None:
        column, values = layers.size_by
        top = pd.to_numeric(values, errors="coerce").max()
        base = 7  # the legend's usual marker, in points: 22 px on screen
        handles.append(Line2D([], [], color="none", label=plain_text(f"Taille\u00a0: {column}")))
        for value in legend_values(values):
            d = max(56 * np.sqrt(value / top), 10) / 22 * base
            handles.append(Line2D([], [], marker="o", color="none", markerfacecolor="none",
                                  markeredgecolor="#1a1a1a", markersize=d,
                                  label=french_number(value)))
    handles.append(Line2D([], [], color=_DEP_COLOR, linewidth=1,
                          label="Limite de département"))
    if drawn["communes"]:
        handles.append(Line2D([], [], color=_COM_COLOR, linewidth=0.5, linestyle=(0, (3, 2)),
                              label="Limite de commune"))
    return handles


@lru_cache(maxsize=512)
def _theme_handle(shape: str, color: str, label: str) -> Line2D:
    """The legend's entry of a theme (made once: an atlas's pages repeat them, and a
    matplotlib line costs more to make than a page to draw it; never modified)."""
    hollow = shape in _HOLLOW
    return Line2D([], [], marker=_MARKERS[shape], color="none",
                  markerfacecolor="white" if hollow else color,
                  markeredgecolor=color if hollow else "#1a1a1a",
                  markeredgewidth=2 if hollow else 0.6, markersize=7, label=label)


def plain_text(text: str) -> str:
    """User text shown as it is: ``$`` would start matplotlib's math mode."""
    return str(text).replace("$", r"\$")


def _scale_bar(ax, x0, x1, y0, y1, size, *, corner: str = "bl", points: float = 7.5
               ) -> list:
    """A metric scale bar (metres, kilometres) in a corner, its label in ``points``;
    return its artists."""
    length, bx, by, label = scale_bar_place((x0, y0, x1, y1), corner)
    left = corner.endswith("l")
    artists = []
    artists += ax.plot([bx, bx + length], [by, by], color="#1a1a1a", linewidth=5.5,
                       solid_capstyle="butt", zorder=8)
    for i, colour in enumerate(("#1a1a1a", "#ffffff")):
        artists += ax.plot([bx + i * length / 2, bx + (i + 1) * length / 2], [by, by],
                           color=colour, linewidth=4, solid_capstyle="butt", zorder=9)
    # the label starts at the bar's outer end: centred on a short bar (a small inset), it
    # ran over the map's frame
    artists.append(ax.text(bx if left else bx + length, by + (y1 - y0) * 0.015, label,
                           ha="left" if left else "right", va="bottom",
                           fontsize=font_pt(size, points), zorder=9))
    return artists


def _north_arrow(ax, size, *, corner: str = "tr"):
    x = 0.95 if corner.endswith("r") else 0.05
    top = 0.95 if corner.startswith("t") else 0.2
    return ax.annotate("N", xy=(x, top), xytext=(x, top - 0.09), xycoords="axes fraction",
                       ha="center", va="center", fontsize=font_pt(size, 10), fontweight="bold",
                       arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5})


def pdf_metadata(suffix: str, title: str) -> dict:
    from .. import __version__

    creator = f"ess-qpv {__version__}"
    if suffix == ".pdf":
        return {"Title": title, "Creator": creator, "Subject": SOURCES_LINE}
    if suffix == ".png":
        return {"Title": title, "Software": creator, "Source": SOURCES_LINE}
    return {"Title": title, "Creator": creator}


# --------------------------------------------------------------------------- atlas pages
#
# The atlas's contents and areas, drawn with reportlab as the fiches are (written by
# :mod:`geo.write.drawnpages`' forked workers, after the overview): the same layers,
# declarations and names as the matplotlib maps above, without matplotlib's measuring and
# writing of every text of every page. Its map shapes, scale bar and north arrow are the
# fiches' (:mod:`geo.write.vectormap`), its names placed by the print's placement
# (:func:`geo.write.printlabels.place_on_page`).

def area_page(layers: PrintLayers, size: tuple[float, float], title: str, name: str,
              outline: shapely.Geometry) -> Drawing:
    """An atlas page of ``size`` millimetres: one département or commune (``outline``,
    EPSG:4326) with its sites and quartiers; the legend counts what the page shows."""
    shapely.prepare(outline)  # asked which sites and cities it holds
    # the sites the legend counts: an index is all it reads
    inside = pd.DataFrame(index=layers.sites.index[shapely.intersects(
        outline, layers.sites.geometry.values)])
    drawing = page_drawing(size)
    _frame_text(drawing, size, title, f"{name} – {plural(len(inside), 'site')}")
    frame = PageFrame(size)
    key = territory_of_points(np.array([outline.centroid.x]),
                              np.array([outline.centroid.y]))[0] or "metropole"
    crs = TERRITORIES[key].crs
    x, y, w, h = frame.map_zone
    focus = shapely.transform(outline, _projection(crs))
    extent = shaped(_extent(gpd.GeoSeries([focus]), crs, key, pad=0.04), w, h)
    box = tuple(v * PT_PER_MM for v in (x, y, w, h))
    body, furniture, drawn, labels, symbols, move = _page_map(layers, crs, extent, box, size,
                                                         focus=(outline, focus))
    names = Group()
    # the main cities first, over the symbols; then the other names, clear of them
    first = place_on_page(names, [label for label in labels if label.over_symbols], box,
                          move=move, obstacles=[furniture[1]])
    place_on_page(names, [label for label in labels if not label.over_symbols], box,
                  move=move, obstacles=[*symbols, furniture[1], *first])
    drawing.add(body)
    drawing.add(names)
    drawing.add(furniture[0])
    drawing.add(_page_legend(layers, drawn, size, frame, inside))
    return drawing


def contents_page(size: tuple[float, float], title: str, names: list[str],
                  first: int) -> Drawing:
    """The atlas's contents: each area's name and page (from ``first``), in as many
    columns as the page needs, each name shortened to its column (never a line off the
    page)."""
    drawing = page_drawing(size)
    page = _frame_text(drawing, size, title,
                       f"Sommaire de l’atlas\u00a0: {plural(len(names), 'page')}")
    x, y, w, h = PageFrame(size).inside
    style = {"fontsize": font_pt(size, 8), "color": "#1a1a1a"}
    line = style["fontsize"] * MM_PER_PT * 1.45
    rows = max(int(h // line), 1)
    columns = -(-len(names) // rows)
    width = w / max(columns, 1)
    indent = style["fontsize"] * MM_PER_PT * 4.2
    for k, name in enumerate(names):
        c, r = divmod(k, rows)
        top = y + h - r * line
        page.text(x + c * width, top, f"p.\u00a0{first + k}", **{**style, "color": "#333"})
        page.text(x + c * width + indent, top,
                  page.fit(unescaped(name), width - indent - 2, style), **style)
    return drawing


def _frame_text(drawing: Drawing, size, title: str, subtitle: str) -> PageText:
    """The page's title and subtitle at the top, its sources at the foot (where the
    print's matplotlib pages have them)."""
    page = PageText(drawing, size)
    w, h = size
    heading = {"fontsize": font_pt(size, 14), "fontweight": "bold", "color": "#000000"}
    under = {"fontsize": font_pt(size, 8.5), "color": "#333"}
    page.text(_MARGIN, h - _MARGIN - 5 + _half(heading), page.fit(title, w - 2 * _MARGIN,
                                                                 heading), **heading)
    page.wrapped(_MARGIN, h - _MARGIN - 13 + _half(under), w - 2 * _MARGIN, subtitle,
                 max_lines=2, **under)
    foot = {"fontsize": font_pt(size, 6.5), "color": "#333"}
    lines = page.lines(page_sources(), w - 2 * _MARGIN, foot, 2)
    step = foot["fontsize"] * MM_PER_PT * 1.2
    for k, text_line in enumerate(lines):  # the last line's baseline on the margin
        baseline = _MARGIN + (len(lines) - 1 - k) * step
        page.text(_MARGIN, baseline + ASCENT * foot["fontsize"] * MM_PER_PT, text_line,
                  **foot)
    return page


def _half(style: dict) -> float:
    """Half the height of a line of ``style`` (millimetres): from its middle to its top."""
    return (ASCENT + DESCENT) * style["fontsize"] * MM_PER_PT / 2


def _page_map(layers: PrintLayers, crs: str, extent: tuple, box: tuple, size, *, focus):
    """One map of ``extent`` (metres in ``crs``) in ``box`` (points), ``focus`` the
    area's outline in EPSG:4326 and in ``crs``, as :func:`geo.write.printmap._draw` draws
    a print's: its shapes, its furniture (a group
    and the box it covers), what it drew, the names it may show (in ``crs``), the boxes
    of its symbols (points) and the function taking ``crs`` to the page."""
    x0, y0, x1, y1 = extent
    lon, lat = _from_degrees(crs).transform([x0, x1, x1, x0], [y0, y0, y1, y1],
                                            direction="INVERSE")
    degrees = (min(lon), min(lat), max(lon), max(lat))
    wide = (x1 - x0) > _QPV_VISIBLE
    metres_per_mm = (x1 - x0) / (box[2] * MM_PER_PT)
    tolerance = metres_per_mm * 0.1
    deps, coms = _background(degrees, crs, float(f"{metres_per_mm * _OUTLINE_MM:.1g}"))
    paper = MapShapes(extent, box)
    move = paper.move
    drawn = dict.fromkeys(_DRAWN, False)
    ground = rl_colour("#f3f1ec")
    deps_shapes = deps.geometry.to_numpy()
    if len(deps):
        paper.fill(deps_shapes, fillColor=ground)
    if wide and len(deps):  # one layer: no commune drawn between the land and the limits
        paper.outline(deps_shapes, _DEP_COLOR, 0.5)
    if not wide and len(coms):
        drawn["communes"] = paper.outline(coms.geometry.to_numpy(), _COM_COLOR, 0.4,
                                          (0, (3, 2)))
    if not wide and len(deps):
        paper.outline(deps_shapes, _DEP_COLOR, 1.0)
    focus, projected = focus
    if focus is not None:
        # one line, simplified without keeping topology (nothing to keep, ten times
        # quicker on a département's full outline)
        paper.outline(np.array([shapely.simplify(projected, metres_per_mm * _OUTLINE_MM,
                                                 preserve_topology=False)], dtype=object),
                      "#1a1a1a", 1.6)
    qpv_m = layers.framed("qpv", degrees, crs, None if wide else tolerance)
    st = qpv_style(_CURRENT)
    if len(qpv_m) and not wide:
        shapes = qpv_m.geometry.to_numpy()
        paper.fill(shapes, fillColor=rl_colour(st["facecolor"], 0.35))
        paper.outline(shapes, st["edgecolor"], 0.7)
        drawn["qpv"] = True
    if len(qpv_m) and wide:  # too small to see: a light dot each, under the sites
        px, py = move(qpv_m["spot_x"].to_numpy(), qpv_m["spot_y"].to_numpy())
        shown = (px >= box[0]) & (px <= box[0] + box[2]) & (py >= box[1]) & \
            (py <= box[1] + box[3])
        if (path := dots(px[shown], py[shown], np.sqrt(1.2) / 2, strokeColor=None,
                         fillColor=rl_colour(st["edgecolor"], 0.55))) is not None:
            paper.body.add(path)
            drawn["qpv_dots"] = True
    if layers.previous is not None and not wide:
        prev = layers.framed("previous", degrees, crs, tolerance)
        if len(prev):
            earlier = qpv_style(_generation_of(layers.previous, _EARLIER))
            drawn["previous"] = paper.outline(prev.geometry.to_numpy(), earlier["edgecolor"],
                                              0.7, earlier["linestyle"])
    area = shapely.box(*degrees)
    links = [line for line in layers.links if line.intersects(area)]
    if links:
        drawn["links"] = paper.links(shapely.transform(np.array(links, dtype=object),
                                                       _projection(crs)))
    sites, lon, lat = layers.located(degrees)
    sx, sy = _from_degrees(crs).transform(lon, lat)
    sites_m = gpd.GeoSeries(shapely.points(sx, sy), index=sites.index, crs=crs)
    px, py = move(sx, sy)
    cities = _city_names(degrees, crs, wide, size, focus)
    if crowded(layers, len(sites), box[2] * box[3] / PT_PER_MM ** 2 / 100):
        drawn["aggregate"] = True
        cx, cy, counts, top = aggregate_counts(layers, sites, coms)
        diameters = _circles(paper.body, *move(cx, cy), counts, top,
                             largest_circle(size, top), box)
        symbol_x, symbol_y = move(cx, cy)
        cities_dots = False
    else:
        diameters = _sites(paper.body, layers, sites, px, py, wide, size, box)
        symbol_x, symbol_y = px, py
        cities_dots = True
    paper.frame()
    if cities_dots:  # each city a small dot, its name beside it
        cx, cy = move(np.array([c.x for c in cities]), np.array([c.y for c in cities]))
        for a, b in zip(cx, cy, strict=True):
            paper.body.add(_circle(a, b, np.sqrt(7) / 2, fillColor=rl_colour("#1a1a1a"),
                                   strokeColor=rl_colour("#ffffff"), strokeWidth=0.6))
    named = {label.text for label in cities}
    labels = cities + [label for label in _names(layers, sites, sites_m, qpv_m, deps, coms,
                                                 wide, size) if label.text not in named]
    half = diameters / 2 + 0.75
    symbols = [(a - r, b - r, a + r, b + r) for a, b, r in
               zip(symbol_x, symbol_y, half, strict=True) if r > 0.75]
    corner = next(k for k in free_corners(sx, sy, extent) if k.startswith("b"))
    furniture = Group()
    covered = scale_bar(furniture, extent, move, size, corner)
    return paper.body, (furniture, covered), drawn, labels, symbols, move


def _projection(crs: str):
    """The function taking (x, y) rows in EPSG:4326 to ``crs`` (for shapely.transform)."""
    to_crs = _from_degrees(crs)
    return lambda xy: np.column_stack(to_crs.transform(xy[:, 0], xy[:, 1]))


def _within(x: float, y: float, box: tuple) -> bool:
    return box[0] <= x <= box[0] + box[2] and box[1] <= y <= box[1] + box[3]


def _circle(x: float, y: float, r: float, **style):
    return Circle(float(x), float(y), float(r), **style)


def _sites(body: Group, layers: PrintLayers, sites, px, py, wide: bool, size,
           box: tuple) -> np.ndarray:
    """The sites by theme, with the print's symbols and sizes; return each one's
    diameter (points, 0 for a site out of the map)."""
    themes = layers.themes.reindex(sites.index).to_numpy()
    area = (30 if wide else 46) * min(1.0, min(size) / 210)
    scale = layers.scale.reindex(sites.index).to_numpy() ** 2 if layers.scale is not None \
        else np.ones(len(sites))
    alpha = 0.85 if layers.scale is not None else 1.0
    diameters = np.zeros(len(sites))
    inside = np.array([_within(a, b, box) for a, b in zip(px, py, strict=True)], dtype=bool)
    for theme, style in layers.styles.items():
        hollow = style.shape in _HOLLOW
        fill = to_rgba("white" if hollow else style.color, alpha)
        edge = style.color if hollow else "#1a1a1a"
        for k in np.flatnonzero((themes == theme) & inside):
            d = float(np.sqrt(area * scale[k] * (2 if style.shape == "star" else 1)))
            diameters[k] = d
            body.add(marker(_MARKERS[style.shape], float(px[k]), float(py[k]), d, fill=fill,
                            edge=edge, width=2 if hollow else 0.5))
    return diameters


def _circles(body: Group, x, y, counts, top: int, largest: float, box: tuple) -> np.ndarray:
    """The sites counted per place as nested circles (as
    :func:`geo.write.printsymbols.draw_circles`: areas follow the counts, the largest
    places first); return each place's outer diameter (points, 0 out of the map)."""
    if not top or not len(counts):
        return np.zeros(len(counts))
    areas = largest * counts.to_numpy(dtype=float) / top
    outer = np.zeros(len(counts))
    for k in range(len(counts)):
        if not _within(x[k], y[k], box):
            continue
        outer[k] = np.sqrt(areas[k, 0])
        for ring, (_, fill) in enumerate(RINGS):
            if areas[k, ring] > 0:
                body.add(_circle(x[k], y[k], np.sqrt(areas[k, ring]) / 2,
                                 fillColor=rl_colour(fill),
                                 strokeColor=rl_colour(EDGE) if ring == 0 else None,
                                 strokeWidth=0.5))
    return outer


def _page_legend(layers: PrintLayers, drawn: dict, size, frame: PageFrame, shown) -> Group:
    """The legend in its column: every symbol drawn, the themes counted on ``shown``, and
    the reference circles under them when the sites are counted per commune."""
    group = Group()
    x, y, w, h = (v * PT_PER_MM for v in frame.legend_zone)
    top = y + h
    heading = {"fontsize": font_pt(size, 8.5), "color": "#000000"}
    group.add(rl_text(x, top - ASCENT * heading["fontsize"], "Légende", heading))
    top -= (ASCENT + DESCENT) * heading["fontsize"] + 4
    points = font_pt(size, 7.5)
    bottom = legend(group, legend_handles(layers, drawn, shown), (x, y, w, top - y),
                    size=points, columns=1)
    if drawn["aggregate"] and layers.aggregate_max:
        largest = largest_circle(size, layers.aggregate_max)
        high = reference_height(largest, points)
        _reference(group, x, bottom - 8 - high, high, layers.aggregate_max, largest, points,
                   "Nombre de sites par commune")
    return group


def _reference(group: Group, x: float, y: float, height: float, top: int, largest: float,
               fontsize: float, title: str) -> None:
    """The legend of the circles, standing on ``y`` (points), as
    :func:`geo.write.printsymbols.draw_reference` draws it: nested, each value beside the
    top of its circle with a line."""
    radius = np.sqrt(largest) / 2
    centre = x + radius + 2
    group.add(rl_text(x, y + height - 1.1 * fontsize, title, {"fontsize": fontsize}))
    last = np.inf
    small = {"fontsize": fontsize * 0.9}
    for value in reference_values(top):
        r = radius * np.sqrt(value / top)
        if last - (2 * r + 1) < fontsize * 1.1:
            continue
        last = 2 * r + 1
        group.add(_circle(centre, y + r + 1, r, fillColor=rl_colour("#ffffff"),
                          strokeColor=rl_colour(EDGE), strokeWidth=0.5))
        group.add(polyline([centre, x + 2 * radius + 8], [y + last, y + last],
                           strokeColor=rl_colour("#555555"), strokeWidth=0.4))
        group.add(rl_text(x + 2 * radius + 10, y + last - (ASCENT - DESCENT) * small[
            "fontsize"] / 2, number(value), small))
