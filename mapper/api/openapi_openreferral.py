"""The OpenAPI operations of the Open Referral UK feed (HSDS 3.0, UK profile)."""

from mapper.api.openapi_paths import get, ok, parameter, ref
from mapper.api.schemas import PageQuery, ServicesQuery, query_parameters


def openreferral_paths():
    """Return the paths of the Open Referral UK feed."""
    paging = query_parameters(PageQuery)
    search = query_parameters(ServicesQuery)
    tag = "Open Referral UK"
    return {
        "/openreferral/": get(
            "API information",
            "The HSDS version and profile of this Open Referral UK feed.",
            tag,
            ok("Information about this API.", {"type": "object"}),
            errors=("503",),
        ),
        "/openreferral/services": get(
            "Services",
            "Services and community groups (as the activities of their organisations), "
            "paged; each item follows the UK profile's service_list schema.",
            tag,
            ok("A page of services.", ref("schemas", "OpenReferralPage")),
            search,
            errors=("404", "503"),  # 404: a postcode not in the directory
        ),
        "/openreferral/services/{service_uuid}": get(
            "One service",
            "The full service with its organisation, location, schedules, service areas "
            "and taxonomy terms, following the UK profile's service schema.",
            tag,
            ok("The service.", {"type": "object"}),
            [
                parameter(
                    "service_uuid", "The service's id (a UUID).", {"type": "string"}, where="path"
                )
            ],
            errors=("404", "503"),
        ),
        "/openreferral/service_at_locations": get(
            "Services at locations",
            "Each service at its location, paged and searched as `/openreferral/services`; "
            "each item follows the UK profile's service_at_location_list schema.",
            tag,
            ok("A page of services at locations.", ref("schemas", "OpenReferralPage")),
            search,
            errors=("400", "404", "503"),
        ),
        "/openreferral/service_at_locations/{at_location_uuid}": get(
            "One service at a location",
            "The service at its location in full, with the address and the full service, "
            "following the UK profile's service_at_location schema.",
            tag,
            ok("The service at its location.", {"type": "object"}),
            [
                parameter(
                    "at_location_uuid",
                    "The service-at-location's id (a UUID).",
                    {"type": "string"},
                    where="path",
                )
            ],
            errors=("404", "503"),
        ),
        "/openreferral/taxonomies": get(
            "Taxonomies",
            "The one taxonomy used: Community Mapper's activity categories.",
            tag,
            ok("A page of taxonomies.", ref("schemas", "OpenReferralPage")),
            paging,
        ),
        "/openreferral/taxonomies/{taxonomy_uuid}": get(
            "One taxonomy",
            "A taxonomy by id.",
            tag,
            ok("The taxonomy.", {"type": "object"}),
            [
                parameter(
                    "taxonomy_uuid", "The taxonomy's id (a UUID).", {"type": "string"}, where="path"
                )
            ],
            errors=("404", "503"),
        ),
        "/openreferral/taxonomy_terms": get(
            "Taxonomy terms",
            "Our activity categories as taxonomy terms.",
            tag,
            ok("A page of taxonomy terms.", ref("schemas", "OpenReferralPage")),
            paging,
        ),
        "/openreferral/taxonomy_terms/{term_id}": get(
            "One taxonomy term",
            "A taxonomy term by id (a UUID) or category slug.",
            tag,
            ok("The taxonomy term.", {"type": "object"}),
            [
                parameter(
                    "term_id", "The term's id or category slug.", {"type": "string"}, where="path"
                )
            ],
            errors=("404", "503"),
        ),
    }
