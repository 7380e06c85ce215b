/* Community Mapper: click the map to set a group's location. Fills the form's longitude and
   latitude inputs (6 decimals, WGS84); typing in them moves the marker. Ward names are put
   into the page with textContent, never as HTML. */
"use strict";

var LocationPicker = (function () {
  function start(map, options) {
    var lonInput = document.getElementById(options.lon_input);
    var latInput = document.getElementById(options.lat_input);
    var marker = null;

    function place(latlng, write) {
      if (marker) marker.setLatLng(latlng);
      else marker = L.marker(latlng, { title: "Chosen location", alt: "Chosen location" }).addTo(map);
      if (write) {
        lonInput.value = latlng.lng.toFixed(6);
        latInput.value = latlng.lat.toFixed(6);
      }
    }

    function fromInputs() {
      var lon = parseFloat(lonInput.value), lat = parseFloat(latInput.value);
      if (!isFinite(lon) || !isFinite(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90) return false;
      place(L.latLng(lat, lon), false);
      return true;
    }

    var wards = L.geoJSON(null, {
      style: { color: "#1d4e89", weight: 1.5, fillColor: "#9ecae1", fillOpacity: 0.25 },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(function () {
          var label = document.createElement("span");
          label.textContent = feature.properties.ward_name;
          return label;
        }, { sticky: true });
      }
    }).addTo(map);

    map.on("click", function (event) { place(event.latlng, true); });
    lonInput.addEventListener("change", fromInputs);
    latInput.addEventListener("change", fromInputs);

    return fetch(options.wards_url, { headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(options.wards_url + " answered " + response.status);
        return response.json();
      })
      .then(function (data) {
        wards.addData(data);
        if (fromInputs()) map.setView(marker.getLatLng(), 15);
        else if (wards.getLayers().length) map.fitBounds(wards.getBounds(), { padding: [10, 10] });
        map.getContainer().setAttribute("data-loaded", "true");
      });
  }

  return { start: start };
})();
