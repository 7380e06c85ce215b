"""Org-ids in imports and duplicates: a record is matched by a shared org-id before its name
and location, and duplicates are found by org-id, then name and website, then name and place."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mapper.core import duplicates, groups
from mapper.store.models import CommunityGroup, OrgId
from tests.factories import four_users, make_group, two_wards

WEST = (-2.05, 53.45)


def run(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def count(session, model=CommunityGroup):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def write(tmp_path, text):
    path = tmp_path / "groups.csv"
    path.write_text(text)
    return path


def test_a_renamed_group_with_the_same_org_id_is_updated_not_duplicated(app, session, tmp_path):
    two_wards(session)
    first = write(
        tmp_path,
        "name,lon,lat,categories,org_ids\n"
        "Eastmere Food Bank,-2.05,53.45,food-support,GB-CHC-1234567\n"
        "Ashcombe Choir,-2.06,53.44,faith,\n",
    )
    result = run(app, "import-groups", first)
    assert result.exit_code == 0, result.output
    assert count(session) == 2
    # renamed and moved 2 km: no name or place would match it, its org-id does
    again = write(
        tmp_path,
        "name,lon,lat,categories,org_ids\n"
        "Eastmere & District Food Bank,-2.05,53.47,food-support,gb-chc-1234567;GB-COH-7654321\n",
    )
    result = run(app, "import-groups", again)
    assert result.exit_code == 0, result.output
    assert count(session) == 2
    group = session.scalar(select(CommunityGroup).where(CommunityGroup.name.like("Eastmere%")))
    assert group.name == "Eastmere & District Food Bank"
    assert group.org_ids == ["GB-CHC-1234567", "GB-COH-07654321"]


def test_rows_of_one_file_sharing_an_org_id_are_one_group(app, session, tmp_path):
    two_wards(session)
    path = write(
        tmp_path,
        "name,lon,lat,categories,org_ids\n"
        "Ashcombe Walkers,-2.05,53.45,faith,GB-CHC-1234567\n"
        "Ashcombe Walking Club,-2.06,53.44,faith,GB-CHC-1234567\n",
    )
    result = run(app, "import-groups", path)
    assert result.exit_code == 0, result.output
    assert count(session) == 1 and count(session, OrgId) == 1
    assert session.scalar(select(CommunityGroup.name)) == "Ashcombe Walking Club"


def test_a_malformed_org_id_in_a_file_names_the_file_and_the_row(app, session, tmp_path):
    two_wards(session)
    path = write(
        tmp_path,
        "name,lon,lat,categories,org_ids\n"
        "Good,-2.05,53.45,faith,GB-CHC-1234567\n"
        "Bad,-2.05,53.45,faith,GB-CHC-1234567;GB-CHC-12X\n",
    )
    result = run(app, "import-groups", path)
    assert "groups.csv: row 3: org_ids 'GB-CHC-12X' is not an identifier of GB-CHC" in (
        result.output
    )
    assert count(session) == 1


def test_an_org_id_is_stored_once_per_group(session):
    two_wards(session)
    group = make_group(session, "Choir", WEST)
    session.add_all([OrgId.of("GB-CHC-1234567"), OrgId.of("GB-CHC-1234567")])
    for row in session.new:
        row.group_id = group.id
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    orphan = OrgId.of("GB-CHC-1234567")  # belongs to no body
    session.add(orphan)
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_duplicates_come_by_org_id_then_name_and_website_then_name_and_place(session):
    users = four_users(session)
    far = (-1.95, 53.41)  # about 10 km east
    by_place = make_group(session, "Ashcombe Walkers", (WEST[0], WEST[1] + 0.001))
    by_website = make_group(session, "Ashcombe Walkers", far, website="http://www.walk.example/")
    by_org_id = make_group(session, "Something Else Entirely", far)
    by_org_id.org_ids = ["GB-CHC-1234567"]
    make_group(session, "Ashcombe Walkers", far, website="https://other.example")  # none
    session.commit()
    found = duplicates.likely_duplicates(
        session,
        "Ashcombe Walkers",
        WEST,
        website="https://walk.example",
        org_ids=["GB-CHC-1234567"],
    )
    assert [g.id for g, _ in found] == [by_org_id.id, by_website.id, by_place.id]
    with pytest.raises(duplicates.LikelyDuplicate) as raised:
        groups.register_group(
            session,
            users["trusted"],
            {
                "name": "Ashcombe Walkers",
                "categories": ["faith"],
                "lon": WEST[0],
                "lat": WEST[1],
                "website": "https://walk.example",
                "org_ids": ["gb-chc-1234567"],
            },
        )
    message = raised.value.message if hasattr(raised.value, "message") else str(raised.value)
    assert "shares org-id GB-CHC-1234567" in message and "same website" in message
    assert "org_ids" in raised.value.fields
    # without org-id or website only the group close by is one
    found = duplicates.likely_duplicates(session, "Ashcombe Walkers", WEST)
    assert [g.id for g, _ in found] == [by_place.id]
