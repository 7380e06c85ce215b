"""Typed models of mail and single-use links: the outbox, invitation and reset links, and
each user's choice of which notifications to receive."""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mapper.store.models import ROLES, Base, Organisation, User, utcnow

LINK_PURPOSES = ("invitation", "reset")
MAIL_KINDS = ("essential", "notification")


def _in(column, values, name):
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


class OutboxMail(Base):
    """A message waiting to be sent, sent, or given up on; kept so a failure can be retried."""

    __tablename__ = "outbox_mails"
    __table_args__ = (
        _in("kind", MAIL_KINDS, "ck_outbox_mails_kind"),
        Index("ix_outbox_mails_due", "sent_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))  # personal data
    reply_to: Mapped[str | None] = mapped_column(String(254))  # personal data too
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="essential")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # given up


class AccessLink(Base):
    """A single-use, expiring link (an invitation or a password reset); only its hash is kept."""

    __tablename__ = "access_links"
    __table_args__ = (
        _in("purpose", LINK_PURPOSES, "ck_access_links_purpose"),
        CheckConstraint(
            "role IS NULL OR role IN (" + ", ".join(repr(r) for r in ROLES) + ")",
            name="ck_access_links_role",
        ),
        Index("ix_access_links_email", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))  # personal data
    role: Mapped[str | None] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class MailPreference(Base):
    """A user's choice about the non-essential mails; no row means they are all wanted."""

    __tablename__ = "mail_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    notifications: Mapped[bool] = mapped_column(default=True)
    last_digest_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
