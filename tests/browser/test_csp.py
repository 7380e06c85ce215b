"""The Content-Security-Policy in a real Chromium: every page, maps included, breaks no rule."""

import pytest

from tests.browser.test_registration import sign_in
from tests.factories import make_group, make_user, two_wards

pytestmark = pytest.mark.browser

VIOLATIONS = """() => new Promise(done => setTimeout(() => done(window.__violations || []), 300))"""
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));
"""


def test_map_pages_break_no_rule_of_the_content_security_policy(
    live_server, page, session, backend
):
    two_wards(session)
    group = make_group(session, "Larkspur Knit", (-2.05, 53.45))
    make_user(session, "ed@lio.example", role="admin", trusted=True)
    p = page.page
    p.add_init_script(LISTEN)
    sign_in(p, live_server, "ed@lio.example")
    urls = [
        "/",
        "/wards/E05000002",
        f"/groups/{group.id}",
        "/groups/new",
        f"/groups/{group.id}/edit",
        "/groups/mine",
        "/changes",
        "/decisions",
        "/api/",
    ]
    for url in urls:
        response = p.goto(live_server + url)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], url
        if p.locator(".folium-map").count():
            p.wait_for_selector(".folium-map.leaflet-container", timeout=15_000)
        assert p.evaluate(VIOLATIONS) == [], url
    assert page.errors == []
    assert page.outside_requests() == []
