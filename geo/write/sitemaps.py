"""The fiches' maps, drawn with reportlab at the cost of a few paths a page: outlines and
quartiers projected once per territory's CRS (and kept in a spatial index), cut to each
page's frame with shapely and drawn as one path per layer, a locator of the site's
département, names placed clear of the sites and of the furniture.

:class:`SiteMaps` holds what the pages of one run share; :meth:`SiteMaps.draw` draws one
panel of one initiative (:class:`Panel`), :func:`place_names` names the panels of a page.
The same shapes make the page's map, its PNG and its SVG.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..typography import place_name
from ..vocabulary import Relation
from .drawing import shaped
from .mapstyle import qpv_style
from .printlabels import Label
from .vectormap import (
    COM_COLOR,
    DEP_COLOR,
    LOCATOR,
    MapShapes,
    free_corners,
    scale_bar,
)
from .vectorpage import (
    ASCENT,
    Group,
    Rect,
    colour,
    hatch,
    marker,
    named,
    polygons_path,
    text,
    to_page,
)

#: The symbols of the themes' shapes (matplotlib markers), as the print's legend draws them.
MARKERS = {"circle": "o", "square": "s", "triangle": "^", "diamond": "D", "pentagon": "p",
           "star": "*", "hexagon": "h", "cross": "X", "ring": "o"}
#: Names' priorities (higher first): the sites' numbers, the initiative's quartiers, the
#: other quartiers close to its sites, the communes holding its sites, the other communes.
_NUMBER, _OWN_QPV, _QPV, _HOLDING, _COMMUNE = 5000, 3000, 2000, 1000, 10


@dataclass
class Panel:
    """One map of a page, in points on the page: its shapes (``body``, under the names;
    ``furniture``, over them), its frame ``box`` (x, y, width, height), what it drew, the
    names it may show (:class:`geo.write.printlabels.Label` at page points) and the boxes
    names keep clear of (x0, y0, x1, y1)."""

    body: Group
    furniture: Group
    box: tuple
    drawn: dict
    labels: list
    obstacles: list
    names: Group = field(default_factory=Group)

    def group(self) -> Group:
        """The whole panel, names placed or not."""
        return Group(self.body, self.names, self.furniture)


@dataclass
class _Projected:
    """A layer in one CRS: its geometries, their name spots and a spatial index."""

    geoms: np.ndarray
    spots: np.ndarray
    tree: shapely.STRtree
    frame: pd.DataFrame
    _columns: dict = field(default_factory=dict, repr=False)

    def column(self, name: str) -> np.ndarray:
        """The column ``name`` of its table as an array (made once: a page reads a few
        values of it)."""
        if name not in self._columns:
            self._columns[name] = self.frame[name].to_numpy()
        return self._columns[name]

    @property
    def generation(self) -> str | None:
        """The QPV generation of its quartiers (:func:`_generation`), found once."""
        if "generation" not in self._columns:
            self._columns["generation"] = _generation(self.frame)
        return self._columns["generation"]

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

    def project_all(self) -> None:
        """Project every layer in the CRS of each territory holding a site (before the
        pages' workers fork: they inherit the projections instead of each making them)."""
        from ..territories import TERRITORIES, territory_of_points

        keys = territory_of_points(self.sites.geometry.x.to_numpy(),
                                   self.sites.geometry.y.to_numpy()).dropna().unique()
        names = ("deps", "coms", "qpv", "sites") + (("previous",) if self.previous is not
                                                    None else ())
        for key in keys:
            for name in names:
                self.layer(name, TERRITORIES[key].crs)

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

    def departement_shape(self, code: str, crs: str
                          ) -> tuple[shapely.Geometry | None, tuple, str]:
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
                self._deps[key] = (shape, (x0, y0, x1, y1),
                                   str(deps.frame["nom"].iloc[where[0]]))
        return self._deps[key]

    def draw(self, layers, crs: str, extent: tuple, box: tuple, size, *,
             nearest: str | None = None, places: dict[int, str] | None = None) -> Panel:
        """One panel of a fiche in ``box`` (points on the page: x, y, width, height): the
        outlines around ``extent`` (metres, in ``crs``, shaped like ``box``), the quartiers
        (the initiative's emphasised: ``layers.emphasis``), the line between its sites, its
        sites by theme, a scale bar, a north arrow and a locator of its département. The
        ``nearest`` quartier (its code) is named, and marked on the locator when out of the
        frame; a site's commune without outline is named from ``places`` (site index →
        name) beside it. Names are placed later, once the page is laid out
        (:func:`place_names`)."""
        from .drawing import font_pt
        from .printlayers import EMPHASIS

        x0, y0, x1, y1 = extent
        paper = MapShapes(extent, box)
        move, body, fill, outline = paper.move, paper.body, paper.fill, paper.outline
        tolerance = float(f"{(x1 - x0) / (box[2] / 72 * 25.4) * 0.1:.1g}")
        grown = (x0 - (x1 - x0) * 0.02, y0 - (y1 - y0) * 0.02,
                 x1 + (x1 - x0) * 0.02, y1 + (y1 - y0) * 0.02)
        drawn = dict.fromkeys(("qpv", "qpv_dots", "previous", "links", "communes",
                               Relation.IMPLANTED, Relation.NEARBY, Relation.SERVED,
                               "aggregate"), False)

        deps_at, deps = self.layer("deps", crs).cut(grown, tolerance)
        coms_at, coms = self.layer("coms", crs).cut(grown, tolerance)
        fill(deps, fillColor=colour("#f3f1ec"))
        qpv = self.layer("qpv", crs)
        qpv_at, shapes = qpv.cut(grown, tolerance)
        st = qpv_style(qpv.generation)
        emphasis = layers.emphasis or {}
        relation = np.array([emphasis.get(c) for c in qpv.column("code_qp")[qpv_at]],
                            dtype=object)
        if len(shapes):
            drawn["qpv"] = fill(shapes, each=True, fillColor=colour(st["fillColor"], 0.35))
        for name, (style, _) in EMPHASIS.items():
            mine = shapes[relation == name]
            if len(mine) and style.get("facecolor", "none") != "none":
                drawn[name] = fill(mine, fillColor=colour(style["facecolor"],
                                                          style.get("alpha")))
        if len(coms):
            outline(coms, COM_COLOR, 0.4, (0, (3, 2)), each=True)
            drawn["communes"] = True
        outline(deps, DEP_COLOR, 1.0)
        if len(shapes):
            outline(shapes, st["color"], 0.7)
        for name, (style, _) in EMPHASIS.items():
            mine = shapes[relation == name]
            if not len(mine):
                continue
            if style.get("hatch"):
                lines = hatch(shapely.clip_by_rect(mine, *extent), move, box, 4.0,
                              fillColor=None, strokeColor=colour(style["edgecolor"]),
                              strokeWidth=0.6)
                if lines is not None:
                    body.add(lines)
                    drawn[name] = True
            outline(mine, style["edgecolor"], style["linewidth"])
        if self.previous is not None:
            prev = self.layer("previous", crs).cut(grown, tolerance)[1]
            if len(prev):
                outline(prev, qpv_style(_generation(self.previous), previous=True)["color"],
                        0.7, "--")
                drawn["previous"] = True
        sites = layers.sites
        at = self.sites.index.get_indexer(sites.index)
        points = self.layer("sites", crs).geoms[at]
        sx, sy = shapely.get_x(points), shapely.get_y(points)
        inside = (sx >= x0) & (sx <= x1) & (sy >= y0) & (sy <= y1)
        if len(layers.links) and len(sx) > 1:  # a panel may hold one of the sites
            paper.links([shapely.linestrings(np.column_stack([sx, sy]))])
            drawn["links"] = True
        px, py = move(sx, sy)
        themes = layers.themes.reindex(sites.index).to_numpy()
        area = 46 * min(1.0, min(size) / 210)
        diameters = np.zeros(len(sites))
        for theme, style in layers.styles.items():
            hollow = style.shape == "ring"
            d = np.sqrt(area * (2 if style.shape == "star" else 1))
            for k in np.flatnonzero((themes == theme) & inside):
                diameters[k] = d
                body.add(marker(MARKERS[style.shape], px[k], py[k], d,
                                fill="white" if hollow else style.color,
                                edge=style.color if hollow else "#1a1a1a",
                                width=2 if hollow else 0.5))
        paper.frame()
        corners = free_corners(sx[inside], sy[inside], extent)
        furniture = Group()
        located = self._locator(furniture, box, extent, crs, sites, corners[0],
                                self._spot(crs, nearest), size)
        bottom = [k for k in corners[1:] if k.startswith("b")][0]
        scale_bar(furniture, extent, move, size, bottom)
        bx, by, bw, bh = box
        zones = [(bx + a * bw, by + b * bh, bx + c * bw, by + d * bh)
                 for a, b, c, d in furniture_zones(corners[0], bottom, located)]
        half = diameters[inside] / 2 + 0.75
        markers = [(x - h, y - h, x + h, y + h) for x, y, h in
                   zip(px[inside], py[inside], half, strict=True)]
        labels = self._names(layers, crs, sites[inside], sx[inside], sy[inside], coms_at,
                             qpv_at, shapes, size, font_pt, nearest, places or {})
        for label in labels:
            label.x, label.y = (float(v) for v in move(label.x, label.y))
        return Panel(body, furniture, box, drawn, labels, [*markers, *zones])

    def _spot(self, crs: str, code: str | None) -> np.ndarray | None:
        """The name's spot of quartier ``code`` (metres in ``crs``)."""
        qpv = self.layer("qpv", crs)
        where = np.flatnonzero(qpv.column("code_qp") == code)
        if code is None or not len(where):
            return None
        return shapely.get_coordinates(qpv.spots[where[0]])[0]

    def _names(self, layers, crs, sites, sx, sy, coms_at, qpv_at, shapes, size, pt,
               nearest: str | None, places: dict[int, str]) -> list:
        """The names the panel may show (:class:`geo.write.printlabels.Label`), by priority."""
        out = []
        # a commune without outline (one without quartier) named beside its first site
        held = self.commune.to_numpy()[self.commune.index.get_indexer(sites.index)]
        bare = held == ""
        named = {}
        for k in np.flatnonzero(bare):
            name = places.get(int(sites.index[k]), "")
            if name and name not in named:
                named[name] = k
                out.append(Label(_HOLDING + int(bare.sum()), name, sx[k], sy[k],
                                 {"fontsize": pt(size, 7.5), "color": "#1a1a1a",
                                  "fontweight": "bold"}, gap=7))
        coms = self.layer("coms", crs)
        held = Counter(held[~bare].tolist())
        city = {"fontsize": pt(size, 7.5), "color": "#1a1a1a"}
        spots = shapely.get_coordinates(coms.spots[coms_at])
        for k, (x, y) in zip(coms_at, spots, strict=True):
            code, name = coms.column("code")[k], coms.column("nom")[k]
            n = held.get(code, 0)
            out.append(Label(_HOLDING + n if n else _COMMUNE, name, x, y,
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
            codes = qpv.column("code_qp")[qpv_at]
            near = shapely.distance(qpv.geoms[qpv_at], shapely.multipoints(
                np.column_stack([sx, sy]))) < 400 if len(sx) else np.zeros(len(codes), bool)
            own = np.isin(codes, [*related, nearest])
            spots = shapely.get_coordinates(shapely.point_on_surface(shapes))
            tint = qpv_style(qpv.generation)["color"]
            for k in np.flatnonzero(near | own):
                style = {"fontsize": pt(size, 6.5), "color": tint, "fontstyle": "italic"}
                if own[k]:
                    style.update(fontsize=pt(size, 7.5), color="#1a1a1a", fontweight="bold")
                out.append(Label(_OWN_QPV if own[k] else _QPV,
                                 place_name(qpv.column("nom_qp")[qpv_at[k]]),
                                 spots[k, 0], spots[k, 1], style))
        return out

    def _locator(self, group: Group, box: tuple, extent: tuple, crs: str, sites,
                 corner: str, nearest, size) -> bool:
        """A small map of the sites' département in ``corner`` of the panel ``box``
        (points): its outline, the panel's frame and the sites as a dot, the ``nearest``
        quartier (a square) when out of the panel; named under it. Return whether it was
        drawn."""
        from .drawing import font_pt

        codes = Counter(c for c in self.departement.to_numpy()[
            self.departement.index.get_indexer(sites.index)] if c)
        if not codes:
            return False
        shape, bounds, name = self.departement_shape(str(codes.most_common(1)[0][0]), crs)
        if shape is None:
            return False
        w, h = LOCATOR
        pbx, pby, pbw, pbh = box
        bx = pbx + pbw * (0.015 if corner.endswith("l") else 0.985 - w)
        by = pby + pbh * (0.985 - h if corner.startswith("t") else 0.07)
        inset = (bx, by, pbw * w, pbh * h)
        x0, y0, x1, y1 = bounds
        fx0, fy0, fx1, fy1 = extent
        far = nearest is not None and len(nearest) and not (
            fx0 <= nearest[0] <= fx1 and fy0 <= nearest[1] <= fy1)
        if far:
            x0, y0 = min(x0, nearest[0]), min(y0, nearest[1])
            x1, y1 = max(x1, nearest[0]), max(y1, nearest[1])
        pad = max(x1 - x0, y1 - y0) * 0.08
        move = to_page(shaped((x0 - pad, y0 - pad, x1 + pad, y1 + pad), inset[2], inset[3]),
                       inset)
        named(group, "situation", Rect(*inset, fillColor=colour("#ffffff"),
                                       strokeColor=colour("#777777"), strokeWidth=0.6))
        path = polygons_path(np.array([shape], dtype=object), move,
                             fillColor=colour("#f3f1ec"), strokeColor=colour(DEP_COLOR),
                             strokeWidth=0.5)
        if path is not None:
            group.add(path)
        (rx0, rx1), (ry0, ry1) = move([fx0, fx1], [fy0, fy1])
        group.add(Rect(rx0, ry0, rx1 - rx0, ry1 - ry0, fillColor=None,
                       strokeColor=colour("#b03a2e"), strokeWidth=0.6))
        if far:
            qx, qy = move(nearest[0], nearest[1])
            group.add(marker("s", float(qx), float(qy), 4.5, fill=qpv_style()["color"],
                             edge="#1a1a1a", width=0.5))
        group.add(marker("o", (rx0 + rx1) / 2, (ry0 + ry1) / 2, 3.5, fill="#b03a2e",
                         edge="#1a1a1a", width=0.4))
        style = {"fontsize": font_pt(size, 6.5), "color": "#333"}
        group.add(text(bx + inset[2] / 2, by - 0.01 * pbh - ASCENT * style["fontsize"],
                       name, style, anchor="middle"))
        return True


def furniture_zones(locator: str, scale: str, located: bool) -> list[tuple]:
    """The boxes (shares of the panel's width and height) of the locator in corner
    ``locator`` (with its name under it), of the scale bar and north arrow in corner
    ``scale``."""
    w, h = LOCATOR
    out = [(0.0, 0.0, 0.4, 0.25) if scale == "bl" else (0.6, 0.0, 1.0, 0.25)]
    if located:
        bx = 0.015 if locator.endswith("l") else 0.985 - w
        by = 0.985 - h if locator.startswith("t") else 0.07
        out.append((bx, by - 0.07, bx + w, by + h))
    return out


def place_names(panels: list[Panel], *, margin: float = 1.5) -> None:
    """Place the names of ``panels`` as the print's are
    (:func:`geo.write.printlabels.place_on_page`): by priority where they overlap nothing
    already there (sites, furniture, names placed before), each inside its panel, with a
    light box under it; a name that finds no room is left out."""
    from .printlabels import place_on_page

    for panel in panels:
        place_on_page(panel.names, panel.labels, panel.box, move=lambda x, y: (x, y),
                      obstacles=panel.obstacles, margin=margin)


def _generation(frame: pd.DataFrame | None) -> str | None:
    """The QPV generation of a table of quartiers (``None``: several, or not said)."""
    if frame is None or "generation" not in frame or not len(frame):
        return None
    keys = frame["generation"].unique()
    return str(keys[0]) if len(keys) == 1 else None
