"""Blueprint `services`: a service's public page, `/services/<id>`, as groups have theirs."""

from flask import Blueprint, current_app, url_for

from mapper.errors import NotFound
from mapper.io import exports
from mapper.store.db import get_session
from mapper.web import mapdata, maps, public_text
from mapper.web.pages import render_map_page

services = Blueprint("services", __name__)


@services.get("/services/<int:service_id>")
def service_page(service_id):
    """A service's public page: active services only, public fields only, and its map."""
    service = mapdata.public_service(get_session(), service_id)
    if service is None:
        raise NotFound(f"There is no public service {service_id}.")
    properties = exports.service_properties(service)
    website = properties["website"] or ""
    config = current_app.config
    parts = maps.group_map(  # a group's map serves: the point and its ward's outline
        config["TILE_URL"],
        config["TILE_ATTRIBUTION"],
        group_url=url_for("ogc.item", collection_id="services", feature_id=service.id, f="json"),
        wards_url=url_for("web.map_wards", ward=service.ward.code) if service.ward else None,
        fit_ward=False,
    )
    return render_map_page(
        "service.html",
        parts,
        service=properties,
        organisation=service.provider or (service.organisation and service.organisation.name),
        place_name=service.place_name,
        categories=[c.name for c in service.categories],
        website_is_link=website.lower().startswith(("http://", "https://")),
        listed_on=public_text.long_date(service.created_at),
        updated_on=public_text.long_date(service.updated_at),
    )


def init_app(app):
    """Register the services' pages."""
    app.register_blueprint(services)
