/* Community Mapper: find a place on the map, the wards' names written on it, and the map from
   the keyboard (Enter on a ward moves into its popup, Escape returns; clusters say what they
   hold and where). Started by CommunityMap.start; every name is put in with textContent. */
"use strict";

var MapFind = (function () {
  var LABEL_ZOOM = 9;  // no ward names further out than this: too many wards to ask for
  var LABEL_CHAR = 6;  // px: the narrowest a letter of a label is, to skip wards far too small
  var LABEL_FILL = 0.7;  // a ward is named when it is about this much wider than its name

  // Room for the zoom buttons (top left) and the attribution and scale (bottom) around a
  // popup the map pans to: the controls never cover a popup's title.
  L.Popup.mergeOptions({ autoPanPaddingTopLeft: L.point(56, 90), autoPanPaddingBottomRight: L.point(24, 40) });

  function element(tag, text, className) {
    return CommunityMap.element(tag, text, className);
  }

  function wardLayers(map) {
    var found = [];
    map.eachLayer(function (layer) {
      if (layer.feature && layer.feature.properties && layer.feature.properties.ward_code && layer.getBounds) {
        found.push(layer);
      }
    });
    return found;
  }

  /* Whether a point is inside a drawn polygon (every ring, even-odd: holes and parts too). */
  function inside(layer, latlng) {
    if (!layer.getBounds().contains(latlng)) return false;
    var x = latlng.lng, y = latlng.lat, odd = false;
    (function rings(list) {
      if (!list.length) return;
      if (list[0] instanceof L.LatLng) {
        for (var i = 0, j = list.length - 1; i < list.length; j = i++) {
          var a = list[i], b = list[j];
          if ((a.lat > y) !== (b.lat > y) && x < (b.lng - a.lng) * (y - a.lat) / (b.lat - a.lat) + a.lng) odd = !odd;
        }
      } else list.forEach(rings);
    })(layer.getLatLngs());
    return odd;
  }

  /* The name of the ward a point is in, else of the nearest drawn ward (or label). */
  function wardNear(map, latlng, labels) {
    var layers = wardLayers(map), best = null, bestDistance = Infinity;
    for (var i = 0; i < layers.length; i++) {
      if (inside(layers[i], latlng)) return layers[i].feature.properties.ward_name;
    }
    layers.forEach(function (layer) {
      var d = map.distance(latlng, layer.getBounds().getCenter());
      if (d < bestDistance) { bestDistance = d; best = layer.feature.properties.ward_name; }
    });
    (labels || []).forEach(function (row) {
      var d = map.distance(latlng, L.latLng(row[3], row[2]));
      if (d < bestDistance) { bestDistance = d; best = row[1]; }
    });
    return best;
  }

  /* ---- Clusters and markers: names that say what they are and where. ---- */

  function nameMarkers(map, state) {
    map.eachLayer(function (layer) {
      var node = layer.getElement ? layer.getElement() : layer._icon;
      if (!node || !(layer instanceof L.Marker)) return;
      var count = null, noun = null;
      if (L.MarkerCluster && layer instanceof L.MarkerCluster) {
        count = layer.getChildCount(); noun = "groups";
      } else if (layer.options.noun) {
        count = layer.options.count; noun = layer.options.noun;
      } else if (layer.options.icon instanceof L.Icon.Default && layer.options.title) {
        node.setAttribute("aria-label", "Community group: " + layer.options.title);
        return;
      }
      if (count === null) return;
      var near = wardNear(map, layer.getLatLng(), state.labels);
      var what = count === 1 ? noun.replace(/s$/, "") : noun;
      var label = count.toLocaleString("en-GB") + " " + what + (near ? " near " + near : "") + ": zoom in";
      node.setAttribute("aria-label", label);
      node.setAttribute("title", label);
      node.setAttribute("role", "button");
    });
  }

  /* ---- Ward names written on the map, apart from one another. ---- */

  function labelQuery(map, options) {
    var query = new URLSearchParams(), bounds = map.getBounds();
    var form = document.getElementById("filters");
    if (form) new FormData(form).getAll("la").forEach(function (la) { if (la) query.append("la", la); });
    var clamp = function (v, low, high) { return Math.max(low, Math.min(high, v)); };
    query.set("bbox", [
      clamp(bounds.getWest(), -180, 180).toFixed(5), clamp(bounds.getSouth(), -90, 90).toFixed(5),
      clamp(bounds.getEast(), -180, 180).toFixed(5), clamp(bounds.getNorth(), -90, 90).toFixed(5)
    ].join(","));
    return query;
  }

  /* Write the names biggest ward first, each where it fits: inside the map, wider than the
     ward is not, and clear of the names already written (measured as drawn). */
  function drawLabels(map, layer, rows) {
    layer.clearLayers();
    var placed = [], size = map.getSize(), origin = map.getContainer().getBoundingClientRect();
    var metresPerPixel = 156543.034 * Math.cos(map.getCenter().lat * Math.PI / 180) / Math.pow(2, map.getZoom());
    rows.forEach(function (row) {
      var wardPixels = Math.sqrt(Math.max(row[4] || 0, 0)) * 1000 / metresPerPixel;
      if (wardPixels < (row[1].length * LABEL_CHAR + 10) * LABEL_FILL) return;  // far too small
      var text = element("span", row[1], "ward-label-text");
      var label = L.marker([row[3], row[2]], {
        pane: "wardLabels", interactive: false, keyboard: false,
        icon: L.divIcon({ className: "ward-label", html: text, iconSize: null })
      });
      layer.addLayer(label);
      var r = text.getBoundingClientRect();
      var box = { left: r.left - origin.left - 2, right: r.right - origin.left + 2, top: r.top - origin.top - 1, bottom: r.bottom - origin.top + 1 };
      var clash = box.left < 0 || box.top < 0 || box.right > size.x || box.bottom > size.y ||
        r.width * LABEL_FILL > wardPixels ||
        placed.some(function (p) {
          return box.left < p.right && p.left < box.right && box.top < p.bottom && p.top < box.bottom;
        });
      if (clash) layer.removeLayer(label); else placed.push(box);
    });
    map.getContainer().setAttribute("data-labels", String(placed.length));
  }

  function startLabels(map, options, state) {
    var panel = document.getElementById("map");
    var url = panel && panel.getAttribute("data-labels-url");
    if (!url) return;
    var pane = map.createPane("wardLabels");
    pane.setAttribute("aria-hidden", "true");  // the wards have these names already
    var layer = L.layerGroup().addTo(map), request = 0;
    var refresh = function () {
      var mine = ++request;
      if (map.getZoom() < LABEL_ZOOM) { layer.clearLayers(); map.getContainer().setAttribute("data-labels", "0"); return; }
      CommunityMap.fetchJSON(url + "?" + labelQuery(map, options).toString()).then(function (data) {
        if (mine !== request) return;
        state.labels = data.rows;
        drawLabels(map, layer, data.rows);
        nameMarkers(map, state);
      }).catch(function () { /* the map reads without them */ });
    };
    map.on("moveend", refresh);
    refresh();
  }

  /* ---- Popups from the keyboard: Enter moves focus in, Escape closes and returns. ---- */

  function startPopupFocus(map) {
    var opener = null;
    var container = map.getContainer();
    var focusInto = function (popup) {
      var node = popup.getElement();
      if (!node) return;
      var target = node.querySelector(".leaflet-popup-content h2") || node.querySelector(".leaflet-popup-content");
      target.setAttribute("tabindex", "-1");
      target.focus({ preventScroll: true });
    };
    map.on("popupopen", function (event) {
      var active = document.activeElement;
      var fromKeyboard = active && active !== container && container.contains(active) &&
        !active.closest(".leaflet-popup");
      opener = fromKeyboard ? active : null;
      if (!opener) return;
      var popup = event.popup;
      focusInto(popup);
      // A popup whose details arrive later is drawn again: keep the focus in it.
      popup.on("contentupdate", function () {
        if (map.hasLayer(popup) && opener) focusInto(popup);
      });
    });
    map.on("popupclose", function (event) {
      var node = event.popup.getElement();
      var wasInside = node && node.contains(document.activeElement);
      var back = opener;
      opener = null;
      if (!back || !wasInside) return;
      returnFocus(back);
    });
    function returnFocus(back) {
      if (!document.body.contains(back)) {
        var code = back.getAttribute && back.getAttribute("data-ward");
        back = (code && container.querySelector('[data-ward="' + code + '"]')) || container;
      }
      back.focus({ preventScroll: true });
    }
    container.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !event.target.closest || !event.target.closest(".leaflet-popup")) return;
      event.preventDefault();
      event.stopPropagation();
      var back = opener;
      map.closePopup();
      if (back) returnFocus(back);
    }, true);
  }

  /* On the ward page the neighbouring wards open from the keyboard too. */
  function focusableNeighbours(map, options) {
    map.on("layeradd", function (event) {
      var layer = event.layer, props = layer.feature && layer.feature.properties;
      if (!props || !props.ward_code || !layer.getElement || !layer.getPopup()) return;
      var path = layer.getElement();
      if (!path || path.hasAttribute("tabindex")) return;
      CommunityMap.asButton(layer, props, props.ward_name + ": neighbouring ward, open its link");
    });
  }

  /* ---- Find a place: the search box answers on the map. ---- */

  function say(text) {
    var status = document.getElementById("place-status");
    if (status) status.textContent = text;
  }

  /* Resolve to the drawn ward's path once the map has drawn the view. */
  function drawnWard(map, code, waited) {
    waited = waited || 0;
    var container = map.getContainer();
    var path = container.querySelector('path[data-ward="' + code + '"]');
    if (path && container.getAttribute("data-loaded") !== "false") return Promise.resolve(path);
    if (waited > 10000) return Promise.resolve(path);
    return new Promise(function (resolve) { setTimeout(resolve, 50); }).then(function () {
      return drawnWard(map, code, waited + 50);
    });
  }

  function showWard(map, answer, message) {
    var b = answer.lonlat_box;
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [30, 30], animate: false, maxZoom: 16 });
    return drawnWard(map, answer.ward_code).then(function (path) {
      if (path) {
        path.focus({ preventScroll: true });
        map.getContainer().scrollIntoView({ block: "nearest" });
        say(message + " It is selected on the map: press Enter for its figures.");
      } else {
        say(message);
      }
    });
  }

  function startSearch(map, options) {
    var form = document.getElementById("place-search");
    if (!form || !window.fetch) return;
    var input = form.querySelector('input[name="q"]');
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      var resultsPage = form.getAttribute("action") + "?" + new URLSearchParams({ q: text }).toString();
      if (!text) { say("Type a postcode, or the name of a ward, council or group."); input.focus(); return; }
      say("Searching…");
      fetch(form.getAttribute("data-search-url") + "?" + new URLSearchParams({ q: text }).toString(), {
        headers: { Accept: "application/json" }
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (result) {
        if (!result.ok) {
          var error = result.data.error || {};
          var reason = (error.fields || {}).q;
          say(error.message || ("The search " + (reason || "could not be done") + "."));
          input.focus();
          return;
        }
        var data = result.data, answer = data.answer;
        if (!answer) { say(data.message); input.focus(); return; }
        if (answer.kind === "la") return showAuthority(map, options, answer, data.message, resultsPage);
        if (options.page === "ward") {
          if (answer.ward_code === options.ward_code) { say(data.message + " That is this ward."); return; }
          window.location.assign(CommunityMap.fromTemplate(options.ward_page, answer.ward_code));
          return;
        }
        return showWard(map, answer, data.message);
      }).catch(function () {
        say("The search did not answer. Try again, or see the results page.");
        window.location.assign(resultsPage);
      });
    });
  }

  function showAuthority(map, options, answer, message, resultsPage) {
    var select = document.getElementById("filter-la");
    var known = select && Array.prototype.some.call(select.options, function (o) { return o.value === answer.la_code; });
    if (!known) { window.location.assign(resultsPage); return; }
    select.value = answer.la_code;
    select.dispatchEvent(new Event("change"));
    say(message + " The map and the table show its wards.");
  }

  function start(map, options) {
    var state = { labels: [] };
    startPopupFocus(map);
    if (options.page === "ward") focusableNeighbours(map, options);
    if (options.page === "home" || options.page === "ward") {
      startLabels(map, options, state);
      startSearch(map, options);
    }
    var pending = null;
    map.on("layeradd", function () {
      if (pending) return;
      pending = setTimeout(function () { pending = null; nameMarkers(map, state); }, 0);
    });
  }

  return { start: start, wardNear: wardNear };
})();
