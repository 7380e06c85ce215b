"""The annual review pack of a local authority: the year's changes, the decisions taken or
due for review in it, and how their wards moved since, for the partnership meeting."""

from dataclasses import dataclass, field
from datetime import date

from mapper.core import changes, decisions, snapshots
from mapper.io import exports


@dataclass
class Movement:
    """A decision and the change of its wards since its snapshot (rows of compute_changes)."""

    decision: object
    evidence: list
    rows: list = field(default_factory=list)
    due: bool = False


@dataclass
class Review:
    """Everything an annual review pack shows."""

    la_code: str
    la_name: str
    year: int
    start: date
    end: date
    earlier: object = None  # the snapshot describing the start of the year
    later: object = None  # the snapshot describing its end; None: now
    change: object = None  # the change frame, or None without an earlier snapshot
    movements: list = field(default_factory=list)
    snapshots_in_year: list = field(default_factory=list)


def year_bounds(year, today=None):
    """Return (first day, last day so far) of a calendar year."""
    today = today or decisions.today()
    return date(year, 1, 1), min(date(year, 12, 31), today)


def annual_review(session, user, la_code, year, today=None):
    """Return the Review of a local authority for a calendar year, as `user` may see it.

    The year's change runs from the snapshot describing its first day (else the first one
    taken in it) to the one describing its last day, or to now for the current year.
    """
    today = today or decisions.today()
    start, end = year_bounds(year, today)
    held = snapshots.list_snapshots(session, la_code=la_code)
    in_year = [s for s in held if start <= s.reference_date <= end]
    earlier = snapshots.snapshot_on(session, start, [la_code]) or _first_unfiltered(in_year)
    # A past year ends with the snapshot describing its last day; this year ends now.
    later = snapshots.snapshot_on(session, end, [la_code]) if end < today else None
    review = Review(la_code, _la_name(session, held, la_code), year, start, end)
    review.earlier, review.later, review.snapshots_in_year = earlier, later, in_year
    later_frame = None
    if earlier is not None:
        earlier_frame = snapshots.snapshot_frame(session, earlier, [la_code])
        later_frame = changes.later_side(session, earlier_frame, later, [la_code])
        review.change = changes.compute_changes(
            session, earlier, later, [la_code], later_frame=later_frame
        )
    for decision in decisions.visible_decisions(
        session, user, la_codes=[la_code], decided_in=(start, end)
    ):
        movement = Movement(decision, decisions.evidence_rows(session, decision))
        movement.due = decisions.due_for_review(decision, today)
        reuse = later_frame if not decision.snapshot.filtered else None
        frame = changes.compute_changes(
            session,
            decision.snapshot,
            later,
            [la_code],
            [w.ward_code for w in decision.wards],
            later_frame=reuse,
        )
        movement.rows = exports.gap_records(frame)
        review.movements.append(movement)
    return review


def _first_unfiltered(snapshots_):
    for snapshot in sorted(snapshots_, key=lambda s: (s.reference_date, s.id)):
        if not snapshot.filtered:
            return snapshot
    return None


def _la_name(session, held, la_code):
    for snapshot in held:
        for code, name, _count in snapshots.local_authorities(session, snapshot):
            if code == la_code and name:
                return name
    return la_code


def review_years(session, la_code, today=None):
    """Return the years, newest first, from the first snapshot of `la_code` to this one."""
    today = today or decisions.today()
    held = snapshots.list_snapshots(session, la_code=la_code)
    if not held:
        return []
    first = min(s.reference_date for s in held).year
    return list(range(today.year, first - 1, -1))
