"""Groups uploaded from the web: read as `mapper import-groups` reads them, with roles applied.

The file goes through the same reader (`io.located.read_located`), checks
(`records.check_located`), matching and saving (`records.save_located`) and transaction
(`imports.run_import`) as the command. On top: an editor changes only their own
organisation's groups, and an untrusted organisation's new groups are pending (a row that would
change one of its groups already on the map is refused: such edits wait for approval, one by
one, on the group's page).
"""

import functools
from typing import NamedTuple

from mapper.core import imports, records
from mapper.core.groups import may_edit, needs_approval
from mapper.errors import Invalid
from mapper.io import columns, located
from mapper.store import queries
from mapper.store.models import CommunityGroup

TARGETS = {**located.LOCATED_FIELDS[CommunityGroup], **columns.LOCATION_FIELDS}


class RowFate(NamedTuple):
    """What an import does with one row of the file: new, update, unchanged or rejected."""

    index: int
    where: str
    fate: str
    name: str | None
    reason: str | None


def read_groups(session, path, fields=None, max_rows=None, sheet=None):
    """Read and check an uploaded file of groups; return its Reading.

    `fields` maps targets to the file's columns (None: the file has none). Raises Invalid
    when the file cannot be read or has more than `max_rows` rows.
    """
    vocabulary = queries.category_vocabulary(session)
    reading = located.read_located(
        path,
        CommunityGroup,
        fields=fields,
        layer=sheet,
        vocabulary=vocabulary,
        find_postcodes=functools.partial(queries.postcode_lonlats, session),
    )
    count = len(reading.rows) + len(reading.rejected)
    if max_rows and count > max_rows:
        raise Invalid(
            f"The file has {count:,} rows; upload at most {max_rows:,} at a time, "
            "splitting the file if need be.",
            fields={"file": f"has more than {max_rows:,} rows"},
        )
    reading.reject_rows(records.check_located(session, CommunityGroup, reading.values()))
    return reading


def chosen_columns(frame, fields=None):
    """Return {target: column} as the importer chooses them for a frame (and `fields`)."""
    return columns.choose_columns(frame, TARGETS, fields)


def _refusal(user, fate, group):
    """Why this user's upload may not make this change to a stored group, or None."""
    if fate == "new" or (fate == "unchanged" and may_edit(user, group)):
        return None
    if not may_edit(user, group):
        return f"matches {group.name!r}, a group of another organisation: it is left as it is"
    if group.status == "active" and needs_approval(user):
        return (
            f"would change {group.name!r}, which is on the map: edit it on its page, where an "
            "administrator approves the change"
        )
    if group.status == "closed" and user.role != "admin":
        return f"would change {group.name!r}, which is closed: an administrator can reopen it"
    return None


def import_groups(session, user, reading, write):
    """Import a checked reading for the user in one transaction (or only try, unless `write`).

    Rejects the rows the user may not import; returns (Outcome, [RowFate] in file order).
    New groups belong to the user's organisation, active unless it needs approval.
    """
    pending = needs_approval(user)
    if pending:
        for row in reading.rows:
            row.values.pop("status", None)
    defaults = {"status": "pending" if pending else "active"}
    outcomes, saved = [], []

    def save_part(session, rows):
        return records.save_located(
            session,
            CommunityGroup,
            rows,
            user.organisation,
            user=user,
            defaults=defaults,
            outcomes=outcomes,
        )

    save_all = imports.in_chunks(save_part)

    def save(session, rows, progress):
        # Until no row is refused: try the rows in a savepoint, refuse rows, try the rest.
        while True:
            outcomes.clear()
            savepoint = session.begin_nested()
            result = save_all(session, reading.values(), progress)
            refusals = [_refusal(user, fate, group) for fate, group in outcomes]
            if not any(refusals):
                savepoint.commit()
                # Names now: once a preview rolls back, reading them would query each group.
                saved.extend((fate, group.name) for fate, group in outcomes)
                return result
            savepoint.rollback()
            reading.reject_rows(refusals)

    outcome = imports.run_import(session, reading, save, write, lock="community_groups")
    fates = [
        RowFate(row.index, row.where, fate, name, None)
        for row, (fate, name) in zip(reading.rows, saved, strict=True)
    ]
    fates += [RowFate(r.index, r.where, "rejected", None, r.reason) for r in reading.rejected]
    return outcome, sorted(fates)
