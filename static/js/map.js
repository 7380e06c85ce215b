/* Community Mapper: fetch map layers as GeoJSON and draw them. Every user-supplied string
   is put into the page with textContent, never as HTML. */
"use strict";

var CommunityMap = (function () {
  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function fetchJSON(url) {
    return fetch(url, { headers: { Accept: "application/geo+json, application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(url + " answered " + response.status);
        return response.json();
      });
  }

  /* Fetch every page of a GeoJSON collection, following its `next` links. */
  function fetchAll(url, features) {
    features = features || [];
    return fetchJSON(url).then(function (page) {
      Array.prototype.push.apply(features, page.features);
      var next = (page.links || []).filter(function (l) { return l.rel === "next"; })[0];
      return next ? fetchAll(next.href, features) : features;
    });
  }

  function wardPopup(props) {
    var box = element("div");
    box.appendChild(element("h2", props.ward_name));
    box.appendChild(element("p", props.ward_code + (props.la_name ? " · " + props.la_name : "")));
    if (props.population !== null && props.population !== undefined) {
      box.appendChild(element("p", "Population " + Number(props.population).toLocaleString("en-GB")));
    }
    return box;
  }

  function groupPopup(props) {
    var box = element("div");
    box.appendChild(element("h2", props.name));
    if (props.categories && props.categories.length) box.appendChild(element("p", props.categories.join(", ")));
    if (props.ward_name) box.appendChild(element("p", "Ward: " + props.ward_name));
    return box;
  }

  function start(map, options) {
    var wards = L.geoJSON(null, {
      style: { color: "#1d4e89", weight: 1.5, fillColor: "#9ecae1", fillOpacity: 0.35 },
      onEachFeature: function (feature, layer) {
        layer.bindPopup(function () { return wardPopup(feature.properties); });
        layer.bindTooltip(function () { return element("span", feature.properties.ward_name); }, { sticky: true });
      }
    }).addTo(map);
    var groups = L.markerClusterGroup({ chunkedLoading: true });
    map.addLayer(groups);
    L.control.layers(null, { "Wards": wards, "Community groups": groups }, { collapsed: false }).addTo(map);

    var ready = fetchJSON(options.wards_url).then(function (data) {
      wards.addData(data);
      if (wards.getLayers().length) map.fitBounds(wards.getBounds(), { padding: [10, 10] });
    });
    var loaded = fetchAll(options.groups_url).then(function (features) {
      var markers = features.map(function (f) {
        var xy = f.geometry.coordinates;
        return L.marker([xy[1], xy[0]], { title: f.properties.name, alt: f.properties.name })
          .bindPopup(function () { return groupPopup(f.properties); });
      });
      groups.addLayers(markers);
    });
    return Promise.all([ready, loaded]).then(function () {
      map.getContainer().setAttribute("data-loaded", "true");
    });
  }

  return { start: start, element: element, fetchJSON: fetchJSON, fetchAll: fetchAll };
})();
