"""Typed models of partners' intelligence: notes on a ward, their replies, and who follows
which ward.

A note is partners-only unless its author makes it public; replies are for partners always.
Notes keep their ward's code, name and local authority as posted, so a boundary change
does not lose them.
"""

from datetime import date, datetime

from geoalchemy2 import WKBElement
from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mapper.store.evidence import VISIBILITIES, one_of
from mapper.store.models import Base, User, not_blank, point_column, utcnow

NOTE_STATUSES = ("open", "resolved")
NOTE_VISIBILITIES = VISIBILITIES


class WardNote(Base):
    """What a partner knows about a ward: text, categories, an optional point, a review date."""

    __tablename__ = "ward_notes"
    __table_args__ = (
        one_of("visibility", NOTE_VISIBILITIES, "ck_ward_notes_visibility"),
        one_of("status", NOTE_STATUSES, "ck_ward_notes_status"),
        not_blank("text", "ck_ward_notes_text_not_blank"),
        Index("ix_ward_notes_ward_code", "ward_code"),
        Index("ix_ward_notes_la_code", "la_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_code: Mapped[str] = mapped_column(String(9))
    ward_name: Mapped[str] = mapped_column(String(200))
    la_code: Mapped[str | None] = mapped_column(String(9))
    la_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    categories: Mapped[list] = mapped_column(JSON, default=list)  # category slugs
    geom: Mapped[WKBElement | None] = point_column(nullable=True)
    review_on: Mapped[date | None] = mapped_column(Date)
    visibility: Mapped[str] = mapped_column(String(20), default="partners")
    status: Mapped[str] = mapped_column(String(20), default="open")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # never public
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    replies: Mapped[list["NoteReply"]] = relationship(
        order_by="NoteReply.id", cascade="all, delete-orphan"
    )


class NoteReply(Base):
    """A partner's answer to a note; for partners only, whatever the note's visibility."""

    __tablename__ = "ward_note_replies"
    __table_args__ = (not_blank("text", "ck_ward_note_replies_text_not_blank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(
        ForeignKey("ward_notes.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # never public
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    author: Mapped[User | None] = relationship()


class WardSubscription(Base):
    """A partner who is sent an email when a note is posted on a ward."""

    __tablename__ = "ward_subscriptions"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    ward_code: Mapped[str] = mapped_column(String(9), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship()
