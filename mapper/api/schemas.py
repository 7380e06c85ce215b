"""The inputs of /api/v1, each declared once: the handlers validate with these models and the
OpenAPI document is generated from them (`openapi_schema`, `query_parameters`), so a limit is
documented exactly when it is enforced.

The models check the shape of an input (types, lengths, formats, which members); what needs
the database or the domain (a category that exists, a place inside a ward, a web address's
scheme) stays with core/group_input.py, which the forms share.
"""

import copy
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, create_model

from mapper import geo
from mapper.core import group_input, openreferral
from mapper.errors import Invalid
from mapper.http.inputs import WORD_PATTERN, Body, Cursor, GssCode, Query, parse_body, query_int
from mapper.io.identifiers import LONGEST_ORG_ID, ORG_ID_EXAMPLE, ORG_ID_SCHEMES
from mapper.store.models import MAX_ID, STATUSES

MAX_LIMIT = 10_000
BOX_REASON = "must be lon/lat in WGS84 with min before max"


def _lonlat_box(values):
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ValueError(BOX_REASON)
    return tuple(values)


Codes = Annotated[list[GssCode], Field(min_length=1)]
Word = Annotated[str, Field(pattern=WORD_PATTERN)]


class WardsQuery(Query):
    """The query of GET /api/v1/wards."""

    la: Codes = Field(
        None,
        description="Only wards of these local authorities (GSS codes). Repeat the parameter "
        "or separate codes with commas.",
    )
    vintage: str = Field(
        None, max_length=20, description="Wards of this boundary vintage instead of the current."
    )


class GroupsQuery(Query):
    """The query of GET /api/v1/groups."""

    bbox: Annotated[list[float], Field(min_length=4, max_length=4), AfterValidator(_lonlat_box)] = (
        Field(
            None,
            description="Only features whose geometry meets this box: "
            "min_lon,min_lat,max_lon,max_lat in WGS84.",
        )
    )
    ward: Codes = Field(
        None,
        description="Only groups based in these wards. Repeat the parameter or separate codes "
        "with commas.",
    )
    category: list[Word] = Field(
        None,
        description="Only records with one of these activity categories (slugs such as "
        "food-support); repeat the parameter or separate slugs with commas.",
    )
    status: list[Literal[STATUSES]] = Field(
        None, description="Groups of these statuses (signed-in users only); default active."
    )
    org_id: Annotated[str, Field(min_length=1, max_length=LONGEST_ORG_ID)] = Field(
        None,
        description="Only groups with this organisation identifier (such as GB-CHC-1234567), "
        "in any spelling that normalises to it.",
    )
    limit: query_int(1, MAX_LIMIT) = Field(100, description="How many groups per page.")
    after: Cursor = Field(
        0, description="Only groups whose id is above this one (set by the `next` link)."
    )


NAME = Annotated[str, Field(min_length=1, max_length=group_input.GROUP_TEXT_FIELDS["name"][1])]
CATEGORIES = Annotated[list[str], Field(min_length=1)]
OrgIdText = Annotated[str, Field(min_length=1, max_length=LONGEST_ORG_ID)]


def _text_field(field, longest):
    if field == "name":
        return NAME, None
    if field == "kind":
        return Literal[group_input.GROUP_KINDS] | None, None
    text = Annotated[str, Field(max_length=longest)] | None
    if field == "contact":
        return text, Field(None, description="The group's public contact.")
    return text, None


_FIELDS = {
    field: _text_field(field, longest)
    for field, (_column, longest) in group_input.GROUP_TEXT_FIELDS.items()
}
_FIELDS.update(
    categories=(CATEGORIES, Field(None, description="Activity category slugs.")),
    wards_served=(list[GssCode], Field(None, description="Codes of other wards it works in.")),
    postcode=(
        Annotated[str, Field(max_length=20)] | None,
        Field(None, description="Locates the group at its centroid."),
    ),
    org_ids=(
        list[OrgIdText] | None,
        Field(
            None,
            description="Organisation identifiers in the org-id.guide scheme, such as "
            f"{ORG_ID_EXAMPLE}; lists: " + ", ".join(ORG_ID_SCHEMES) + ". Stored normalised.",
        ),
    ),
    lon=(Annotated[float, Field(ge=-180, le=180)], None),
    lat=(Annotated[float, Field(ge=-90, le=90)], None),
    location_precision=(
        Literal[geo.PRECISIONS] | None,
        Field(
            None,
            description="Where the location is published: `exact` (the default); "
            "`approximate`, at the centre of its 1 km British National Grid square, with no "
            "address or postcode; `hidden`, by ward only (no geometry). Its ward and the "
            "analysis always use the true point, which its organisation's editors and "
            "administrators see.",
        ),
    ),
)

GroupInput = create_model(
    "GroupInput",
    __base__=Body,
    __doc__="The fields of a group a client may send (an edit sends those it changes). The "
    "ward is derived from the location (lon and lat, or postcode), never sent. Read-only "
    "fields are refused: " + ", ".join(group_input.GROUP_READ_ONLY) + ".",
    **{name: (kind, default) for name, (kind, default) in _FIELDS.items()},
)


class GroupCreate(GroupInput):
    """A group to register: a name and categories at least, and where it is. A likely
    duplicate is a 409 unless `confirm_duplicate` is true."""

    name: NAME
    categories: CATEGORIES = Field(description="Activity category slugs.")
    confirm_duplicate: StrictBool = False


class StatusChange(Body):
    """A group's status on its own: `active` (administrators approving a pending group) or
    `closed` with a reason."""

    status: Literal["active", "closed"]
    reason: str | None = None
    close_reason: str | None = Field(None, description="The same as `reason`.")


READ_ONLY = dict.fromkeys(group_input.GROUP_READ_ONLY, group_input.READ_ONLY_REASON)


def parse_group(model, data):
    """Return a group body checked by `model` (GroupCreate or GroupInput), or raise a 422."""
    try:
        return parse_body(model, data, "group", "is not a field of a group", READ_ONLY)
    except Invalid as error:
        lon, lat = data.get("lon"), data.get("lat")
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat))
        if numbers and geo.looks_like_bng(lon, lat):
            error.fields.update(lon=group_input.BNG_REASON, lat=group_input.BNG_REASON)
        raise


def parse_status_change(data):
    """Return a status change checked by StatusChange, or raise a 422."""
    return parse_body(
        StatusChange, data, "status change", "cannot be changed in the same request as status"
    )


def openapi(schema):
    """Turn pydantic's JSON Schema (2020-12) into an OpenAPI 3.0 schema: no titles, no null
    defaults, `nullable` for "or null", a one-value `enum` for `const`."""
    if isinstance(schema, list):
        return [openapi(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {
        key: openapi(value)
        for key, value in schema.items()
        if key != "title" and not (key == "default" and value is None)
    }
    if "const" in result:  # a Literal of one value; OpenAPI 3.0 has no `const`
        result["enum"] = [result.pop("const")]
    choices = result.get("anyOf", [])
    others = [c for c in choices if c != {"type": "null"}]
    if len(choices) == 2 and len(others) == 1:
        del result["anyOf"]
        result = {**others[0], **result, "nullable": True}
    return result


def openapi_schema(model):
    """Return a body model's OpenAPI 3.0 schema, for components/schemas."""
    return openapi(model.model_json_schema(ref_template="#/components/schemas/{model}"))


def query_parameters(model):
    """Return the OpenAPI parameter objects of a query model, in its fields' order."""
    properties = openapi_schema(model)["properties"]
    result = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        schema = copy.deepcopy(properties[key])
        schema.pop("description", None)
        parameter = {
            "name": key,
            "in": "query",
            "required": field.is_required(),
            "description": field.description or "",
            "schema": schema,
        }
        if schema.get("type") == "array":
            parameter.update(style="form", explode=False)
        result.append(parameter)
    return result


# The request bodies of /api/v1, by the name of their component schema.
BODIES = {"GroupInput": GroupInput, "GroupCreate": GroupCreate, "StatusChange": StatusChange}


def _few_words(search):
    """Refuse a search of more words than find_services takes (what SEARCH_PATTERN says)."""
    if len(openreferral.search_words(search)) > openreferral.MAX_SEARCH_WORDS:
        raise ValueError(f"must be at most {openreferral.MAX_SEARCH_WORDS} words")
    return search


class PageQuery(Query):
    """The paging of every Open Referral list."""

    page: query_int(1, MAX_ID) = Field(1, description="The page number, from 1.")
    per_page: query_int(1, openreferral.MAX_PER_PAGE) = Field(
        openreferral.DEFAULT_PER_PAGE, description="Results per page."
    )


class ServicesQuery(PageQuery):
    """The query of GET /openreferral/services."""

    search: Annotated[
        str,
        Field(
            max_length=openreferral.MAX_SEARCH_CHARACTERS,
            json_schema_extra={"pattern": openreferral.SEARCH_PATTERN},  # as _few_words checks
        ),
        AfterValidator(_few_words),
    ] = Field(
        "",
        description=f"Words found in the name or description: at most "
        f"{openreferral.MAX_SEARCH_WORDS} words, {openreferral.MAX_SEARCH_CHARACTERS} characters.",
    )
    taxonomy_term_id: str = Field(
        None, description="Only services with this taxonomy term (its id, or a category slug)."
    )
    postcode: str = Field(
        None,
        description="A UK postcode in our directory: results are ordered by distance from its "
        "centroid (all of them, unless `proximity` is given too).",
    )
    proximity: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(
        None, description="Only services within this many metres of `postcode` (a 400 without it)."
    )
