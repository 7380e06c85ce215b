"""Schemathesis against our own /api/openapi.json, on both backends: every operation with
generated valid (positive) and invalid (negative) requests, anonymous and, for writes, with
an administrator's bearer token, all its checks on. A fixed seed and a bounded number of
examples per operation keep it to minutes; a failure names the operation and a curl line.

Schemathesis's own pytest loader (`from_fixture`) does not run under pytest 9, so each
operation is a parametrised test here drawing its cases from schemathesis's strategy.

Some rules of ours no OpenAPI 3.0 schema can state are assumed of the valid requests
(`assume`), never by turning a check off: a bbox has its minimum before its maximum and its
latitudes within ±90 (there are no tuple schemas in 3.0), latitude first with `bbox-crs`
EPSG:4326 and within the grid with EPSG:27700; Open Referral's `proximity` needs
a `postcode`; an `org_id` has its list's format (any case and spacing, a company number
padded); a change between two dates needs, for each side, a day or a snapshot and not
both, with `to` not before `from`. And a group's body
can be valid by the schema yet name a place outside every ward or a category nobody made:
for POST and PATCH of a group, a 422 is what a valid-looking body may get, so the
positive-data check is not asked of them (every other check is). Likewise the gap analysis
refuses (400, naming it) a well-formed `la` or `ward` code that no stored ward has: its
valid requests are drawn without those two (their format is still fuzzed by the negative
cases, and tests/web/test_gaps_downloads.py covers them with stored codes).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from mapper.api import openapi
from mapper.io.identifiers import normalise_org_id
from tests.factories import four_users, make_group, make_service, make_token

EXAMPLES = 8  # per operation, generation mode and backend
SEED = 20261201
OPERATIONS = [
    (method.upper(), path)
    for path, item in openapi.document("http://localhost/")["paths"].items()
    for method in item
]
BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
DATA_DEPENDENT = {("POST", "/api/v1/groups"), ("PATCH", "/api/v1/groups/{group_id}")}


@pytest.fixture
def api_schema(app, session):
    """The app's own document, with a few records for the operations to find."""
    users = four_users(session)
    make_group(session, "Choir", (-2.05, 53.45), categories=["arts-culture"])
    make_service(session, "Food bank", (-1.95, 53.45), status="active")
    app.config["SCHEMATHESIS_TOKEN"] = make_token(session, users["admin"])
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


def inexpressible_rules_hold(query, path=""):
    """Tell whether a valid request keeps the rules the schema cannot state (see above)."""
    query = query or {}
    box = query.get("bbox")
    if box is not None:
        values = [float(v) for v in (box if isinstance(box, list) else str(box).split(","))]
        if len(values) in (4, 6):  # OGC boxes may have heights and cross the antimeridian
            corners = values[:2] + values[len(values) // 2 :][:2]
            if query.get("bbox-crs") == BNG:  # eastings and northings within the grid
                min_x, min_y, max_x, max_y = corners
                corners = [0.0, 0.0, 0.0, 0.0]  # the lon/lat test below holds of these
                if not (0 <= min_x <= max_x <= 700_000 and 0 <= min_y <= max_y <= 1_300_000):
                    return False
            if query.get("bbox-crs") == EPSG_4326:  # latitude first
                corners = [corners[1], corners[0], corners[3], corners[2]]
            min_lon, min_lat, max_lon, max_lat = corners
            lons_ok = -180 <= min_lon <= 180 and -180 <= max_lon <= 180
            lons_ok = lons_ok and (min_lon <= max_lon or path.startswith("/ogc/"))
            if not (lons_ok and -90 <= min_lat <= max_lat <= 90):
                return False
    if "proximity" in query and not query.get("postcode"):
        return False
    if query.get("org_id") is not None and normalise_org_id(str(query["org_id"]))[0] is None:
        return False  # a list's own format, in any case and spacing (no 3.0 pattern says it)
    for side in ("from", "to"):  # a change: a day or a snapshot for each side, not both
        if query.get(side) and query.get(f"{side}_snapshot") not in (None, ""):
            return False
    return not (query.get("from") and query.get("to") and str(query["to"]) < str(query["from"]))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_as_documented(app, api_schema, method, path, mode):
    operation = api_schema[path][method]
    # The WSGI transport asks for gzip but never decodes it (tests/http/test_compression.py
    # covers compressed answers), so ask for answers as they are.
    headers = {"Accept-Encoding": "identity"}
    if method != "GET":
        headers |= app.config["SCHEMATHESIS_TOKEN"]
    excluded = [positive_data_acceptance] if (method, path) in DATA_DEPENDENT else []
    changes = path.startswith("/changes.")
    analysis = path.startswith(("/gaps.", "/ogc/collections/gaps"))

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        if mode is GenerationMode.POSITIVE:
            assume(inexpressible_rules_hold(case.query, path))
            if changes:
                assume(bool({"from", "from_snapshot"} & set(case.query or {})))
            if analysis:
                assume(not {"la", "ward"} & set(case.query or {}))
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    try:
        check()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip("no parameter or body to make invalid")
