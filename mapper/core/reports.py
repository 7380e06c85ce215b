"""A reader's note that a group has changed or closed: checked, then mailed to those who keep it.

No account is needed and nothing is published or kept but the mail itself: the note goes to
the active users of the group's organisation, else to the administrators (the moderators).
The reader's address, when given, is the mail's Reply-To and is written nowhere else.
"""

from sqlalchemy import select

from mapper.core import accounts, mail
from mapper.errors import Invalid
from mapper.io import text
from mapper.store import db
from mapper.store.models import User

# What a reader may say has happened, as the form offers it.
WHAT = {
    "changed": "its details have changed",
    "closed": "it has closed or stopped meeting",
    "other": "something else is wrong",
}
LONGEST_NOTE = 2000


def clean_report(data):
    """Return {what, note, email} of a submitted note; Invalid (422) naming each bad field."""
    errors = {}
    what = (data.get("what") or "").strip()
    if what not in WHAT:
        errors["what"] = f"must be one of {', '.join(WHAT)}"
    note, problem = text.clean_text(data.get("note") or "", LONGEST_NOTE, required=True)
    if problem:
        errors["note"] = problem
    email, problem = text.clean_text(data.get("email") or "", 254)
    if problem:
        errors["email"] = problem
    elif email and not accounts.EMAIL_FORMAT.match(email):
        errors["email"] = "must be an email address, like name@example.org"
    if errors:
        raise Invalid("The note could not be sent.", fields=errors)
    return {"what": what, "note": note, "email": email}


def recipients(session, group):
    """Return the addresses a note about `group` goes to: its organisation's active users,
    else the active administrators."""
    users = []
    if group.organisation_id is not None:
        users = session.scalars(
            select(User.email)
            .where(User.organisation_id == group.organisation_id, User.active.is_(True))
            .order_by(User.id)
        ).all()
    if not users:
        users = session.scalars(
            select(User.email).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
        ).all()
    return list(users)


def report_group(session, group, report):
    """Mail a cleaned note (`clean_report`) about an active group; return how many were queued."""
    group_id, name = group.id, group.name
    with db.write_transaction(session):
        addresses = recipients(session, group)
        if report["email"]:
            answer = "They gave an address: reply to this message to answer them."
        else:
            answer = "They left no address, so they cannot be answered."
        for address in addresses:
            mail.queue(
                session,
                address,
                f"A reader says {name} has changed or closed",
                [
                    f"Someone reading the public page of {name} on Community Mapper says "
                    f"{WHAT[report['what']]}.",
                    f"Their note: {report['note']}",
                    answer,
                    "Please check the group's details and update or close it if need be. "
                    "Nothing of this note is published.",
                ],
                links=[
                    ("The group's public page", f"/groups/{group_id}"),
                    ("Edit the group", f"/groups/{group_id}/edit"),
                ],
                reply_to=report["email"],
            )
    return len(addresses)
