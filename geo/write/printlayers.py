"""What every print page draws from: the layers (sites, themes, quartiers, lines between
the sites of one initiative), prepared once, with their styles, counts and the page sources."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..cities import CREDIT as CITIES_CREDIT
from ..outlines import CREDIT
from ..territories import TERRITORIES
from ..typography import date_text, french_spacing
from ..vocabulary import GENERATION, GENERATIONS, Generation, Relation
from .drawing import Projected
from .mapstyle import LINK_MAX, SOURCES_LINE, path_length, site_themes

#: The sources line of every printed page and image.
PRINT_SOURCES = french_spacing(f"{SOURCES_LINE} ; {CREDIT} (limites) ; {CITIES_CREDIT}. "
                                "Licence Ouverte / Etalab 2.0.")
#: Paper sizes in millimetres (portrait).
PAPER = {"A4": (210, 297), "A5": (148, 210), "A3": (297, 420)}
MARKERS = {"circle": "o", "square": "s", "triangle": "^", "diamond": "D", "pentagon": "p",
           "star": "*", "hexagon": "h", "cross": "P", "triangle_down": "v", "x": "X",
           "ring": "o", "bar": [(-1, -0.35), (1, -0.35), (1, 0.35), (-1, 0.35), (-1, -0.35)]}
#: Shapes drawn hollow (their colour on the outline).
HOLLOW = {"ring"}
INCH_PER_MM = 1 / 25.4
#: Wider than this (metres), quartiers are too small to see: they are counted instead.
QPV_VISIBLE = 150_000
#: Fonts embedded as TrueType in PDF; SVG text drawn as paths (no font needed to view it).
#: Matplotlib 3.11 sizes a PDF's font subsets from ``ps.fonttype``: left at Type 3, every
#: character beyond Latin-1 (« – ») put each font in the file twice.
PRINT_FONTS = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "path",
          "font.family": "DejaVu Sans"}


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


def prepare_layers(result, qpv, previous, theme_column, id_column) -> PrintLayers:
    """The layers of a print of ``result`` over ``qpv`` (and the ``previous`` generation),
    its sites styled by ``theme_column``, those of one ``id_column`` joined by lines."""
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


def page_sources() -> str:
    """The sources line at the foot of each page, with the day it is drawn."""
    return f"{PRINT_SOURCES} Carte du {date_text(datetime.date.today())}."


# --------------------------------------------------------------------------- drawing

DRAWN = ("qpv", "qpv_dots", "previous", "links", "communes", Relation.IMPLANTED,
         Relation.NEARBY, Relation.SERVED, "aggregate")
#: The limits of départements and communes are simplified to this many millimetres on the
#: page: drawn 0.4 to 1 point wide (0.14 to 0.35 mm), they show no finer detail (the
#: earlier outlines, simplified twice, in degrees then in metres, were as coarse).
OUTLINE_MM = 0.2
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
CURRENT, EARLIER = GENERATIONS[0], GENERATIONS[-1]


def qpv_style(generation: Generation) -> dict:
    """A generation's style (declared in Leaflet's names, :mod:`geo.vocabulary`) in
    matplotlib's: ``edgecolor``, ``facecolor`` and ``linestyle`` (dashed or solid)."""
    style = generation.style
    return {"edgecolor": style["color"], "facecolor": style.get("fillColor", "none"),
            "linestyle": "--" if style.get("dashArray") else "-"}


def generation_of(frame: gpd.GeoDataFrame | None, default: Generation) -> Generation:
    """The generation of the quartiers of ``frame`` (its first), else ``default``."""
    keys = frame["generation"] if frame is not None and "generation" in frame else ()
    return next((GENERATION[k] for k in keys if k in GENERATION), default)


def map_extent(area: gpd.GeoSeries | None, crs: str, territory: str, pad: float = 0.08
               ) -> tuple[float, float, float, float]:
    """The extent (x0, y0, x1, y1 in ``crs``, metres) of a map of ``area`` (in ``crs``),
    or of the whole ``territory`` without one, widened by ``pad`` of its side and 800 m."""
    if area is None or not len(area):
        x0, y0, x1, y1 = gpd.GeoSeries([shapely.box(*TERRITORIES[territory].bbox)],
                                       crs=4326).to_crs(crs).total_bounds
    else:
        x0, y0, x1, y1 = area.total_bounds
    margin = max(x1 - x0, y1 - y0) * pad + 800
    return x0 - margin, y0 - margin, x1 + margin, y1 + margin


def aggregate_counts(layers: PrintLayers, sites: gpd.GeoDataFrame, coms: pd.DataFrame
                     ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, int]:
    """The sites counted per commune (:func:`geo.write.printsymbols.counts_per_place`) at
    its name's spot (``coms`` as :func:`background` gives them, in the map's CRS), and
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


def plain_text(text: str) -> str:
    """User text shown as it is: ``$`` would start matplotlib's math mode."""
    return str(text).replace("$", r"\$")
