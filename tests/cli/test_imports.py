"""The import commands on real files, on both backends: counts, reports, rejections, safety."""

import os
import pty
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from mapper.core import imports, records
from mapper.store import bulk, version
from mapper.store.models import AuditEvent, CommunityGroup, Coordinator, Postcode, Service, Ward
from tests.realdata import (
    GM_LIBRARIES,
    GM_POLLING_STATIONS,
    IMD_BY_LSOA,
    LANCASHIRE_DISTRICTS,
    LANCASHIRE_WARDS,
    LONDON_WARDS,
    MANCHESTER_WARDS,
    TRAFFORD_LISTED_BUILDINGS,
    TRAFFORD_LSOAS,
    TRAFFORD_POPULATION,
    TRAFFORD_POSTCODES,
    TRAFFORD_WARDS_2017,
    TRAFFORD_WARDS_2023,
)

DATA = Path(__file__).resolve().parents[1] / "data"
MAPPER = str(Path(sys.executable).parent / "mapper")
TRAFFORD = ["--la-code", "E08000009", "--la-name", "Trafford"]


def run(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def ok(app, *args):
    result = run(app, *args)
    assert result.exit_code == 0, result.output
    return result.output


def summary(result_output):
    return result_output.strip().splitlines()[-1].split(": ", 1)[1]


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def trafford_2023(app, geodata):
    return ok(app, "import-wards", geodata / TRAFFORD_WARDS_2023, "--vintage", "2023", *TRAFFORD)


def test_london_wards_import_repairs_two_polygons_and_a_second_run_changes_nothing(
    app, session, geodata
):
    out = ok(app, "import-wards", geodata / LONDON_WARDS, "--vintage", "2014")
    assert "CRS: EPSG:27700, recognised from a definition with no EPSG code" in out
    assert "columns: code=GSS_CODE (by name), name=NAME (by name)" in out
    assert "(E05009392 Colville): repaired (Self-intersection" in out
    assert "(E05009400 Pembridge): repaired (Self-intersection" in out
    assert summary(out) == "654 imported, 0 updated, 0 unchanged, 0 rejected"
    assert count(session, Ward) == 654
    assert session.scalar(select(func.count(func.distinct(Ward.la_code)))) == 33
    assert set(session.scalars(select(func.ST_GeometryType(Ward.geom)).distinct())) <= {
        "MULTIPOLYGON",
        "ST_MultiPolygon",
    }
    colville = session.scalar(select(Ward).where(Ward.code == "E05009392"))
    assert to_shape(colville.geom).is_valid and colville.la_name == "Kensington and Chelsea"
    before = session.execute(select(Ward.code, Ward.updated_at).order_by(Ward.code)).all()

    out = ok(app, "import-wards", geodata / LONDON_WARDS, "--vintage", "2014")
    assert summary(out) == "0 imported, 0 updated, 654 unchanged, 0 rejected"
    session.expire_all()
    assert session.execute(select(Ward.code, Ward.updated_at).order_by(Ward.code)).all() == before


def test_lancashire_wards_in_bng_get_their_district_from_the_district_file(app, session, geodata):
    districts = geodata / LANCASHIRE_DISTRICTS
    result = run(app, "import-wards", geodata / LANCASHIRE_WARDS, "--vintage", "2022")
    assert result.exit_code == 0 and count(session, Ward, Ward.la_code.is_(None)) == 271

    out = ok(
        app, "import-wards", geodata / LANCASHIRE_WARDS, "--vintage", "2022",
        "--la-boundaries", districts,
    )  # fmt: skip
    assert "--la-boundaries: columns: name=district (by name), code=objectid (by its values)" in (
        out
    )
    assert summary(out) == "0 imported, 271 updated, 0 unchanged, 0 rejected"
    preston = session.scalars(select(Ward.la_name).where(Ward.la_code == "E07000123")).all()
    assert preston == ["Preston"] * 16
    assert count(session, Ward, Ward.la_code.is_(None)) == 0


def test_la_code_imports_only_that_authoritys_wards(app, session, geodata):
    out = ok(
        app, "import-wards", geodata / LANCASHIRE_WARDS, "--vintage", "2022",
        "--la-boundaries", geodata / LANCASHIRE_DISTRICTS, "--la-code", "E07000123",
    )  # fmt: skip
    assert "kept the 16 wards of E07000123; skipped 255 of other local authorities" in out
    assert summary(out) == "16 imported, 0 updated, 0 unchanged, 0 rejected"
    assert count(session, Ward) == 16


def test_a_new_vintage_retires_the_wards_it_replaces_and_moves_the_groups(app, session, geodata):
    ok(app, "import-wards", geodata / TRAFFORD_WARDS_2017, "--vintage", "2017", *TRAFFORD)
    ok(app, "import-wards", geodata / MANCHESTER_WARDS, "--vintage", "2023")
    result = run(app, "import-groups", geodata / GM_POLLING_STATIONS)
    assert result.exit_code == 1  # stations of other districts lie outside every ward
    assert summary(result.output) == "279 imported, 0 updated, 0 unchanged, 421 rejected"
    old_ward = dict(session.execute(select(CommunityGroup.external_id, Ward.code).join(Ward)).all())

    out = trafford_2023(app, geodata)
    assert (
        "boundary changes: 21 wards added, 21 removed, 0 changed; "
        "81 groups and services moved ward" in out
    )
    assert "  added: E05015239 Altrincham" in out and "  removed: E05000839 Village" in out
    session.expire_all()
    assert count(session, Ward, Ward.current) == 21 + 32
    assert set(session.scalars(select(Ward.vintage).where(~Ward.current))) == {"2017"}
    new_ward = dict(session.execute(select(CommunityGroup.external_id, Ward.code).join(Ward)).all())
    moved = {i for i in new_ward if new_ward[i] != old_ward[i]}
    assert len(moved) == 81 and all(new_ward[i].startswith("E0501") for i in moved)
    # Manchester's stations stayed where they were and still agree with the source's ward
    stations = gpd.read_file(geodata / GM_POLLING_STATIONS).set_index("id")
    manchester = stations[stations.la_code == "E08000003"]
    assert all(new_ward[i] == manchester.ward_code[i] for i in manchester.index)

    # importing the older vintage again brings nothing back
    out = ok(app, "import-wards", geodata / TRAFFORD_WARDS_2017, "--vintage", "2017", *TRAFFORD)
    assert "boundary changes: 0 wards added, 0 removed, 0 changed; 0 groups" in out
    assert count(session, Ward, Ward.current) == 21 + 32


def test_older_wards_imported_after_newer_ones_arrive_retired(app, session, geodata):
    trafford_2023(app, geodata)
    out = ok(app, "import-wards", geodata / TRAFFORD_WARDS_2017, "--vintage", "2017", *TRAFFORD)
    assert "21 imported wards are older than the current wards where they lie" in out
    assert set(session.scalars(select(Ward.vintage).where(Ward.current))) == {"2023"}


def test_population_of_the_nomis_layout_is_the_persons_rows(app, session, geodata):
    trafford_2023(app, geodata)
    out = ok(app, "import-population", geodata / TRAFFORD_POPULATION)
    assert summary(out) == "0 imported, 21 updated, 0 unchanged, 0 rejected"
    assert session.scalar(select(func.sum(Ward.population))) == 241_025
    out = ok(app, "import-population", geodata / TRAFFORD_POPULATION)
    assert summary(out) == "0 imported, 0 updated, 21 unchanged, 0 rejected"


def test_imd_by_lsoa_gives_each_ward_the_figures_of_the_lsoas_in_it(app, session, geodata):
    trafford_2023(app, geodata)
    result = run(
        app, "import-imd", geodata / IMD_BY_LSOA, "--lsoa-boundaries", geodata / TRAFFORD_LSOAS
    )
    assert result.exit_code == 1  # Manchester's 282 LSOAs have no polygon in the file
    assert summary(result.output) == "0 imported, 21 updated, 0 unchanged, 282 rejected"
    assert "138 LSOAs gave figures to 21 wards" in result.output

    # The same figures, computed independently with geopandas.
    lsoas = gpd.read_file(geodata / TRAFFORD_LSOAS).set_index("area_code")
    lsoas["geometry"] = lsoas.make_valid().representative_point()
    imd = pd.read_csv(geodata / IMD_BY_LSOA).set_index("LSOA code (2011)")
    lsoas = lsoas.join(imd, how="inner")
    wards = gpd.read_file(geodata / TRAFFORD_WARDS_2023)[["area_code", "geometry"]]
    wards = wards.rename(columns={"area_code": "ward_code"})
    joined = gpd.sjoin(lsoas, wards, predicate="within")
    rank = "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"
    decile = "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)"
    expected = joined.groupby("ward_code").agg(
        rank=(rank, "mean"),
        share10=(decile, lambda d: (d == 1).mean()),
        share20=(decile, lambda d: (d <= 2).mean()),
    )
    stored = {w.code: w for w in session.scalars(select(Ward))}
    for code, row in expected.iterrows():
        ward = stored[code]
        assert ward.imd_rank == pytest.approx(row["rank"], abs=0.05)
        assert ward.imd_share_10pct == pytest.approx(row["share10"], abs=1e-4)
        assert ward.imd_share_20pct == pytest.approx(row["share20"], abs=1e-4)
        assert ward.imd_decile == -(-row["rank"] * 10 // 32_844)
    assert stored["E05015253"].imd_share_20pct == 0.5  # Old Trafford: 3 of its 6 LSOAs


def test_imd_by_ward_is_imported_directly_with_bad_rows_named(app, session, geodata):
    trafford_2023(app, geodata)
    result = run(app, "import-imd", DATA / "imd_wards.csv")
    assert result.exit_code == 1
    assert "imd_wards.csv: row 4: decile '11' is not between 1 and 10" in result.output
    assert "imd_wards.csv: row 5: unknown ward E05999999 (import it first)" in result.output
    assert summary(result.output) == "0 imported, 2 updated, 0 unchanged, 2 rejected"
    bucklow = session.scalar(select(Ward).where(Ward.code == "E05015244"))
    assert (bucklow.imd_decile, bucklow.imd_score) == (3, 31.2)


def test_postcodes_import_and_match_whatever_their_case_and_spacing(
    app, session, geodata, tmp_path
):
    out = ok(app, "import-postcodes", geodata / TRAFFORD_POSTCODES)
    assert summary(out) == "11264 imported, 0 updated, 0 unchanged, 0 rejected"
    assert count(session, Postcode) == 11_264
    out = ok(app, "import-postcodes", geodata / TRAFFORD_POSTCODES)
    assert summary(out) == "0 imported, 0 updated, 11264 unchanged, 0 rejected"
    trafford_2023(app, geodata)
    groups = tmp_path / "groups.csv"
    groups.write_text("name,postcode\nOld Trafford Lunch Club,m154ab\nSale Singers, m33 9 zz \n")
    result = run(app, "import-groups", groups)
    assert "groups.csv: row 3: unknown postcode 'M33 9ZZ' (Sale Singers)" in result.output
    group = session.scalar(select(CommunityGroup))
    assert group.postcode == "M15 4AB" and to_shape(group.geom).coords[0] == (-2.26046, 53.465578)
    assert group.ward.code == "E05015247"  # Gorse Hill & Cornbrook, as the directory says


def test_a_postcode_reimport_counts_each_change_and_an_unchanged_one_writes_nothing(
    app, session, tmp_path
):
    first = tmp_path / "first.csv"
    first.write_text(
        "pcds,lat,long,population\n"
        "ZX1 1AB,53.3906,-2.34673,10\n"
        "ZX1 1AD,53.42746,-2.33267,\n"
        "ZX1 1AE,53.41,-2.32,5\n"
        "ZX1 1AF,53.40,-2.31,7\n"
    )
    assert summary(ok(app, "import-postcodes", first)) == (
        "4 imported, 0 updated, 0 unchanged, 0 rejected"
    )
    before = version.current(session)
    assert summary(ok(app, "import-postcodes", first)) == (
        "0 imported, 0 updated, 4 unchanged, 0 rejected"
    )
    session.rollback()
    assert version.current(session) == before  # nothing written, no cache emptied
    second = tmp_path / "second.csv"
    second.write_text(
        "pcds,lat,long,population\n"
        "ZX1 1AB,53.3906,-2.34673,10\n"  # the same
        "zx1 1ad,53.42746,-2.33267,3\n"  # a figure where there was none
        "ZX1 1AE,53.41,-2.32,\n"  # no figure where there was one
        "ZX1 1AF,53.50,-2.31,7\n"  # moved
        "ZX1 1AG,53.39,-2.30,1\n"  # new
        "ZX1 1AG,53.39,-2.30,2\n"  # again: the later row decides
    )
    assert summary(ok(app, "import-postcodes", second)) == (
        "1 imported, 3 updated, 2 unchanged, 0 rejected"
    )
    session.rollback()
    assert version.current(session) > before
    stored = {p.postcode: (p.lat, p.residents) for p in session.scalars(select(Postcode))}
    assert stored == {
        "ZX1 1AB": (53.3906, 10.0),
        "ZX1 1AD": (53.42746, 3.0),
        "ZX1 1AE": (53.41, None),
        "ZX1 1AF": (53.5, 7.0),
        "ZX1 1AG": (53.39, 2.0),
    }


def test_listed_buildings_in_metres_import_and_rejects_are_named_by_row(app, session, geodata):
    trafford_2023(app, geodata)
    result = run(app, "import-groups", geodata / TRAFFORD_LISTED_BUILDINGS, "--category",
                 "arts-culture")  # fmt: skip
    assert result.exit_code == 1
    assert summary(result.output) == "260 imported, 0 updated, 0 unchanged, 5 rejected"
    for row in (237, 238, 239, 240):
        assert f"bng.csv: row {row}: multi-valued Easting '376909.953, 376909.953" in (
            result.output
        )
    assert "row 77: outside every known ward at -2.409570, 53.383302 (Bridgewater Canal" in (
        result.output
    )
    assert count(session, CommunityGroup, CommunityGroup.status == "active") == 260
    assert count(session, CommunityGroup, CommunityGroup.ward_id.is_(None)) == 0

    # no id column: the rows match the stored groups on name and location
    result = run(app, "import-groups", geodata / TRAFFORD_LISTED_BUILDINGS, "--category",
                 "arts-culture")  # fmt: skip
    assert summary(result.output) == "0 imported, 0 updated, 260 unchanged, 5 rejected"
    assert count(session, CommunityGroup) == 260


def test_libraries_and_polling_stations_land_in_the_wards_that_hold_them(app, session, geodata):
    trafford_2023(app, geodata)
    ok(app, "import-wards", geodata / MANCHESTER_WARDS, "--vintage", "2023")
    libraries = run(app, "import-groups", geodata / GM_LIBRARIES, "--category", "digital-inclusion",
                    "--organisation", "Trafford Data Lab")  # fmt: skip
    assert summary(libraries.output) == "36 imported, 0 updated, 0 unchanged, 105 rejected"
    stations = run(app, "import-groups", geodata / GM_POLLING_STATIONS)
    assert summary(stations.output) == "279 imported, 0 updated, 0 unchanged, 421 rejected"
    assert count(session, CommunityGroup) == 36 + 279
    la_codes = session.execute(
        select(Ward.la_code, func.count()).join(CommunityGroup).group_by(Ward.la_code)
    ).all()
    assert sorted(la_codes) == [("E08000003", 23 + 198), ("E08000009", 13 + 81)]
    library = session.scalar(select(CommunityGroup).where(CommunityGroup.name == "Sale Library"))
    assert library.organisation.name == "Trafford Data Lab" and library.status == "active"
    assert [c.slug for c in library.categories] == ["digital-inclusion"]
    assert library.ward.la_name == "Trafford"
    again = run(app, "import-groups", geodata / GM_POLLING_STATIONS)
    assert summary(again.output) == "0 imported, 0 updated, 279 unchanged, 421 rejected"
    assert count(session, CommunityGroup) == 36 + 279


def test_rows_the_database_refuses_are_named_with_their_reason(app, session, geodata):
    trafford_2023(app, geodata)
    result = run(app, "import-postcodes", DATA / "postcodes_small.csv")
    assert summary(result.output) == "2 imported, 0 updated, 0 unchanged, 3 rejected"
    result = run(app, "import-groups", DATA / "groups_broken.csv")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    for where, reason in [
        ("row 3", "missing name"),
        ("row 4", "unparseable lon 'west'"),
        ("row 5", "multi-valued lon"),
        ("row 6", "look swapped"),
        ("row 7", "look like British National Grid metres"),
        ("row 8", "unknown category 'knitting'"),
        ("row 9", "unknown postcode 'ZX9 9ZZ'"),
        ("row 10", "outside every known ward at 0.500000, 51.500000 (Faraway Friends)"),
        ("row 11", "unknown status 'approved'"),
        ("row 12", "is not a date"),
        ("row 13", "no location"),
    ]:
        assert any(line.startswith(f"{DATA / 'groups_broken.csv'}: {where}: ") and reason in line
                   for line in lines), (where, reason)  # fmt: skip
    assert summary(result.output) == "2 imported, 0 updated, 0 unchanged, 11 rejected"
    pals = session.scalar(select(CommunityGroup).where(CommunityGroup.name == "Postcode Pals"))
    assert pals.status == "closed" and pals.ward.name == "Altrincham"


def test_an_unknown_category_option_is_a_usage_error(app, geodata):
    result = run(app, "import-groups", geodata / GM_LIBRARIES, "--category", "knitting")
    assert result.exit_code == 2 and "unknown category knitting" in result.output


def test_services_and_coordinators_import_with_their_own_columns(app, session, geodata):
    trafford_2023(app, geodata)
    run(app, "import-postcodes", DATA / "postcodes_small.csv")
    result = run(app, "import-services", DATA / "services.csv", "--organisation", "Trafford CVS")
    assert summary(result.output) == "2 imported, 0 updated, 0 unchanged, 1 rejected"
    food_bank = session.scalar(select(Service).where(Service.external_id == "S-2"))
    assert food_bank.status == "inactive" and food_bank.organisation.name == "Trafford CVS"
    assert food_bank.ward.name == "Ashton upon Mersey"

    result = run(app, "import-coordinators", DATA / "coordinators.csv", "--organisation",
                 "Trafford CVS")  # fmt: skip
    assert summary(result.output) == "2 imported, 0 updated, 0 unchanged, 1 rejected"
    asha, ben = (session.scalar(select(Coordinator).where(Coordinator.external_id == i))
                 for i in ("C-1", "C-2"))  # fmt: skip
    assert asha.employer.name == "Trafford Council" and ben.employer.name == "Trafford CVS"
    assert to_shape(ben.base).coords[0] == (-2.34673, 53.3906)


def test_a_dry_run_reports_what_would_change_and_writes_nothing(app, session, geodata):
    ok(app, "import-wards", geodata / TRAFFORD_WARDS_2017, "--vintage", "2017", *TRAFFORD)
    run(app, "import-groups", DATA / "groups_bng.csv")
    before = {model: count(session, model) for model in (Ward, CommunityGroup, AuditEvent)}

    out = ok(app, "import-wards", geodata / TRAFFORD_WARDS_2023, "--vintage", "2023", *TRAFFORD,
             "--dry-run")  # fmt: skip
    assert "21 wards added, 21 removed, 0 changed; 1 groups and services moved ward" in out
    assert (
        summary(out) == "21 imported, 0 updated, 0 unchanged, 0 rejected (dry run: nothing written)"
    )
    result = run(app, "import-groups", geodata / TRAFFORD_LISTED_BUILDINGS, "--dry-run")
    assert result.exit_code == 1
    # the aqueduct of row 77 lies in a 2017 ward, though outside every 2023 one
    assert summary(result.output) == (
        "261 imported, 0 updated, 0 unchanged, 4 rejected (dry run: nothing written)"
    )
    ok(app, "import-postcodes", geodata / TRAFFORD_POSTCODES, "--dry-run")
    session.expire_all()
    assert {model: count(session, model) for model in before} == before
    assert count(session, Ward, Ward.vintage == "2017", Ward.current) == 21
    assert count(session, Postcode) == 0


def test_a_dry_run_reports_exactly_what_the_import_then_does(app, session, geodata):
    trafford_2023(app, geodata)
    commands = [
        ["import-groups", geodata / TRAFFORD_LISTED_BUILDINGS],
        ["import-postcodes", geodata / TRAFFORD_POSTCODES],
        ["import-population", geodata / TRAFFORD_POPULATION],
    ]
    for command in commands * 2:  # the second time round: updates and unchanged rows
        dry = run(app, *command, "--dry-run")
        real = run(app, *command)
        assert dry.output.endswith(" (dry run: nothing written)\n"), dry.output
        assert (dry.exit_code, dry.output.replace(" (dry run: nothing written)", "")) == (
            real.exit_code,
            real.output,
        )


def test_strict_writes_nothing_when_any_row_is_rejected(app, session, geodata):
    trafford_2023(app, geodata)
    result = run(app, "import-groups", geodata / TRAFFORD_LISTED_BUILDINGS, "--strict")
    assert result.exit_code == 1
    assert summary(result.output) == (
        "260 imported, 0 updated, 0 unchanged, 5 rejected (--strict: nothing written)"
    )
    assert count(session, CommunityGroup) == 0
    out = ok(app, "import-population", geodata / TRAFFORD_POPULATION, "--strict")
    assert summary(out) == "0 imported, 21 updated, 0 unchanged, 0 rejected"
    assert session.scalar(select(func.sum(Ward.population))) == 241_025


def test_an_import_interrupted_midway_leaves_the_database_as_it_was(
    app, session, geodata, monkeypatch
):
    saved = []
    real_save = records.save_postcodes

    def save_then_interrupt(session, rows):
        if saved:
            raise KeyboardInterrupt  # Ctrl-C after the first chunk reached the database
        saved.append(real_save(session, rows))
        return saved[-1]

    monkeypatch.setattr(imports, "CHUNK", 1000)
    monkeypatch.setattr(records, "save_postcodes", save_then_interrupt)
    result = run(app, "import-postcodes", geodata / TRAFFORD_POSTCODES)
    assert result.exit_code == 1 and "Aborted" in result.output
    assert saved == [(1000, 0)]
    session.expire_all()
    assert count(session, Postcode) == 0


def test_progress_shows_on_a_terminal_and_not_otherwise(tmp_path, geodata):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/mapper.sqlite"}
    subprocess.run([MAPPER, "init-db"], env=env, check=True, capture_output=True)
    command = [MAPPER, "import-postcodes", str(geodata / TRAFFORD_POSTCODES)]
    piped = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and "Importing" not in piped.stderr + piped.stdout

    leader, follower = pty.openpty()
    on_terminal = subprocess.run(
        [*command, "--dry-run"], env=env, stdout=subprocess.PIPE, stderr=follower, timeout=120
    )
    os.close(follower)
    terminal = os.read(leader, 100_000).decode()
    os.close(leader)
    assert on_terminal.returncode == 0
    assert "Importing postcodes" in terminal and "11264/11264" in terminal
    assert "11264 unchanged" in on_terminal.stdout.decode()


def test_a_bulk_import_gives_every_group_its_ward_categories_and_audit_event(
    app, session, tmp_path, monkeypatch
):
    from tests.factories import two_wards
    from tests.store.test_bulk import index_definitions

    monkeypatch.setattr(bulk, "BULK_INDEX_ROWS", 100)  # its indexes are built after it
    indexes = [index_definitions(session, t) for t in ("community_groups", "group_categories")]
    wards = two_wards(session)
    rows = []
    for i in range(1200):
        lon = -2.095 + (i % 190) * 0.001  # both wards; -2.0 is their shared edge
        rows.append(
            {
                "id": f"G{i}",
                "name": f"Group {i}",
                "lon": round(lon, 6),
                "lat": 53.45,
                "categories": "faith;health" if i % 2 else "faith",
            }
        )
    # The same group again, further down the same chunk of the file.
    rows.insert(3, {**rows[0], "name": "Group 0 renamed"})
    path = tmp_path / "groups.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    output = ok(app, "import-groups", path)
    assert summary(output) == "1200 imported, 0 updated, 1 unchanged, 0 rejected"
    session.expire_all()
    stored = session.execute(
        select(CommunityGroup.external_id, CommunityGroup.ward_id, CommunityGroup.name)
    ).all()
    assert len(stored) == 1200
    west, east = wards["E05000002"].id, wards["E05000001"].id
    for external_id, ward_id, _ in stored:
        lon = -2.095 + (int(external_id[1:]) % 190) * 0.001
        assert ward_id == (west if round(lon, 6) < -2.0 else east), external_id
    assert {name for ext, _, name in stored if ext == "G0"} == {"Group 0 renamed"}
    group = session.scalar(select(CommunityGroup).where(CommunityGroup.external_id == "G1"))
    assert [c.slug for c in group.categories] == ["faith", "health"]
    assert group.status == "active" and group.created_at is not None
    assert count(session, AuditEvent, AuditEvent.entity_type == "community_groups") == 1200
    assert [index_definitions(session, t) for t in ("community_groups", "group_categories")] == (
        indexes
    )
    assert summary(ok(app, "import-groups", path)).startswith("0 imported")
    assert count(session, CommunityGroup) == 1200
