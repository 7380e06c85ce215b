"""Answers every face gives alike: compact JSON and GeoJSON bodies, downloads of ward rows."""

import json

from flask import Response

from mapper.geo import SRID
from mapper.io import exports
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
    body, mimetype = exports.write_gaps(frame, extension, attribution, srid)
    if srid != SRID and extension in exports.GEO_FORMATS:
        stem, dot, rest = filename.partition(".")
        filename = f"{stem}_epsg{srid}{dot}{rest}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})}
    return Response(body, mimetype=mimetype, headers=headers)
