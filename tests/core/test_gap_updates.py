"""A kept gap analysis brought up to date from the journal (core/gap_updates.py) equals one
computed afresh, after each kind of edit, on Trafford's real wards, postcodes and polling
stations; and the journal (store/version.py) says "anything" where it cannot say where."""

import threading
from datetime import date

import pandas as pd
import pytest
from shapely.geometry import Point
from sqlalchemy import select, text, update

from mapper.core import analysis, gap_updates
from mapper.store import db, version
from mapper.store.models import CommunityGroup, Organisation, Service, Ward
from mapper.store.queries import categories_by_slug
from tests.factories import TRAFFORD, make_group, make_service, polling_stations, run_cli
from tests.realdata import TRAFFORD_POSTCODES, TRAFFORD_WARDS_2023

STRETFORD = (-2.3103, 53.4466)  # near the edges of several wards
QUESTIONS = [
    {},
    {"categories": ["food-support"]},
    {"kinds": ["Club"]},
    {"kinds": ["Choir"]},  # two groups: the nearest is far from most wards
    {"as_of": date(2024, 6, 1)},
    {"la_codes": ["E08000009"], "params": {"priority_by": "reach"}},
]


@pytest.fixture
def trafford(app, session, geodata, monkeypatch):
    run_cli(app, "import-wards", geodata / TRAFFORD_WARDS_2023, "--vintage", "2023", *TRAFFORD)
    run_cli(app, "import-postcodes", geodata / TRAFFORD_POSTCODES)
    polling_stations(session, geodata, "E08000009", categories=["food-support", "older-people"])
    for group in session.scalars(select(CommunityGroup).where(CommunityGroup.id % 3 == 0)):
        group.kind = "Club"
        group.last_verified = date.today()
    for lonlat in ((-2.4400, 53.4150), (-2.2800, 53.4600)):
        make_group(session, "Choir", lonlat, kind="Choir")
    # Trafford has 21 wards: let every edit be brought up to date, however many it touches.
    monkeypatch.setattr(gap_updates, "SHARE_LIMIT", 1.0)
    scopes = []
    computed = analysis._computed

    def spy(session, la_codes, ward_codes, *rest, **options):
        scopes.append(list(ward_codes))
        return computed(session, la_codes, ward_codes, *rest, **options)

    monkeypatch.setattr(analysis, "_computed", spy)
    return scopes


def same_as_afresh(session, question, scopes):
    """Assert the analysis kept and brought up to date equals one computed afresh; return the
    ward codes of each computation it took ([] for one of every ward)."""
    scopes.clear()
    kept = analysis.compute_gaps(session, **question)
    session.rollback()
    scoped = list(scopes)
    fresh = analysis._compute(
        session,
        tuple(question.get("la_codes", ())),
        (),
        tuple(question.get("categories", ())),
        tuple(question.get("kinds", ())),
        question.get("as_of"),
        analysis.resolve_params(question.get("params")),
    )
    session.rollback()
    for frame in (kept, fresh):
        frame.attrs["metadata"].pop("generated_at")
    assert kept.attrs == fresh.attrs, question
    pd.testing.assert_frame_equal(kept.drop(columns="geometry"), fresh.drop(columns="geometry"))
    assert kept.geometry.geom_equals_exact(fresh.geometry, 0).all()
    return scoped


def edit_and_check(session, scopes, edit):
    """Ask every question (so each is kept), make `edit`, then check each again; return the
    scopes the updates computed."""
    for question in QUESTIONS:
        analysis.compute_gaps(session, **question)
        session.rollback()
    edit()
    session.commit()
    return [same_as_afresh(session, question, scopes) for question in QUESTIONS]


def test_every_kind_of_edit_is_brought_up_to_date(session, trafford):
    scopes = trafford
    codes = session.scalars(select(Ward.code).order_by(Ward.code)).all()
    groups = session.scalars(select(CommunityGroup).order_by(CommunityGroup.id)).all()
    wards = session.scalars(select(Ward).order_by(Ward.code)).all()
    added = []

    def add():
        added.append(make_group(session, "Stretford Pantry", STRETFORD, kind="Club"))
        added[0].categories = categories_by_slug(session, ["food-support"])

    def move():
        added[0].geom = db.to_wkb_element(Point(-2.3400, 53.4210))

    def recategorise():
        groups[4].categories = categories_by_slug(session, ["older-people", "digital-inclusion"])

    def serve():
        groups[5].wards_served = [wards[0], wards[7]]

    def close():
        groups[6].status = "closed"
        groups[6].active_until = date(2024, 1, 1)

    def verify():
        groups[7].last_verified = None

    def remove():
        session.delete(groups[8])

    def open_service():
        make_service(
            session,
            "Food Bank",
            (-2.2900, 53.4000),
            categories=categories_by_slug(session, ["food-support"]),
        )

    def move_choir():
        choir = session.scalars(select(CommunityGroup).filter_by(kind="Choir")).first()
        choir.geom = db.to_wkb_element(Point(-2.3500, 53.3900))

    def close_service():
        session.scalars(select(Service)).one().status = "closed"

    edits = (add, move, recategorise, serve, close, verify, remove, open_service, move_choir)
    for edit in edits:
        scoped = edit_and_check(session, scopes, edit)
        # The whole analysis computed a few wards again, not all of them.
        assert len(scoped[0]) == 1 and 0 < len(scoped[0][0]) < len(codes), edit.__name__
        assert all(len(s) == 1 and s[0] for s in scoped), edit.__name__
    edit_and_check(session, scopes, close_service)
    # An edit of something the analysis does not read computes nothing.
    organisation = Organisation(name="Trafford CVS")
    session.add(organisation)
    session.commit()
    scoped = edit_and_check(session, scopes, lambda: setattr(organisation, "name", "Trafford"))
    assert scoped == [[]] * len(QUESTIONS)


def test_the_journal_says_anything_where_it_cannot_say_where(app, session, trafford):
    make_group(session, "Stretford Pantry", STRETFORD)
    now = version.current(session)
    wards, points = version.changes_between(session, now - 1, now)
    assert len(wards) == 1 and points == [pytest.approx(STRETFORD)]
    session.execute(update(Ward).values(coordinator_coverage=0.5))  # a statement on wards
    session.commit()
    assert version.changes_between(session, now, now + 1) is None
    session.execute(text("UPDATE community_groups SET kind = 'Club'"))  # raw SQL
    session.commit()
    assert version.changes_between(session, now + 1, now + 2) is None
    organisation = Organisation(name="Trafford CVS")  # nothing the analysis reads
    session.add(organisation)
    session.commit()
    assert version.changes_between(session, now + 2, now + 3) == (set(), [])
    # A version bumped without a journal row (by hand) is a gap: computed afresh.
    with app.extensions["mapper.db"].engine.begin() as connection:
        connection.execute(text("UPDATE data_version SET version = version + 1"))
    session.rollback()
    assert version.changes_between(session, now + 2, now + 4) is None
    assert version.changes_between(session, now + 2, now + 3) is not None


def test_two_writers_at_once_are_both_journalled_and_brought_up_to_date(app, session, trafford):
    scopes = trafford
    analysis.compute_gaps(session)
    session.rollback()
    before = version.current(session)
    factory = app.extensions["mapper.db"].Session
    barrier, errors = threading.Barrier(2), []

    def add(lonlat):
        own = factory()
        try:
            barrier.wait()
            with db.transaction(own):
                own.add(
                    CommunityGroup(
                        name="Pantry",
                        status="active",
                        geom=db.to_wkb_element(Point(*lonlat)),
                        categories=categories_by_slug(own, ["food-support"]),
                    )
                )
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            own.close()

    threads = [threading.Thread(target=add, args=(p,)) for p in (STRETFORD, (-2.3400, 53.4210))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    session.rollback()
    assert version.current(session) == before + 2
    wards, points = version.changes_between(session, before, before + 2)
    assert len(wards) == 2 and len(points) == 2
    scoped = same_as_afresh(session, {}, scopes)
    assert len(scoped) == 1 and scoped[0], scoped


def test_a_small_import_is_journalled_by_its_places_and_brought_up_to_date(
    app, session, trafford, tmp_path
):
    scopes = trafford
    rows = [
        {"id": "P-1", "name": "Pantry", "lon": STRETFORD[0], "lat": STRETFORD[1]},
        {"id": "P-2", "name": "Choir two", "lon": -2.3400, "lat": 53.4210, "kind": "Choir"},
    ]
    path = tmp_path / "groups.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    for question in QUESTIONS:
        analysis.compute_gaps(session, **question)
        session.rollback()
    run_cli(app, "import-groups", path, "--category", "food-support")
    now = version.current(session)
    wards, points = version.changes_between(session, now - 1, now)
    assert len(wards) == 2 and points == sorted([(-2.34, 53.421), STRETFORD])
    scoped = [same_as_afresh(session, question, scopes) for question in QUESTIONS]
    assert all(len(s) == 1 and s[0] for s in scoped)  # each a few wards, none afresh
