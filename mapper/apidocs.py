"""Blueprint `apidocs`: the OpenAPI document and a page that presents it."""

from flask import Blueprint, Response, render_template, request

from mapper import openapi

apidocs = Blueprint("apidocs", __name__, url_prefix="/api")


@apidocs.get("/openapi.json")
def document():
    return Response(
        openapi.to_json(openapi.document(request.url_root)), mimetype="application/json"
    )


@apidocs.get("/")
def page():
    """The API documentation as a page, built from the same document."""
    spec = openapi.document(request.url_root)
    return render_template("openapi.html", spec=spec, operations=list(openapi.operations(spec)))
