/* Community Mapper: small maps of one place (a group in the moderation queue or its preview).
   Each element .small-map[data-lon][data-lat] gets a Leaflet map with a marker there; with
   data-was-lon/lat, a grey marker where the group is now, so a move can be seen. No base map
   is loaded: the maps need nothing from outside the app. */
"use strict";

(function () {
  document.querySelectorAll(".small-map[data-lon][data-lat]").forEach(function (element) {
    var here = L.latLng(parseFloat(element.getAttribute("data-lat")), parseFloat(element.getAttribute("data-lon")));
    // A picture, not a control: nothing in it can take the focus, so role="img" holds.
    var map = L.map(element, {
      zoomControl: false, attributionControl: false, keyboard: false, dragging: false,
      scrollWheelZoom: false, doubleClickZoom: false, boxZoom: false, touchZoom: false
    }).setView(here, 15);
    L.circleMarker(here, { radius: 8, color: "#1d70b8", weight: 3, fillOpacity: 0.8, interactive: false }).addTo(map);
    var wasLon = parseFloat(element.getAttribute("data-was-lon"));
    var wasLat = parseFloat(element.getAttribute("data-was-lat"));
    if (isFinite(wasLon) && isFinite(wasLat)) {
      var was = L.latLng(wasLat, wasLon);
      L.circleMarker(was, { radius: 6, color: "#505a5f", weight: 2, fillOpacity: 0.4, interactive: false }).addTo(map);
      map.fitBounds(L.latLngBounds([here, was]), { padding: [20, 20], maxZoom: 16 });
    }
    element.setAttribute("data-loaded", "true");
  });
})();
