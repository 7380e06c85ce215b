/* Community Mapper: click the map to set a group's location. Fills the form's longitude and
   latitude inputs (6 decimals, WGS84); typing in them moves the marker. A typed postcode moves
   the marker to the postcode. Whatever the person changed last wins: the hidden input
   `location_from` tells the server ("postcode" or "point"). Under the map, the ward the group
   would be in is named; names are put into the page with textContent, never as HTML. */
"use strict";

var LocationPicker = (function () {
  function start(map, options) {
    var lonInput = document.getElementById(options.lon_input);
    var latInput = document.getElementById(options.lat_input);
    var postcodeInput = document.getElementById("postcode");
    var source = document.getElementById("location_from");
    var place = document.getElementById("place-now");
    var marker = null;

    function put(latlng, write) {
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
      put(L.latLng(lat, lon), false);
      return true;
    }

    function say(text) { if (place) place.textContent = text; }

    // Ask the server where the group would be and in which ward; `query` is a URL query.
    function ask(query, moveMarker) {
      if (!options.place_url) return;
      fetch(options.place_url + "?" + query, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
        .then(function (answer) {
          var body = answer[1];
          if (!answer[0]) { say(body.error ? body.error.message : "That place cannot be found."); return; }
          if (moveMarker) {
            put(L.latLng(body.lonlat[1], body.lonlat[0]), true);
            map.setView(marker.getLatLng(), Math.max(map.getZoom(), 15));
          }
          say("Ward: " + body.ward_name);
        })
        .catch(function () { say(""); });
    }

    function pointChanged() {
      if (source) source.value = "point";
      if (fromInputs()) ask("lon=" + encodeURIComponent(lonInput.value) + "&lat=" + encodeURIComponent(latInput.value), false);
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

    map.on("click", function (event) { put(event.latlng, true); pointChanged(); });
    lonInput.addEventListener("change", pointChanged);
    latInput.addEventListener("change", pointChanged);
    if (postcodeInput) {
      postcodeInput.addEventListener("change", function () {
        if (!postcodeInput.value.trim()) return;
        if (source) source.value = "postcode";
        ask("postcode=" + encodeURIComponent(postcodeInput.value), true);
      });
    }

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
