"""The query parameters of the gap analysis, declared once as pydantic models: /gaps.<format>,
/map/figures.json, the OGC `gaps` collection and `mapper export-gaps` validate with them, and
the OpenAPI document describes the gap-analysis downloads from them (api/openapi_paths.py).
"""

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from mapper.core import group_input
from mapper.http.inputs import WORD_PATTERN, GssCode, Query, parse_query
from mapper.http.params import DOWNLOAD_CRS, GAP_ARGUMENTS, bad, shorten

# The walking distance of reach (`reach_m`), in metres, that a query may ask for.
REACH_METRES_RANGE = (50, 20_000)
_DOWNLOAD_SRIDS = {name.upper(): srid for name, srid in DOWNLOAD_CRS.items()}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _iso_date(value):
    """Read YYYY-MM-DD as a date (any day, 0001-01-01 to 9999-12-31)."""
    if not isinstance(value, str):
        return value
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"'{shorten(value)}' is not a date in YYYY-MM-DD form")


def _download_crs(value):
    if value.upper() not in _DOWNLOAD_SRIDS:
        raise ValueError("must be EPSG:4326 (or CRS84) or EPSG:27700 (British National Grid)")
    return value


GapWord = Annotated[str, Field(pattern=WORD_PATTERN), BeforeValidator(_strip)]
Day = Annotated[date, BeforeValidator(_iso_date)]


class GapQuery(Query):
    """The parameters of the gap analysis, as /gaps.geojson takes them (docs/gap-analysis.md).

    A list given empty (`la=`, a form's blank field) is no filter; so is an empty `as_of` or
    `reach_m`.
    """

    la: list[GssCode] = Field(
        None,
        description="Analyse the current wards of these local authorities; without `la` and "
        "`ward`, every current ward. Repeat the parameter or separate codes with commas.",
    )
    ward: list[GssCode] = Field(
        None,
        description="Analyse these current wards. Repeat the parameter or separate codes "
        "with commas.",
    )
    category: list[GapWord] = Field(
        None,
        description="Only groups and services with at least one of these category slugs "
        "count, and these are the categories analysed (else the core categories).",
    )
    kind: list[GapWord] = Field(
        None,
        description="Only groups of these kinds count ("
        + ", ".join(group_input.GROUP_KINDS)
        + ").",
    )
    as_of: Day = Field(
        None,
        description="Count the groups that were active on this date instead of those active now.",
    )
    reach_m: Annotated[
        float, Field(ge=REACH_METRES_RANGE[0], le=REACH_METRES_RANGE[1], allow_inf_nan=False)
    ] = Field(
        None,
        description="The walking distance (metres) of the reach_<category> and reach_core "
        "properties: the share of residents within it of a counted group or service "
        "(default: the REACH_METRES setting, 800).",
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, values):
        return {k: v for k, v in values.items() if not (k in ("as_of", "reach_m") and v == "")}

    def filters(self):
        """Return the compute_gaps arguments this query gives."""
        result = {argument: getattr(self, name) or [] for name, argument in GAP_ARGUMENTS.items()}
        result["as_of"] = self.as_of
        if self.reach_m is not None:
            result["params"] = {"reach_metres": self.reach_m}
        return result


class GapDownloadQuery(GapQuery):
    """The parameters of a gap-analysis download: the analysis's, and its `crs`."""

    crs: Annotated[
        str,
        Field(json_schema_extra={"enum": sorted(DOWNLOAD_CRS)}),
        AfterValidator(_download_crs),
    ] = Field(
        None,
        description="The coordinates' reference system: lon/lat (EPSG:4326, CRS84; the "
        "default) or British National Grid (EPSG:27700, to the centimetre; a GeoJSON then "
        "names it in a `crs` member, outside RFC 7946). CSV and XLSX hold no coordinates.",
    )

    @property
    def srid(self):
        """The SRID that `crs` names: 4326 when absent."""
        return 4326 if self.crs is None else _DOWNLOAD_SRIDS[self.crs.upper()]


def parse_gap_query(args, model=GapQuery):
    """Return `model` made from the query string `args`; a 400 names an unknown parameter or
    the first one at fault."""
    unknown = [name for name in args if name not in model.model_fields]
    if unknown:
        raise bad(unknown[0], "is not a parameter of the gap analysis")
    return parse_query(model, args)


def gap_filters(args):
    """Return the compute_gaps arguments given by the gap analysis's query parameters."""
    return parse_gap_query(args).filters()
