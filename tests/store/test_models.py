import pytest
from shapely.geometry import MultiPolygon, box
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from mapper.store import db, queries
from mapper.store.models import Base, Category, CommunityGroup, Organisation, Ward
from tests.factories import make_group, make_wards, two_wards

SEEDED = {
    "food-support",
    "older-people",
    "children-young-people",
    "mental-health-wellbeing",
    "physical-activity",
    "arts-culture",
    "environment-green-space",
    "advice-money",
    "digital-inclusion",
    "faith",
    "disability",
    "carers",
    "employment-skills",
    "social-befriending",
    "health",
    "volunteering",
}


def test_categories_are_seeded_with_the_slugs_of_the_spec(session):
    assert set(session.scalars(select(Category.slug))) == SEEDED


def geometry_columns():
    return [
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if hasattr(column.type, "srid")
    ]


def test_every_geometry_column_is_wgs84_with_a_spatial_index(session, backend):
    columns = geometry_columns()
    assert len(columns) == 9
    for table, column in columns:
        if backend == "spatialite":
            srid, indexed = session.execute(
                text(
                    "SELECT srid, spatial_index_enabled FROM geometry_columns "
                    "WHERE f_table_name = :t AND f_geometry_column = :c"
                ),
                {"t": table, "c": column},
            ).one()
        else:
            srid = session.execute(
                text(f"SELECT Find_SRID('public', '{table}', '{column}')")
            ).scalar()
            indexed = session.execute(
                text(
                    "SELECT count(*) FROM pg_indexes WHERE tablename = :t "
                    "AND indexdef ILIKE '%USING gist (' || :c || ')%'"
                ),
                {"t": table, "c": column},
            ).scalar()
        assert (srid, indexed) == (4326, 1), (table, column)


def test_ward_code_is_unique_per_vintage(session):
    two_wards(session)
    east = box(-2.0, 53.4, -1.9, 53.5)
    make_wards(session, {"E05000001": ("East Ward", east)}, vintage="2025")  # another vintage
    session.add(
        Ward(
            code="E05000001",
            name="East again",
            vintage="2024",
            area_km2=1.0,
            geom=db.to_wkb_element(MultiPolygon([east])),
            label_point=db.to_wkb_element(east.centroid),
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


@pytest.mark.parametrize("name", ["", "   "])
def test_blank_names_are_refused_by_the_database(session, name):
    session.add(Organisation(name=name))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_unknown_status_is_refused_by_the_database(session):
    two_wards(session)
    with pytest.raises(IntegrityError):
        make_group(session, "Bad status", (-2.05, 53.45), status="approved")
    session.rollback()


def test_init_db_is_safe_to_run_twice(app):
    engine = app.extensions["mapper.db"].engine
    db.upgrade_schema(engine)
    db.upgrade_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            "0032"
        ]
    assert "community_groups" in inspect(engine).get_table_names()


def test_bbox_filter_uses_the_spatial_index_and_finds_groups(session, backend):
    two_wards(session)
    inside = make_group(session, "Inside", (-2.05, 53.45))
    make_group(session, "Outside", (-1.95, 53.45))
    clause = db.bbox_filter(CommunityGroup.geom, (-2.1, 53.4, -2.01, 53.5), session)
    found = session.scalars(select(CommunityGroup).where(clause)).all()
    assert found == [inside]
    sql = str(select(CommunityGroup.id).where(clause).compile(session.get_bind()))
    assert ("SpatialIndex" in sql) if backend == "spatialite" else ("&&" in sql)


def test_categories_by_slug_names_an_unknown_slug(session):
    with pytest.raises(KeyError, match="knitting"):
        queries.categories_by_slug(session, ["faith", "knitting"])


def test_the_place_name_migration_goes_down_and_up_again(unmigrated_database_url):
    from alembic import command

    engine = db.make_engine(unmigrated_database_url)
    db.upgrade_schema(engine)
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0012")
    assert "place_name" not in {c["name"] for c in inspect(engine).get_columns("services")}
    db.upgrade_schema(engine)
    assert "place_name" in {c["name"] for c in inspect(engine).get_columns("services")}
    engine.dispose()


def test_the_ward_attribution_migration_goes_down_and_up_again(unmigrated_database_url):
    from alembic import command

    engine = db.make_engine(unmigrated_database_url)
    db.upgrade_schema(engine)
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0027")
    assert "attribution" not in {c["name"] for c in inspect(engine).get_columns("wards")}
    db.upgrade_schema(engine)
    assert "attribution" in {c["name"] for c in inspect(engine).get_columns("wards")}
    engine.dispose()


def test_the_category_mask_migration_goes_down_and_up_again(unmigrated_database_url):
    from alembic import command

    engine = db.make_engine(unmigrated_database_url)
    db.upgrade_schema(engine)
    sqlite = db.is_spatialite(engine)
    body = (
        "SELECT sql FROM sqlite_master WHERE name = 'group_categories_mask_insert'"
        if sqlite
        else "SELECT prosrc FROM pg_proc WHERE proname = 'group_categories_mask_added'"
    )
    with engine.connect() as connection:
        assert "category_mask &" in connection.execute(text(body)).scalar()
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0028")
    with engine.connect() as connection:
        assert "category_mask &" not in connection.execute(text(body)).scalar()
    db.upgrade_schema(engine)
    engine.dispose()
