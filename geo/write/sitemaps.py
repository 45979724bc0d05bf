"""The fiches' maps, drawn at the cost of a few matplotlib patches a page: outlines and
quartiers projected once per territory's CRS (and kept in a spatial index), cut to each
page's frame with shapely and drawn as one compound path per layer (no
``GeoDataFrame.plot``), a locator inset of the site's département, names placed with
:func:`geo.write.printlabels.place`.

:class:`SiteMaps` holds what the pages of one run share; :meth:`SiteMaps.draw` draws one
panel of one initiative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path

from ..typography import place_name
from ..vocabulary import Relation
from .drawing import compound_path, scale_bar_place, shaped
from .mapstyle import qpv_style
from .printlabels import Label, marker_boxes

#: Outlines' colours (as the print's).
DEP_COLOR, COM_COLOR, LINK_COLOR = "#4d4d4d", "#8c8c8c", "#555555"
#: The symbols of the themes' shapes (matplotlib markers), as the print's legend draws them.
MARKERS = {"circle": "o", "square": "s", "triangle": "^", "diamond": "D", "pentagon": "p",
           "star": "*", "hexagon": "h", "cross": "X", "ring": "o"}
#: The locator inset: its share of the panel's width and height.
LOCATOR = (0.3, 0.3)
#: Names' priorities (higher first): the sites' numbers, the initiative's quartiers, the
#: other quartiers close to its sites, the communes holding its sites, the other communes.
_NUMBER, _OWN_QPV, _QPV, _HOLDING, _COMMUNE = 5000, 3000, 2000, 1000, 10


@dataclass
class _Projected:
    """A layer in one CRS: its geometries, their name spots and a spatial index."""

    geoms: np.ndarray
    spots: np.ndarray
    tree: shapely.STRtree
    frame: pd.DataFrame

    @classmethod
    def of(cls, layer: gpd.GeoDataFrame, crs: str) -> _Projected:
        geoms = layer.geometry.to_crs(crs).values.to_numpy() if len(layer) else \
            np.array([], dtype=object)
        return cls(geoms, shapely.point_on_surface(geoms), shapely.STRtree(geoms),
                   layer.drop(columns=layer.geometry.name).reset_index(drop=True))

    def cut(self, box: tuple, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
        """The positions of the shapes meeting ``box`` (CRS units), and those shapes cut to
        it and simplified to ``tolerance``."""
        found = np.sort(self.tree.query(shapely.box(*box)))
        shapes = shapely.clip_by_rect(self.geoms[found], *box)
        if tolerance > 0:
            shapes = shapely.simplify(shapes, tolerance, preserve_topology=True)
        keep = ~shapely.is_empty(shapes)
        return found[keep], shapes[keep]


@dataclass
class SiteMaps:
    """What the fiches' maps of one run share: the outlines, quartiers and sites projected
    once per CRS, each site's commune and département. ``sites`` and ``qpv`` in
    EPSG:4326; ``previous``: the earlier generation's quartiers, if drawn."""

    sites: gpd.GeoDataFrame
    qpv: gpd.GeoDataFrame
    previous: gpd.GeoDataFrame | None = None
    _layers: dict = field(default_factory=dict, repr=False)
    _deps: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        from ..outlines import commune_of_points, departement_of_points

        x, y = self.sites.geometry.x.to_numpy(), self.sites.geometry.y.to_numpy()
        self.commune = pd.Series(commune_of_points(x, y), index=self.sites.index)
        self.departement = pd.Series(departement_of_points(x, y), index=self.sites.index)

    def layer(self, name: str, crs: str) -> _Projected:
        """``deps``, ``coms``, ``qpv``, ``previous`` or ``sites`` in ``crs`` (once)."""
        key = (name, crs)
        if key not in self._layers:
            from ..outlines import communes, departements

            source = {"deps": departements, "coms": communes,
                      "qpv": lambda: self.qpv, "previous": lambda: self.previous,
                      "sites": lambda: self.sites}[name]()
            self._layers[key] = _Projected.of(source, crs)
        return self._layers[key]

    def departement_path(self, code: str, crs: str) -> tuple[Path | None, tuple, str]:
        """The outline of département ``code`` in ``crs`` simplified for an inset (about
        1 % of its size), its bounds and its name."""
        key = (code, crs)
        if key not in self._deps:
            deps = self.layer("deps", crs)
            where = np.flatnonzero(deps.frame["code"].to_numpy() == code)
            if not len(where):
                self._deps[key] = (None, (), "")
            else:
                shape = deps.geoms[where[0]]
                x0, y0, x1, y1 = shapely.bounds(shape)
                shape = shapely.simplify(shape, max(x1 - x0, y1 - y0) / 150)
                self._deps[key] = (compound_path([shape]), (x0, y0, x1, y1),
                                   str(deps.frame["nom"].iloc[where[0]]))
        return self._deps[key]

    def draw(self, ax, layers, crs: str, extent: tuple, size, *,
             nearest: str | None = None, places: dict[int, str] | None = None):
        """Draw one panel of a fiche on ``ax``: the outlines around ``extent`` (metres, in
        ``crs``), the quartiers (the initiative's emphasised: ``layers.emphasis``), the
        line between its sites, its sites by theme, a scale bar, a north arrow and a
        locator of its département. The ``nearest`` quartier (its code) is named, and
        marked on the locator when out of the frame; a site's commune without outline is
        named from ``places`` (site index → name) beside it. Return the panel as
        :class:`geo.write.printmap._Map` (names placed later, once the page is laid out)."""
        from .printmap import EMPHASIS, MapPanel, font_pt

        x0, y0, x1, y1 = extent
        fig_width = ax.figure.get_figwidth() * 25.4
        tolerance = float(f"{(x1 - x0) / (ax.get_position().width * fig_width) * 0.1:.1g}")
        grown = (x0 - (x1 - x0) * 0.02, y0 - (y1 - y0) * 0.02,
                 x1 + (x1 - x0) * 0.02, y1 + (y1 - y0) * 0.02)
        drawn = dict.fromkeys(("qpv", "qpv_dots", "previous", "links", "communes",
                               Relation.IMPLANTED, Relation.NEARBY, Relation.SERVED,
                               "aggregate"), False)
        deps_at, deps = self.layer("deps", crs).cut(grown, tolerance)
        coms_at, coms = self.layer("coms", crs).cut(grown, tolerance)
        ax.set_facecolor("#ffffff")
        if (path := compound_path(deps)) is not None:
            ax.add_artist(PathPatch(path, facecolor="#f3f1ec", edgecolor="none", zorder=0))
            ax.add_artist(PathPatch(path, facecolor="none", edgecolor=DEP_COLOR,
                                   linewidth=1.0, zorder=2))
        if (path := compound_path(coms)) is not None:
            ax.add_artist(PathPatch(path, facecolor="none", edgecolor=COM_COLOR,
                                   linewidth=0.4, linestyle=(0, (3, 2)), zorder=1))
            drawn["communes"] = True
        qpv = self.layer("qpv", crs)
        qpv_at, shapes = qpv.cut(grown, tolerance)
        st = qpv_style(_generation(qpv.frame))
        if (path := compound_path(shapes)) is not None:
            ax.add_artist(PathPatch(path, facecolor=st["fillColor"], alpha=0.35,
                                   edgecolor="none", zorder=3))
            ax.add_artist(PathPatch(path, facecolor="none", edgecolor=st["color"],
                                   linewidth=0.7, zorder=3))
            drawn["qpv"] = True
            relation = qpv.frame["code_qp"].iloc[qpv_at].map(layers.emphasis or {}).to_numpy()
            for name, (style, _) in EMPHASIS.items():
                mine = compound_path(shapes[relation == name])
                if mine is not None:
                    ax.add_artist(PathPatch(mine, zorder=3.5, **style))
                    drawn[name] = True
        if self.previous is not None:
            prev = compound_path(self.layer("previous", crs).cut(grown, tolerance)[1])
            if prev is not None:
                ax.add_artist(PathPatch(prev, facecolor="none", linestyle="--",
                                       edgecolor=qpv_style(_generation(self.previous),
                                                          previous=True)["color"],
                                       linewidth=0.7,
                                       zorder=3))
                drawn["previous"] = True
        sites = layers.sites
        at = self.sites.index.get_indexer(sites.index)
        points = self.layer("sites", crs).geoms[at]
        sx, sy = shapely.get_x(points), shapely.get_y(points)
        inside = (sx >= x0) & (sx <= x1) & (sy >= y0) & (sy <= y1)
        if len(layers.links):
            ax.plot(sx, sy, color=LINK_COLOR, linewidth=0.9, linestyle=(0, (4, 3)), zorder=4)
            drawn["links"] = True
        themes = layers.themes.reindex(sites.index).to_numpy()
        marker = 46 * min(1.0, min(size) / 210)
        area = np.zeros(len(sites))
        for theme, style in layers.styles.items():
            mine = (themes == theme) & inside
            if mine.any():
                hollow = style.shape == "ring"
                s = marker * (2 if style.shape == "star" else 1)
                area[mine] = s
                ax.scatter(sx[mine], sy[mine], s=s, marker=MARKERS[style.shape],
                           facecolor="white" if hollow else style.color,
                           edgecolor=style.color if hollow else "#1a1a1a",
                           linewidth=2 if hollow else 0.5, zorder=6)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("#777")
        corners = _free_corners(sx[inside], sy[inside], extent)
        spot = self._spot(crs, nearest)
        locator = self._locator(ax, crs, sites, corners[0], spot, size)
        bottom = [k for k in corners[1:] if k.startswith("b")]
        ax._essqpv_furniture = [*locator, *_scale_bar(ax, extent, size, bottom[0])]
        # where the furniture sits (axes fractions), kept clear of names without measuring
        ax._essqpv_zones = furniture_zones(corners[0], bottom[0], bool(locator))
        sx, sy, area = sx[inside], sy[inside], area[inside]
        labels = self._names(layers, crs, sites[inside], sx, sy, coms_at, qpv_at, shapes,
                             size, font_pt, nearest, places or {})
        return MapPanel(ax, drawn, labels, lambda: marker_boxes(ax, sx, sy, np.sqrt(area) + 1.5))

    def _spot(self, crs: str, code: str | None) -> np.ndarray | None:
        """The name's spot of quartier ``code`` (metres in ``crs``)."""
        qpv = self.layer("qpv", crs)
        where = np.flatnonzero(qpv.frame["code_qp"].to_numpy() == code)
        if code is None or not len(where):
            return None
        return shapely.get_coordinates(qpv.spots[where[0]])[0]

    def _names(self, layers, crs, sites, sx, sy, coms_at, qpv_at, shapes, size, pt,
               nearest: str | None, places: dict[int, str]) -> list:
        """The names the panel may show (:class:`geo.write.printlabels.Label`), by priority."""
        out = []
        # a commune without outline (one without quartier) named beside its first site
        bare = self.commune.reindex(sites.index).eq("").to_numpy()
        named = {}
        for k in np.flatnonzero(bare):
            name = places.get(int(sites.index[k]), "")
            if name and name not in named:
                named[name] = k
                out.append(Label(_HOLDING + int(bare.sum()), _plain(name), sx[k], sy[k],
                                 {"fontsize": pt(size, 7.5), "color": "#1a1a1a",
                                  "fontweight": "bold"}, gap=7))
        coms = self.layer("coms", crs)
        held = self.commune.reindex(sites.index)
        held = held[held != ""].value_counts()
        city = {"fontsize": pt(size, 7.5), "color": "#1a1a1a"}
        for k in coms_at:
            code, name = coms.frame["code"].iloc[k], coms.frame["nom"].iloc[k]
            spot = coms.spots[k]
            n = int(held.get(code, 0))
            out.append(Label(_HOLDING + n if n else _COMMUNE, _plain(name),
                             shapely.get_x(spot), shapely.get_y(spot),
                             {**city, "fontweight": "bold"} if n else
                             {**city, "color": "#555", "fontsize": pt(size, 6.5)},
                             leader=bool(n)))
        if layers.numbers is not None and len(sites):
            for x, y, number in zip(sx, sy, layers.numbers.reindex(sites.index), strict=True):
                if pd.notna(number):
                    out.append(Label(_NUMBER, str(int(number)), x, y,
                                     {"fontsize": pt(size, 8.5), "fontweight": "bold"}, gap=5))
        if len(qpv_at):
            qpv = self.layer("qpv", crs)
            related = layers.emphasis or {}
            codes = qpv.frame["code_qp"].iloc[qpv_at].to_numpy()
            near = shapely.distance(qpv.geoms[qpv_at], shapely.multipoints(
                np.column_stack([sx, sy]))) < 400 if len(sx) else np.zeros(len(codes), bool)
            own = np.isin(codes, [*related, nearest])
            spots = shapely.point_on_surface(shapes)
            colour = qpv_style(_generation(qpv.frame))["color"]
            for k in np.flatnonzero(near | own):
                style = {"fontsize": pt(size, 6.5), "color": colour, "fontstyle": "italic"}
                if own[k]:
                    style.update(fontsize=pt(size, 7.5), color="#1a1a1a", fontweight="bold")
                out.append(Label(_OWN_QPV if own[k] else _QPV,
                                 _plain(place_name(qpv.frame["nom_qp"].iloc[qpv_at[k]])),
                                 shapely.get_x(spots[k]), shapely.get_y(spots[k]), style))
        return out

    def _locator(self, ax, crs: str, sites, corner: str, nearest, size) -> list:
        """A small map of the sites' département in ``corner`` of ``ax``: its outline, the
        panel's frame and the sites as a dot, the ``nearest`` quartier (a square) when out
        of the panel; named under it. Drawn on ``ax`` itself through a transform (no
        axes of its own); return its artists (kept clear of names)."""
        from matplotlib.transforms import Affine2D

        from .printmap import font_pt

        codes = self.departement.reindex(sites.index)
        codes = codes[codes != ""].value_counts()
        if not len(codes):
            return []
        path, bounds, name = self.departement_path(str(codes.index[0]), crs)
        if path is None:
            return []
        w, h = LOCATOR
        bx = 0.015 if corner.endswith("l") else 0.985 - w
        by = 0.985 - h if corner.startswith("t") else 0.07
        x0, y0, x1, y1 = bounds
        fx0, fx1 = ax.get_xlim()
        fy0, fy1 = ax.get_ylim()
        far = nearest is not None and len(nearest) and not (
            fx0 <= nearest[0] <= fx1 and fy0 <= nearest[1] <= fy1)
        if far:
            x0, y0 = min(x0, nearest[0]), min(y0, nearest[1])
            x1, y1 = max(x1, nearest[0]), max(y1, nearest[1])
        pad = max(x1 - x0, y1 - y0) * 0.08
        # the inset's box in millimetres on the page, for its scale
        box = ax.get_position()
        wmm = box.width * w * ax.figure.get_figwidth() * 25.4
        hmm = box.height * h * ax.figure.get_figheight() * 25.4
        ex0, ey0, ex1, ey1 = shaped((x0 - pad, y0 - pad, x1 + pad, y1 + pad), wmm, hmm)
        to_box = Affine2D().translate(-ex0, -ey0).scale(w / (ex1 - ex0), h / (ey1 - ey0)) \
            .translate(bx, by) + ax.transAxes
        artists = [Rectangle((bx, by), w, h, transform=ax.transAxes, facecolor="white",
                             edgecolor="#777", linewidth=0.6, zorder=10),
                   PathPatch(path, transform=to_box, facecolor="#f3f1ec", edgecolor=DEP_COLOR,
                             linewidth=0.5, zorder=10.1),
                   Rectangle((fx0, fy0), fx1 - fx0, fy1 - fy0, transform=to_box,
                             facecolor="none", edgecolor="#b03a2e", linewidth=0.6,
                             zorder=10.2)]
        for a in artists:
            ax.add_artist(a)
        artists[0].set_gid("situation")
        if far:
            artists += ax.plot([nearest[0]], [nearest[1]], transform=to_box, marker="s",
                               markersize=4.5, color=qpv_style()["color"],
                               markeredgecolor="#1a1a1a", markeredgewidth=0.5, zorder=10.3)
        artists += ax.plot([(fx0 + fx1) / 2], [(fy0 + fy1) / 2], transform=to_box,
                           marker="o", markersize=3.5, color="#b03a2e",
                           markeredgecolor="#1a1a1a", markeredgewidth=0.4, zorder=10.4)
        artists.append(ax.text(bx + w / 2, by - 0.01, _plain(name), transform=ax.transAxes,
                               ha="center", va="top", fontsize=font_pt(size, 6.5),
                               color="#333", zorder=10.5))
        return artists


def furniture_zones(locator: str, scale: str, located: bool) -> list[tuple]:
    """The boxes (axes fractions) of the locator in corner ``locator`` (with its name under
    it), of the scale bar and north arrow in corner ``scale``."""
    w, h = LOCATOR
    out = [(0.0, 0.0, 0.4, 0.25) if scale == "bl" else (0.6, 0.0, 1.0, 0.25)]
    if located:
        bx = 0.015 if locator.endswith("l") else 0.985 - w
        by = 0.985 - h if locator.startswith("t") else 0.07
        out.append((bx, by - 0.07, bx + w, by + h))
    return out


#: Names' sizes by figure resolution, shared by the pages (they repeat the same names).
_NAME_SIZES: dict = {}


def place_names(fig, maps: list) -> None:
    """Place the names of the panels ``maps`` (:class:`geo.write.printmap._Map`) clear of the
    sites and of the furniture (its boxes known, not measured); the names of one process'
    pages are measured once."""
    from matplotlib.transforms import Bbox

    from . import printlabels

    printlabels._SIZES[fig] = _NAME_SIZES.setdefault(fig.dpi, {})
    for m in maps:
        m.ax.apply_aspect()
    for m in maps:
        zones = [Bbox([[a, b], [c, d]]).transformed(m.ax.transAxes)
                 for a, b, c, d in getattr(m.ax, "_essqpv_zones", [])]
        markers = m.markers() if callable(m.markers) else m.markers
        printlabels.place(m.ax, m.labels, obstacles=[*markers, *zones], halo="box")


def _generation(frame: pd.DataFrame | None) -> str | None:
    """The QPV generation of a table of quartiers (``None``: several, or not said)."""
    if frame is None or "generation" not in frame or not len(frame):
        return None
    keys = frame["generation"].unique()
    return str(keys[0]) if len(keys) == 1 else None


def _plain(text: str) -> str:
    return str(text).replace("$", r"\$")


def _free_corners(x: np.ndarray, y: np.ndarray, extent: tuple) -> list[str]:
    """The panel's corners, those without a site under a locator-sized box first (top
    right preferred)."""
    x0, y0, x1, y1 = extent
    w, h = (x1 - x0) * (LOCATOR[0] + 0.03), (y1 - y0) * (LOCATOR[1] + 0.1)
    boxes = {"tr": (x1 - w, y1 - h, x1, y1), "tl": (x0, y1 - h, x0 + w, y1),
             "br": (x1 - w, y0, x1, y0 + h), "bl": (x0, y0, x0 + w, y0 + h)}

    def free(k: str) -> bool:
        a, b, c, d = boxes[k]
        return not ((x >= a) & (x <= c) & (y >= b) & (y <= d)).any()

    return sorted(boxes, key=lambda k: not free(k))


def _scale_bar(ax, extent: tuple, size, corner: str) -> list:
    """A metric scale bar in the bottom ``corner`` and a north arrow above it; return
    their artists."""
    from .printmap import font_pt

    x0, y0, x1, y1 = extent
    length, bx, by, label = scale_bar_place(extent, corner)
    left = corner.endswith("l")
    artists = ax.plot([bx, bx + length], [by, by], color="#1a1a1a", linewidth=5.5,
                      solid_capstyle="butt", zorder=8)
    artists += ax.plot([bx + length / 2, bx + length], [by, by], color="#ffffff",
                       linewidth=4, solid_capstyle="butt", zorder=9)
    artists.append(ax.text(bx + length / 2, by + (y1 - y0) * 0.015, label, ha="center",
                           va="bottom", fontsize=font_pt(size, 7.5), zorder=9))
    # the north arrow above the bar's end, clear of its label
    nx = bx if left else bx + length
    artists.append(ax.annotate(
        "N", xy=(nx, by + (y1 - y0) * 0.21), xytext=(nx, by + (y1 - y0) * 0.1),
        ha="center", va="bottom", fontsize=font_pt(size, 8), fontweight="bold", zorder=9,
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.2}))
    return artists
