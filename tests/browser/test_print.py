"""Pages on paper, in a real headless Chromium: print media shows the content, not the controls."""

import pytest

from tests.browser.test_pages import assert_clean, borough, open_page

pytestmark = pytest.mark.browser

HIDDEN_ON_PAPER = [
    ".skip-link",
    ".site-header",
    "header nav",
    ".breadcrumbs",
    "input[type=checkbox]",
    ".leaflet-control-zoom",
    "select",
    "button",
]


def displayed(p, selector):
    """Return how many elements matching `selector` are displayed (computed style)."""
    return p.evaluate(
        """selector => [...document.querySelectorAll(selector)]
            .filter(e => getComputedStyle(e).display !== 'none').length""",
        selector,
    )


@pytest.mark.parametrize("url", ["/", "/wards/E05000002"])
def test_printed_pages_have_no_navigation_or_controls(live_server, page, session, backend, url):
    borough(session)
    open_page(page, live_server + url)
    p = page.page
    assert displayed(p, "input[type=checkbox]") > 0  # on screen, the controls are there
    assert displayed(p, ".site-header") == 1
    p.emulate_media(media="print")
    for selector in HIDDEN_ON_PAPER:
        assert displayed(p, selector) == 0, selector
    assert displayed(p, "main h1") == 1 and displayed(p, ".folium-map") == 1
    if url.startswith("/wards/"):
        # A link's target is readable on paper, after its words.
        link = p.locator("main .link-list a").first
        after = link.evaluate("a => getComputedStyle(a, '::after').content")
        assert link.get_attribute("href") in after
    name = "home" if url == "/" else "ward"
    page.screenshot(f"print-{name}-{backend}")
    assert_clean(page)
