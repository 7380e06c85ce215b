"""GeoJSON and CSV writers (RFC 7946; spreadsheet-safe CSV)."""

import shapely
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping

from mapper import geo

GEOJSON_MIMETYPE = "application/geo+json"


def feature(geom, properties, feature_id=None):
    """Return an RFC 7946 Feature: lon/lat, 6 decimals, counter-clockwise exterior rings."""
    result = {"type": "Feature"}
    if feature_id is not None:
        result["id"] = feature_id
    result["geometry"] = mapping(geo.for_rfc7946(geom)) if geom is not None else None
    result["properties"] = properties
    return result


def located_features(records, properties):
    """Return the Features of many groups or services, converting their points in one go."""
    # A geometry's WKB comes as bytes, a memoryview or (SpatiaLite) hex text, all read here.
    wkbs = [r.geom.data if isinstance(r.geom.data, str) else bytes(r.geom.data) for r in records]
    geoms = geo.for_rfc7946(shapely.from_wkb(wkbs))
    return [
        {"type": "Feature", "id": r.id, "geometry": mapping(g), "properties": properties(r)}
        for r, g in zip(records, geoms, strict=True)
    ]


def feature_collection(features, **members):
    """Return a FeatureCollection (never with a `crs` member) with any extra members."""
    return {"type": "FeatureCollection", **members, "features": list(features)}


def ward_properties(ward):
    return {
        "ward_code": ward.code,
        "ward_name": ward.name,
        "la_code": ward.la_code,
        "la_name": ward.la_name,
        "vintage": ward.vintage,
        "population": ward.population,
    }


def group_properties(group):
    """Return the public fields of a group: nothing about who registered it."""
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "categories": [c.slug for c in group.categories],
        "kind": group.kind,
        "ward_code": group.ward.code if group.ward else None,
        "ward_name": group.ward.name if group.ward else None,
        "address": group.address,
        "postcode": group.postcode,
        "website": group.website,
        "contact": group.contact_public,
        "meeting_times": group.meeting_times,
        "charity_number": group.charity_number,
        "status": group.status,
        "last_verified": group.last_verified.isoformat() if group.last_verified else None,
    }


def group_feature(group):
    return feature(to_shape(group.geom), group_properties(group), feature_id=group.id)


def service_properties(service):
    """Return the public fields of a service."""
    return {
        "id": service.id,
        "name": service.name,
        "description": service.description,
        "provider": service.provider,
        "categories": [c.slug for c in service.categories],
        "ward_code": service.ward.code if service.ward else None,
        "ward_name": service.ward.name if service.ward else None,
        "delivery": service.delivery,
        "opening_hours": service.opening_hours,
        "eligibility": service.eligibility,
        "address": service.address,
        "postcode": service.postcode,
        "website": service.website,
        "contact": service.contact_public,
        "status": service.status,
    }
