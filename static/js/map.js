/* Community Mapper: fetch map layers as JSON/GeoJSON and draw them. Every user-supplied string
   is put into the page with textContent, never as HTML. */
"use strict";

var CommunityMap = (function () {
  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function link(text, href) {
    var a = element("a", text);
    a.href = href;
    return a;
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

  /* Add query parameters (a URLSearchParams) to a URL that may already have some. */
  function withQuery(url, query) {
    var text = query.toString();
    if (!text) return url;
    return url + (url.indexOf("?") < 0 ? "?" : "&") + text;
  }

  function fromTemplate(template, id) {
    return template.replace("{id}", encodeURIComponent(id));
  }

  /* One formatter per number of decimals: toLocaleString builds one on every call, which
     a table of a few thousand cells feels (a tenth of a second). */
  var formats = {};

  function number(value, digits) {
    if (value === null || value === undefined || value === "") return "not known";
    digits = digits || 0;
    if (!formats[digits]) formats[digits] = new Intl.NumberFormat("en-GB", { maximumFractionDigits: digits });
    return formats[digits].format(Number(value));
  }

  function percent(value) {
    if (value === null || value === undefined) return "not known";
    return Math.round(Number(value) * 100) + "%";
  }

  /* A definition list of [term, value] pairs, as text. */
  function facts(pairs) {
    var dl = element("dl", null, "popup-facts");
    pairs.forEach(function (pair) {
      dl.appendChild(element("dt", pair[0]));
      dl.appendChild(element("dd", pair[1]));
    });
    return dl;
  }

  function setLoaded(map, loaded) {
    map.getContainer().setAttribute("data-loaded", loaded ? "true" : "false");
  }

  function report(map, error) {
    var status = document.getElementById("map-status");
    if (status) status.textContent = "Some map data could not be loaded. Please try again later.";
    map.getContainer().setAttribute("data-error", "true");
    if (window.console) console.warn(error);
  }

  /* Popups whose content is fetched when opened: details stay out of the marker data, and
     no popup exists until someone asks for one. */
  function lazyPopup(layer, url, build) {
    layer.bindPopup(function () {
      var box = element("div", "Loading…");
      fetchJSON(url).then(function (data) {
        box.textContent = "";
        box.appendChild(build(data));
        // Keep the built content, so the next opening needs no fetch (and so that update()
        // does not call this function again).
        layer.setPopupContent(box);
      }).catch(function () {
        box.textContent = "The details could not be loaded.";
      });
      return box;
    });
  }

  function categoryNames(slugs, options) {
    var names = options.category_names || {};
    return slugs.map(function (slug) { return names[slug] || slug; }).join(", ");
  }

  function groupPopup(options) {
    return function (feature) {
      var props = feature.properties || feature;
      var box = element("div");
      box.appendChild(element("h2", props.name));
      var pairs = [];
      if (props.categories && props.categories.length) pairs.push(["Activities", categoryNames(props.categories, options)]);
      if (props.kind) pairs.push(["Kind", props.kind]);
      if (props.ward_name) pairs.push(["Ward", props.ward_name]);
      if (props.meeting_times) pairs.push(["Meets", props.meeting_times]);
      if (pairs.length) box.appendChild(facts(pairs));
      if (options.group_page) box.appendChild(link("More about this group", fromTemplate(options.group_page, props.id)));
      return box;
    };
  }

  function servicePopup(props, options) {
    var box = element("div");
    box.appendChild(element("h2", props.name));
    var pairs = [];
    if (props.provider) pairs.push(["Provided by", props.provider]);
    if (props.categories && props.categories.length) pairs.push(["Activities", categoryNames(props.categories, options)]);
    if (props.delivery) pairs.push(["Delivery", props.delivery]);
    if (props.opening_hours) pairs.push(["Open", props.opening_hours]);
    if (props.eligibility) pairs.push(["Who for", props.eligibility]);
    if (props.ward_name) pairs.push(["Ward", props.ward_name]);
    if (pairs.length) box.appendChild(facts(pairs));
    if (options.service_page) box.appendChild(link("More about this service", fromTemplate(options.service_page, props.id)));
    return box;
  }

  /* Markers from compact {fields, rows} answers: [id, lon, lat, name]. */
  function groupMarkers(data, options) {
    var popup = groupPopup(options);
    return data.rows.map(function (row) {
      var marker = L.marker([row[2], row[1]], { title: row[3], alt: row[3] });
      lazyPopup(marker, fromTemplate(options.group_detail, row[0]), popup);
      return marker;
    });
  }

  function serviceMarkers(data, options) {
    return data.rows.map(function (row) {
      var marker = L.circleMarker([row[2], row[1]], {
        radius: 7, color: "#5b2a86", weight: 2, fillColor: "#ffffff", fillOpacity: 1
      });
      marker.bindTooltip(function () { return element("span", row[3]); });
      lazyPopup(marker, fromTemplate(options.service_detail, row[0]), function (props) {
        return servicePopup(props, options);
      });
      return marker;
    });
  }

  var ACTIONS = { invest: "Invest", devolve: "Devolve action", monitor: "Monitor" };

  /* The decisions layer: a square marker inside each ward a decision is about. */
  function decisionMarkers(data, options) {
    return data.features.map(function (feature) {
      var props = feature.properties, xy = feature.geometry.coordinates;
      var marker = L.marker([xy[1], xy[0]], {
        title: (ACTIONS[props.action] || props.action) + ": " + props.ward_name,
        alt: (ACTIONS[props.action] || props.action) + ": " + props.ward_name,
        icon: L.divIcon({ className: "decision-marker", iconSize: [14, 14] })
      });
      marker.bindPopup(function () {
        var box = element("div");
        box.appendChild(element("h2", (ACTIONS[props.action] || props.action) + ": " + props.ward_name));
        box.appendChild(facts([
          ["Decided", props.decided_on + " by " + props.decided_by],
          ["Review", props.review_on]
        ]));
        box.appendChild(link("The decision", fromTemplate(options.decision_page, props.id)));
        return box;
      });
      return marker;
    });
  }

  /* The notes layer: a marker at each note's point, else inside its ward. */
  function noteMarkers(data, options) {
    return data.features.map(function (feature) {
      var props = feature.properties, xy = feature.geometry.coordinates;
      var title = "Note on " + props.ward_name + " (" + props.status + ")";
      var marker = L.marker([xy[1], xy[0]], {
        title: title, alt: title,
        icon: L.divIcon({ className: "note-marker", iconSize: [14, 14] })
      });
      marker.bindPopup(function () {
        var box = element("div");
        box.appendChild(element("h2", "Note on " + props.ward_name));
        var text = props.text.length > 200 ? props.text.slice(0, 199) + "…" : props.text;
        box.appendChild(element("p", text, "note-text"));
        var pairs = [["State", props.status], ["Seen by", props.visibility === "public" ? "everyone" : "partners only"]];
        if (props.review_on) pairs.push(["Review", props.review_on]);
        box.appendChild(facts(pairs));
        box.appendChild(link("The note", fromTemplate(options.note_page, props.id)));
        return box;
      });
      return marker;
    });
  }

  function clusterGroup() {
    return L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 });
  }

  function coverageLayer() {
    return L.geoJSON(null, {
      interactive: false,
      style: { color: "#5b2a86", weight: 2, dashArray: "6 4", fillColor: "#5b2a86", fillOpacity: 0.12 }
    });
  }

  /* Switch layers on and off from the page's own checkboxes (labelled, keyboard-usable). */
  function bindLayerSwitches(map, layers) {
    Object.keys(layers).forEach(function (name) {
      var box = document.querySelector('input[data-layer="' + name + '"]');
      if (!box) { map.addLayer(layers[name]); return; }
      var apply = function () {
        if (box.checked) map.addLayer(layers[name]); else map.removeLayer(layers[name]);
      };
      box.addEventListener("change", apply);
      apply();
    });
  }

  /* Let keyboard users reach a ward's shape and open its popup with Enter or Space. */
  /* A ward's drawn path as a button named `label`: Enter or Space opens its popup. */
  function asButton(layer, props, label) {
    var path = layer.getElement();
    if (!path) return;
    path.setAttribute("data-ward", props.ward_code);
    path.setAttribute("tabindex", "0");
    path.setAttribute("role", "button");
    path.setAttribute("aria-label", label);
    path.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" && event.key !== " ") return;
      event.preventDefault();
      layer.openPopup(layer.getCenter ? layer.getCenter() : undefined);
    });
  }

  function focusable(layer, props) {
    layer.on("add", function () { asButton(layer, props, props.ward_name + ": show its figures"); });
  }

  /* ---- Home page: the choropleth, filters, legend, downloads and the table. ---- */

  function classesByValue(classes) {
    var byValue = {};
    classes.forEach(function (c) { byValue[c.value] = c; });
    return byValue;
  }

  function wardPopup(props, figures, options) {
    var box = element("div");
    box.appendChild(element("h2", props.ward_name));
    box.appendChild(element("p", props.ward_code + (props.la_name ? " · " + props.la_name : "")));
    if (figures) {
      var activity = classesByValue(options.legends.activity_class)[figures.activity_class];
      var priority = classesByValue(options.legends.priority)[figures.priority];
      box.appendChild(facts([
        ["Activity", activity ? activity.label : figures.activity_class],
        ["Priority", priority ? priority.label : figures.priority],
        ["Groups", number(figures.groups)],
        ["Groups per 1,000 residents", number(figures.groups_per_1k, 2)],
        ["Services", number(figures.services)],
        ["Population", number(figures.population)],
        ["Coordinator coverage", percent(figures.coordinator_coverage)],
        ["Residents within reach (core average)", percent(figures.reach_core)],
        ["IMD decile", figures.imd_decile === null || figures.imd_decile === undefined ? "not known" : String(figures.imd_decile)]
      ]));
    }
    box.appendChild(link("Ward profile", fromTemplate(options.ward_page, props.ward_code)));
    return box;
  }

  var TABLE_COLUMNS = [
    { key: "ward_name", text: true },
    { key: "population" },
    { key: "groups" },
    { key: "groups_per_1k", digits: 2 },
    { key: "services" },
    { key: "coordinator_coverage", percent: true },
    { key: "imd_decile" },
    { key: "reach_core", percent: true },
    { key: "activity_class", rank: ["none", "low", "medium", "high"] },
    { key: "priority", text: true }
  ];

  /* The columns the table shows: all it asks the server for. */
  var TABLE_FIELDS = TABLE_COLUMNS.map(function (c) { return c.key; }).join(",");

  /* The columns the map colours by and its popups show: all it asks for the wards in view. */
  var POPUP_FIELDS = ["activity_class", "priority", "groups", "groups_per_1k", "services",
    "population", "coordinator_coverage", "reach_core", "imd_decile"];

  function sortValue(column, row) {
    var value = row[column.key];
    if (column.rank) return column.rank.indexOf(value);
    if (value === null || value === undefined) return column.text ? "" : -Infinity;
    return column.text ? String(value).toLocaleLowerCase("en-GB") : Number(value);
  }

  function cellText(column, row, options) {
    var value = row[column.key];
    if (column.key === "activity_class" || column.key === "priority") {
      var known = classesByValue(options.legends[column.key])[value];
      return known ? known.label : (value || "");
    }
    if (column.percent) return percent(value);
    if (column.text) return value === null || value === undefined ? "" : String(value);
    return number(value, column.digits);
  }

  /* The table under the map: every ward in scope, a page at a time from the server. When
     every row fits on one page it sorts in the browser; else the server sorts and pages. */
  function Table(node, options) {
    this.node = node;
    this.options = options;
    this.rows = [];
    this.sortKey = "ward_name";
    this.ascending = true;
    this.page = 1;
    this.pages = 1;
    this.totals = null;
    this.query = new URLSearchParams();
    this.request = 0;
    var table = this;
    node.querySelectorAll("thead button[data-key]").forEach(function (button) {
      button.addEventListener("click", function () {
        var key = button.getAttribute("data-key");
        table.ascending = table.sortKey === key ? !table.ascending : true;
        table.sortKey = key;
        if (table.pages > 1) table.fetch(1); else table.draw();
      });
    });
    this.pager = document.getElementById("table-pages");
    if (this.pager) {
      this.pager.querySelectorAll("button[data-step]").forEach(function (button) {
        button.addEventListener("click", function () {
          table.fetch(table.page + Number(button.getAttribute("data-step")));
        });
      });
    }
  }

  /* Show the first page of the rows of these filters; resolves to how many wards there are. */
  Table.prototype.load = function (query) {
    this.query = query;
    return this.fetch(1);
  };

  Table.prototype.fetch = function (page) {
    var table = this, mine = ++this.request;
    var query = new URLSearchParams(this.query);
    query.set("page", String(Math.max(1, page)));
    query.set("sort", (this.ascending ? "" : "-") + this.sortKey);
    query.set("fields", TABLE_FIELDS);
    return fetchJSON(withQuery(this.options.figures_url, query)).then(function (data) {
      if (mine !== table.request) return data.total;
      table.page = data.page;
      table.pages = data.pages;
      table.totals = data.totals;
      table.rows = data.wards.slice();
      table.draw();
      return data.total;
    });
  };

  Table.prototype.draw = function () {
    var table = this, options = this.options;
    var column = TABLE_COLUMNS.filter(function (c) { return c.key === table.sortKey; })[0];
    var direction = this.ascending ? 1 : -1;
    if (this.pages <= 1) this.rows.sort(function (a, b) {
      var x = sortValue(column, a), y = sortValue(column, b);
      if (x < y) return -direction;
      if (x > y) return direction;
      return a.ward_code < b.ward_code ? -1 : 1;
    });
    this.node.querySelectorAll("thead th").forEach(function (th) {
      var button = th.querySelector("button[data-key]");
      if (button && button.getAttribute("data-key") === table.sortKey) {
        th.setAttribute("aria-sort", table.ascending ? "ascending" : "descending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
    var body = document.createElement("tbody");
    this.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      TABLE_COLUMNS.forEach(function (c, i) {
        var cell = element(i === 0 ? "th" : "td");
        if (i === 0) {
          cell.setAttribute("scope", "row");
          cell.appendChild(link(row.ward_name, fromTemplate(options.ward_page, row.ward_code)));
        } else {
          cell.textContent = cellText(c, row, options);
          if (!c.text && !c.rank) cell.className = "numeric";
        }
        tr.appendChild(cell);
      });
      body.appendChild(tr);
    });
    this.node.replaceChild(body, this.node.querySelector("tbody"));
    this.drawTotals();
    this.drawPager();
  };

  Table.prototype.drawPager = function () {
    if (!this.pager) return;
    this.pager.hidden = this.pages <= 1;
    this.pager.querySelector("[data-page-status]").textContent = "Page " + this.page + " of " + this.pages;
    this.pager.querySelector('[data-step="-1"]').disabled = this.page <= 1;
    this.pager.querySelector('[data-step="1"]').disabled = this.page >= this.pages;
  };

  Table.prototype.drawTotals = function () {
    var totals = this.totals || { wards: this.rows.length, population: null, groups: 0, services: 0 };
    var population = totals.population, groups = totals.groups;
    var shown = {
      population: number(population),
      groups: number(groups),
      groups_per_1k: population ? number(groups / population * 1000, 2) : "",
      services: number(totals.services)
    };
    var tr = document.createElement("tr");
    TABLE_COLUMNS.forEach(function (c, i) {
      var cell = element(i === 0 ? "th" : "td", i === 0 ? "All " + totals.wards + " wards" : (shown[c.key] || ""));
      if (i === 0) cell.setAttribute("scope", "row"); else cell.className = "numeric";
      tr.appendChild(cell);
    });
    var foot = this.node.querySelector("tfoot");
    foot.textContent = "";
    foot.appendChild(tr);
  };

  function formQuery(form) {
    var query = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (value !== "") query.append(name, value);
    });
    return query;
  }

  /* The view's box (rounded outwards, inside WGS84) and zoom, added to a query. */
  function viewQuery(map, query) {
    var bounds = map.getBounds(), view = new URLSearchParams(query);
    var out = function (value, round, low, high) {
      return Math.max(low, Math.min(high, round(value * 1e5) / 1e5));
    };
    view.set("bbox", [
      out(bounds.getWest(), Math.floor, -180, 180), out(bounds.getSouth(), Math.floor, -90, 90),
      out(bounds.getEast(), Math.ceil, -180, 180), out(bounds.getNorth(), Math.ceil, -90, 90)
    ].join(","));
    view.set("zoom", String(Math.round(map.getZoom())));
    return view;
  }

  /* A server cluster: how many groups (or services) in one cell; a click zooms in on it. */
  function serverCluster(map, cluster, noun) {
    var count = cluster[2];
    var size = count < 100 ? "small" : (count < 1000 ? "medium" : "large");
    var label = number(count) + " " + noun + " here: zoom in";
    var inner = element("div");
    inner.appendChild(element("span", number(count)));
    var marker = L.marker([cluster[1], cluster[0]], {
      title: label, count: count, noun: noun,
      icon: L.divIcon({ html: inner, className: "marker-cluster marker-cluster-" + size + " server-cluster", iconSize: [40, 40] })
    });
    marker.on("add", function () {
      var node = marker.getElement();
      if (node) { node.setAttribute("data-count", String(count)); node.setAttribute("aria-label", label); }
    });
    marker.on("click", function () {
      map.setView([cluster[1], cluster[0]], Math.min(map.getZoom() + 2, map.getMaxZoom()));
    });
    return marker;
  }

  function startHome(map, options) {
    var form = document.getElementById("filters");
    var table = new Table(document.getElementById("ward-table"), options);
    var status = document.getElementById("table-status");
    var container = map.getContainer();
    var figuresByCode = {};
    var busy = 0;  // loads and views in flight: the map is loaded when none is left
    var colourBy = "activity_class";
    var shownWards = {}, wardsZoom = null;  // the ward layers drawn, by code; at which zoom
    var legends = {
      activity_class: classesByValue(options.legends.activity_class),
      priority: classesByValue(options.legends.priority)
    };
    var reachOf = document.getElementById("reach-of");
    var figureFields = POPUP_FIELDS.concat(reachOf ? Array.prototype.map.call(reachOf.options, function (o) {
      return o.value;
    }) : []).join(",");

    /* The reach class of a ward: the legend entry whose lowest share the ward reaches. */
    function reachClass(figures) {
      var value = figures && reachOf ? figures[reachOf.value] : null;
      if (value === null || value === undefined) return null;
      return options.legends.reach.filter(function (c) { return value >= Number(c.value) - 1e-9; })[0];
    }

    function style(feature) {
      var figures = figuresByCode[feature.properties.ward_code];
      var known = colourBy === "reach" ? reachClass(figures) : figures && legends[colourBy][figures[colourBy]];
      return {
        color: "#243447", weight: 1.2, opacity: 0.9,
        fillColor: known ? known.colour : options.no_data_colour, fillOpacity: 0.7
      };
    }

    function wardLayer(renderer) {
      return L.geoJSON(null, {
        style: style,
        renderer: renderer,
        onEachFeature: function (feature, layer) {
          layer.bindPopup(function () {
            return wardPopup(feature.properties, figuresByCode[feature.properties.ward_code], options);
          });
          layer.bindTooltip(function () { return element("span", feature.properties.ward_name); }, { sticky: true });
          if (renderer instanceof L.SVG) focusable(layer, feature.properties);
          shownWards[feature.properties.ward_code] = layer;
        }
      }).addTo(map);
    }
    /* Wards as SVG paths, each one focusable; past `canvas_wards` in view (a country, a
       region), drawn on one canvas, many times faster, where the table is the keyboard's way
       to every ward (a thousand tab stops would be none). */
    var svgWards = wardLayer(L.svg()), canvasWards = wardLayer(L.canvas({ padding: 0.5 }));
    var wards = svgWards;
    var groupMarkersLayer = clusterGroup();
    var groupClusters = L.featureGroup();
    var groups = L.layerGroup([groupMarkersLayer, groupClusters]);
    var services = L.featureGroup();
    var coverage = coverageLayer();
    var decisions = L.featureGroup();
    var notes = L.featureGroup();
    bindLayerSwitches(map, { groups: groups, services: services, coverage: coverage, decisions: decisions, notes: notes });
    if (options.home_box) {
      var b = options.home_box;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [10, 10], animate: false });
    }

    document.querySelectorAll('input[name="colour"]').forEach(function (radio) {
      if (radio.checked) colourBy = radio.value;
      radio.addEventListener("change", function () {
        if (!radio.checked) return;
        colourBy = radio.value;
        document.querySelectorAll("[data-legend]").forEach(function (legend) {
          legend.hidden = legend.getAttribute("data-legend") !== colourBy;
        });
        wards.setStyle(style);
      });
    });
    if (reachOf) reachOf.addEventListener("change", function () { wards.setStyle(style); });

    var lastScope = null, viewRequest = 0;

    /* Redraw the groups in view, keeping the markers still in it (an open popup stays). */
    var shownGroups = {};
    function drawGroups(data) {
      groupClusters.clearLayers();
      var wanted = {}, fresh = [], gone = [];
      data.rows.forEach(function (row) { wanted[row[0]] = row; });
      Object.keys(shownGroups).forEach(function (id) {
        if (!wanted[id]) { gone.push(shownGroups[id]); delete shownGroups[id]; }
      });
      groupMarkersLayer.removeLayers(gone);
      var added = data.rows.filter(function (row) { return !shownGroups[row[0]]; });
      groupMarkers({ rows: added }, options).forEach(function (marker, i) {
        shownGroups[added[i][0]] = marker;
        fresh.push(marker);
      });
      groupMarkersLayer.addLayers(fresh);
      data.clusters.forEach(function (c) { groupClusters.addLayer(serverCluster(map, c, "groups")); });
      container.setAttribute("data-markers", String(data.rows.length));
      container.setAttribute("data-clusters", String(data.clusters.length));
      container.setAttribute("data-groups-in-view", String(data.total));
    }

    /* Redraw the wards in view: after a pan keep those drawn (an open popup stays) and add
       the new ones; after a zoom, all at the new zoom's detail. */
    function drawWards(data, zoom) {
      if (zoom !== wardsZoom) {
        svgWards.clearLayers(); canvasWards.clearLayers(); shownWards = {}; wardsZoom = zoom;
        wards = data.features.length > options.canvas_wards ? canvasWards : svgWards;
        container.setAttribute("data-ward-renderer", wards === canvasWards ? "canvas" : "svg");
      }
      var wanted = {};
      data.features.forEach(function (f) { wanted[f.properties.ward_code] = f; });
      Object.keys(shownWards).forEach(function (code) {
        if (!wanted[code]) { wards.removeLayer(shownWards[code]); delete shownWards[code]; }
      });
      var added = data.features.filter(function (f) { return !shownWards[f.properties.ward_code]; });
      wards.addData({ type: "FeatureCollection", features: added });
    }

    function drawServices(data) {
      services.clearLayers();
      serviceMarkers(data, options).forEach(function (m) { services.addLayer(m); });
      data.clusters.forEach(function (c) { services.addLayer(serverCluster(map, c, "services")); });
    }

    /* What is in view: wards at the zoom's detail, their figures, groups and services. */
    function loadView() {
      var query = formQuery(form), scope = new URLSearchParams();
      query.getAll("la").forEach(function (la) { scope.append("la", la); });
      var mine = ++viewRequest;
      var view = viewQuery(map, query), scopeView = viewQuery(map, scope);
      var current = function (draw) {
        return function (data) { if (mine === viewRequest) draw(data); };
      };
      busy += 1;
      setLoaded(map, false);
      container.setAttribute("data-bbox", view.get("bbox"));
      return Promise.all([
        fetchJSON(withQuery(options.wards_url, scopeView)).then(current(function (data) {
          drawWards(data, scopeView.get("zoom"));
        })),
        fetchJSON(withQuery(options.figures_url, withFields(viewWithout(view, ["zoom"])))).then(current(function (data) {
          figuresByCode = {};
          data.wards.forEach(function (row) { figuresByCode[row.ward_code] = row; });
        })),
        fetchJSON(withQuery(options.groups_url, view)).then(current(drawGroups)),
        fetchJSON(withQuery(options.services_url, scopeView)).then(current(drawServices))
      ]).then(function () {
        if (mine === viewRequest) wards.setStyle(style);
        settled();
      }).catch(function (error) { report(map, error); });
    }

    function settled() {
      busy -= 1;
      if (busy === 0) setLoaded(map, true);
    }

    function withFields(query) {
      query.set("fields", figureFields);
      return query;
    }

    function viewWithout(query, names) {
      var copy = new URLSearchParams(query);
      names.forEach(function (name) { copy.delete(name); });
      return copy;
    }

    /* The filters changed: the table, the downloads, the layers of the scope, then the view. */
    function load() {
      var query = formQuery(form);
      var scope = new URLSearchParams();
      query.getAll("la").forEach(function (la) { scope.append("la", la); });
      busy += 1;
      setLoaded(map, false);
      status.textContent = "Loading the ward figures…";
      document.querySelectorAll("a[data-download]").forEach(function (a) {
        a.href = withQuery(a.getAttribute("data-download"), query);
      });
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", withQuery(window.location.pathname, query));
      }
      var steps = [], fit = Promise.resolve();
      if (scope.toString() !== lastScope) {
        var moved = lastScope !== null;
        lastScope = scope.toString();
        if (moved || !options.home_box) {
          fit = fetchJSON(withQuery(options.box_url, scope)).then(function (data) {
            if (data.bbox) {
              var b = data.bbox;
              map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [10, 10], animate: false });
            }
          });
        }
        steps.push(fetchJSON(withQuery(options.coverage_url, scope)).then(function (data) {
          coverage.clearLayers();
          coverage.addData(data);
        }));
        if (options.decisions_url) {
          steps.push(fetchJSON(withQuery(options.decisions_url, scope)).then(function (data) {
            decisions.clearLayers();
            decisionMarkers(data, options).forEach(function (m) { decisions.addLayer(m); });
          }));
        }
        if (options.notes_url) {
          steps.push(fetchJSON(withQuery(options.notes_url, scope)).then(function (data) {
            notes.clearLayers();
            noteMarkers(data, options).forEach(function (m) { notes.addLayer(m); });
          }));
        }
      }
      // The view is drawn as soon as the map is where it should be, beside the other layers.
      var rows = table.load(query);
      return Promise.all([rows, fit.then(loadView), Promise.all(steps)]).then(function (answers) {
        var total = answers[0];
        status.textContent = total === 1 ? "1 ward." : total + " wards.";
        settled();
      }).catch(function (error) { report(map, error); });
    }

    var started = false;
    map.on("moveend", function () { if (started) loadView(); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      load();
    });
    form.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", load);
    });
    return load().then(function () { started = true; });
  }


  /* ---- Ward profile: the ward, its neighbours, groups and services near it. ---- */

  function startWard(map, options) {
    var focus = null;
    var wards = L.geoJSON(null, {
      style: function (feature) {
        var mine = feature.properties.ward_code === options.ward_code;
        return mine
          ? { color: "#1d4e89", weight: 3, fillColor: "#9ecae1", fillOpacity: 0.3 }
          : { color: "#505a66", weight: 1, dashArray: "4 3", fillOpacity: 0.04 };
      },
      onEachFeature: function (feature, layer) {
        if (feature.properties.ward_code === options.ward_code) focus = layer;
        layer.bindTooltip(function () { return element("span", feature.properties.ward_name); }, { sticky: true });
        if (feature.properties.ward_code !== options.ward_code) {
          layer.bindPopup(function () {
            var box = element("div");
            box.appendChild(element("h2", feature.properties.ward_name));
            box.appendChild(link("Ward profile", fromTemplate(options.ward_page, feature.properties.ward_code)));
            return box;
          });
        }
      }
    }).addTo(map);
    var groups = clusterGroup();
    var services = L.featureGroup();
    var notes = L.featureGroup();
    bindLayerSwitches(map, { groups: groups, services: services, notes: notes });
    var steps = [];
    if (options.notes_url) {
      steps.push(fetchJSON(options.notes_url).then(function (data) {
        noteMarkers(data, options).forEach(function (m) { notes.addLayer(m); });
      }));
    }
    return Promise.all(steps.concat([
      fetchJSON(options.wards_url).then(function (data) {
        wards.addData(data);
        if (focus) map.fitBounds(focus.getBounds(), { padding: [20, 20] });
      }),
      fetchJSON(options.groups_url).then(function (data) { groups.addLayers(groupMarkers(data, options)); }),
      fetchJSON(options.services_url).then(function (data) {
        serviceMarkers(data, options).forEach(function (m) { services.addLayer(m); });
      })
    ])).then(function () { setLoaded(map, true); }).catch(function (error) { report(map, error); });
  }

  /* ---- Group page: the group and the outline of its ward. ---- */

  function startGroup(map, options) {
    var steps = [
      fetchJSON(options.group_url).then(function (feature) {
        if (!feature.geometry) { return; }  // a hidden location: the ward outline only
        var xy = feature.geometry.coordinates;
        L.marker([xy[1], xy[0]], { title: feature.properties.name, alt: feature.properties.name })
          .bindPopup(function () { return element("strong", feature.properties.name); })
          .addTo(map);
        map.setView([xy[1], xy[0]], 15);
      })
    ];
    if (options.wards_url) {
      steps.push(fetchJSON(options.wards_url).then(function (data) {
        var outline = L.geoJSON(data, {
          interactive: false,
          style: { color: "#1d4e89", weight: 2, fillColor: "#9ecae1", fillOpacity: 0.15 }
        }).addTo(map);
        if (options.fit_ward && outline.getBounds().isValid()) { map.fitBounds(outline.getBounds()); }
      }));
    }
    return Promise.all(steps).then(function () { setLoaded(map, true); }).catch(function (error) { report(map, error); });
  }

  var PAGES = { home: startHome, ward: startWard, group: startGroup };

  function start(map, options) {
    var drawn = PAGES[options.page](map, options);
    if (window.MapFind) MapFind.start(map, options);  // search, labels, keyboard (map-find.js)
    return drawn;
  }

  return {
    start: start, element: element, fetchJSON: fetchJSON, fetchAll: fetchAll, focusable: focusable,
    asButton: asButton, fromTemplate: fromTemplate, facts: facts
  };
})();
