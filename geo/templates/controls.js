// ess-qpv map controls: search, full screen, minimap. Own code; needs only Leaflet.
// A Jinja template rendered by geo.maps._Controls (``this`` is that element).
(function () {
  var map = {{ this._parent.get_name() }};
  var index = window.essqpv.index;  // filled by the layers drawn before this script
  var layers = { {% for name in this.layer_names %}"{{ name }}": {{ name }}{% if not loop.last %}, {% endif %}{% endfor %} };

  function findQpv(code) {
    var found = null;
    Object.keys(layers).forEach(function (name) {
      var layer = layers[name];
      if (found || !layer.eachLayer) { return; }
      layer.eachLayer(function (l) {
        if (!found && l.feature && l.feature.properties.code_qp === code) { found = l; }
      });
    });
    return found;
  }

  function show(entry) {
    if (entry.kind === "qpv") {
      var layer = findQpv(entry.code);
      if (!layer) { return false; }
      if (!map.hasLayer(layers[entry.layer])) { map.addLayer(layers[entry.layer]); }
      map.fitBounds(layer.getBounds(), { maxZoom: 16 });
      layer.openPopup(layer.getBounds().getCenter());
      return true;
    }
    var marker = window.essqpv.markers[entry.marker];
    if (!marker) { return false; }
    var group = entry.group ? window[entry.group] : null;
    if (group && !map.hasLayer(group)) { map.addLayer(group); }
    if (group && group.zoomToShowLayer) {
      group.zoomToShowLayer(marker, function () { marker.openPopup(); });
    } else {
      map.setView(marker.getLatLng(), Math.max(map.getZoom(), 16));
      marker.openPopup();
    }
    return true;
  }

  var Search = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "essqpv-search leaflet-bar");
      var input = L.DomUtil.create("input", "", box);
      input.type = "search";
      input.placeholder = "Rechercher (initiative, quartier)";
      input.setAttribute("aria-label", input.placeholder);
      input.setAttribute("list", "essqpv-search-list");
      var list = L.DomUtil.create("datalist", "", box);
      list.id = "essqpv-search-list";
      index.forEach(function (entry) {
        var option = document.createElement("option");
        option.value = entry.label;  // textContent/value: never parsed as HTML
        list.appendChild(option);
      });
      var message = L.DomUtil.create("div", "essqpv-search-message", box);
      function go() {
        var text = input.value.trim().toLowerCase();
        if (!text) { return; }
        var entry = index.find(function (e) { return e.label.toLowerCase() === text; }) ||
                    index.find(function (e) { return e.label.toLowerCase().indexOf(text) >= 0; });
        message.textContent = entry && show(entry) ? "" : "Aucun résultat";
      }
      L.DomEvent.on(input, "change", go);
      L.DomEvent.on(input, "keydown", function (e) { if (e.key === "Enter") { go(); } });
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    }
  });
  new Search().addTo(map);

  var FullScreen = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      var bar = L.DomUtil.create("div", "leaflet-bar essqpv-fullscreen");
      var link = L.DomUtil.create("a", "", bar);
      link.href = "#";
      link.title = "Plein écran";
      link.setAttribute("role", "button");
      link.innerHTML = '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">' +
        '<path d="M1 6V1h5M10 1h5v5M15 10v5h-5M6 15H1v-5" fill="none" stroke="#333" ' +
        'stroke-width="2"/></svg>';
      L.DomEvent.on(link, "click", function (e) {
        L.DomEvent.preventDefault(e);
        var box = map.getContainer();
        if (document.fullscreenElement) { document.exitFullscreen(); }
        else if (box.requestFullscreen) { box.requestFullscreen(); }
      });
      document.addEventListener("fullscreenchange", function () { map.invalidateSize(); });
      return bar;
    }
  });
  new FullScreen().addTo(map);

  {% if this.minimap_tiles %}
  var MiniMap = L.Control.extend({
    options: { position: "bottomright" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "essqpv-minimap");
      box.setAttribute("aria-hidden", "true");
      setTimeout(function () {
        var mini = L.map(box, { attributionControl: false, zoomControl: false,
                                dragging: false, scrollWheelZoom: false, doubleClickZoom: false,
                                boxZoom: false, keyboard: false, touchZoom: false });
        L.tileLayer({{ this.minimap_tiles_js }}, { maxZoom: 19 }).addTo(mini);
        var frame = L.rectangle(map.getBounds(), { weight: 1, color: "#d35400",
                                                   fillOpacity: 0.1, interactive: false });
        frame.addTo(mini);
        function sync() {
          mini.setView(map.getCenter(), Math.max(map.getZoom() - 5, 0), { animate: false });
          frame.setBounds(map.getBounds());
        }
        map.on("moveend zoomend", sync);
        sync();
      }, 0);
      L.DomEvent.disableClickPropagation(box);
      return box;
    }
  });
  new MiniMap().addTo(map);
  {% endif %}
})();
