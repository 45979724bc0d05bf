// ess-qpv map controls: search, full screen, minimap. Own code; needs only Leaflet.
// A Jinja template rendered by geo.write.maps._Controls (``this`` is that element).
(function () {
  var map = {{ this._parent.get_name() }};
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
    var group = entry.group ? window[entry.group] : null;
    if (group && !map.hasLayer(group)) { map.addLayer(group); }
    if (group && group.showSite) {  // an aggregated layer makes the marker on demand
      group.showSite(entry.site, function (marker) {
        marker.openPopup();
        // After the key event that asked for it: the same Enter must not reach the marker
        // (Leaflet would toggle the popup shut).
        setTimeout(function () {
          if (marker.getElement()) { marker.getElement().focus({preventScroll: true}); }
        }, 0);
      });
      return true;
    }
    var marker = window.essqpv.markers[entry.marker];
    if (!marker) { return false; }
    // to the street first (its quartier reads there), then out of its cluster if still in
    map.setView(marker.getLatLng(), Math.max(map.getZoom(), window.essqpv.SITE_ZOOM),
                { animate: false });
    if (group && group.zoomToShowLayer) {
      group.zoomToShowLayer(marker, function () { marker.openPopup(); });
    } else {
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
      // Suggestions as one types (a national file has far too many names to list up front).
      function suggest() {
        var text = input.value.trim().toLowerCase(), found = 0;
        list.textContent = "";
        window.essqpv.entries(function (entry) {
          if (!text || entry.label.toLowerCase().indexOf(text) >= 0) {
            var option = document.createElement("option");
            option.value = entry.label;  // a value: never parsed as HTML
            list.appendChild(option);
            found += 1;
          }
          return found < 30;
        });
      }
      L.DomEvent.on(input, "input focus", suggest);
      var message = L.DomUtil.create("div", "essqpv-search-message", box);
      message.setAttribute("role", "status");
      function go() {
        var text = input.value.trim().toLowerCase();
        if (!text) { return; }
        var exact = null, partial = null;
        window.essqpv.entries(function (e) {
          var label = e.label.toLowerCase();
          if (label === text) { exact = e; return false; }
          if (!partial && label.indexOf(text) >= 0) { partial = e; }
          return true;
        });
        var entry = exact || partial;
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
      link.setAttribute("aria-label", "Plein écran");
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

  // Leaflet's own controls, in French and named for assistive technologies.
  var toggle = map.getContainer().querySelector(".leaflet-control-layers-toggle");
  if (toggle) {
    toggle.title = "Couches de la carte";
    toggle.setAttribute("aria-label", "Couches de la carte");
    keepFocusInList(toggle.parentNode.querySelector(".leaflet-control-layers-list"));
    keepListTruthful(toggle.parentNode);
  }
  // Leaflet 1.9.3 cancels every click in the list until its next task after opening it
  // (the tap or hover that opened it must not tick the entry that appears under it), yet
  // its own handler has already shown or hidden the layer: when the page was busy, an
  // entry ticked at once read « coché » over a hidden layer. A click from the keyboard
  // (Space on an entry, detail 0) is never that stray one: it goes by the guard. A stray
  // pointer click is undone on the map as it is in the list.
  function keepListTruthful(container) {
    container.querySelectorAll(".leaflet-control-layers-base, .leaflet-control-layers-overlays")
      .forEach(function (part) {
        part.addEventListener("click", function (e) {
          if (e.detail === 0 && e.target.tagName === "INPUT") { e.stopPropagation(); }
        });
      });
    // the container stops clicks from reaching the map: its own listeners still run
    container.addEventListener("click", function (e) {
      var input = e.target;
      if (!e.defaultPrevented || input.tagName !== "INPUT") { return; }
      // after the browser has put the entry back: Leaflet sets the map from the list
      setTimeout(function () { input.dispatchEvent(new Event("click")); });
    });
  }
  // Leaflet rebuilds the list of layers whenever a layer comes or goes other than by a
  // click in it (the search showing a hidden theme, a group refilled): the entry a
  // keyboard user stood on would vanish with the focus. The focus goes to its new copy.
  function keepFocusInList(list) {
    if (!list || !window.MutationObserver) { return; }
    var focused = null;
    // an entry's name (the removed entries keep theirs: Leaflet empties the list)
    function label(input) { return input.parentNode ? input.parentNode.textContent : ""; }
    list.addEventListener("focusin", function (e) { focused = e.target; });
    list.addEventListener("focusout", function (e) {
      var left = e.target;
      if (e.relatedTarget) { focused = null; return; }
      // still in the page after losing the focus: a real blur, not a rebuild
      setTimeout(function () { if (focused === left && left.isConnected) { focused = null; } });
    });
    new MutationObserver(function () {
      if (!focused || focused.isConnected) { return; }
      var lost = focused, again = null;
      focused = null;
      if (document.activeElement && document.activeElement !== document.body) { return; }
      list.querySelectorAll("input").forEach(function (input) {
        if (!again && input.type === lost.type && label(input) === label(lost)) {
          again = input;
        }
      });
      if (again) { again.focus(); }
    }).observe(list, { childList: true, subtree: true });
  }
  map.on("popupopen", function (e) {
    var close = e.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (close) {
      close.setAttribute("aria-label", "Fermer la fenêtre");
      close.title = "Fermer la fenêtre";
    }
  });
  // Escape closes the open popup and gives the focus back to its marker.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    var popup = null;
    map.eachLayer(function (l) { if (l instanceof L.Popup && map.hasLayer(l)) { popup = l; } });
    if (!popup) { return; }
    var source = popup._source;
    map.closePopup();
    if (source && source.getElement && source.getElement()) { source.getElement().focus(); }
  });

  // « Année »: the sites open in one year (a list: keyboard and screen readers know it).
  if (window.essqpv.years.length) {
    var YearControl = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var E = window.essqpv, box = L.DomUtil.create("div", "essqpv-year leaflet-bar");
        var label = L.DomUtil.create("label", "", box);
        label.setAttribute("for", "essqpv-annee");
        label.textContent = "Année";
        var select = L.DomUtil.create("select", "", box);
        select.id = "essqpv-annee";
        var every = document.createElement("option");
        every.value = "";
        every.textContent = "Toutes les années";
        select.appendChild(every);
        E.years.forEach(function (y) {
          var option = document.createElement("option");
          option.value = String(y);
          option.textContent = String(y);
          select.appendChild(option);
        });
        var status = L.DomUtil.create("span", "essqpv-sr", box);
        status.setAttribute("role", "status");
        L.DomEvent.on(select, "change", function () {
          E.year = select.value ? parseInt(select.value, 10) : null;
          E.applyYear();
          map.fire("essqpv:year");
          var n = E.sites.filter(E.open).length;
          status.textContent = E.year === null ? "Tous les sites affichés" :
            E.plural(n, "site ouvert", "sites ouverts") + " en " + E.year;
        });
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    new YearControl().addTo(map);
  }

  // « Données de la carte »: every site, located or not, following the layers shown.
  (function () {
    var E = window.essqpv, names = E.names, body = document.getElementById("essqpv-rows");
    if (!body) { return; }
    var more = document.getElementById("essqpv-more");
    var caption = document.getElementById("essqpv-caption");
    var PAGE = 500, shown = PAGE;
    function visible() {
      return E.sites.filter(function (s) { return map.hasLayer(window[s.g]) && E.open(s); });
    }
    function cell(row, text) { row.appendChild(E.el("td", "", text || "")); }
    function quartiers(site) { return E.relationQuartiers(site, names); }
    function distance(site) { return E.relationDistance(site); }
    function render() {
      var sites = visible(), rows = sites.slice(0, shown);
      var frag = document.createDocumentFragment();
      rows.forEach(function (site) {
        var row = E.el("tr");
        row.appendChild(E.el("th", "", site.n)).setAttribute("scope", "row");
        cell(row, site.t || "Sans thème");
        cell(row, site.c);
        cell(row, quartiers(site));
        cell(row, E.relationCell(site));
        cell(row, distance(site));
        if (E.years.length) { cell(row, E.yearsText(site)); }
        if (E.hasValues) { cell(row, E.indicatorsText(site)); }
        var td = E.el("td"), button = E.el("button", "essqpv-show", "Voir sur la carte");
        button.type = "button";
        button.appendChild(E.el("span", "essqpv-sr", " : " + site.n));
        L.DomEvent.on(button, "click", function () {
          map.getContainer().scrollIntoView();
          show({kind: "site", marker: site.id, site: site, group: site.g});
          var marker = E.markers[site.id];
          setTimeout(function () {
            if (marker && marker.getElement()) { marker.getElement().focus(); }
          }, 400);
        });
        td.appendChild(button);
        row.appendChild(td);
        frag.appendChild(row);
      });
      var unlocated = E.unlocated.filter(E.open);
      if (shown >= sites.length) {
        unlocated.forEach(function (site) {
          var row = E.el("tr", "essqpv-unlocated");
          row.appendChild(E.el("th", "", site.n)).setAttribute("scope", "row");
          cell(row, site.t || "Sans thème");
          cell(row, site.c);
          cell(row, site.why || "");
          cell(row, E.RELATIONS.not_located);
          cell(row, "");
          if (E.years.length) { cell(row, E.yearsText(site)); }
          if (E.hasValues) { cell(row, E.indicatorsText(site)); }
          cell(row, "absente de la carte");
          frag.appendChild(row);
        });
      }
      body.textContent = "";
      body.appendChild(frag);
      caption.textContent = "Initiatives de la carte" +
        (E.year !== null ? " ouvertes en " + E.year : "") + "\u00a0: " +
        E.plural(sites.length, "site localisé", "sites localisés") +
        " dans les couches affichées" +
        (unlocated.length ? ", " + E.plural(unlocated.length, "non localisé", "non localisés") +
                            " en fin de liste" : "") +
        (E.year !== null ? " (les sites dont l'année n'est pas connue ne sont pas comptés)"
                         : "") +
        (sites.length > rows.length ? "\u202f; " + E.plural(rows.length, "ligne affichée",
                                                          "lignes affichées") : "") + ".";
      var rest = sites.length - rows.length;
      more.hidden = rest <= 0;
      more.textContent = "Afficher " + E.plural(Math.min(PAGE, rest), "ligne", "lignes") +
        " de plus (" + E.plural(rest, "restante", "restantes") + ")";
    }
    L.DomEvent.on(more, "click", function () { shown += PAGE; render(); });
    map.on("overlayadd overlayremove", function () { shown = PAGE; render(); });
    map.on("essqpv:year", function () { shown = PAGE; render(); });
    render();
  })();

  // The title box: its words in a span of their own, which map.css clips to two lines on
  // a phone (the box's padding would show a third line cut in half); the whole title on
  // hover (its tooltip, with the note the phone hides) and on a tap, which unfolds it,
  // note included, until the next tap or a touch of the map (the search field moves down
  // meanwhile). Screen readers have it in the page's <h1> (the box is aria-hidden).
  (function () {
    var box = map.getContainer().querySelector(".essqpv-title");
    if (!box) { return; }
    var words = document.createElement("span");
    words.className = "essqpv-title-text";
    while (box.firstChild && box.firstChild.nodeName !== "SMALL") {
      words.appendChild(box.firstChild);
    }
    box.insertBefore(words, box.firstChild);
    var note = box.querySelector("small");
    box.title = words.textContent + (note ? " – " + note.textContent : "");
    // Unfolded, it pushes the search field down rather than cover it.
    var search = map.getContainer().querySelector(".essqpv-search");
    function unfold(open) {
      box.classList.toggle("essqpv-title-open", open);
      if (!search) { return; }
      search.style.marginTop = "";
      var t = box.getBoundingClientRect(), s = search.getBoundingClientRect();
      if (open && t.left < s.right && s.left < t.right && t.bottom + 10 > s.top) {
        search.style.marginTop = (10 + t.bottom + 10 - s.top) + "px";
      }
    }
    L.DomEvent.on(box, "click", function () {
      unfold(!box.classList.contains("essqpv-title-open"));
    });
    map.on("click movestart", function () { unfold(false); });
  })();

  {% if this.minimap_tiles %}
  var MiniMap = L.Control.extend({
    options: { position: "bottomright" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "essqpv-minimap");
      box.setAttribute("aria-hidden", "true");
      // Drawn once the page has loaded: the main map comes first.
      var later = function (draw) {
        if (document.readyState === "complete") { setTimeout(draw, 0); }
        else { window.addEventListener("load", function () { setTimeout(draw, 0); }); }
      };
      later(function () {
        var mini = L.map(box, { attributionControl: false, zoomControl: false,
                                dragging: false, scrollWheelZoom: false, doubleClickZoom: false,
                                boxZoom: false, keyboard: false, touchZoom: false });
        var tiles = L.tileLayer({{ this.minimap_tiles_js }}, { maxZoom: 19 }).addTo(mini);
        var frame = L.rectangle(map.getBounds(), { weight: 2, color: "#c0392b",
                                                   fillOpacity: 0.12, interactive: false });
        function sync() {
          // never wider than a country (a national view would show a speck of France); no
          // mini-map at all over a national view, which says where it is by itself
          var zoom = Math.min(Math.max(map.getZoom() - 5, 4), 13);
          box.style.visibility = map.getZoom() < 8 ? "hidden" : "";
          mini.setView(map.getCenter(), zoom, { animate: false });
          window.essqpv.miniZoom = zoom;
          frame.setBounds(map.getBounds());
        }
        map.on("moveend zoomend", sync);
        sync();
        if (window.essqpv.contextDeps) {  // where we are, even without tiles (after the view)
          var deps = L.geoJSON(window.essqpv.features(window.essqpv.contextDeps), {
            interactive: false, style: {color: "#777", weight: 0.6, fill: false}}).addTo(mini);
          tiles.once("tileerror", function () {  // no tiles: the land itself, thin borders
            deps.setStyle({fill: true, fillColor: "#f3f1ea", fillOpacity: 1,
                           color: "#9a9a9a"});
          });
        }
        frame.addTo(mini);
      });
      L.DomEvent.disableClickPropagation(box);
      return box;
    }
  });
  new MiniMap().addTo(map);
  {% endif %}
})();
