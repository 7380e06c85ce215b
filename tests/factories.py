"""Factories that build records through the registry, as the app itself would."""

import functools
from datetime import date

import geopandas as gpd
import numpy as np
import shapely
from geoalchemy2 import WKBElement
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import insert

from mapper import geo
from mapper.core import accounts
from mapper.core.records import save_located
from mapper.core.wards import import_wards, locate_wards, save_wards
from mapper.store import db, queries
from mapper.store.models import CommunityGroup, Postcode, Service, User

PASSWORD = "correct horse battery staple"  # noqa: S105 - every test user's password


def make_wards(
    session, wards, la_code="E08000099", la_name="Testshire", vintage="2024", replace=False
):
    """Save wards given as {code: (name, polygon)}; returns {code: Ward}. With `replace` they
    are imported as a boundary change: the older wards they replace are retired."""
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
    if replace:
        import_wards(session, frame)
    else:
        save_wards(session, frame)
    session.commit()
    return {w.code: w for w in queries.current_wards_by_code(session, list(wards))}


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
        geom=db.to_wkb_element(Point(*lonlat)),
        status=status,
        categories=queries.categories_by_slug(session, categories),
        active_from=values.pop("active_from", date(2020, 1, 1)),
        **values,
    )
    session.add(group)
    session.commit()
    return group


def bulk_groups(session, count, lonlat_box, seed=19, chunk=20_000):
    """Insert `count` active groups at random points of `lonlat_box` inside a current ward,
    in bulk (Core INSERTs, each group's ward located as the flush hook would); commit.

    Returns the (lon, lat) of each, an array in insertion (id) order.
    """
    rng = np.random.default_rng(seed)
    min_lon, min_lat, max_lon, max_lat = lonlat_box
    xy = np.empty((0, 2))
    ward_ids = []
    while len(xy) < count:
        more = rng.uniform((min_lon, min_lat), (max_lon, max_lat), (count, 2))
        found = locate_wards(session, shapely.points(more))
        inside = np.array([w is not None for w in found])
        xy = np.vstack([xy, more[inside]])
        ward_ids += [w for w in found if w is not None]
    xy, ward_ids = xy[:count], ward_ids[:count]
    blobs = shapely.to_wkb(shapely.set_srid(shapely.points(xy), geo.SRID), include_srid=True)
    rows = [
        {
            "name": f"Group {i}",
            "status": "active",
            "ward_id": int(ward_ids[i]),
            "geom": WKBElement(blobs[i], srid=geo.SRID, extended=True),
            "active_from": date(2020, 1, 1),
        }
        for i in range(count)
    ]
    for start in range(0, count, chunk):
        session.execute(insert(CommunityGroup.__table__), rows[start : start + chunk])
    session.commit()
    return xy


def make_service(session, name, lonlat, **values):
    service = Service(name=name, geom=db.to_wkb_element(Point(*lonlat)), **values)
    session.add(service)
    session.commit()
    return service


@functools.cache
def password_hash():
    """The real (scrypt) hash of PASSWORD, made once: hashing is slow on purpose."""
    return accounts.hash_password(PASSWORD)


def make_user(session, email, role="editor", organisation="Testshire CVS", trusted=False):
    """A user of an organisation (created if needed); `trusted` marks the organisation."""
    org = accounts.get_or_create_organisation(session, organisation)
    org.trusted = org.trusted or trusted
    user = User(email=email, password_hash=password_hash(), role=role, organisation=org)
    session.add(user)
    session.commit()
    return user


def make_token(session, user):
    """Return a new API token of the user, as the Authorization header."""
    _row, token = accounts.create_token(session, user)
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
    save_wards(session, wards)
    session.flush()
    return polling_stations(session, geodata, "E08000003")


def polling_stations(session, geodata, la_code, categories=()):
    """Save the polling stations (May 2022) of a local authority as active groups (of the
    `categories` slugs given, if any)."""
    stations = gpd.read_file(geodata / "greater_manchester" / "gm_polling_stations_may2022.geojson")
    stations = stations[stations["la_code"] == la_code]
    records = [
        {
            "external_id": f"polling-station-{row.id}",
            "name": row.name,
            "address": row.address,
            "postcode": row.postcode,
            "status": "active",
            "active_from": date(2022, 5, 5),
            "geom": row.geometry,
            **({"categories": list(categories)} if categories else {}),
        }
        for row in stations.itertuples()
    ]
    save_located(session, CommunityGroup, records)
    session.commit()
    return stations


TRAFFORD = ["--la-code", "E08000009", "--la-name", "Trafford"]


def run_cli(app, *args):
    """Run a `mapper` command in the app; fail the test with its output if it fails."""
    result = app.test_cli_runner().invoke(args=[str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def trafford_across_boundary_change(app, session, geodata):
    """Trafford's Dec 2017 wards with the polling stations and postcodes, a snapshot of them,
    then the May 2023 wards and a snapshot of those. Returns (snapshot 2017, snapshot 2023)."""
    from mapper.core import snapshots
    from tests.realdata import TRAFFORD_POSTCODES, TRAFFORD_WARDS_2017, TRAFFORD_WARDS_2023

    run_cli(app, "import-wards", geodata / TRAFFORD_WARDS_2017, "--vintage", "2017", *TRAFFORD)
    run_cli(app, "import-postcodes", geodata / TRAFFORD_POSTCODES)
    polling_stations(session, geodata, "E08000009")  # Trafford's 81
    before = snapshots.take_snapshot(session, "Trafford on the 2017 wards", ["E08000009"])
    run_cli(app, "import-wards", geodata / TRAFFORD_WARDS_2023, "--vintage", "2023", *TRAFFORD)
    session.rollback()  # see what the command committed
    after = snapshots.take_snapshot(session, "Trafford on the 2023 wards", ["E08000009"])
    return before, after


def borough_with_evidence(session):
    """Testshire's two wards, three groups in the west one, and a snapshot of them."""
    from mapper.core import snapshots

    two_wards(session)
    for i in range(3):
        make_group(session, f"West group {i}", (-2.09 + i / 100, 53.45))
    return snapshots.take_snapshot(session, "Spring evidence", ["E08000099"])
