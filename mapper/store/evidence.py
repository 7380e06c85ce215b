"""Typed models of the evidence: snapshots of the gap analysis and the decisions taken on them.

A snapshot is immutable (the database refuses UPDATE on its tables, see migration 0017). Its
rows are kept generically, every property the analysis returned, in one compressed part per
local authority; ward shapes are kept once each in `snapshot_shapes`, shared by every
snapshot that uses them, so a monthly series of the same wards stores each boundary once.
"""

import json
import zlib
from datetime import date, datetime

from geoalchemy2 import WKBElement
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mapper.store.models import Base, Organisation, multipolygon_column, not_blank, utcnow

SNAPSHOT_KINDS = ("manual", "scheduled", "reconstructed")
DECISION_ACTIONS = ("invest", "devolve", "monitor")
DECISION_STATUSES = ("proposed", "agreed", "rejected")
VISIBILITIES = ("public", "partners")


def pack_rows(rows, shape_ids):
    """Return rows (lists of plain values in the snapshot's column order) and their shape
    ids as compressed JSON; the same rows always give the same bytes."""
    text = json.dumps(
        {"rows": rows, "shapes": shape_ids},
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )
    return zlib.compress(text.encode(), 9)


def unpack_rows(data):
    """Return (rows, shape ids) of a part packed by pack_rows."""
    content = json.loads(zlib.decompress(bytes(data)))
    return content["rows"], content["shapes"]


def one_of(column, values, name):
    """Return a CHECK constraint allowing only `values` in `column`."""
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


class SnapshotShape(Base):
    """A ward boundary as some snapshot stored it, kept once by the SHA-256 of its WKB."""

    __tablename__ = "snapshot_shapes"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    geom: Mapped[WKBElement] = multipolygon_column(nullable=False)


class Snapshot(Base):
    """The gap analysis as computed on a date: method, parameters, filters, vintage, rows."""

    __tablename__ = "snapshots"
    __table_args__ = (
        not_blank("label", "ck_snapshots_label_not_blank"),
        one_of("kind", SNAPSHOT_KINDS, "ck_snapshots_kind"),
        CheckConstraint("ward_count >= 0", name="ck_snapshots_ward_count"),
        Index("ix_snapshots_reference_date", "reference_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="manual")
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The day the figures describe: the day it was taken, or the past day it reconstructs.
    reference_date: Mapped[date] = mapped_column(Date)
    # The local authorities asked for, sorted and comma-separated; empty for every ward.
    scope: Mapped[str] = mapped_column(Text, default="")
    # True when category or kind filters narrowed which groups counted.
    filtered: Mapped[bool] = mapped_column(Boolean, default=False)
    method_version: Mapped[str] = mapped_column(String(20))
    boundary_vintage: Mapped[str] = mapped_column(String(200))
    ward_count: Mapped[int] = mapped_column(Integer)
    # The analysis's property names in order, its metadata, and the boundary attribution.
    columns: Mapped[list] = mapped_column(JSON)
    details: Mapped[dict] = mapped_column(JSON)
    attribution: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # never public

    parts: Mapped[list["SnapshotPart"]] = relationship(
        order_by="SnapshotPart.la_code", back_populates="snapshot"
    )


class SnapshotPart(Base):
    """The rows of one local authority in a snapshot, compressed (see pack_rows)."""

    __tablename__ = "snapshot_parts"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "la_code", name="uq_snapshot_parts_snapshot_la"),
        CheckConstraint("ward_count > 0", name="ck_snapshot_parts_ward_count"),
        Index("ix_snapshot_parts_la_code", "la_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    la_code: Mapped[str] = mapped_column(String(9))  # empty for wards without one
    la_name: Mapped[str | None] = mapped_column(String(200))
    ward_count: Mapped[int] = mapped_column(Integer)
    rows: Mapped[bytes] = mapped_column(LargeBinary)

    snapshot: Mapped[Snapshot] = relationship(back_populates="parts")


class Decision(Base):
    """What a partnership decided for a ward or wards, on the evidence of a snapshot."""

    __tablename__ = "decisions"
    __table_args__ = (
        one_of("action", DECISION_ACTIONS, "ck_decisions_action"),
        one_of("status", DECISION_STATUSES, "ck_decisions_status"),
        one_of("visibility", VISIBILITIES, "ck_decisions_visibility"),
        not_blank("summary", "ck_decisions_summary_not_blank"),
        not_blank("decided_by", "ck_decisions_decided_by_not_blank"),
        CheckConstraint("review_on >= decided_on", name="ck_decisions_review_after_decision"),
        CheckConstraint(
            "action != 'devolve' OR organisation_id IS NOT NULL",
            name="ck_decisions_devolve_to_organisation",
        ),
        Index("ix_decisions_la_code", "la_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    # The body that decided (a partnership board, a committee), public with the decision.
    decided_by: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    decided_on: Mapped[date] = mapped_column(Date)
    review_on: Mapped[date] = mapped_column(Date)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="RESTRICT"))
    la_code: Mapped[str] = mapped_column(String(9))
    la_name: Mapped[str | None] = mapped_column(String(200))
    visibility: Mapped[str] = mapped_column(String(20), default="public")
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # never public
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    organisation: Mapped[Organisation | None] = relationship()
    snapshot: Mapped[Snapshot] = relationship()
    wards: Mapped[list["DecisionWard"]] = relationship(
        order_by="DecisionWard.ward_code", cascade="all, delete-orphan"
    )


class DecisionWard(Base):
    """A ward a decision is about, as its snapshot had it (code, name and shape)."""

    __tablename__ = "decision_wards"
    __table_args__ = (Index("ix_decision_wards_ward_code", "ward_code"),)

    decision_id: Mapped[int] = mapped_column(
        ForeignKey("decisions.id", ondelete="CASCADE"), primary_key=True
    )
    ward_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    ward_name: Mapped[str] = mapped_column(String(200))
    shape_id: Mapped[int | None] = mapped_column(ForeignKey("snapshot_shapes.id"))
