/* Community Mapper: the change map. Reads its options from the map element's data-options
   attribute (no inline script), fetches the change per ward as GeoJSON and colours each ward
   by its change in groups. Every user-supplied string is put in the page with textContent. */
"use strict";

(function () {
  var node = document.getElementById("change-map");
  if (!node) return;
  var options = JSON.parse(node.getAttribute("data-options"));
  var element = CommunityMap.element;
  var colours = {}, labels = {};
  options.legend.forEach(function (entry) {
    colours[entry.value] = entry.colour;
    labels[entry.value] = entry.label;
  });

  var map = L.map(node, { maxZoom: 19, zoomSnap: 0.25 }).setView([54.0, -2.5], 6);
  if (options.tile_url) {
    L.tileLayer(options.tile_url, { attribution: options.tile_attribution || " " }).addTo(map);
  }

  function signed(value) {
    if (value === null || value === undefined) return "not known";
    var text = Number(Math.abs(value)).toLocaleString("en-GB", { maximumFractionDigits: 2 });
    return value > 0 ? "+" + text : (value < 0 ? "\u2212" + text : "0");
  }

  function figure(value) {
    if (value === null || value === undefined) return "not known";
    return Number(value).toLocaleString("en-GB", { maximumFractionDigits: 2 });
  }

  function popup(props) {
    var box = element("div");
    box.appendChild(element("h2", props.ward_name));
    box.appendChild(element("p", labels[props.change] || props.change));
    var pairs = [
      ["Groups then", figure(props.groups_from)],
      ["Groups now", figure(props.groups_to)],
      ["Change", signed(props.groups_change)],
      ["Services, change", signed(props.services_change)]
    ];
    if (props.converted) {
      var earlier = props.converted_from.length;
      pairs.push(["Converted", "by " + props.conversion + ", from " + earlier + " earlier ward" + (earlier === 1 ? "" : "s")]);
    }
    box.appendChild(CommunityMap.facts(pairs));
    return box;
  }

  var wards = L.geoJSON(null, {
    style: function (feature) {
      return {
        color: "#243447", weight: 1.2, opacity: 0.9,
        fillColor: colours[feature.properties.change] || "#404040", fillOpacity: 0.75
      };
    },
    onEachFeature: function (feature, layer) {
      layer.bindPopup(function () { return popup(feature.properties); });
      layer.bindTooltip(function () { return element("span", feature.properties.ward_name); }, { sticky: true });
      layer.on("add", function () {
        var path = layer.getElement();
        if (path) path.setAttribute("data-change", feature.properties.change);
      });
      CommunityMap.focusable(layer, feature.properties);
    }
  }).addTo(map);

  CommunityMap.fetchJSON(options.data_url).then(function (data) {
    wards.addData(data);
    if (wards.getLayers().length) map.fitBounds(wards.getBounds(), { padding: [10, 10] });
    node.setAttribute("data-loaded", "true");
  }).catch(function (error) {
    var status = document.getElementById("map-status");
    if (status) status.textContent = "The map could not be loaded. The table below has the same figures.";
    node.setAttribute("data-error", "true");
    if (window.console) console.warn(error);
  });
})();
