"""Interactive Folium maps of linked initiatives and QPV, readable in ten seconds.

:func:`make_map` draws the QPV (by generation, with an optional proximity band), the
initiative sites coloured and shaped by theme (clustered or not), French legend, title and
source line, layer control, search, full screen, scale bar and minimap. Data reach the page as
compact JSON and are turned into popups with DOM calls, so user text is never parsed as HTML;
only Leaflet and Leaflet.markercluster are loaded, so :mod:`geo.write.assets` can inline
every script for a page that works offline.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, fields, replace
from importlib import resources

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xyzservices.providers as xyz
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

from .._validate import check_embed_url, safe_url
from ..addresses import join_address
from ..geometry import to_metric
from ..indicators import Measures
from ..link import LinkResult
from ..territories import TERRITORIES, territory_of_departement, territory_of_points
from ..typography import number, plural, plural_form
from ..vocabulary import (
    DEFAULT_TITLE,
    UNCERTAIN_SENTENCE,
    UNCERTAIN_SHORT,
    Relation,
    find_column,
)
from .mapstyle import (
    BAND_STYLE,
    NO_THEME,
    SEVERAL_THEMES_NOTE,
    SOURCES_LINE,
    SYMBOL_SIZES,
    ThemeStyle,
    french_number,
    indicator_label,
    legend_values,
    marker_svg,
    metres_text,
    qpv_style,
    site_themes,
    symbol_sizes,
)

#: Base maps: label, xyzservices provider, native maximum zoom.
BASEMAPS = (
    ("OpenStreetMap France", xyz.OpenStreetMap.France),
    ("Plan IGN (Géoplateforme)", xyz.GeoportailFrance.plan),
    ("Fond clair neutre", xyz.Esri.WorldGrayCanvas),
)

_MARKERCLUSTER = "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"


#: Characters written as JSON escapes: none is structural in JSON, so the whole text can be
#: translated at once; nothing in page data can then close the script or open a tag.
_INERT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                        "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _js(data) -> str:
    """JSON that is safe inside a ``<script>`` element. Our elements add it to the page as
    raw text (:class:`_Inert`): it never reaches a template engine."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_INERT)


def html_text(value: object) -> str:
    """User text for HTML: escaped, with braces as character references (inert for Jinja)."""
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


def _template(name: str) -> str:
    return resources.files("geo").joinpath("templates", name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- geometry


def compact_polygons(frame: gpd.GeoDataFrame, *, tolerance: float = 2.0) -> np.ndarray:
    """Simplify polygons for the web without visible change at street zoom.

    Each territory is simplified in its metric CRS with ``tolerance`` metres
    (topology-preserving, so no polygon becomes invalid or vanishes); :func:`pack` then
    keeps coordinates to 1e-5 degree (about 1 m).
    """
    out = frame.geometry.values.copy()
    territory = frame["insee_dep"].map(territory_of_departement).to_numpy()
    for key in set(territory):
        at = territory == key
        crs = TERRITORIES[key].crs
        metric = frame.geometry[at].to_crs(crs)
        simple = gpd.GeoSeries(shapely.simplify(metric.values, tolerance, preserve_topology=True),
                               crs=crs).to_crs(4326)
        out[at] = simple.values
    return np.asarray(out, dtype=object)


def pack(geom: shapely.Geometry) -> list:
    """A polygon or multipolygon as compact JSON for the page: per polygon, its rings as
    integers (1e-5 degree, about 1 m), the first point absolute and the next ones as
    differences; ``essqpv.unpack`` in the page reverses it. Three times smaller than GeoJSON."""
    polygons = []
    for polygon in shapely.get_parts(geom):
        rings = []
        for ring in [polygon.exterior, *polygon.interiors]:
            coords = np.round(np.asarray(ring.coords)[:, :2] * 1e5).astype(np.int64)
            deltas = np.vstack([coords[:1], np.diff(coords, axis=0)])
            rings.append(deltas.ravel().tolist())
        polygons.append(rings)
    return polygons


def _packed(properties: list[dict], geometries) -> list:
    return [[props, pack(g)] for props, g in zip(properties, geometries, strict=True)
            if g is not None and not g.is_empty]


def proximity_band(qpv: gpd.GeoDataFrame, distance: float) -> gpd.GeoSeries:
    """The area within ``distance`` metres of a QPV (outside it), per territory, EPSG:4326."""
    parts = []
    territory = qpv["insee_dep"].map(territory_of_departement)
    for key in territory.unique():
        crs = TERRITORIES[key].crs
        metric = to_metric(qpv.geometry[territory == key], crs)
        # Buffer each quartier, simplified by 20 m first (the band is a picture: who is
        # "nearby" is computed exactly by the linker), then merge only the buffers that
        # touch: many small unions instead of one of the whole country.
        around = shapely.buffer(shapely.simplify(metric, 20.0), distance, quad_segs=2)
        groups = _touching(around)
        outer = np.array([shapely.union_all(around[g]) for g in groups], dtype=object)
        inner = np.array([shapely.union_all(metric[g]) for g in groups], dtype=object)
        bands = shapely.simplify(shapely.difference(outer, inner), 15.0)
        parts.append(gpd.GeoSeries(bands, crs=crs).to_crs(4326))
    return pd.concat(parts) if parts else gpd.GeoSeries([], crs=4326)


def _touching(shapes: np.ndarray) -> list[np.ndarray]:
    """Groups of shapes that touch one another, directly or through others."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a, b = shapely.STRtree(shapes).query(shapes, predicate="intersects")
    n = len(shapes)
    _, labels = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)),
                                     directed=False)
    order = np.argsort(labels, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(labels[order])) + 1)


def focus_qpv(qpv: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, margin: float = 3000.0
              ) -> gpd.GeoDataFrame:
    """The QPV worth drawing around the sites: those within ``margin`` metres of one."""
    from ..link import link_points

    located = sites.geometry[sites.geometry.notna()]
    if not len(located):
        return qpv
    # measured only: the quartiers within a square of ``margin`` in degrees (a degree is
    # 110 km of latitude, 110 km × cos(latitude) of longitude) around a site
    x, y = located.x.to_numpy(), located.y.to_numpy()
    reach = margin / (110_000 * np.cos(np.radians(min(np.abs(y).max() + 1, 89))))
    near = np.unique(qpv.sindex.query(shapely.box(x - reach, y - reach, x + reach,
                                                  y + reach), predicate="intersects")[1])
    links = link_points(located.values, qpv.iloc[near], distance=0,
                        radius=np.full(len(located), margin))
    keep = near[np.unique(np.r_[links.within_radius["qpv"].to_numpy(),
                                links.implanted["qpv"].to_numpy()])]
    out = qpv.iloc[np.sort(keep)].reset_index(drop=True)
    out.attrs = dict(qpv.attrs)
    return out


#: The address an embed snippet points to when none is given: a reserved name
#: (``.invalid`` never resolves), to be replaced by the map's public address.
EMBED_PLACEHOLDER = "https://adresse-de-votre-site.invalid/"


def embed_snippet(url: str | None, *, title: str, published: str = "carte-autonome.html",
                  width: str = "100%", height: int = 600) -> str:
    """An ``<iframe>`` to paste into a web page (fixed height, responsive width), after a
    comment saying, in French, which file to publish and what to change.

    ``url`` is the public address of the published map: an http(s) address or a relative
    path; anything else (``javascript:``, ``data:``…) is refused. Without it the frame
    points to a placeholder (:data:`EMBED_PLACEHOLDER` followed by ``published``, the
    file to publish) that the comment says to replace: never a file name that would only
    work beside the snippet. A link to the page's text version (the table « Données de la
    carte ») follows the frame.
    """
    given = url is not None and url != ""
    if given:
        check_embed_url(url)
    else:
        url = EMBED_PLACEHOLDER + published
    text_version = url.split("#")[0] + "#essqpv-donnees"
    name = html_text(published)
    if given:
        steps = (f"     Avant de la coller, publiez le fichier « {name} » (la carte autonome, "
                 "qui marche sans autre fichier)\n"
                 f"     sur votre site, à l’adresse {html_text(url)}\n"
                 "     puis collez ces lignes dans le code HTML de votre page (bloc « HTML » "
                 "ou « code source »).\n")
    else:
        steps = ("     Aucune adresse publique n’a été donnée : l’extrait ne marche qu’après "
                 "ces trois étapes.\n"
                 f"     1. Publiez le fichier « {name} » (la carte autonome, qui marche sans "
                 "autre fichier) sur votre site\n"
                 "        (par exemple dans les documents ou médias de votre outil de "
                 "publication) et notez son adresse.\n"
                 f"     2. Dans les deux lignes qui suivent, remplacez {html_text(url)}\n"
                 "        par cette adresse (dans src=\"…\" et dans href=\"…\").\n"
                 "     3. Collez ces lignes dans le code HTML de votre page (bloc « HTML » "
                 "ou « code source »).\n"
                 "     Ou relancez la commande avec --embed-url et l’adresse de la carte "
                 "publiée : l’extrait sera prêt à coller.\n")
    return (f"<!-- Carte « {html_text(title)} » à intégrer dans une page web.\n{steps}-->\n"
            f'<iframe src="{html_text(url)}" title="{html_text(title)}" '
            f'width="{html_text(width)}" height="{int(height)}" style="border:0" '
            f'loading="lazy" allowfullscreen></iframe>\n'
            f'<p><a href="{html_text(text_version)}">Données de la carte « '
            f'{html_text(title)} » (version texte)</a></p>\n')


# --------------------------------------------------------------------------- elements


class _Raw(Element):
    """Text added to the page as it is (no template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


class _Inert(MacroElement):
    """Our elements: their macros are rendered once, from our own templates, and their
    output is added to the page as raw text. (branca would compile each output as a new
    Jinja template, so a ``{{`` in user data would be evaluated, and megabytes of page data
    would be lexed for nothing.)"""

    def payload(self, key: str, value) -> str:
        """Put ``value`` in the page as a JSON data block; return the JavaScript expression
        that reads it. (A browser parses JSON far faster than the same data written as
        JavaScript, and starts running the page's scripts sooner.)"""
        self.__dict__.setdefault("_payload", {})[key] = _js(value)
        return f'window.essqpv.data("{self.get_name()}-{key}")'

    def render(self, **kwargs) -> None:
        figure = self.get_root()
        for key, text in self.__dict__.get("_payload", {}).items():
            figure.html.add_child(_Raw(f'<script type="application/json" '
                                       f'id="{self.get_name()}-{key}">{text}</script>'),
                                  name=f"{self.get_name()}-{key}")
        macros = self._template.module.__dict__
        for part in ("header", "html", "script"):
            if part in macros:
                getattr(figure, part).add_child(_Raw(macros[part](self, kwargs)),
                                                name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class _Css(_Inert):
    _template = Template("{% macro header(this, kwargs) %}<style>{{ this.css }}</style>"
                         "{% endmacro %}")

    def __init__(self, css: str) -> None:
        super().__init__()
        self._name = "EssQpvCss"
        self.css = css


class _Script(_Inert):
    """Our own JavaScript, placed in the page header before the layers use it."""

    _template = Template("{% macro header(this, kwargs) %}<script>{{ this.code }}</script>"
                         "{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "EssQpvScript"
        self.code = code


class QpvLayer(Layer, _Inert):
    """QPV polygons with a tooltip and a popup card."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON(window.essqpv.features({{ this.data }}), {
  style: function (feature) {
    var style = {{ this.style }};
    if (feature.properties.fill) {  // a choropleth: each quartier its class's colour
      style.fillColor = feature.properties.fill;
      style.fillOpacity = 0.85;
    }
    return style;
  },
  onEachFeature: function (feature, layer) {
    var p = feature.properties;
    window.essqpv.index.push({label: p.nom_qp + " (" + p.code_qp + ") – QPV " + p.generation,
                              kind: "qpv", code: p.code_qp, layer: "{{ this.get_name() }}"});
    layer.bindTooltip(window.essqpv.el("span", "", p.nom_qp + " · " + p.code_qp +
                      (p.communes ? " · " + p.communes : "")), {sticky: true});
    layer.bindPopup(new window.essqpv.Popup({}, layer).setContent(function () {
      return window.essqpv.qpvCard(p);
    }));
    // Hundreds of shapes must not stand in the keyboard's way to the initiatives: a
    // quartier is reached by the search box (which opens its card) and the table.
    layer.on("add", function () {
      var el = layer.getElement();
      if (el) { el.setAttribute("tabindex", "-1"); el.setAttribute("aria-hidden", "true"); }
    });
  }
}).addTo({{ this._parent.get_name() }});
{% endmacro %}""")

    def __init__(self, features: list, style: dict, name: str, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "QpvLayer"
        self.data = self.payload("data", features)
        self.style = _js(style)


class BandLayer(Layer, _Inert):
    """A non-interactive area (the proximity band)."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON(window.essqpv.features({{ this.data }}), {
  style: {{ this.style }},
  interactive: false,
  // a picture, not something to point at: one canvas instead of a thousand SVG paths
  renderer: L.canvas({padding: 0.5})}).addTo({{ this._parent.get_name() }});
{% endmacro %}""")

    def __init__(self, geometry: gpd.GeoSeries, name: str, show: bool = False) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "BandLayer"
        self.data = self.payload("data", _packed([{}] * len(geometry), geometry.values))
        self.style = _js(BAND_STYLE)


class ContextLayer(Layer, _Inert):
    """Département and commune outlines with their names (IGN ADMIN EXPRESS), under the
    quartiers: the map says where it is without tiles; discreet over a base map."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = window.essqpv.context({{ this._parent.get_name() }},
                                                  {{ this.deps }}, {{ this.communes }});
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}""")

    def __init__(self, bounds: tuple[float, float, float, float],
                 sites: gpd.GeoSeries | None = None) -> None:
        super().__init__(name="Départements et communes (repères)", overlay=True,
                         control=True, show=True)
        self._name = "ContextLayer"
        from ..outlines import context

        deps, communes = context(bounds)
        self.deps = self.payload("deps", _places(deps, sites))
        self.communes = self.payload("communes", _places(communes, sites))


def _places(frame: gpd.GeoDataFrame, sites: gpd.GeoSeries | None = None) -> list:
    """Outlines with a name and a label point, packed for the page, the most important
    first (the page names them in this order where they don't overlap): those holding the
    most ``sites``, then the largest."""
    held = np.zeros(len(frame))
    if sites is not None and len(sites):
        _, which = shapely.STRtree(frame.geometry.values).query(
            sites.to_numpy(), predicate="within")
        held = np.bincount(which, minlength=len(frame))
    # areas in squared degrees: only their order matters here
    order = np.lexsort((-shapely.area(frame.geometry.values), -held))
    frame = frame.iloc[order]
    props = [{"n": n, "p": [round(y, 5), round(x, 5)]}
             for n, x, y in zip(frame["nom"], frame["label_x"], frame["label_y"], strict=True)]
    return _packed(props, frame.geometry.values)


#: Above this many sites, markers are aggregated per screen cell in the page (no Leaflet
#: object per site) instead of clustered by Leaflet.markercluster.
AGGREGATE_ABOVE = 5_000


class SitesLayer(JSCSSMixin, Layer, _Inert):
    """The sites of one theme, as SVG markers: clustered (markercluster), aggregated per
    screen cell (big files), or each on its own."""

    default_js = [("markerclusterjs", _MARKERCLUSTER + "leaflet.markercluster.js")]
    default_css = [("markerclustercss", _MARKERCLUSTER + "MarkerCluster.css"),
                   ("markerclusterdefaultcss", _MARKERCLUSTER + "MarkerCluster.Default.css")]
    _template = Template("""
{% macro script(this, kwargs) %}
{% if this.aggregate %}
var {{ this.get_name() }} = window.essqpv.gridLayer("{{ this.get_name() }}", {{ this.sites }},
                                                   {{ this.theme }}, {{ this.svg }},
                                                   {{ this.color_js }});
{% else %}
var {{ this.get_name() }} = {% if this.cluster %}L.markerClusterGroup({
  showCoverageOnHover: false, maxClusterRadius: 45, spiderfyOnMaxZoom: true,
  chunkedLoading: true,
  iconCreateFunction: function (c) {
    return window.essqpv.clusterIcon(c.getChildCount(), {{ this.color_js }}, {{ this.theme }},
                                     c);
  }}){% else %}L.featureGroup(){% endif %};
window.essqpv.addSites({{ this.get_name() }}, "{{ this.get_name() }}", {{ this.sites }},
                       {{ this.theme }}, {{ this.svg }});
{% endif %}
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}""")

    def __init__(self, sites: dict, theme: str, style: ThemeStyle, name: str,
                 cluster: bool = True, aggregate: bool = False) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "SitesLayer"
        self.sites = self.payload("sites", sites)
        self.theme = _js(theme if theme != NO_THEME else "")
        self.svg = _js(marker_svg(style))
        self.color_js = _js(style.color)
        self.cluster = cluster
        self.aggregate = aggregate
        if aggregate or not cluster:
            self.default_js, self.default_css = [], []


class LinksLayer(Layer, _Inert):
    """Dashed lines joining the sites of each multi-site initiative."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.featureGroup();
{{ this.lines }}.forEach(function (line) {
  L.polyline(line, {color: "#555", weight: 2, dashArray: "4 6", opacity: 0.8,
                    interactive: false}).addTo({{ this.get_name() }});
});
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}""")

    def __init__(self, lines: list[list[list[float]]], name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "LinksLayer"
        self.lines = self.payload("lines", lines)


class _PageData(_Inert):
    """Data every part of the page shares: QPV names by code (popups, table) and the sites
    that could not be placed (listed in the table as such)."""

    _template = Template("""
{% macro script(this, kwargs) %}
window.essqpv.names = {{ this.names }};
window.essqpv.unlocated = {{ this.unlocated }};
window.essqpv.years = {{ this.years }};
window.essqpv.hasValues = {{ this.has_values }};
{% endmacro %}""")

    def __init__(self, names: dict[str, str], unlocated: list[dict],
                 years: list[int] | None = None, has_values: bool = False) -> None:
        super().__init__()
        self._name = "EssQpvData"
        self.has_values = _js(bool(has_values))
        self.names = self.payload("names", names)
        self.unlocated = self.payload("unlocated", unlocated)
        self.years = self.payload("years", years or [])


#: Width in CSS pixels up to which a screen is small (a phone): the legend starts folded
#: and the title is compact (``map.css`` says the same width).
SMALL_SCREEN = 600


class _Box(_Inert):
    """A fixed HTML box on the map (title or legend); ``content`` is trusted, escaped HTML."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var box = L.control({position: "{{ this.position }}"});
  box.onAdd = function () {
    var div = L.DomUtil.create("div", "{{ this.css_class }}"), body = div;
    {% if this.foldable %}
    // Folded behind its button on a small screen (a phone: the map first), open otherwise.
    var button = L.DomUtil.create("button", "essqpv-fold", div);
    button.type = "button";
    button.textContent = {{ this.foldable }};
    body = L.DomUtil.create("div", "essqpv-fold-body", div);
    body.id = "{{ this.get_name() }}-body";
    button.setAttribute("aria-controls", body.id);
    var fold = function (open) {
      body.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
      div.classList.toggle("essqpv-folded", !open);
    };
    fold(!window.matchMedia("(max-width: {{ this.small_screen }}px)").matches);
    L.DomEvent.on(button, "click", function () { fold(body.hidden); });
    {% endif %}
    body.innerHTML = {{ this.content }};
    {% if this.decorative %}div.setAttribute("aria-hidden", "true");{% endif %}
    {% if this.region %}
    // A box that may scroll: reachable with the keyboard, and named.
    body.setAttribute("tabindex", "0");
    body.setAttribute("role", "region");
    body.setAttribute("aria-label", {{ this.region }});
    {% endif %}
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  box.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}""")

    def __init__(self, content_html: str, position: str, css_class: str,
                 decorative: bool = False, region: str | None = None,
                 foldable: str | None = None) -> None:
        super().__init__()
        self._name = "EssQpvBox"
        #: The label of a button that folds the box (folded at opening on small screens).
        self.foldable = _js(foldable) if foldable else None
        self.small_screen = SMALL_SCREEN
        self.decorative = decorative  # repeats what the page says elsewhere (the <h1>)
        self.region = _js(region) if region else None
        self.content = _js(content_html)
        self.position = position
        self.css_class = css_class


class _Sources(_Inert):
    """The source line, in front of the base map's own attribution."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.attributionControl.setPrefix({{ this.prefix }});
{% endmacro %}""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "EssQpvSources"
        self.prefix = _js('<a href="https://leafletjs.com">Leaflet</a> | '
                          + html.escape(SOURCES_LINE))


class _Fit(_Inert):
    """The initial view, fitted again while the reader has not moved the map when the map
    was drawn before it had its size (a page in an ``<iframe>`` laid out late gets a zero
    size first, hence the whole world at zoom 0)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }}, bounds = {{ this.bounds }}, moved = false;
  function fit() { if (!moved) { map.fitBounds(bounds); } }
  function touch() { moved = true; }
  ["mousedown", "wheel", "keydown", "touchstart"].forEach(function (e) {
    map.getContainer().addEventListener(e, touch, {passive: true});
  });
  map.on("popupopen", touch);
  map.on("resize", fit);
  window.addEventListener("load", function () { map.invalidateSize(); fit(); });
  fit();
})();
{% endmacro %}""")

    def __init__(self, bounds: list) -> None:
        super().__init__()
        self._name = "EssQpvFit"
        self.bounds = _js(bounds)


class _Controls(_Inert):
    """Search, full screen and minimap (our own small controls)."""

    def __init__(self, layer_names: list[str], minimap_tiles: str | None) -> None:
        super().__init__()
        self._name = "EssQpvControls"
        self._template = Template("{% macro script(this, kwargs) %}"
                                  + _template("controls.js") + "{% endmacro %}")
        self.layer_names = layer_names
        self.minimap_tiles = minimap_tiles
        self.minimap_tiles_js = _js(minimap_tiles)


# --------------------------------------------------------------------------- the page


_FoliumTemplate = type(folium.Map._template)

#: The whole document: French, titled, script inside the body.
_DOCUMENT = Template(
    '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<title>{{ this.title }}</title>\n'
    "{{ this.header.render(**kwargs) }}\n</head>\n<body>\n{{ this.html.render(**kwargs) }}\n"
    "<script>\n{{ this.script.render(**kwargs) }}\n</script>\n</body>\n</html>\n")


class EssMap(folium.Map, _Inert):
    """folium's map in our own page (``templates/page.html``): ``lang="fr"``, a title, zoom
    allowed, a skip link, and the « Données de la carte » table that JavaScript fills from
    the same data as the markers. ``title`` is user text, written inert."""

    _template = _FoliumTemplate(_template("page.html"))

    def __init__(self, *, title: str, map_height: str = "82vh", table_html: str = "",
                 map_label: str = "Carte interactive : initiatives et quartiers prioritaires "
                                  "(le tableau qui suit en donne le contenu)",
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.page_title = html_text(title)
        self.table_html = table_html  # trusted, escaped HTML, in place of the sites' table
        #: The first rows of the sites' table and its caption (trusted, escaped HTML), and
        #: the self-contained page's file name, named when the libraries don't load.
        self.static_rows, self.static_caption, self.offline_name = "", "", ""
        self.map_label = html_text(map_label)
        self.credits = html_text(SOURCES_LINE + " ; fonds : IGN – ADMIN EXPRESS COG 2018")
        self.map_height = map_height
        #: Headers of the table's optional columns (years, indicators): our own words.
        self.extra_columns: list[str] = []
        root = self.get_root()
        root._template = _DOCUMENT
        root.title = self.page_title


# --------------------------------------------------------------------------- the map


def _new_map(title: str, *, basemaps=BASEMAPS, **page) -> EssMap:
    """Our page with Leaflet only (our markers are SVG, our popups plain DOM: no Bootstrap,
    no fonts), its base maps (a layer control chooses when there are several), our style
    sheet and scripts."""
    fmap = EssMap(title=title, tiles=None, max_zoom=19, zoom_start=6, location=[46.6, 2.4],
                  **page)
    fmap.default_js = [js for js in fmap.default_js if js[0] == "leaflet"]
    fmap.default_css = [css for css in fmap.default_css if css[0] == "leaflet_css"]
    for i, (label, provider) in enumerate(basemaps):
        folium.TileLayer(tiles=provider.build_url(), attr=provider.html_attribution, name=label,
                         max_zoom=19, max_native_zoom=provider.get("max_zoom", 19),
                         show=i == 0, overlay=False, control=len(basemaps) > 1).add_to(fmap)
    fmap.get_root().add_child(_Css(_template("map.css")))
    fmap.get_root().add_child(_Script(_template("layers.js")
                                      + f"\nwindow.essqpv.RELATIONS = {_js(_TABLE_RELATIONS)};"
                                      + f"\nwindow.essqpv.UNCERTAIN = {_js(_UNCERTAIN)};"))
    return fmap


@dataclass(frozen=True)
class SiteColumns:
    """The columns of the sites table a map reads: the theme (legend), the name, address
    and website (popups, table), the initiative identifier (links between its sites) and
    the commune (table). :meth:`of` takes them from the detection's ``Columns``."""

    theme: str | None = None
    name: str | None = None
    address: tuple[str, ...] = ()
    website: str | None = None
    id: str | None = None
    city: str | None = None

    @classmethod
    def of(cls, source: object = None, **loose: str | list[str] | None) -> SiteColumns:
        """The columns from ``source`` (a ``SiteColumns``, the detection's ``Columns`` or
        the ``Initiatives`` carrying them), with the options of :func:`make_map` named by
        column (``theme_column="thème"``, ``address_columns=[...]``) over them."""
        unknown = set(loose) - set(_LOOSE)
        if unknown:
            raise TypeError(f"make_map() got unexpected options {sorted(unknown)}")
        if isinstance(source, SiteColumns):
            found = {f.name: getattr(source, f.name) for f in fields(cls)}
        else:
            columns = getattr(source, "columns", source)
            found = {f.name: getattr(columns, f.name, None) for f in fields(cls)}
        found.update({_LOOSE[k]: v for k, v in loose.items() if v is not None})
        found["address"] = tuple(found["address"] or ())
        return cls(**found)


#: The options of :func:`make_map` named by column, and their field of :class:`SiteColumns`.
_LOOSE = {"theme_column": "theme", "name_column": "name", "address_columns": "address",
          "website_column": "website", "id_column": "id", "city_column": "city"}


@dataclass(frozen=True)
class _QpvDrawn:
    """A QPV layer on the map, as the legend and the controls name it."""

    layer: QpvLayer
    generation: str
    style: dict


@dataclass(frozen=True)
class _SitesDrawn:
    """What the site layers drew, as the legend says it."""

    styles: dict[str, ThemeStyle]
    themes_of: pd.Series
    links: bool
    sizes: tuple[str, pd.Series] | None


def make_map(
    result: LinkResult,
    qpv: gpd.GeoDataFrame,
    *,
    columns: object = None,
    previous: gpd.GeoDataFrame | None = None,
    title: str = DEFAULT_TITLE,
    subtitle: str | None = None,
    cluster: bool = True,
    distance: float | None = None,
    key_figures: pd.DataFrame | None = None,
    minimap: bool = True,
    bounds: tuple[float, float, float, float] | None = None,
    provenance: dict | None = None,
    aggregate_above: int = AGGREGATE_ABOVE,
    measures: Measures | None = None,
    size_by: str | None = None,
    **column_options: str | list[str] | None,
) -> folium.Map:
    """Build the interactive map of linked initiatives and their quartiers.

    Parameters
    ----------
    result
        Output of :func:`geo.link.link` (its ``sites`` table drives the markers).
    qpv
        QPV to draw (EPSG:4326), already focused on the territory of the map.
    columns
        Columns of ``result.sites`` for the legend, popups, the table and the links between
        sites: the ``Initiatives`` read (their detected ``Columns``), the ``Columns`` or a
        :class:`SiteColumns`. ``theme_column``, ``name_column``, ``address_columns``,
        ``website_column``, ``id_column`` and ``city_column`` name one each, over them
        (the commune column is found by name when not given).
    previous
        Another generation to draw as dashed outlines (e.g. QPV 2015), off by default.
    cluster
        Group nearby markers into clusters (per theme).
    aggregate_above
        With more located sites than this, clusters are made in the page per screen cell
        from compact arrays (fast for hundreds of thousands of sites) rather than by
        Leaflet.markercluster.
    distance
        Width in metres of the proximity band layer (0: no band); default: the distance
        ``result`` was linked with.
    key_figures
        Table indexed by ``code_qp`` whose ``pop_mun`` is shown in QPV popups.
    bounds
        Initial view, min lon, min lat, max lon, max lat (EPSG:4326); default: the sites.
    provenance
        Tool version, QPV source and parameters, recorded in the page's ``<meta>`` tags.
    measures
        Indicators and years of each site (:attr:`geo.initiatives.Initiatives.measures`):
        the indicators go in the popups and the table; years add a control « Année » that
        shows the sites open that year.
    size_by
        An indicator of ``measures`` that sizes the markers (proportional symbols: the
        area follows the value; no clustering).
    """
    cols = SiteColumns.of(columns, **column_options)
    if not cols.city:
        cols = replace(cols, city=find_column([str(c) for c in result.sites.columns], "city"))
    distance = result.distance if distance is None else distance
    located = result.sites[result.sites.geometry.notna()]
    fmap = _base_map(title, qpv, located, bounds)
    names, qpv_drawn = _add_qpv_layers(fmap, result, qpv, previous, key_figures, distance)
    sites_drawn = _add_site_layers(fmap, result, names, cols, measures=measures,
                                   size_by=size_by, cluster=cluster,
                                   aggregate_above=aggregate_above)
    _add_furniture(fmap, result, qpv, title=title, subtitle=subtitle, qpv_drawn=qpv_drawn,
                   sites_drawn=sites_drawn, distance=distance, minimap=minimap,
                   provenance=provenance, bounds=bounds)
    return fmap


def _base_map(title: str, qpv: gpd.GeoDataFrame, located: gpd.GeoDataFrame,
              bounds: tuple | None) -> EssMap:
    """The page and its base maps, with the places around the view (departments,
    communes)."""
    fmap = _new_map(title)
    view = bounds or (located if len(located) else qpv).total_bounds
    if np.isfinite(view).all():
        ContextLayer(tuple(view), located.geometry).add_to(fmap)
    return fmap


def _add_qpv_layers(fmap: EssMap, result: LinkResult, qpv: gpd.GeoDataFrame,
                    previous: gpd.GeoDataFrame | None, key_figures: pd.DataFrame | None,
                    distance: float) -> tuple[dict[str, str], list[_QpvDrawn]]:
    """The quartiers (each generation in its declared style) and the proximity band;
    return the name of every quartier a site relates to, and the layers drawn."""
    # Names of every quartier a site relates to (some lie outside the territory drawn).
    names = dict(zip(result.long["code_qp"], result.long["nom_qp"], strict=True))
    names.update(zip(qpv["code_qp"], qpv["nom_qp"], strict=True))
    counts = result.per_qpv.set_index("code_qp") if len(result.per_qpv) else None
    generation = ", ".join(sorted(set(qpv["generation"]))) or "?"
    style = qpv_style(generation)
    layer = QpvLayer(_qpv_features(qpv, counts, key_figures), style,
                     name=html_text(f"Quartiers prioritaires {generation}"))
    layer.add_to(fmap)
    drawn = [_QpvDrawn(layer, generation, style)]
    if previous is not None and len(previous):
        older = ", ".join(sorted(set(previous["generation"]))) or "précédents"
        names.update({c: n for c, n in zip(previous["code_qp"], previous["nom_qp"], strict=True)
                      if c not in names})
        style = qpv_style(older, previous=True)
        layer = QpvLayer(_qpv_features(previous, None, key_figures), style,
                         name=html_text(f"Quartiers prioritaires {older}"), show=False)
        layer.add_to(fmap)
        drawn.append(_QpvDrawn(layer, older, style))
    if distance > 0 and len(qpv):
        BandLayer(proximity_band(qpv, distance),
                  name=f"Bande de {distance:g} m autour des quartiers").add_to(fmap)
    return names, drawn


def _add_site_layers(fmap: EssMap, result: LinkResult, names: dict[str, str],
                     cols: SiteColumns, *, measures: Measures | None, size_by: str | None,
                     cluster: bool, aggregate_above: int) -> _SitesDrawn:
    """The sites, one layer per theme, the links between an initiative's sites, and the
    page's data table (the sites without a point too)."""
    sites = result.sites
    located = sites[sites.geometry.notna()]
    themes_of, styles = site_themes(located, cols.theme)
    years = measures.years_shown() if measures is not None else []
    unlocated = _unlocated_records(sites, cols)
    if measures is not None and unlocated:
        where = np.flatnonzero(sites.geometry.isna().to_numpy())
        extra = _measure_records(where, measures)
        for k, record in enumerate(unlocated):
            record.update(extra.get(k, {}))
    has_values = measures is not None and bool(measures.columns)
    _PageData(names, unlocated, years, has_values).add_to(fmap)
    fmap.extra_columns = (["Années"] if years else []) + (["Indicateurs"] if has_values
                                                           else [])
    records = _site_records(result, located, cols)
    fmap.static_rows, fmap.static_caption = _static_rows(sites, names, cols, measures)
    sizes = symbol_sizes(measures.values[size_by]) if measures is not None and size_by \
        else None
    _add_measures(records, located.index.to_numpy(), measures, sizes)
    if sizes is not None:
        cluster = False  # proportional symbols are read one by one
    for theme in styles:
        members = _subset(records, np.flatnonzero((themes_of == theme).to_numpy()))
        # Leaflet's layer control shows names as HTML: escape the user's theme.
        SitesLayer(members, theme, styles[theme],
                   name=html_text(f"{theme} ({len(members['i'])})"), cluster=cluster,
                   aggregate=cluster and len(located) > aggregate_above).add_to(fmap)
    lines = _links_between_sites(located, cols.id)
    if lines:
        LinksLayer(lines, name="Liens entre les sites d'une même initiative").add_to(fmap)
    return _SitesDrawn(styles, themes_of, bool(lines),
                       (indicator_label(measures, size_by), measures.values[size_by])
                       if sizes is not None else None)


def _add_furniture(fmap: EssMap, result: LinkResult, qpv: gpd.GeoDataFrame, *, title: str,
                   subtitle: str | None, qpv_drawn: list[_QpvDrawn], sites_drawn: _SitesDrawn,
                   distance: float, minimap: bool, provenance: dict | None,
                   bounds: tuple | None) -> None:
    """Title, legend, layer control, our controls, sources, provenance and the opening
    view."""
    sites = result.sites
    located = sites[sites.geometry.notna()]
    not_located = int((sites.geometry.isna()).sum())
    _Box(_title_html(title, subtitle, not_located), "topright", "essqpv-title",
         decorative=True).add_to(fmap)
    _Box(_legend_html(sites_drawn.styles, sites_drawn.themes_of, qpv_drawn, distance,
                      links=sites_drawn.links, sizes=sites_drawn.sizes),
         "bottomleft", "essqpv-legend", region="Légende de la carte",
         foldable="Légende").add_to(fmap)
    folium.LayerControl(collapsed=True, position="topright").add_to(fmap)
    _Controls([drawn.layer.get_name() for drawn in qpv_drawn],
              BASEMAPS[0][1].build_url() if minimap else None).add_to(fmap)
    _Sources().add_to(fmap)
    if provenance:
        fmap.get_root().header.add_child(Element(
            f'<meta name="generator" content="{html_text(provenance.get("outil", ""))}">'
            f'<meta name="ess-qpv-provenance" content="'
            f'{html_text(json.dumps(provenance, ensure_ascii=False))}">'),
            name="essqpv_provenance")
    _fit(fmap, bounds or _opening_view(located) or qpv.total_bounds)


def _opening_view(located: gpd.GeoDataFrame) -> tuple | None:
    """Where the map opens: the sites of the territory that holds most of them (France
    seen whole with its names, not the world because a few sites lie overseas: those are
    one search, one table row or a zoom out away)."""
    if not len(located):
        return None
    x, y = located.geometry.x.to_numpy(), located.geometry.y.to_numpy()
    keys = territory_of_points(x, y)
    main = keys.value_counts()
    if len(main) < 2:
        return tuple(located.total_bounds)
    mine = (keys == main.index[0]).to_numpy()
    return (x[mine].min(), y[mine].min(), x[mine].max(), y[mine].max())


#: Classes of a choropleth (lower bounds) and their colours, light to dark (0: grey).
CHOROPLETH_BREAKS = [1, 5, 10, 25, 50, 100]
CHOROPLETH_COLOURS = ["#f0f0f0", "#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02",
                      "#8c2d04"]


def choropleth_map(qpv: gpd.GeoDataFrame, values: pd.Series, *, title: str, what: str,
                   details: pd.Series | None = None) -> folium.Map:
    """A map of the quartiers coloured by ``values`` (a count per ``code_qp``), with its
    legend and, as text alternative, the table of every quartier and its value.
    ``details``: one more line of text per quartier for its card and the table."""
    values = values.reindex(qpv["code_qp"]).fillna(0).astype(int).to_numpy()
    classes = np.searchsorted(CHOROPLETH_BREAKS, values, side="right")
    features = _qpv_features(qpv, None, None)
    extra = details.reindex(qpv["code_qp"]).fillna("").to_numpy() if details is not None \
        else np.full(len(qpv), "")
    of_code = dict(zip(qpv["code_qp"], zip(values, classes, extra, strict=True), strict=True))
    for props, _ in features:
        value, k, line = of_code[props["code_qp"]]
        props["fill"] = CHOROPLETH_COLOURS[k]
        props["counts"] = f"{what} : {value}" + (f" ; {line}" if line else "")
    rows = "".join(
        f"<tr><th scope=\"row\">{html_text(n)}</th><td>{html_text(c)}</td>"
        f"<td>{html_text(str(com).replace(';', ', '))}</td><td>{v}</td>"
        f"<td>{html_text(x)}</td></tr>"
        for n, c, com, v, x in sorted(zip(qpv["nom_qp"], qpv["code_qp"], qpv["communes"],
                                          values, extra, strict=True), key=lambda r: -r[3]))
    table = (f'<table class="essqpv-table"><caption>{html_text(what)}, par quartier '
             f'prioritaire ({len(qpv)} quartiers, du plus au moins nombreux)</caption>'
             '<thead><tr><th scope="col">Quartier</th><th scope="col">Code</th>'
             f'<th scope="col">Commune(s)</th><th scope="col">{html_text(what)}</th>'
             f'<th scope="col">Détail</th></tr></thead><tbody>{rows}</tbody></table>')
    # one base map, one layer: no layer control to learn
    fmap = _new_map(title, basemaps=BASEMAPS[:1], table_html=table,
                    map_label=f"Carte interactive : {what.lower()} par quartier prioritaire "
                              "(le tableau qui suit en donne le contenu)")
    metro = qpv[qpv["insee_dep"].str.len() < 3]
    view = tuple((metro if len(metro) else qpv).total_bounds)
    ContextLayer(view).add_to(fmap)
    QpvLayer(features, {**qpv_style(), "color": "#4d4d4d", "weight": 1},
             name=html_text(what)).add_to(fmap)
    labels = ["0"] + [f"{a} à {b - 1}" for a, b in zip(CHOROPLETH_BREAKS,
                                                       CHOROPLETH_BREAKS[1:], strict=False)]
    labels.append(f"{CHOROPLETH_BREAKS[-1]} et plus")
    legend = "".join(f'<div><span class="essqpv-swatch" style="background:{c};border:1px '
                     f'solid #4d4d4d"></span> {html_text(t)}</div>'
                     for c, t in zip(CHOROPLETH_COLOURS, labels, strict=True))
    _Box(f"<strong>{html_text(what)}</strong>{legend}", "bottomleft", "essqpv-legend",
         region="Légende de la carte", foldable="Légende").add_to(fmap)
    _Box(f"<strong>{html_text(title)}</strong>", "topright", "essqpv-title",
         decorative=True).add_to(fmap)
    _Sources().add_to(fmap)
    _fit(fmap, view)
    return fmap


def _fit(fmap: folium.Map, bounds) -> None:
    x0, y0, x1, y1 = bounds
    if not np.isfinite([x0, y0, x1, y1]).all():
        return
    pad = 0.005
    _Fit([[y0 - pad, x0 - pad], [y1 + pad, x1 + pad]]).add_to(fmap)


#: How a quartier's popup counts its initiatives (« 3 implantées, 2 à proximité »).
_IMPLANTED, _NEARBY = Relation.IMPLANTED.label, Relation.NEARBY.label


def _qpv_features(qpv: gpd.GeoDataFrame, counts: pd.DataFrame | None,
                  key_figures: pd.DataFrame | None) -> list:
    codes = qpv["code_qp"]
    population = (key_figures["pop_mun"].reindex(codes) if key_figures is not None
                  and "pop_mun" in key_figures else pd.Series(np.nan, index=codes))
    if counts is not None:
        counts = counts[["n_implanted", "n_nearby", "n_served"]].reindex(codes)
    props = []
    for k, (code, name, communes, generation) in enumerate(zip(
            codes, qpv["nom_qp"], qpv["communes"], qpv["generation"], strict=True)):
        p = {"code_qp": code, "nom_qp": name, "communes": communes.replace(";", ", "),
             "generation": generation}
        pop = population.iat[k]
        if pd.notna(pop):
            p["figures"] = [["Population (INSEE)", f"{int(pop):,}".replace(",", "\u202f")
                             + " habitants"]]
        if counts is not None and pd.notna(counts.iat[k, 0]):
            n = counts.iloc[k].astype(int)
            p["counts"] = (f"Initiatives\u00a0: {plural(n['n_implanted'], _IMPLANTED)}, "
                           f"{number(n['n_nearby'])} {_NEARBY}, {number(n['n_served'])} "
                           "y intervenant")
        props.append(p)
    return _packed(props, compact_polygons(qpv))


def _text(row, column: str | None) -> str:
    return str(row[column]).strip() if column and pd.notna(row[column]) else ""


def _unlocated_records(sites: gpd.GeoDataFrame, cols: SiteColumns) -> list[dict]:
    """The sites without a point, for the table: name, theme, commune and why."""
    records = []
    for i, row in sites[sites.geometry.isna()].iterrows():
        record = {"n": _text(row, cols.name) or f"Site {i + 1}",
                  "t": _text(row, cols.theme), "c": _text(row, cols.city),
                  "why": str(row.get("note_localisation", "") or "")}
        records.append({k: v for k, v in record.items() if v})
    return records


#: Rows of the data table written in the page itself (read without scripts; the page's
#: script replaces them with the full, filtered table).
STATIC_ROWS = 500
#: A site's relation in words, as every table says it (the page's script gets the same,
#: see :func:`_new_map`).
_TABLE_RELATIONS = {str(r): r.label for r in Relation}
#: How the page says a site at an uncertain boundary: beside its relation, and in its popup.
_UNCERTAIN = {"short": UNCERTAIN_SHORT, "sentence": UNCERTAIN_SENTENCE}


def _uncertain(sites: pd.DataFrame) -> np.ndarray:
    """Whether each site is at an uncertain boundary (``boundary_uncertain``)."""
    if "boundary_uncertain" not in sites:
        return np.zeros(len(sites), dtype=bool)
    return (sites["boundary_uncertain"] == "oui").to_numpy()


def _static_rows(sites: gpd.GeoDataFrame, names: dict, cols: SiteColumns,
                 measures: Measures | None) -> tuple[str, str]:
    """The first :data:`STATIC_ROWS` sites of the data table as escaped HTML rows, and
    the table's caption: what a reader gets when the map's scripts cannot run."""

    def quartier(code: str) -> str:
        return f"« {names[code]} » ({code})" if code in names else code

    def metres(d) -> str:
        return "" if pd.isna(d) else metres_text(d)

    located = sites.geometry.notna().to_numpy()
    order = np.concatenate([np.flatnonzero(located), np.flatnonzero(~located)])
    shown = order[:STATIC_ROWS]
    extra = _measure_records(shown, measures) if measures is not None else {}
    columns = (1 if measures is not None and measures.years_shown() else 0) + \
        (1 if measures is not None and measures.columns else 0)
    uncertain = _uncertain(sites)
    rows = []
    for k, i in enumerate(shown):
        site = sites.iloc[i]
        relation = site["relation"]
        if relation == Relation.IMPLANTED:
            where = ", ".join(quartier(c) for c in str(site["code_qp"]).split(";") if c)
            distance = "dans le quartier"
        elif relation == Relation.NEARBY:
            where = ", ".join(quartier(c) for c in str(site["qpv_nearby"]).split(";") if c)
            distance = metres(site["distance_m"])
        elif relation == Relation.NONE:
            where = f"le plus proche : {quartier(site['nearest_code_qp'])}" \
                if site["nearest_code_qp"] else ""
            distance = metres(site["distance_m"])
        else:
            where, distance = str(site.get("note_localisation", "") or ""), ""
        cells = [_text(site, cols.theme) or NO_THEME, _text(site, cols.city), where,
                 _TABLE_RELATIONS.get(relation, relation)
                 + (f" ({UNCERTAIN_SHORT})" if uncertain[i] else ""), distance]
        record = extra.get(k, {})
        if columns == 2 or (columns == 1 and measures.years_shown()):
            cells.append(_years_text(record.get("yr")))
        if columns == 2 or (columns == 1 and measures.columns):
            cells.append(" ; ".join(f"{a}\u00a0: {b}" for a, b in record.get("v", [])))
        cells.append("" if located[i] else "absente de la carte")
        name = _text(site, cols.name) or f"Site {i + 1}"
        rows.append(f'<tr><th scope="row">{html_text(name)}</th>'
                    + "".join(f"<td>{html_text(c)}</td>" for c in cells) + "</tr>")
    caption = (f"Initiatives de la carte\u00a0: {plural(int(located.sum()), 'site localisé')}"
               + (f", {number(int((~located).sum()))} "
                  f"{plural_form(int((~located).sum()), 'non localisé')} en fin de liste"
                  if (~located).any() else "")
               + (f"\u202f; les {STATIC_ROWS} premières lignes" if len(sites) > STATIC_ROWS
                  else "")
               + ".")
    return "\n".join(rows), html_text(caption)


def _years_text(years) -> str:
    """The years of a site as the table says them (the page's script says the same)."""
    if not years:
        return ""
    a, b = years
    if a is not None and b is not None:
        return f"Ouvert de {a} à {b}"
    return f"Ouvert depuis {a}" if a is not None else f"Fermé en {b}"


def _column_text(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    """A column as stripped text ("" for missing or absent)."""
    if not column:
        return np.full(len(frame), "", dtype=object)
    values = frame[column].astype(object)
    return values.where(values.notna(), "").astype(str).str.strip().to_numpy()


def _codes(values: np.ndarray) -> list[list[str]]:
    return [[c for c in v.split(";") if c] if v else [] for v in values]


def _site_records(result: LinkResult, located: gpd.GeoDataFrame, cols: SiteColumns) -> dict:
    """The located sites for the page's JSON, by column: dense arrays for what every site
    has, ``[[position, value], ...]`` for what few have (``essqpv.addSites`` rebuilds one
    object per site). 200 000 sites in well under a second."""
    index = located.index.to_numpy()
    names = _column_text(located, cols.name)
    names = np.where(names == "", np.char.add("Site ", (index + 1).astype(str)), names)
    distance = located["distance_m"].to_numpy(dtype=float, na_value=np.nan)
    relation, relations = pd.factorize(located["relation"].astype(str))
    nearest, nearest_codes = pd.factorize(located["nearest_code_qp"].astype(str))
    columns = {  # repeated values as positions in a small table ("rv", "nqv")
        "i": index.tolist(),  # written as differences by _subset (ascending, small)
        "x": np.round(located.geometry.x.to_numpy(), 5).tolist(),  # 1e-5 degree: ~1 m
        "y": np.round(located.geometry.y.to_numpy(), 5).tolist(),
        "n": names.tolist(),
        "rv": relations.tolist(), "r": relation.tolist(),
        "nqv": nearest_codes.tolist(), "nq": nearest.tolist(),
        "d": [None if np.isnan(v) else int(v) for v in distance],
    }
    position = {int(i): k for k, i in enumerate(index)}
    near = result.long[result.long["relation"] == Relation.NEARBY]
    nearby: dict[int, list] = {}
    for site, code, d in zip(near["_site"].to_numpy(), near["code_qp"].to_numpy(),
                             near["distance_m"].to_numpy(), strict=True):
        if int(site) in position:
            nearby.setdefault(position[int(site)], []).append([code, int(d)])
    addresses = [join_address(parts) for parts in zip(*(
        _column_text(located, c) for c in cols.address), strict=True)] \
        if cols.address else []
    sparse = {
        "q": _codes(located["code_qp"].to_numpy()),
        "s": _codes(located["qpv_served"].to_numpy()),
        "a": addresses,
        "w": [safe_url(w) for w in _column_text(located, cols.website)]
        if cols.website else [],
        "c": _column_text(located, cols.city).tolist() if cols.city else [],
        "u": _uncertain(located).astype(int).tolist(),
    }
    columns["opt"] = {key: [[k, v] for k, v in enumerate(values) if v]
                      for key, values in sparse.items()}
    columns["opt"]["nb"] = sorted(nearby.items())
    if cols.id:
        ids = pd.Series(_column_text(located, cols.id))
        total = ids.map(ids.value_counts()).to_numpy()
        rank = ids.groupby(ids).cumcount().to_numpy() + 1
        several = np.flatnonzero(total > 1)
        columns["opt"]["ik"] = [[int(k), [int(rank[k]), int(total[k])]] for k in several]
    return columns


def _subset(columns: dict, positions: np.ndarray) -> dict:
    """The columnar records of the sites at ``positions`` (renumbered from 0)."""
    out = {key: values if key in ("rv", "nqv") else [values[k] for k in positions]
           for key, values in columns.items() if key != "opt"}
    out["i"] = np.diff(np.asarray(out["i"], dtype=np.int64), prepend=0).tolist()
    new = {int(k): j for j, k in enumerate(positions)}
    out["opt"] = {key: [[new[k], v] for k, v in pairs if k in new]
                  for key, pairs in columns["opt"].items()}
    return out


def _measure_records(positions: np.ndarray, measures: Measures) -> dict[int, dict]:
    """Per position in ``positions``: the indicators as (label, text) and the years."""
    out: dict[int, dict] = {}
    values = measures.values
    for column in measures.columns:
        label = indicator_label(measures, column)
        v = values[column].to_numpy(dtype=float)[positions]
        for k in np.flatnonzero(np.isfinite(v)):
            out.setdefault(int(k), {}).setdefault("v", []).append(
                [label, french_number(v[k])])
    if measures.has_years:
        start = measures.start[positions]
        end = measures.end[positions] if measures.end is not None else np.full(
            len(positions), np.nan)
        for k in np.flatnonzero(np.isfinite(start) | np.isfinite(end)):
            out.setdefault(int(k), {})["yr"] = [
                None if np.isnan(start[k]) else int(start[k]),
                None if np.isnan(end[k]) else int(end[k])]
    return out


def _add_measures(records: dict, positions: np.ndarray, measures: Measures | None,
                  sizes: np.ndarray | None) -> None:
    """Add indicators (``v``), years (``yr``) and symbol sizes (``sz``) to the records."""
    if measures is None:
        return
    extra = _measure_records(positions, measures)
    for key in ("v", "yr"):
        records["opt"][key] = [[k, e[key]] for k, e in sorted(extra.items()) if key in e]
    if sizes is not None:
        records["opt"]["sz"] = [[k, float(sizes[p])] for k, p in enumerate(positions)]


def _links_between_sites(located: gpd.GeoDataFrame, id_column: str | None) -> list:
    """Lines joining the sites of each initiative that has several (in table order): on
    screen a reader follows one to the other sites, however far (the print keeps only the
    short ones, :data:`LINK_MAX`)."""
    if not id_column or not len(located):
        return []
    ids = pd.Series(_column_text(located, id_column))
    shared = ids[ids.duplicated(keep=False)]
    if not len(shared):
        return []
    x = np.round(located.geometry.x.to_numpy(), 6)
    y = np.round(located.geometry.y.to_numpy(), 6)
    rows = shared.index.to_numpy()  # positions in ``located``
    groups = shared.groupby(shared, sort=False).indices.values()
    return [[[float(y[r]), float(x[r])] for r in rows[members]] for members in groups]


def _title_html(title: str, subtitle: str | None, not_located: int) -> str:
    text = html_text(title)
    notes = [html_text(subtitle)] if subtitle else []
    if not_located:
        notes.append(f"{plural(not_located, 'site non localisé')} "
                     f"{'ne figurent' if not_located > 1 else 'ne figure'} pas sur la carte")
    if notes:
        text += "<small>" + " · ".join(notes) + "</small>"
    return text


def _legend_html(styles: dict[str, ThemeStyle], themes_of: pd.Series, qpv_drawn,
                 distance: float, *, links: bool = False,
                 sizes: tuple[str, pd.Series] | None = None) -> str:
    """The legend's content (escaped HTML); ``sizes``: the label and the values of the
    indicator that sizes the symbols."""
    counts = themes_of.value_counts()
    rows = ["<h4>Initiatives par thème</h4>"]
    for theme, style in styles.items():
        rows.append(f"<div>{marker_svg(style, 16)}<span>{html_text(theme)} "
                    f"({counts.get(theme, 0)})</span></div>")
    if themes_of.attrs.get("several") and len(styles) > 1:
        rows.append(f"<div><span>({SEVERAL_THEMES_NOTE})</span></div>")
    if sizes is not None:
        label, values = sizes
        top = pd.to_numeric(values, errors="coerce").max()
        rows.append(f"<h4 style='margin-top:6px'>Taille\u00a0: {html_text(label)}</h4>")
        for value in legend_values(values):
            d = max(SYMBOL_SIZES[1] * np.sqrt(value / top), SYMBOL_SIZES[0])
            rows.append(f"<div><span class='essqpv-size'><svg width='{SYMBOL_SIZES[1]}' "
                        f"height='{d:.0f}' aria-hidden='true'><circle cx='{SYMBOL_SIZES[1] / 2}'"
                        f" cy='{d / 2:.1f}' r='{d / 2 - 1:.1f}' fill='none' stroke='#1a1a1a'/>"
                        f"</svg></span><span>{french_number(value)}</span></div>")
        rows.append("<div><span>plus petit symbole : valeur non renseignée</span></div>")
    rows.append("<h4 style='margin-top:6px'>Quartiers prioritaires</h4>")
    for drawn in qpv_drawn:
        st, gen = drawn.style, drawn.generation
        fill = st.get("fillColor", "transparent") if st.get("fillOpacity") else "transparent"
        dash = "dashed" if st.get("dashArray") else "solid"
        rows.append(f"<div><span class='essqpv-swatch' style='border-color:{st['color']};"
                    f"border-style:{dash};background:{fill}55'></span>"
                    f"<span>QPV {html_text(gen)}</span></div>")
    if distance > 0:
        rows.append(f"<div><span class='essqpv-swatch' style='border-color:#b03a2e;"
                    f"border-style:dotted;background:#f5b7b155'></span>"
                    f"<span>À moins de {distance:g} m d'un QPV</span></div>")
    rows.append("<h4 style='margin-top:6px'>Repères</h4>")
    if links:
        rows.append("<div><span class='essqpv-line' style='border-top:2px dashed #555'>"
                    "</span><span>Sites d'une même initiative</span></div>")
    rows.append("<div><span class='essqpv-line' style='border-top:2px solid #5a5a5a'></span>"
                "<span>Limite de département</span></div>")
    rows.append("<div><span class='essqpv-line' style='border-top:1px dashed #777'></span>"
                "<span>Limite de commune</span></div>")
    return "".join(rows)
