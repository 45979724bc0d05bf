// ess-qpv data layers, built from compact JSON with DOM APIs (user text is never parsed as HTML).
window.essqpv = window.essqpv || {
  markers: {},
  // The markers of each theme's group, by group name (the year filter rebuilds groups).
  groupMarkers: {},
  // The year chosen in the « Année » control (null: every site).
  year: null,
  // Whether a site is shown for the chosen year: opened that year or before, not closed
  // before it; a site whose year is not known shows only when no year is chosen.
  open: function (site) {
    var y = window.essqpv.year;
    if (y === null) { return true; }
    if (!site.yr || site.yr[0] === null) { return false; }
    return site.yr[0] <= y && (site.yr[1] === null || site.yr[1] >= y);
  },
  yearsText: function (site) {
    if (!site.yr) { return ""; }
    var a = site.yr[0], b = site.yr[1];
    if (a !== null && b !== null) { return "Ouvert de " + a + " à " + b; }
    if (a !== null) { return "Ouvert depuis " + a; }
    return "Fermé en " + b;
  },
  // Show, in every theme's group, only the sites open in the chosen year.
  applyYear: function () {
    var E = window.essqpv;
    Object.keys(E.groupMarkers).forEach(function (name) {
      var entry = E.groupMarkers[name], group = entry.group;
      var kept = entry.markers.filter(function (m) { return E.open(m.site); });
      group.clearLayers();
      if (group.addLayers) { group.addLayers(kept); }
      else { kept.forEach(function (m) { group.addLayer(m); }); }
    });
    Object.keys(E.grids).forEach(function (name) { E.grids[name].refresh(); });
  },
  grids: {},
  indicatorsText: function (site) {
    return (site.v || []).map(function (p) { return p[0] + "\u00a0: " + p[1]; })
      .join("\u202f; ");
  },
  // Every located site (records of the layers) and the unlocated ones: the table's rows.
  sites: [],
  unlocated: [],
  // Marker groups still being filled (markercluster adds big groups over several frames).
  pending: 0,
  // Page data: JSON blocks written by geo.write.maps (never run as script, never parsed as HTML).
  data: function (id) { return JSON.parse(document.getElementById(id).textContent); },
  // Search entries of the quartiers, filled by their layers: {label, kind: "qpv", ...};
  // the sites are searched in ``sites`` (one object each already).
  index: [],
  // Every search entry, the quartiers' then the sites', without copying them.
  entries: function (each) {
    var E = window.essqpv, k;
    for (k = 0; k < E.index.length; k++) { if (each(E.index[k]) === false) { return; } }
    for (k = 0; k < E.sites.length; k++) {
      var s = E.sites[k];
      if (each({label: s.n, kind: "site", marker: s.id, site: s, group: s.g}) === false) {
        return;
      }
    }
  },
  // Packed polygons (see geo.write.maps.pack): per polygon, rings of integer coordinates
  // (1e-5 degree), the first point absolute, the next ones as differences.
  unpack: function (packed) {
    return packed.map(function (polygon) {
      return polygon.map(function (ring) {
        var x = 0, y = 0, out = [];
        for (var i = 0; i < ring.length; i += 2) {
          x += ring[i]; y += ring[i + 1];
          out.push([x / 1e5, y / 1e5]);
        }
        return out;
      });
    });
  },
  features: function (rows) {
    return {type: "FeatureCollection", features: rows.map(function (row) {
      return {type: "Feature", properties: row[0],
              geometry: {type: "MultiPolygon", coordinates: window.essqpv.unpack(row[1])}};
    })};
  },
  el: function (tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  },
  // « 1 site », « 3 820 sites »: the words agree with the number (French rule: 0 and 1
  // singular), thousands with a narrow no-break space (see geo.typography).
  plural: function (n, one, many) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f") + " " + (n > 1 ? many : one);
  },
  metres: function (d) {
    return d >= 1000 ? (d / 1000).toFixed(1).replace(".", ",") + " km" : Math.round(d) + " m";
  },
  quartier: function (names, code) {
    var name = names[code];
    return name ? "« " + name + " » (" + code + ")" : code;
  },
  // A site's relation in words: set by the page from geo.vocabulary's labels.
  RELATIONS: {},
  // How a site at an uncertain boundary is said (short, sentence): set by the page too.
  UNCERTAIN: {},
  // A site's relation as the data table says it, with the caveat of an uncertain boundary.
  relationCell: function (site) {
    var E = window.essqpv, said = E.RELATIONS[site.r] || site.r;
    return site.u ? said + " (" + E.UNCERTAIN.short + ")" : said;
  },
  // A relation's label as a sentence begins (« Implantée »).
  relationWord: function (relation) {
    var said = window.essqpv.RELATIONS[relation] || relation || "";
    return said.charAt(0).toUpperCase() + said.slice(1);
  },
  // The quartiers a site is in, or near, or else its nearest one (the data table's cell).
  relationQuartiers: function (site, names) {
    var E = window.essqpv;
    if (site.r === "implanted") {
      return (site.q || []).map(function (c) { return E.quartier(names, c); }).join(", ");
    }
    if (site.r === "nearby") {
      return (site.nb || []).map(function (p) { return E.quartier(names, p[0]); }).join(", ");
    }
    return site.nq ? "le plus proche\u00a0: " + E.quartier(names, site.nq) : "";
  },
  // How far a site is from its quartier (the data table's cell).
  relationDistance: function (site) {
    var E = window.essqpv;
    if (site.r === "implanted") { return "dans le quartier"; }
    if (site.r === "nearby") {
      return E.metres(Math.min.apply(null, site.nb.map(function (p) { return p[1]; })));
    }
    return site.d !== undefined ? E.metres(site.d) : "";
  },
  // The quartier a site belongs to or is near, and how, in words (popup, label, table).
  relationText: function (site, names) {
    var E = window.essqpv;
    var said = E.relationWord(site.r);
    if (site.r === "implanted") {
      return said + " dans le quartier " + (site.q || []).map(function (c) {
        return E.quartier(names, c); }).join(", ");
    }
    if (site.r === "nearby") {
      return said + " du quartier " + (site.nb || []).map(function (p) {
        return E.quartier(names, p[0]) + " (" + E.metres(p[1]) + ")"; }).join(", ");
    }
    if (site.nq) {
      return said + " (le plus proche\u00a0: " + E.quartier(names, site.nq) +
        ", à " + E.metres(site.d) + ")";
    }
    return said;
  },
  // A popup that never opens under the title box: when it pans the map into view, the
  // top margin is the bottom of the title (measured then: the title wraps with the width).
  Popup: L.Popup.extend({
    _adjustPan: function () {
      var map = this._map, title = map && map.getContainer().querySelector(".essqpv-title");
      if (title) {
        var top = title.getBoundingClientRect().bottom -
          map.getContainer().getBoundingClientRect().top;
        this.options.autoPanPaddingTopLeft = L.point(10, Math.max(top + 10, 10));
      }
      return L.Popup.prototype._adjustPan.apply(this, arguments);
    }
  }),
  // Zoom at which « Voir sur la carte » and the search show a site: its street and its
  // quartier (about a kilometre across) both read.
  SITE_ZOOM: 15,
  // A marker icon with an accessible name (Leaflet gives it tabindex and role=button).
  Icon: L.DivIcon.extend({
    createIcon: function (old) {
      var icon = L.DivIcon.prototype.createIcon.call(this, old);
      icon.setAttribute("aria-label", this.options.label);
      icon.removeAttribute("title");
      var cluster = this.options.cluster, activate = this.options.activate;
      if (cluster && !activate) {
        activate = function () {  // markercluster: zoom in, or spread at the last zoom
          var map = cluster._map, zoom = map.getZoom();
          cluster.zoomToBounds({padding: [30, 30]});
          if (map.getZoom() === zoom) { cluster.spiderfy(); }
        };
      }
      if (activate) {
        // Leaflet's keyboard "click" does not reach a cluster's group: open it ourselves.
        L.DomEvent.on(icon, "keydown", function (e) {
          if (e.key !== "Enter" && e.key !== " ") { return; }
          L.DomEvent.preventDefault(e);
          activate();
        });
      }
      return icon;
    }
  }),
  clusterIcon: function (n, color, theme, cluster, activate) {
    var E = window.essqpv, box = E.el("div"), count = E.el("span", "", String(n));
    box.style.borderColor = color;
    box.appendChild(count);
    return new E.Icon({html: box, className: "marker-cluster essqpv-cluster",
                       iconSize: [36, 36], cluster: cluster, activate: activate,
                       label: n + " initiatives regroupées" + (theme ? " (" + theme + ")" : "") +
                              " : Entrée pour zoomer"});
  },
  // The markers of one theme: built, registered for search and table, added in bulk.
  // Sites arrive by column (geo.write.maps._site_records): one object per site is rebuilt here.
  columns: function (cols) {
    var sites = [], row = 0;
    for (var k = 0; k < cols.i.length; k++) {
      row += cols.i[k];  // row numbers come as differences
      var site = {id: "s" + row, x: cols.x[k], y: cols.y[k], n: cols.n[k],
                  r: cols.rv[cols.r[k]]};
      if (cols.nqv[cols.nq[k]]) { site.nq = cols.nqv[cols.nq[k]]; }
      if (cols.d[k] !== null) { site.d = cols.d[k]; }
      sites.push(site);
    }
    Object.keys(cols.opt).forEach(function (key) {
      cols.opt[key].forEach(function (pair) {
        if (key === "ik") { sites[pair[0]].i = pair[1][0]; sites[pair[0]].k = pair[1][1]; }
        else { sites[pair[0]][key] = pair[1]; }
      });
    });
    return sites;
  },
  // The icon of a theme at a size (proportional symbols), made once per size.
  sizedIcon: function (svg, size, cache) {
    var key = String(size);
    if (!cache[key]) {
      var h = size / 2;
      cache[key] = L.divIcon({html: svg, className: "essqpv-divicon" +
                                (size === 22 ? "" : " essqpv-sized"),
                              iconSize: [size, size], iconAnchor: [h, h],
                              popupAnchor: [0, -h + 1]});
    }
    return cache[key];
  },
  addSites: function (group, groupName, cols, theme, svg) {
    var E = window.essqpv, markers = [], icons = {};
    E.columns(cols).forEach(function (site) {
      site.t = theme;
      site.g = groupName;
      var marker = E.siteMarker(site, E.sizedIcon(svg, site.sz || 22, icons));
      E.markers[site.id] = marker;
      E.sites.push(site);
      markers.push(marker);
    });
    E.groupMarkers[groupName] = {group: group, markers: markers};
    if (group.addLayers) {
      E.pending += 1;
      group.options.chunkProgress = function (done, total) {
        if (done >= total) { E.pending -= 1; group.options.chunkProgress = null; }
      };
      group.addLayers(markers);
    } else {
      markers.forEach(function (m) { group.addLayer(m); });
    }
  },
  // Outlines and names of the places around the map: outlines below the quartiers, names
  // above the markers (a name stays readable; the names' pane lets clicks through to the
  // markers), hidden from assistive technologies (the table says where each initiative is).
  context: function (map, deps, communes) {
    var E = window.essqpv;
    [["essqpv-context", 350], ["essqpv-places", 620]].forEach(function (pane) {
      if (!map.getPane(pane[0])) {
        var el = map.createPane(pane[0]);
        el.style.zIndex = pane[1];
        el.style.pointerEvents = "none";
        el.setAttribute("aria-hidden", "true");
      }
    });
    E.contextDeps = deps;
    // Lines on one canvas (a picture, nothing to point at); discreet over tiles, darker
    // when the tiles do not load (offline room, blocked network): they are the background.
    var STYLES = {
      "essqpv-dep": {color: "#5a5a5a", weight: 1.2, opacity: 0.55, fill: false,
                     offline: {color: "#333", weight: 1.6, opacity: 0.9}},
      "essqpv-com": {color: "#777", weight: 0.8, opacity: 0.45, dashArray: "3 3", fill: false,
                     offline: {color: "#555", opacity: 0.8}}
    };
    var group = L.layerGroup(), canvas = L.canvas({pane: "essqpv-context", padding: 0.5});
    var lines = [], shown = {"essqpv-dep": [], "essqpv-com": []};
    // Names are made the first time their zoom level is shown (a national view has no
    // use for hundreds of commune names); rows come most important first (the places
    // that hold the most sites, then the largest).
    function outlines(rows, cls) {
      var layer = L.geoJSON(E.features(rows), {pane: "essqpv-context", interactive: false,
                                               renderer: canvas, style: STYLES[cls]});
      layer.addTo(group);
      lines.push([layer, STYLES[cls].offline]);
      var names = null;
      return function () {
        if (!names) {
          shown[cls] = rows.map(function (row) {
            return L.marker(row[0].p, {pane: "essqpv-places", interactive: false,
                                       keyboard: false, icon: L.divIcon({
                                         html: E.el("span", "", row[0].n),
                                         className: cls + "-name", iconSize: null})});
          });
          names = L.layerGroup(shown[cls]);
          group.addLayer(names);
        }
      };
    }
    var depNames = outlines(deps, "essqpv-dep"), comNames = outlines(communes, "essqpv-com");
    // Names that would touch a name placed before them, or hide under a control (title,
    // legend, buttons), are hidden: départements first, then communes, each by priority.
    // Read every box, then decide, then write: one layout for the whole pass.
    function declutter() {
      var box = map.getContainer(), frame = box.getBoundingClientRect();
      var taken = Array.prototype.map.call(box.querySelectorAll(".leaflet-control"),
                                           function (c) { return c.getBoundingClientRect(); });
      var names = [];
      ["essqpv-dep", "essqpv-com"].forEach(function (cls) {
        if (!box.classList.contains(cls === "essqpv-dep" ? "essqpv-show-deps"
                                                         : "essqpv-show-communes")) { return; }
        shown[cls].forEach(function (m) { if (m.getElement()) { names.push(m.getElement()); } });
      });
      names.forEach(function (el) { el.style.visibility = ""; });
      var rects = names.map(function (el) { return el.firstChild.getBoundingClientRect(); });
      var hide = names.map(function (el, k) {
        var r = rects[k];
        if (r.right < frame.left || r.left > frame.right || r.bottom < frame.top ||
            r.top > frame.bottom) { return false; }  // out of view: nothing to clash with
        var clash = taken.some(function (t) {
          return r.left < t.right + 2 && t.left < r.right + 2 &&
                 r.top < t.bottom + 1 && t.top < r.bottom + 1;
        });
        if (!clash) { taken.push(r); }
        return clash;
      });
      names.forEach(function (el, k) { if (hide[k]) { el.style.visibility = "hidden"; } });
    }
    var offline = false;
    function noTiles() {
      if (offline) { return; }
      offline = true;
      map.getContainer().classList.add("essqpv-no-tiles");
      lines.forEach(function (pair) { pair[0].setStyle(pair[1]); });
    }
    // Tile layers report their own errors (the map does not relay them).
    map.eachLayer(function (l) { if (l instanceof L.GridLayer) { l.once("tileerror", noTiles); } });
    map.on("baselayerchange", function (e) { e.layer.once("tileerror", noTiles); });
    function level() {
      var z = map.getZoom(), box = map.getContainer();
      box.classList.toggle("essqpv-show-communes", z >= 10);
      box.classList.toggle("essqpv-show-deps", z >= 5 && z <= 10);
      if (z >= 10) { comNames(); }
      if (z >= 5 && z <= 10) { depNames(); }
      declutter();
    }
    map.on("zoomend", level);
    map.on("moveend resize", declutter);
    map.whenReady(level);
    return group;
  },
  // A marker for one site: its icon is shared by the theme, its accessible name computed
  // when Leaflet draws it, its popup bound on first use.
  Marker: L.Marker.extend({
    _initIcon: function () {
      L.Marker.prototype._initIcon.call(this);
      var E = window.essqpv, site = this.site, icon = this._icon;
      icon.setAttribute("aria-label", site.n + (site.t ? ", " + site.t : "") + " : " +
                        E.relationText(site, E.names) +
                        (site.u ? " (" + E.UNCERTAIN.short + ")" : ""));
      icon.removeAttribute("title");
    }
  }),
  siteMarker: function (site, icon) {
    var E = window.essqpv;
    var marker = new E.Marker([site.y, site.x], {icon: icon, keyboard: true});
    marker.site = site;
    marker.bindPopup(new E.Popup({maxWidth: 320}, marker).setContent(function () {
      return E.siteCard(site, E.names);
    }));
    return marker;
  },
  // Many sites (a national file): no Leaflet object per site. At each move the sites in
  // view are counted per screen cell; a cell with several becomes one named cluster icon,
  // a cell with one a marker. Only what is in view exists in the page.
  gridLayer: function (groupName, cols, theme, svg, color) {
    var E = window.essqpv, CELL = 64, DETAIL = 15;
    var sites = E.columns(cols), n = sites.length;
    var mx = new Float64Array(n), my = new Float64Array(n);  // Web Mercator, 0..1
    sites.forEach(function (site, k) {
      site.t = theme; site.g = groupName;
      var s = Math.sin(site.y * Math.PI / 180);
      mx[k] = site.x / 360 + 0.5;
      my[k] = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
      E.sites.push(site);
    });
    var icon = L.divIcon({html: svg, className: "essqpv-divicon", iconSize: [22, 22],
                          iconAnchor: [11, 11], popupAnchor: [0, -10]});
    var cache = {};  // markers made so far, by site position
    function markerOf(k) { return cache[k] || (cache[k] = E.siteMarker(sites[k], icon)); }
    var Layer = L.LayerGroup.extend({
      onAdd: function (map) {
        L.LayerGroup.prototype.onAdd.call(this, map);
        map.on("moveend", this.refresh, this);
        this.refresh();
      },
      onRemove: function (map) {
        map.off("moveend", this.refresh, this);
        L.LayerGroup.prototype.onRemove.call(this, map);
      },
      refresh: function () {
        var map = this._map;
        if (!map) { return; }
        var z = map.getZoom(), scale = 256 * Math.pow(2, z);
        var b = map.getPixelBounds().pad(0.2);
        var cells = new Map(), open = map._popup && map._popup._source;
        for (var k = 0; k < n; k++) {
          if (!E.open(sites[k])) { continue; }
          var px = mx[k] * scale, py = my[k] * scale;
          if (px < b.min.x || px > b.max.x || py < b.min.y || py > b.max.y) { continue; }
          var key = z >= DETAIL ? k : Math.floor(px / CELL) * 1e7 + Math.floor(py / CELL);
          var cell = cells.get(key);
          if (cell) { cell.push(k); } else { cells.set(key, [k]); }
        }
        var keep = [];
        cells.forEach(function (members) {
          if (members.length === 1) { keep.push(markerOf(members[0])); return; }
          var lat = 0, lon = 0, south = 90, north = -90, west = 180, east = -180;
          members.forEach(function (k) {
            var s = sites[k];
            lat += s.y; lon += s.x;
            south = Math.min(south, s.y); north = Math.max(north, s.y);
            west = Math.min(west, s.x); east = Math.max(east, s.x);
          });
          var bounds = L.latLngBounds([south, west], [north, east]);
          var zoomIn = function () {
            map.fitBounds(bounds, {padding: [30, 30], maxZoom: Math.max(z + 2, DETAIL)});
          };
          var cluster = L.marker([lat / members.length, lon / members.length], {
            icon: E.clusterIcon(members.length, color, theme, null, zoomIn), keyboard: true});
          cluster.on("click", zoomIn);
          keep.push(cluster);
        });
        if (open && keep.indexOf(open) < 0 && open.site && open.site.g === groupName) {
          keep.push(open);  // an open popup stays with its marker
        }
        // Change only what changed: a marker that stays keeps its popup and its focus, and
        // one whose popup is open is never taken away under the reader.
        var self = this, wanted = new Set(keep);
        this.eachLayer(function (l) {
          if (!wanted.has(l) && !(l.isPopupOpen && l.isPopupOpen())) { self.removeLayer(l); }
        });
        keep.forEach(function (l) { if (!self.hasLayer(l)) { self.addLayer(l); } });
      },
      // Bring one site into view as a marker, then call back with it.
      showSite: function (site, done) {
        var map = this._map, k = sites.indexOf(site), self = this;
        var zoom = Math.max(map.getZoom(), DETAIL, E.SITE_ZOOM);
        if (map.getZoom() === zoom && map.getBounds().contains([site.y, site.x])) {
          self.refresh();  // already there: no move will come
          done(markerOf(k));
          return;
        }
        map.once("moveend", function () { done(markerOf(k)); });
        map.setView([site.y, site.x], zoom, {animate: false});
      }
    });
    var layer = new Layer();
    E.grids[groupName] = layer;
    return layer;
  },
  siteCard: function (site, names) {
    var E = window.essqpv, card = E.el("div", "essqpv-card");
    card.appendChild(E.el("h3", "", site.n));
    if (site.t) { card.appendChild(E.el("div", "theme", site.t)); }
    if (site.a) { card.appendChild(E.el("div", "", site.a)); }
    card.appendChild(E.el("div", "", E.relationText(site, names)));
    if (site.u) { card.appendChild(E.el("div", "essqpv-uncertain", E.UNCERTAIN.sentence)); }
    if (site.yr) { card.appendChild(E.el("div", "", E.yearsText(site))); }
    if (site.v && site.v.length) {
      var figures = E.el("ul", "essqpv-figures");
      site.v.forEach(function (p) { figures.appendChild(E.el("li", "", p[0] + "\u00a0: " + p[1])); });
      card.appendChild(figures);
    }
    if (site.s && site.s.length) {
      card.appendChild(E.el("div", "", E.relationWord("served") + " dans\u00a0:"));
      var list = E.el("ul");
      site.s.forEach(function (c) { list.appendChild(E.el("li", "", E.quartier(names, c))); });
      card.appendChild(list);
    }
    if (site.k > 1) {
      card.appendChild(E.el("div", "muted", "Site " + site.i + " sur " + site.k +
                             " de l'initiative (sites reliés par un trait pointillé)"));
    }
    if (site.w) {
      var link = E.el("a", "", site.w);
      link.href = site.w;  // only http(s) addresses reach the page
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      card.appendChild(link);
    }
    return card;
  },
  qpvCard: function (props) {
    var E = window.essqpv, card = E.el("div", "essqpv-card");
    card.appendChild(E.el("h3", "", props.nom_qp));
    card.appendChild(E.el("div", "", "Quartier prioritaire " + props.generation + " · " +
                          props.code_qp));
    if (props.communes) { card.appendChild(E.el("div", "", props.communes)); }
    (props.figures || []).forEach(function (f) {
      card.appendChild(E.el("div", "", f[0] + " : " + f[1]));
    });
    if (props.counts) { card.appendChild(E.el("div", "muted", props.counts)); }
    return card;
  }
};
