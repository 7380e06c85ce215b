"""Answers kept in the database (store/kept.py): another process, with a cache of its own,
reads the gap analysis one process computed and brings it up to date after an edit, equal to
one computed afresh, on Trafford's real wards, postcodes and polling stations."""

import logging
import threading

import pytest
from sqlalchemy import func, select, update

from mapper.core import analysis
from mapper.store import db, kept, version
from mapper.store.models import CommunityGroup
from tests.conftest import SECRET
from tests.core import test_gap_updates
from tests.core.test_gap_updates import QUESTIONS, same_as_afresh
from tests.factories import make_group

trafford = test_gap_updates.trafford  # the same fixture: Trafford's wards, postcodes, stations


@pytest.fixture
def keep_all(monkeypatch):
    """Keep every answer computed afresh, however quick (real ones take seconds)."""
    monkeypatch.setattr(kept, "KEEP_SECONDS", 0.0)


def other_process(app, secret=SECRET):
    """A Database on the same URL with a cache of its own, as another worker has."""
    return db.Database(app.config["DATABASE_URL"], secret=secret)


def kept_rows(session):
    return session.execute(select(kept.kept_answers.c.question, kept.kept_answers.c.version)).all()


def test_another_process_reads_the_kept_answer_and_brings_it_up_to_date(
    app, session, trafford, keep_all
):
    scopes = trafford
    for question in QUESTIONS:
        analysis.compute_gaps(session, **question)
        session.rollback()
    assert len(kept_rows(session)) == len(QUESTIONS)
    session.rollback()

    other = other_process(app)
    try:
        with other.Session() as theirs:
            # At the same version every answer comes from the database: nothing is computed.
            for question in QUESTIONS:
                scopes.clear()
                assert same_as_afresh(theirs, question, scopes) == []
            make_group(theirs, "Stretford Pantry", (-2.3103, 53.4466), kind="Club")
            theirs.commit()
            with other.Session() as fresh_cache:  # a cache as empty as a new worker's
                other.cache.clear()
                for question in QUESTIONS:
                    scoped = same_as_afresh(fresh_cache, question, scopes)
                    assert len(scoped) == 1 and scoped[0], question  # a few wards again
    finally:
        other.dispose()


def test_a_kept_answer_brought_up_across_many_versions_is_kept_again(
    app, session, trafford, keep_all, monkeypatch
):
    analysis.compute_gaps(session)
    session.rollback()
    ((_, first),) = kept_rows(session)
    session.rollback()
    monkeypatch.setattr(kept, "KEEP_SECONDS", 60.0)  # only the versions behind count now
    monkeypatch.setattr(kept, "KEEP_VERSIONS", 2)
    other = other_process(app)
    try:
        for step in range(3):
            with other.Session() as theirs:
                make_group(theirs, f"Pantry {step}", (-2.3103 + step / 100, 53.4466))
                theirs.commit()
            other.cache.clear()
            with other.Session() as theirs:
                analysis.compute_gaps(theirs)
                now = version.current(theirs)
        ((_, last),) = kept_rows(session)
        assert first < last == now - 1  # kept again at the second edit, not at the third
    finally:
        other.dispose()


def test_an_answer_not_signed_with_this_secret_is_computed_afresh(
    app, session, trafford, keep_all, caplog
):
    scopes = trafford
    analysis.compute_gaps(session)
    session.rollback()
    other = other_process(app, secret="another secret")
    try:
        with other.Session() as theirs, caplog.at_level(logging.WARNING, logger=kept.__name__):
            scopes.clear()
            analysis.compute_gaps(theirs)
            assert scopes == [[]]  # every ward, from nothing
            assert "not signed with this SECRET_KEY" in caplog.text
    finally:
        other.dispose()


def test_a_quick_answer_is_not_kept(session, trafford):
    analysis.compute_gaps(session)
    session.rollback()
    assert kept_rows(session) == []


def test_a_kept_answer_is_replaced_only_by_a_newer_one(app, session):
    keeper = session.info[kept.KEEPER]
    keeper.put("q", 5, {"answer": 5})
    keeper.put("q", 3, {"answer": 3})
    assert keeper.get(session, "q") == (5, {"answer": 5})
    session.rollback()
    keeper.put("q", 8, {"answer": 8})
    assert keeper.get(session, "q") == (8, {"answer": 8})


def test_two_processes_keeping_answers_at_once_both_succeed(app, session):
    keeper = session.info[kept.KEEPER]
    errors = []

    def keep(number):
        try:
            for version in range(1, 6):
                keeper.put(f"q{version % 2}", version * 10 + number, {"by": number})
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=keep, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(kept_rows(session)) == [("q0", 42), ("q1", 52)]


def test_a_failure_to_keep_an_answer_fails_nothing(app, session, trafford, keep_all, caplog):
    broken = kept.Keeper(db.make_engine("sqlite:////nonexistent/dir/x.sqlite"), SECRET, {})
    session.info[kept.KEEPER] = broken
    with caplog.at_level(logging.WARNING, logger=kept.__name__):
        frame = analysis.compute_gaps(session)
        session.rollback()
    assert len(frame) and "could not keep the answer" in caplog.text
    # The session goes on reading and writing as before.
    session.execute(update(CommunityGroup).values(kind="Club"))
    session.commit()
    assert session.scalar(select(func.count()).where(CommunityGroup.kind != "Club")) == 0
