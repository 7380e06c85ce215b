"""The what-changed page and the method page in a real headless Chromium: accessible
(axe-core), usable from the keyboard, offline."""

import pytest

from tests.browser.test_pages import assert_clean, serious_accessibility_violations
from tests.web.test_whats_changed import movement  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def test_the_what_changed_page_is_accessible_and_works_from_the_keyboard(
    live_server,
    page,
    movement,  # noqa: F811 - the fixture
):
    p = page.page
    p.goto(f"{live_server}/whats-changed?la=E08000099")
    assert p.locator("table.data-table tbody tr").count() == 5
    assert serious_accessibility_violations(p) == []
    # From the date field, a new day and Enter: the list since then, the scope kept.
    p.focus("#since")
    p.keyboard.type("01012020")
    p.keyboard.press("Enter")
    p.wait_for_url("**since=2020-01-01**")
    assert "la=E08000099" in p.url
    assert p.locator("table.data-table tbody tr").count() == 6
    assert "Old Timers" in p.inner_text("main")
    assert serious_accessibility_violations(p) == []
    page.screenshot("whats-changed")
    assert_clean(page)


@pytest.mark.parametrize("url", ["/method", "/method/changes", "/method/whats-changed"])
def test_the_method_pages_are_accessible_and_link_each_other(live_server, page, url):
    p = page.page
    p.goto(f"{live_server}{url}")
    assert p.locator("main h1").count() == 1
    assert serious_accessibility_violations(p) == []
    # From the keyboard: the links to the other methods are reached and followed.
    others = p.locator("nav[aria-label='Other methods'] a")
    assert others.count() == 2
    target = others.first.get_attribute("href")
    assert target != url
    others.first.focus()
    p.keyboard.press("Enter")
    p.wait_for_url(f"{live_server}{target}")
    assert p.locator("main h1").count() == 1
    page.screenshot(f"method{url.replace('/', '-')}")
    assert_clean(page)
