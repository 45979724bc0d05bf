/* ess-qpv review page: a small map per doubtful address; a click places the point and
   fills the latitude and longitude fields (which a keyboard user fills directly). */
(function () {
  "use strict";
  if (!window.L) { return; }
  L.Icon.Default.imagePath = document.querySelector("script[src*='leaflet.js']")
    .getAttribute("src").replace(/leaflet\.js$/, "images/");
  Array.prototype.forEach.call(document.querySelectorAll("form.placer"), function (form) {
    var box = form.querySelector(".mini-carte");
    var lat = form.querySelector("input.lat"), lon = form.querySelector("input.lon");
    var y = parseFloat(box.dataset.lat), x = parseFloat(box.dataset.lon);
    var known = !isNaN(y) && !isNaN(x);
    // no controls inside the picture: zoom with the wheel or a double click, credit below
    var map = L.map(box, {keyboard: false, zoomControl: false, attributionControl: false})
      .setView(known ? [y, x] : [46.6, 2.4], known ? 16 : 5);
    L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {maxZoom: 19}).addTo(map);
    var marker = known ? L.marker([y, x], {keyboard: false}).addTo(map) : null;
    map.getContainer().removeAttribute("tabindex");
    map.on("click", function (e) {
      lat.value = e.latlng.lat.toFixed(6);
      lon.value = e.latlng.lng.toFixed(6);
      if (marker) { marker.setLatLng(e.latlng); }
      else { marker = L.marker(e.latlng, {keyboard: false}).addTo(map); }
    });
  });
})();
