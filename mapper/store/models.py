"""Typed SQLAlchemy 2 + GeoAlchemy2 models. All geometry is WGS84 (EPSG:4326)."""

from datetime import UTC, date, datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from mapper.geo import SRID

STATUSES = ("pending", "active", "inactive", "closed")
ROLES = ("admin", "editor")
# The largest value an id column holds: PostgreSQL's INTEGER is 32-bit (SQLite's 64-bit), so
# every id from outside is checked against this before it reaches a query.
MAX_ID = 2**31 - 1


def as_record_id(text):
    """Return `text` (digits) as an id the id columns can hold, or None."""
    text = str(text if text is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def utcnow():
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def not_blank(column, name):
    """A CHECK constraint refusing empty or all-space text."""
    return CheckConstraint(f"length(trim({column})) > 0", name=name)


def status_check(name):
    """Return the check constraint allowing only the known statuses."""
    allowed = ", ".join(f"'{s}'" for s in STATUSES)
    return CheckConstraint(f"status IN ({allowed})", name=name)


def point_column(**kwargs):
    """Return a Point column in EPSG:4326 with a spatial index."""
    return mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), **kwargs)


def multipolygon_column(**kwargs):
    """Return a MultiPolygon column in EPSG:4326 with a spatial index."""
    return mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), **kwargs)


class Base(DeclarativeBase):
    """The declarative base of every model."""

    pass


class Timestamped:
    """Adds created_at and updated_at, set by the ORM."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Ward(Base):
    """An electoral ward of one boundary vintage; `code` is the ONS GSS code."""

    __tablename__ = "wards"
    __table_args__ = (
        UniqueConstraint("code", "vintage", name="uq_wards_code_vintage"),
        not_blank("code", "ck_wards_code_not_blank"),
        not_blank("name", "ck_wards_name_not_blank"),
        not_blank("vintage", "ck_wards_vintage_not_blank"),
        CheckConstraint("population IS NULL OR population >= 0", name="ck_wards_population"),
        CheckConstraint(
            "imd_decile IS NULL OR imd_decile BETWEEN 1 AND 10", name="ck_wards_imd_decile"
        ),
        Index("ix_wards_la_code", "la_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(200))
    la_code: Mapped[str | None] = mapped_column(String(9))
    la_name: Mapped[str | None] = mapped_column(String(200))
    vintage: Mapped[str] = mapped_column(String(20))
    # False once a newer vintage of the same area has been imported; only current wards
    # receive groups and services.
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    population: Mapped[int | None] = mapped_column(Integer)
    area_km2: Mapped[float] = mapped_column(Float)
    imd_decile: Mapped[int | None] = mapped_column(Integer)
    imd_score: Mapped[float | None] = mapped_column(Float)
    imd_rank: Mapped[float | None] = mapped_column(Float)
    imd_share_10pct: Mapped[float | None] = mapped_column(Float)
    imd_share_20pct: Mapped[float | None] = mapped_column(Float)
    # Share (0-1) of the ward's area inside some coordinator's patch; kept up to date by
    # mapper.core.wards whenever wards or coordinators are saved, so the analysis need not overlay.
    coordinator_coverage: Mapped[float | None] = mapped_column(Float)
    # The boundary's source note, stored by its importer; None: BOUNDARY_ATTRIBUTION applies.
    attribution: Mapped[str | None] = mapped_column(Text)
    # active_history: the old boundary is needed to update coordinator coverage around it.
    geom: Mapped[WKBElement] = multipolygon_column(nullable=False, active_history=True)
    label_point: Mapped[WKBElement] = point_column(nullable=False)  # a point on the surface
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class OrgId(Base):
    """An organisation identifier (org-id, e.g. GB-CHC-1234567) of a group or an organisation.

    `value` is the normalised org-id (io/identifiers.py), `scheme` its list's prefix and
    `identifier` the rest; exactly one of `group_id` and `organisation_id` is set.
    """

    __tablename__ = "org_ids"
    __table_args__ = (
        CheckConstraint(
            "(group_id IS NULL) <> (organisation_id IS NULL)", name="ck_org_ids_one_body"
        ),
        UniqueConstraint("group_id", "value", name="uq_org_ids_group_value"),
        UniqueConstraint("organisation_id", "value", name="uq_org_ids_organisation_value"),
        Index("ix_org_ids_value", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme: Mapped[str] = mapped_column(String(20))
    identifier: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(80))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_groups.id", ondelete="CASCADE")
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE")
    )

    @classmethod
    def of(cls, value):
        """Return a row for the normalised org-id `value` (its prefix is its first two parts)."""
        country, scheme, identifier = value.split("-", 2)
        return cls(scheme=f"{country}-{scheme}", identifier=identifier, value=value)


class Identified:
    """A body with org-ids: `org_ids` reads and sets them as sorted normalised values."""

    @property
    def org_ids(self):
        """Return the body's normalised org-ids, sorted."""
        return sorted(row.value for row in self.identifiers)

    @org_ids.setter
    def org_ids(self, values):
        # Keep the rows of the values kept: deleting and re-inserting one value in one flush
        # would meet the unique constraint before the delete.
        wanted = set(values or ())
        if wanted == {row.value for row in self.identifiers}:
            return
        kept = [row for row in self.identifiers if row.value in wanted]
        have = {row.value for row in kept}
        self.identifiers = kept + [OrgId.of(v) for v in sorted(wanted - have)]


class Organisation(Identified, Timestamped, Base):
    """An LIO, the council or another VCS body; users belong to one."""

    __tablename__ = "organisations"
    __table_args__ = (not_blank("name", "ck_organisations_name_not_blank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str | None] = mapped_column(String(40))
    # A trusted organisation's groups need no approval.
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)

    identifiers: Mapped[list["OrgId"]] = relationship(
        cascade="all, delete-orphan", order_by="OrgId.value", passive_deletes=True
    )


class User(Timestamped, Base):
    """Someone who signs in: email, password hash, role and organisation."""

    __tablename__ = "users"
    __table_args__ = (
        not_blank("email", "ck_users_email_not_blank"),
        CheckConstraint(
            "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="ck_users_role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # personal data
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped when the user signs out: every session cookie made before then is refused.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    organisation: Mapped[Organisation] = relationship()


class ApiToken(Base):
    """A bearer token; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class Category(Base):
    """An activity category of the managed vocabulary."""

    __tablename__ = "categories"
    __table_args__ = (
        not_blank("slug", "ck_categories_slug_not_blank"),
        not_blank("name", "ck_categories_name_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))


group_categories = Table(
    "group_categories",
    Base.metadata,
    Column("group_id", ForeignKey("community_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
)

group_wards_served = Table(
    "group_wards_served",
    Base.metadata,
    Column("group_id", ForeignKey("community_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("ward_id", ForeignKey("wards.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_group_wards_served_ward_id", "ward_id"),
)

service_categories = Table(
    "service_categories",
    Base.metadata,
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
)


# Category ids that have a bit in community_groups.category_mask (migration 0012).
MASK_IDS = range(1, 63)


def category_mask_of(category_ids):
    """Return the category_mask of a group of these categories: the bits of those that have one."""
    return sum(1 << i for i in set(category_ids) if i in MASK_IDS)


class CommunityGroup(Identified, Timestamped, Base):
    """A community group; its ward is derived from `geom` when saved, never typed in."""

    __tablename__ = "community_groups"
    __table_args__ = (
        not_blank("name", "ck_community_groups_name_not_blank"),
        status_check("ck_community_groups_status"),
        Index("ix_community_groups_ward_status", "ward_id", "status"),
        # Covers the gap analysis's count per ward, so it never reads the table itself.
        Index(
            "ix_community_groups_ward_counts",
            "ward_id",
            "status",
            "last_verified",
            "kind",
            "category_mask",
        ),
        Index("ix_community_groups_external_id", "external_id"),
        # The kinds of active groups, found a seek at a time (queries.active_kinds).
        Index("ix_community_groups_status_kind", "status", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(60))
    charity_number: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(10))
    website: Mapped[str | None] = mapped_column(String(500))
    contact_public: Mapped[str | None] = mapped_column(String(300))
    meeting_times: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id"))
    geom: Mapped[WKBElement] = point_column(nullable=False)
    last_verified: Mapped[date | None] = mapped_column(Date)
    # The dates between which the group was active: `as_of` in the analysis uses them.
    active_from: Mapped[date | None] = mapped_column(Date)
    active_until: Mapped[date | None] = mapped_column(Date)
    close_reason: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200))
    # Bit `category_id` set for each of its categories in MASK_IDS; triggers on
    # group_categories keep it (migration 0012); a bulk insert sets it (category_mask_of).
    category_mask: Mapped[int] = mapped_column(BigInteger, server_default="0", deferred=True)
    # Where the location is published (geo.PRECISIONS): `geom` is always the true point.
    location_precision: Mapped[str] = mapped_column(
        String(12), default="exact", server_default="exact"
    )

    organisation: Mapped[Organisation | None] = relationship()
    ward: Mapped[Ward | None] = relationship()
    categories: Mapped[list[Category]] = relationship(
        secondary=group_categories, order_by=Category.slug
    )
    wards_served: Mapped[list[Ward]] = relationship(
        secondary=group_wards_served, order_by=Ward.code
    )
    identifiers: Mapped[list["OrgId"]] = relationship(
        cascade="all, delete-orphan", order_by="OrgId.value", passive_deletes=True
    )


class Coordinator(Timestamped, Base):
    """A Local Area Coordinator. Name and contacts are personal data: never public."""

    __tablename__ = "coordinators"
    __table_args__ = (
        not_blank("name", "ck_coordinators_name_not_blank"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="ck_coordinators_capacity"),
        Index("ix_coordinators_external_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    base: Mapped[WKBElement | None] = point_column()
    patch: Mapped[WKBElement | None] = multipolygon_column(active_history=True)
    capacity: Mapped[int | None] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(200))

    employer: Mapped[Organisation | None] = relationship()


def location_column(model):
    """The point column that locates a record: a coordinator's `base`, else its `geom`."""
    return "base" if model is Coordinator else "geom"


class Service(Timestamped, Base):
    """A service for residents, shaped so it can be exported as Open Referral UK."""

    __tablename__ = "services"
    __table_args__ = (
        not_blank("name", "ck_services_name_not_blank"),
        status_check("ck_services_status"),
        Index("ix_services_ward_status", "ward_id", "status"),
        Index("ix_services_external_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(300))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id"))
    geom: Mapped[WKBElement] = point_column(nullable=False)
    service_area: Mapped[WKBElement | None] = multipolygon_column()
    delivery: Mapped[str | None] = mapped_column(String(100))
    opening_hours: Mapped[str | None] = mapped_column(Text)
    eligibility: Mapped[str | None] = mapped_column(Text)
    place_name: Mapped[str | None] = mapped_column(String(300))  # the venue, not its address
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(10))
    website: Mapped[str | None] = mapped_column(String(500))
    contact_public: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="active")
    external_id: Mapped[str | None] = mapped_column(String(200))

    organisation: Mapped[Organisation | None] = relationship()
    ward: Mapped[Ward | None] = relationship()
    categories: Mapped[list[Category]] = relationship(
        secondary=service_categories, order_by=Category.slug
    )


class Postcode(Base):
    """A postcode centroid from the ONS Postcode Directory; `postcode` is 'M1 1AA' form.

    `residents` is the file's population figure for the postcode, when it has one (NULL
    otherwise: reach then counts the postcode as one resident point).
    """

    __tablename__ = "postcodes"
    __table_args__ = (Index("ix_postcodes_lon_lat", "lon", "lat"),)

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    residents: Mapped[float | None] = mapped_column(Float, nullable=True)

    @staticmethod
    def normalise(text):
        """Return a postcode in 'M1 1AA' form whatever its case and spacing."""
        compact = "".join(str(text).split()).upper()
        return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


class PendingChange(Base):
    """An edit to a group by an untrusted organisation, waiting for an admin."""

    __tablename__ = "pending_changes"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name="ck_pending_changes_status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("community_groups.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changes: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    group: Mapped[CommunityGroup] = relationship()


class RateLimitCounter(Base):
    """Hits of one rate limit's key in its current window, shared by every worker."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch


class IdempotencyKey(Base):
    """Remembers which group a retried POST with the same key already created."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_groups.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """Who changed which record, when, and what changed."""

    __tablename__ = "audit_events"
    __table_args__ = (
        not_blank("action", "ck_audit_events_action_not_blank"),
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User | None] = relationship()
