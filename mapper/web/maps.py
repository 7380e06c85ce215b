"""folium map builders. Every asset is served by the app; data is fetched, not inlined.

User-supplied strings never pass through folium: popups and tooltips are built in the
browser from fetched JSON with textContent (static/js/map.js), so they are always escaped.
"""

import folium
import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster
from branca.element import MacroElement
from flask import url_for
from jinja2 import Template

# Vendor packages served under /vendor/<name>/<file> (see views.vendor).
VENDOR_DIRS = {
    "leaflet": xstatic.pkg.leaflet.BASE_DIR,
    "markercluster": xstatic.pkg.leaflet_markercluster.BASE_DIR,
}


def vendor_url(name, filename):
    """Return the URL of a file of a vendored browser library."""
    return url_for("web.vendor", name=name, filename=filename)


def map_assets():
    """Return the (scripts, stylesheets) every map page needs, all served by the app."""
    scripts = [
        vendor_url("leaflet", "leaflet.js"),
        vendor_url("markercluster", "leaflet.markercluster.js"),
        url_for("static", filename="js/map.js"),
        url_for("static", filename="js/map-find.js"),
    ]
    styles = [
        vendor_url("leaflet", "leaflet.css"),
        vendor_url("markercluster", "MarkerCluster.css"),
        vendor_url("markercluster", "MarkerCluster.Default.css"),
    ]
    return scripts, styles


class DataLayers(MacroElement):
    """Fetches the map's layers from JSON endpoints once the map exists."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        CommunityMap.start({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, **options):
        super().__init__()
        self._name = "DataLayers"
        self.options = options


def base_map(tile_url="", attribution="", **kwargs):
    """Return a folium Map that loads nothing from outside the app."""
    fmap = folium.Map(tiles=None, control_scale=True, **kwargs)
    # Without a tile layer Leaflet has no maxZoom, and marker clustering needs one.
    fmap.options["maxZoom"] = 19
    # Per map, not library-wide: changing folium's global lists leaks between maps.
    fmap.default_js = []
    fmap.default_css = []
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=attribution or " ", name="Base map").add_to(fmap)
    return fmap


def render_parts(fmap):
    """Return the map's HTML element and script, for embedding in one of our pages."""
    root = fmap.get_root()
    root.render()
    return {"map_html": root.html.render(), "map_script": root.script.render()}


# Ward colours. Sequential ColorBrewer YlGnBu, light to dark as activity grows: it stays
# ordered for every kind of colour blindness (tests/web/test_maps.py checks it) and each class has a
# text label too, so colour is never the only cue.
ACTIVITY_CLASSES = [
    ("none", "None", "#ffffcc", "No active community groups"),
    (
        "low",
        "Low",
        "#a1dab4",
        "Among the third of wards shown with the fewest groups for their size",
    ),
    ("medium", "Medium", "#41b6c4", "Among the middle third of wards shown"),
    (
        "high",
        "High",
        "#225ea8",
        "Among the third of wards shown with the most groups for their size",
    ),
]
# Priorities (docs/gap-analysis.md) from ColorBrewer PuOr, a diverging scale that colour-blind
# readers can follow: oranges where action is needed, purple where action can be devolved.
PRIORITIES = [
    (
        "priority gap",
        "Priority gap",
        "#e66101",
        "Little or no activity where need is high and no coordinator works",
    ),
    ("develop", "Develop", "#fdb863", "Little activity where need is high; a coordinator is there"),
    ("monitor", "Monitor", "#f7f7f7", "No immediate action"),
    (
        "devolution ready",
        "Devolution ready",
        "#5e3c99",
        "Strong activity with a coordinator to connect to",
    ),
]
# Reach (the share of a ward's residents within walking distance of a group of a category),
# in fifths, from ColorBrewer YlOrBr: sequential, ordered for every kind of colour blindness,
# dark where few residents are within reach. `value` is the lowest share of the class.
REACH_CLASSES = [
    ("0.8", "80% or more", "#ffffd4", "At least four in five residents are within reach"),
    ("0.6", "60% to 80%", "#fed98e", "Three to four in five residents are within reach"),
    ("0.4", "40% to 60%", "#fe9929", "Two to three in five residents are within reach"),
    ("0.2", "20% to 40%", "#d95f0e", "One to two in five residents are within reach"),
    ("0", "Under 20%", "#993404", "Fewer than one in five residents are within reach"),
]
NO_DATA_COLOUR = "#969696"
# Clusters of groups (static/css/site.css): near black with a white ring, far from every ward
# colour above, so a cluster never reads as a class of the choropleth.
CLUSTER_COLOUR = "#1b1f24"


def legend(classes):
    """Return the legend entries of a list of (value, label, colour, description)."""
    return [
        {"value": value, "label": label, "colour": colour, "description": description}
        for value, label, colour, description in classes
    ]


def classes_by_value():
    """Return {"activity_class": {value: entry}, "priority": {value: entry}} of the legends."""
    return {
        key: {entry["value"]: entry for entry in legend(classes)}
        for key, classes in (("activity_class", ACTIVITY_CLASSES), ("priority", PRIORITIES))
    }


def home_map(tile_url, attribution, **options):
    """Build the home page map; its layers are fetched from the URLs in `options`."""
    fmap = base_map(tile_url, attribution, location=[54.0, -2.5], zoom_start=6)
    DataLayers(page="home", **options).add_to(fmap)
    return render_parts(fmap)


def ward_map(tile_url, attribution, **options):
    """Build a ward profile's map: the ward, its neighbours, groups and services near it."""
    fmap = base_map(tile_url, attribution, location=[54.0, -2.5], zoom_start=6)
    DataLayers(page="ward", **options).add_to(fmap)
    return render_parts(fmap)


def group_map(tile_url, attribution, **options):
    """Build a group page's map: the group and the outline of its ward."""
    fmap = base_map(tile_url, attribution, location=[54.0, -2.5], zoom_start=6)
    DataLayers(page="group", **options).add_to(fmap)
    return render_parts(fmap)


class LocationPicker(MacroElement):
    """Lets a person click the map to fill a form's longitude and latitude inputs."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        LocationPicker.start({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, **options):
        super().__init__()
        self._name = "LocationPicker"
        self.options = options


def picker_assets():
    """Return the (scripts, stylesheets) of a page with a location picker."""
    scripts = [
        vendor_url("leaflet", "leaflet.js"),
        url_for("static", filename="js/location-picker.js"),
    ]
    styles = [vendor_url("leaflet", "leaflet.css"), url_for("static", filename="css/forms.css")]
    return scripts, styles


def small_map_assets():
    """Return the (scripts, stylesheets) of a page with small maps of places (no folium)."""
    scripts = [vendor_url("leaflet", "leaflet.js"), url_for("static", filename="js/small-maps.js")]
    styles = [vendor_url("leaflet", "leaflet.css"), url_for("static", filename="css/forms.css")]
    return scripts, styles


def location_picker(tile_url, attribution, wards_url, place_url, lon_input="lon", lat_input="lat"):
    """Build the map of a group form: the wards, and a marker where the person clicks.

    The marker starts at the inputs' values, so nothing the person typed passes through
    folium; ward names are shown with textContent by static/js/location-picker.js, which asks
    `place_url` where a typed postcode or a clicked point is and in which ward.
    """
    fmap = base_map(tile_url, attribution, location=[54.0, -2.5], zoom_start=6)
    LocationPicker(
        wards_url=wards_url, place_url=place_url, lon_input=lon_input, lat_input=lat_input
    ).add_to(fmap)
    return render_parts(fmap)


# The change map's classes (core.changes.CHANGE_CLASSES), from ColorBrewer BrBG, a diverging
# scale colour-blind readers can follow: browns where groups were lost, teals where gained.
CHANGE_CLASSES = [
    ("fewer", "Lost 2 or more", "#a6611a", "Two or more fewer community groups"),
    ("one fewer", "Lost 1", "#dfc27d", "About one group fewer"),
    ("same", "About the same", "#f5f5f5", "Less than half a group of difference"),
    ("one more", "Gained 1", "#80cdc1", "About one group more"),
    ("more", "Gained 2 or more", "#018571", "Two or more community groups more"),
    ("new", "No earlier figures", "#404040", "The earlier snapshot has nothing for this ward"),
]


def change_map_assets():
    """Return the (scripts, stylesheets) of the change map: Leaflet and our two scripts."""
    scripts = [
        vendor_url("leaflet", "leaflet.js"),
        url_for("static", filename="js/map.js"),
        url_for("static", filename="js/changes.js"),
    ]
    styles = [vendor_url("leaflet", "leaflet.css"), url_for("static", filename="css/evidence.css")]
    return scripts, styles


def evidence_styles():
    """Return the stylesheets of the evidence pages (forms, tables, legends)."""
    return [
        url_for("static", filename="css/forms.css"),
        url_for("static", filename="css/evidence.css"),
    ]
