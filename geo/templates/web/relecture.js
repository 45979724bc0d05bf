/* ess-qpv review page: a small map per doubtful site, drawn offline from the outlines our
   server sends around it (départements, communes, quartiers), centred on the site's point or
   on the place its address names; a click places the point where it is clicked and fills
   the latitude and longitude fields (which a keyboard user fills directly). */
(function () {
  "use strict";
  if (!window.L) { return; }
  L.Icon.Default.imagePath = document.querySelector("script[src*='leaflet.js']")
    .getAttribute("src").replace(/leaflet\.js$/, "images/");
  var STYLES = {
    departement: {color: "#1f2933", weight: 2.5, fill: false},
    commune: {color: "#3d4652", weight: 1, dashArray: "4 3", fill: false},
    quartier: {color: "#a3185a", weight: 2, fillColor: "#a3185a", fillOpacity: 0.15},
    adresse: {color: "#b35900", weight: 3.5, dashArray: "10 5", fill: false}
  };

  function smallMap(form) {
    var box = form.querySelector(".mini-carte");
    var lat = form.querySelector("input.lat"), lon = form.querySelector("input.lon");
    // no controls inside the picture: zoom with the wheel or a double click, credit below
    var map = L.map(box, {keyboard: false, zoomControl: false, attributionControl: false,
                          center: [46.6, 2.4], zoom: 5});
    map.getContainer().removeAttribute("tabindex");
    // online, the street map under the outlines; offline, the outlines alone
    L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {maxZoom: 19}).addTo(map);
    var marker = null;
    function place(latlng) {
      if (marker) { marker.setLatLng(latlng); }
      else { marker = L.marker(latlng, {keyboard: false, interactive: false}).addTo(map); }
    }
    map.on("click", function (e) {
      lat.value = e.latlng.lat.toFixed(6);
      lon.value = e.latlng.lng.toFixed(6);
      place(e.latlng);
    });
    function typed() {
      var y = parseFloat(lat.value.replace(",", ".")), x = parseFloat(lon.value.replace(",", "."));
      if (!isNaN(y) && !isNaN(x) && Math.abs(y) <= 90 && Math.abs(x) <= 180) {
        place([y, x]);
        map.panTo([y, x]);
      }
    }
    lat.addEventListener("change", typed);
    lon.addEventListener("change", typed);
    return {map: map, box: box, place: place};
  }

  function load(item) {
    fetch(item.box.dataset.fond, {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        L.geoJSON(data.contours, {
          interactive: false,
          style: function (f) { return STYLES[f.properties.couche]; }
        }).addTo(item.map);
        if (data.point) {
          item.map.setView(data.point, 16);
          item.place(data.point);
        } else {
          item.map.fitBounds(data.cadre);
        }
        item.box.dataset.pret = "oui";
      })
      .catch(function () { item.box.dataset.pret = "erreur"; });
  }

  var items = Array.prototype.map.call(document.querySelectorAll("form.placer"), smallMap);
  // each map by its box's id, for whoever inspects the page (tests, the console)
  window.essqpvRelecture = {};
  items.forEach(function (item) { window.essqpvRelecture[item.box.id] = item.map; });
  if (!("IntersectionObserver" in window)) { items.forEach(load); return; }
  // each map asks for its outlines when it comes into view
  var watcher = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting) { return; }
      watcher.unobserve(entry.target);
      items.forEach(function (item) { if (item.box === entry.target) { load(item); } });
    });
  });
  items.forEach(function (item) { watcher.observe(item.box); });
})();
