// ess-qpv data layers, built from compact JSON with DOM APIs (user text is never parsed as HTML).
window.essqpv = window.essqpv || {
  markers: {},
  // Every located site (records of the layers) and the unlocated ones: the table's rows.
  sites: [],
  unlocated: [],
  // Marker groups still being filled (markercluster adds big groups over several frames).
  pending: 0,
  // Search entries, filled by the layers: {label, kind: "site"|"qpv", ...}.
  index: [],
  // Packed polygons (see geo.maps.pack): per polygon, rings of integer coordinates
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
  metres: function (d) {
    return d >= 1000 ? (d / 1000).toFixed(1).replace(".", ",") + " km" : Math.round(d) + " m";
  },
  quartier: function (names, code) {
    var name = names[code];
    return name ? "« " + name + " » (" + code + ")" : code;
  },
  RELATIONS: {implanted: "implantée", nearby: "à proximité", none: "hors quartier",
              not_located: "non localisée"},
  // The quartier a site belongs to or is near, and how, in words (popup, label, table).
  relationText: function (site, names) {
    var E = window.essqpv;
    if (site.r === "implanted") {
      return "Implantée dans le quartier " + (site.q || []).map(function (c) {
        return E.quartier(names, c); }).join(", ");
    }
    if (site.r === "nearby") {
      return "À proximité du quartier " + (site.nb || []).map(function (p) {
        return E.quartier(names, p[0]) + " (" + E.metres(p[1]) + ")"; }).join(", ");
    }
    if (site.nq) {
      return "Hors quartier prioritaire (le plus proche : " + E.quartier(names, site.nq) +
        ", à " + E.metres(site.d) + ")";
    }
    return "Hors quartier prioritaire";
  },
  // A marker icon with an accessible name (Leaflet gives it tabindex and role=button).
  Icon: L.DivIcon.extend({
    createIcon: function (old) {
      var icon = L.DivIcon.prototype.createIcon.call(this, old);
      icon.setAttribute("aria-label", this.options.label);
      icon.removeAttribute("title");
      var cluster = this.options.cluster;
      if (cluster) {
        // Leaflet's keyboard "click" does not reach the cluster group: open it ourselves.
        L.DomEvent.on(icon, "keydown", function (e) {
          if (e.key !== "Enter" && e.key !== " ") { return; }
          L.DomEvent.preventDefault(e);
          var map = cluster._map, zoom = map.getZoom();
          cluster.zoomToBounds({padding: [30, 30]});
          if (map.getZoom() === zoom) { cluster.spiderfy(); }
        });
      }
      return icon;
    }
  }),
  clusterIcon: function (n, color, theme, cluster) {
    var E = window.essqpv, box = E.el("div"), count = E.el("span", "", String(n));
    box.style.borderColor = color;
    box.appendChild(count);
    return new E.Icon({html: box, className: "marker-cluster essqpv-cluster",
                       iconSize: [36, 36], cluster: cluster,
                       label: n + " initiatives regroupées" + (theme ? " (" + theme + ")" : "") +
                              " : Entrée pour zoomer"});
  },
  // The markers of one theme: built, registered for search and table, added in bulk.
  // Sites arrive by column (geo.maps._site_records): one object per site is rebuilt here.
  columns: function (cols) {
    var sites = [];
    for (var k = 0; k < cols.i.length; k++) {
      var site = {id: "s" + cols.i[k], x: cols.x[k], y: cols.y[k], n: cols.n[k], r: cols.r[k]};
      if (cols.nq[k]) { site.nq = cols.nq[k]; }
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
  addSites: function (group, groupName, cols, theme, svg) {
    var E = window.essqpv, names = E.names, markers = [];
    E.columns(cols).forEach(function (site) {
      site.t = theme;
      site.g = groupName;
      var label = site.n + (theme ? ", " + theme : "") + " : " + E.relationText(site, names);
      var marker = L.marker([site.y, site.x], {
        icon: new E.Icon({html: svg, className: "essqpv-divicon", iconSize: [22, 22],
                          iconAnchor: [11, 11], popupAnchor: [0, -10], label: label}),
        keyboard: true});
      marker.bindPopup(function () { return E.siteCard(site, names); }, {maxWidth: 320});
      E.markers[site.id] = marker;
      E.sites.push(site);
      E.index.push({label: site.n, kind: "site", marker: site.id, group: groupName});
      markers.push(marker);
    });
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
  // Outlines and names of the places around the map (below the quartiers; names above
  // them, hidden from assistive technologies: the table says where each initiative is).
  context: function (map, deps, communes) {
    var E = window.essqpv;
    [["essqpv-context", 350], ["essqpv-places", 450]].forEach(function (pane) {
      if (!map.getPane(pane[0])) {
        var el = map.createPane(pane[0]);
        el.style.zIndex = pane[1];
        el.style.pointerEvents = "none";
        el.setAttribute("aria-hidden", "true");
      }
    });
    E.contextDeps = deps;
    var group = L.layerGroup();
    function outlines(rows, cls) {
      L.geoJSON(E.features(rows), {pane: "essqpv-context", interactive: false,
                                   style: {className: cls, fill: false}}).addTo(group);
      rows.forEach(function (row) {
        var label = E.el("span", "", row[0].n);
        L.marker(row[0].p, {pane: "essqpv-places", interactive: false, keyboard: false,
                            icon: L.divIcon({html: label, className: cls + "-name",
                                             iconSize: null})}).addTo(group);
      });
    }
    outlines(deps, "essqpv-dep");
    outlines(communes, "essqpv-com");
    function level() {
      var z = map.getZoom(), box = map.getContainer();
      box.classList.toggle("essqpv-show-communes", z >= 10);
      box.classList.toggle("essqpv-show-deps", z >= 6 && z <= 10);
    }
    map.on("zoomend", level);
    level();
    // Without tiles (offline room, blocked network) the outlines become the background.
    map.on("tileerror", function () { map.getContainer().classList.add("essqpv-no-tiles"); });
    return group;
  },
  siteCard: function (site, names) {
    var E = window.essqpv, card = E.el("div", "essqpv-card");
    card.appendChild(E.el("h3", "", site.n));
    if (site.t) { card.appendChild(E.el("div", "theme", site.t)); }
    if (site.a) { card.appendChild(E.el("div", "", site.a)); }
    card.appendChild(E.el("div", "", E.relationText(site, names)));
    if (site.s && site.s.length) {
      card.appendChild(E.el("div", "", "Intervient dans :"));
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
