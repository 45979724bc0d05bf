// ess-qpv data layers, built from compact JSON with DOM APIs (user text is never parsed as HTML).
window.essqpv = window.essqpv || {
  markers: {},
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
  siteCard: function (site, names) {
    var E = window.essqpv, card = E.el("div", "essqpv-card");
    card.appendChild(E.el("h3", "", site.n));
    if (site.t) { card.appendChild(E.el("div", "theme", site.t)); }
    if (site.a) { card.appendChild(E.el("div", "", site.a)); }
    var rel = E.el("div");
    if (site.r === "implanted") {
      rel.textContent = "Implantée dans le quartier " + (site.q || []).map(function (c) {
        return E.quartier(names, c); }).join(", ");
    } else if (site.r === "nearby") {
      rel.textContent = "À proximité du quartier " + (site.nb || []).map(function (p) {
        return E.quartier(names, p[0]) + " (" + E.metres(p[1]) + ")"; }).join(", ");
    } else if (site.nq) {
      rel.textContent = "Hors quartier prioritaire (le plus proche : " +
        E.quartier(names, site.nq) + ", à " + E.metres(site.d) + ")";
    } else {
      rel.textContent = "Hors quartier prioritaire";
    }
    card.appendChild(rel);
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
