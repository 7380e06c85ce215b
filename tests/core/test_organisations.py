"""Organisations: trusted flag, users and groups, moving groups, confusable names."""

import pytest

from mapper.core import accounts, audit, organisations
from mapper.errors import Invalid
from mapper.store.models import Organisation
from tests.factories import PASSWORD, make_group, make_user, two_wards


@pytest.fixture
def borough(session):
    two_wards(session)
    admin = make_user(session, "admin@council.example", "admin", "Eastmere Council", True)
    cvs = make_user(session, "tess@cvs.example", organisation="Eastmere CVS (fictional)")
    lio = make_user(session, "ed@lio.example", organisation="Small LIO")
    made = [
        make_group(session, f"Group {i}", (-2.05, 53.45), organisation=cvs.organisation)
        for i in range(3)
    ]
    return {"admin": admin, "cvs": cvs.organisation, "lio": lio.organisation, "groups": made}


def test_summaries_count_each_organisations_users_and_groups(session, borough):
    counts = {s.organisation.name: (s.users, s.groups) for s in organisations.summaries(session)}
    assert counts == {
        "Eastmere CVS (fictional)": (1, 3),
        "Eastmere Council": (1, 0),
        "Small LIO": (1, 0),
    }
    assert [u.email for u in organisations.users_of(session, borough["cvs"])] == [
        "tess@cvs.example"
    ]


def test_trusting_an_organisation_is_audited(session, borough):
    assert organisations.set_trusted(session, borough["admin"], borough["lio"], True)
    assert not organisations.set_trusted(session, borough["admin"], borough["lio"], True)
    session.expire_all()
    assert borough["lio"].trusted
    [event] = audit.history(session, borough["lio"])
    assert event.changes == {"trusted": {"from": False, "to": True}}
    assert event.user_id == borough["admin"].id


def test_groups_move_between_organisations_with_an_audit_of_each(session, borough):
    ids = [g.id for g in borough["groups"][:2]]
    assert organisations.move_groups(session, borough["admin"], ids, borough["lio"].id) == 2
    session.expire_all()
    assert [g.organisation.name for g in borough["groups"]] == [
        "Small LIO",
        "Small LIO",
        "Eastmere CVS (fictional)",
    ]
    [event] = audit.history(session, borough["groups"][0])
    assert event.action == "move" and event.changes["organisation"] == {
        "from": "Eastmere CVS (fictional)",
        "to": "Small LIO",
    }


@pytest.mark.parametrize(
    ("ids", "target", "field"),
    [([], "lio", "ids"), (["first", 99999], "lio", "ids"), (["first"], None, "target")],
)
def test_a_bad_move_names_the_field_and_moves_nothing(session, borough, ids, target, field):
    ids = [borough["groups"][0].id if i == "first" else i for i in ids]
    target_id = borough[target].id if target else None
    with pytest.raises(Invalid) as error:
        organisations.move_groups(session, borough["admin"], ids, target_id)
    assert field in error.value.fields
    session.expire_all()
    assert borough["groups"][0].organisation.name == "Eastmere CVS (fictional)"


@pytest.mark.parametrize(
    ("name", "close"),
    [
        ("Eastmere CVS", ["Eastmere CVS (fictional)"]),
        ("eastmere c.v.s.", ["Eastmere CVS (fictional)"]),
        ("Eastmre CVS", ["Eastmere CVS (fictional)"]),
        ("The Eastmere CVS Ltd", ["Eastmere CVS (fictional)"]),
        ("small lio", ["Small LIO"]),
        ("Eastmere CVS (fictional)", []),  # the same organisation
        ("Westmoor Food Bank", []),
        ("Eastmere Youth Club", []),
    ],
)
def test_close_names_are_those_read_alike_at_a_glance(session, borough, name, close):
    assert organisations.close_names(session, name) == close


def test_create_user_refuses_a_close_new_organisation_unless_told(session, borough):
    with pytest.raises(Invalid) as error:
        accounts.create_user(
            session, "new@cvs.example", PASSWORD, "editor", "Eastmere CVS", new_organisation=False
        )
    assert "Eastmere CVS (fictional)" in error.value.fields["organisation"]
    assert session.query(Organisation).count() == 3
    user = accounts.create_user(session, "new@cvs.example", PASSWORD, "editor", "Eastmere CVS")
    assert user.organisation.name == "Eastmere CVS"
    same = accounts.create_user(
        session, "b@cvs.example", PASSWORD, "editor", "Small LIO", new_organisation=False
    )
    assert same.organisation_id == borough["lio"].id
