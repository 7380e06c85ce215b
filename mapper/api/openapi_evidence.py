"""The OpenAPI operations of the evidence: snapshots, changes between two dates, decisions."""

from mapper.api.openapi_paths import (
    ID_SCHEMA,
    codes_parameter,
    crs_parameter,
    download_media_type,
    download_schema,
    get,
    ok,
    parameter,
)
from mapper.io import exports

TAG = "Evidence"


def change_parameters():
    """The parameters of a change between two dates (http.params.change_filters)."""
    day = {"type": "string", "format": "date"}
    snapshot_id = ID_SCHEMA
    return [
        codes_parameter("la", "The local authorities compared; without it, every ward."),
        codes_parameter(
            "ward",
            "Only these later wards, and those drawing on earlier wards with these codes.",
        ),
        parameter(
            "from",
            "The earlier side: the latest unfiltered snapshot describing this day or an "
            "earlier one. Required unless `from_snapshot` is given.",
            day,
        ),
        parameter("from_snapshot", "The earlier side, by snapshot id.", snapshot_id),
        parameter(
            "to",
            "The later side, chosen like `from`; without `to` and `to_snapshot`, the live "
            "gap analysis now.",
            day,
        ),
        parameter("to_snapshot", "The later side, by snapshot id.", snapshot_id),
    ]


def evidence_paths():
    """Return the paths of the snapshots, the changes between two dates and the decisions."""
    snapshot_id = parameter("snapshot_id", "The snapshot's id.", ID_SCHEMA, "path")
    subset = [
        codes_parameter("la", "Only the wards of these local authorities."),
        codes_parameter("ward", "Only these wards."),
    ]
    paths = {
        "/snapshots.json": get(
            "Snapshots",
            "The stored snapshots of the gap analysis, newest first: label, kind (manual, "
            "scheduled, reconstructed), the day described, method version, filters, boundary "
            "vintage, local authorities and download links.",
            TAG,
            ok("The snapshots.", {"type": "object"}),
            [
                codes_parameter("la", "Only snapshots holding this local authority."),
                parameter(
                    "limit",
                    "How many snapshots at most; a larger value is capped.",
                    {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                ),
            ],
        ),
    }
    for extension in exports.GAP_FORMATS:
        paths[f"/snapshots/{{snapshot_id}}.{extension}"] = get(
            f"A snapshot as {extension.upper()}",
            "A stored snapshot in the same form as the live gap analysis, byte for byte the "
            "same at every download: immutable, so it may be cached for ever. The GeoJSON "
            "`metadata` states the method version that computed it and names the snapshot.",
            TAG,
            ok("The snapshot.", download_schema(extension), download_media_type(extension)),
            [snapshot_id, *subset, crs_parameter()],
            errors=("400", "404", "503"),
        )
        paths[f"/changes.{extension}"] = get(
            f"Change between two dates as {extension.upper()}",
            "Per ward, the change in groups, groups per 1,000 residents, services, "
            "categories gained and lost, activity class and priority, and coordinator "
            "coverage, from one snapshot to a later one (or to now). Across a boundary "
            "change the earlier figures are carried onto the later wards by postcodes, else "
            "by area; `converted`, `conversion` and `converted_from` say how. Method: "
            "docs/changes.md.",
            TAG,
            ok("The change per ward.", download_schema(extension), download_media_type(extension)),
            [*change_parameters(), crs_parameter()],
            errors=("400", "404", "422", "503"),
        )
    for extension in ("geojson", "csv"):
        paths[f"/decisions.{extension}"] = get(
            f"Decisions as {extension.upper()}",
            "The decision log: public, agreed decisions (signed-in partners also see theirs "
            "and proposals), with their wards' shapes as their snapshot had them.",
            TAG,
            ok("The decisions.", download_schema(extension), download_media_type(extension)),
            [
                codes_parameter("la", "Only decisions of these local authorities."),
                codes_parameter("ward", "Only decisions about these wards (codes as recorded)."),
            ],
        )
    return paths
