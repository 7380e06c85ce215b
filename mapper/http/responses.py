"""Answers every face gives alike: compact JSON and GeoJSON bodies, downloads of ward rows."""

import json

from flask import Response, current_app, has_request_context, url_for

from mapper.geo import SRID
from mapper.io import exports, method_docs
from mapper.io.exports import GEOJSON_MIMETYPE


def compact_json(data, status=200, headers=None, mimetype="application/json"):
    """Answer `data` as compact UTF-8 JSON (no spaces, non-ASCII kept)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, mimetype=mimetype, headers=headers)


def geojson_response(data, status=200, headers=None):
    """Answer `data` as compact GeoJSON (application/geo+json)."""
    return compact_json(data, status, headers, mimetype=GEOJSON_MIMETYPE)


def download(frame, extension, attribution, filename, headers=None, srid=SRID):
    """Answer ward rows (the analysis, a snapshot, a change) as a download in a GAP_FORMAT,
    in EPSG:`srid` (the file's name then says so)."""
    body, mimetype = exports.write_gaps(with_documentation_url(frame), extension, attribution, srid)
    if srid != SRID and extension in exports.GEO_FORMATS:
        stem, dot, rest = filename.partition(".")
        filename = f"{stem}_epsg{srid}{dot}{rest}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})}
    return Response(body, mimetype=mimetype, headers=headers)


def documentation_url(documentation):
    """Return the absolute address of the method page a `documentation` names
    ("docs/gap-analysis.md" -> "https://host/method"): the request's host, else BASE_URL."""
    name = method_docs.doc_name(documentation)
    if name is None:
        return documentation
    if has_request_context():
        return url_for("method.method_page", name=name, _external=True)
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return url_for("method.method_page", name=name, _external=True)


def with_documentation_url(frame):
    """Return the frame (a shallow copy) with its metadata's documentation made absolute."""
    metadata = frame.attrs.get("metadata")
    if not metadata or "documentation" not in metadata:
        return frame
    copied = frame.copy(deep=False)
    copied.attrs = {
        **frame.attrs,
        "metadata": {**metadata, "documentation": documentation_url(metadata["documentation"])},
    }
    return copied
