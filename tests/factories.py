"""Factories that build records through the registry, as the app itself would."""

import functools
from datetime import date

import geopandas as gpd
from shapely.geometry import MultiPolygon, Point, box

from mapper import auth, registry
from mapper.models import CommunityGroup, Postcode, Service, User

PASSWORD = "correct horse battery staple"  # noqa: S105 - every test user's password


def make_wards(session, wards, la_code="E08000099", la_name="Testshire", vintage="2024"):
    """Save wards given as {code: (name, polygon)}; returns {code: Ward}."""
    frame = gpd.GeoDataFrame(
        {
            "code": list(wards),
            "name": [name for name, _ in wards.values()],
            "la_code": la_code,
            "la_name": la_name,
            "vintage": vintage,
        },
        geometry=[
            MultiPolygon([poly]) if poly.geom_type == "Polygon" else poly
            for _, poly in wards.values()
        ],
        crs="EPSG:4326",
    )
    registry.save_wards(session, frame)
    session.commit()
    return {w.code: w for w in registry.current_wards_by_code(session, list(wards))}


def two_wards(session):
    """Two unit-ish squares side by side sharing the edge lon = -2.0."""
    return make_wards(
        session,
        {
            "E05000002": ("West Ward", box(-2.1, 53.4, -2.0, 53.5)),
            "E05000001": ("East Ward", box(-2.0, 53.4, -1.9, 53.5)),
        },
    )


def make_group(session, name, lonlat, status="active", categories=(), **values):
    group = CommunityGroup(
        name=name,
        geom=registry.to_wkb_element(Point(*lonlat)),
        status=status,
        categories=registry.categories_by_slug(session, categories),
        active_from=values.pop("active_from", date(2020, 1, 1)),
        **values,
    )
    session.add(group)
    session.commit()
    return group


def make_service(session, name, lonlat, **values):
    service = Service(name=name, geom=registry.to_wkb_element(Point(*lonlat)), **values)
    session.add(service)
    session.commit()
    return service


@functools.cache
def password_hash():
    """The real (scrypt) hash of PASSWORD, made once: hashing is slow on purpose."""
    return auth.hash_password(PASSWORD)


def make_user(session, email, role="editor", organisation="Testshire CVS", trusted=False):
    """A user of an organisation (created if needed); `trusted` marks the organisation."""
    org = registry.get_or_create_organisation(session, organisation)
    org.trusted = org.trusted or trusted
    user = User(email=email, password_hash=password_hash(), role=role, organisation=org)
    session.add(user)
    session.commit()
    return user


def make_token(session, user):
    """Return a new API token of the user, as the Authorization header."""
    _row, token = auth.create_token(session, user)
    return {"Authorization": f"Bearer {token}"}


def four_users(session):
    """Users of every kind, in Testshire's two wards with the postcode TS1 1AA in the east:
    an untrusted editor, a trusted editor, another organisation's editor and an admin."""
    two_wards(session)
    session.add(Postcode(postcode="TS1 1AA", lon=-1.95, lat=53.45))
    session.commit()
    return {
        "editor": make_user(session, "ed@lio.example", organisation="Small LIO"),
        "trusted": make_user(session, "tess@cvs.example", organisation="Big CVS", trusted=True),
        "other": make_user(session, "oz@other.example", organisation="Other LIO"),
        "admin": make_user(session, "admin@council.example", "admin", "Council", trusted=True),
    }


def load_manchester(session, geodata):
    """Save Manchester's 32 wards (May 2023) and its 198 polling stations as active groups.

    Returns the polling stations as a GeoDataFrame (with their own `ward_code`).
    """
    wards = gpd.read_file(geodata / "manchester" / "manchester_wards_may2023_bgc_wgs84.geojson")
    wards = wards.rename(
        columns={
            "area_code": "code",
            "area_name": "name",
            "local_authority_area_code": "la_code",
            "local_authority_area_name": "la_name",
        }
    )[["code", "name", "la_code", "la_name", "geometry"]]
    wards["vintage"] = "2023"
    registry.save_wards(session, wards)
    session.flush()
    stations = gpd.read_file(geodata / "greater_manchester" / "gm_polling_stations_may2022.geojson")
    stations = stations[stations["la_code"] == "E08000003"]
    records = [
        {
            "external_id": f"polling-station-{row.id}",
            "name": row.name,
            "address": row.address,
            "postcode": row.postcode,
            "status": "active",
            "active_from": date(2022, 5, 5),
            "geom": row.geometry,
        }
        for row in stations.itertuples()
    ]
    registry.save_located(session, CommunityGroup, records)
    session.commit()
    return stations
