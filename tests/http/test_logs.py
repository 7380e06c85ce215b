"""Request ids and structured logs: taken from X-Request-ID or made, sent back, logged, and shown
on the 500 page so a person can quote it."""

import io
import json
import logging
import re

import pytest

from mapper.http import logs


@pytest.fixture
def failing_app(app):
    """The app with two routes that fail as a bug would: a page and an API read."""

    def fail():
        raise RuntimeError("a bug")

    app.add_url_rule("/boom", "boom", fail)
    app.add_url_rule("/api/v1/boom", "api_boom", fail)
    return app


def test_a_sensible_request_id_is_kept_and_sent_back(client):
    response = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a:42"})
    assert response.headers["X-Request-ID"] == "edge-7f3a:42"


@pytest.mark.parametrize("sent", [None, "", "has spaces", "<script>", "x" * 200])
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(client, sent):
    headers = {} if sent is None else {"X-Request-ID": sent}
    response = client.get("/healthz", headers=headers)
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_every_answer_has_a_request_id_even_a_404(client):
    response = client.get("/wards/E05999999")
    assert response.status_code == 404
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_the_500_page_shows_the_request_id_and_the_log_names_it(failing_app, caplog):
    client = failing_app.test_client()
    with caplog.at_level(logging.ERROR, logger="mapper"):
        response = client.get("/boom", headers={"X-Request-ID": "trace-42", "Accept": "text/html"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "trace-42"
    page = response.get_data(as_text=True)
    assert "<code>trace-42</code>" in page and "a bug" not in page
    (record,) = [r for r in caplog.records if r.name == "mapper.errors"]
    assert record.request_id == "trace-42" and record.exc_info


def test_an_api_500_carries_the_request_id_in_the_error_body(failing_app):
    response = failing_app.test_client().get("/api/v1/boom", headers={"X-Request-ID": "api-9"})
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert response.json["error"]["request_id"] == "api-9"


def test_json_logs_are_one_object_a_line_with_the_request_id(failing_app):
    stream = io.StringIO()
    logs.configure(failing_app.logger, "json", stream=stream)
    failing_app.test_client().get("/boom", headers={"X-Request-ID": "json-1"})
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "mapper.errors"
    assert (entry["request_id"], entry["method"], entry["path"]) == ("json-1", "GET", "/boom")
    assert "RuntimeError: a bug" in entry["exception"]


def test_text_logs_name_the_request_id_too(failing_app):
    stream = io.StringIO()
    logs.configure(failing_app.logger, "text", stream=stream)
    failing_app.test_client().get("/boom", headers={"X-Request-ID": "text-1"})
    assert "ERROR mapper.errors [text-1] internal error text-1" in stream.getvalue()


def test_an_unknown_log_format_is_refused_naming_the_setting():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.formatter("xml")
