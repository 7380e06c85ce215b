"""The reach layer of the home map, and reach on the ward profile, in headless Chromium."""

import pytest

from mapper.store.models import Postcode
from mapper.web import maps
from tests.browser.test_home import ward_fills
from tests.browser.test_pages import assert_clean, open_page, serious_accessibility_violations
from tests.factories import make_group, two_wards

pytestmark = pytest.mark.browser

REACH = {value: colour for value, _, colour, _ in maps.REACH_CLASSES}


def reach_borough(session):
    """West Ward: food support next to its two postcodes; East Ward: three postcodes, one of
    them 0.5 km from the West Ward's club, and an advice group far from everyone."""
    two_wards(session)
    points = [(-2.05, 53.451), (-2.051, 53.45), (-1.995, 53.45), (-1.95, 53.45), (-1.93, 53.42)]
    session.add_all(
        [Postcode(postcode=f"M1 {i}AA", lon=lon, lat=lat) for i, (lon, lat) in enumerate(points)]
    )
    session.commit()
    make_group(session, "Food Share", (-2.05, 53.45), categories=["food-support"])
    make_group(session, "Pantry", (-2.002, 53.45), categories=["food-support"])
    make_group(session, "Money Advice", (-1.91, 53.49), categories=["advice-money"])


def test_the_reach_layer_colours_wards_by_the_category_chosen(live_server, page, session, backend):
    reach_borough(session)
    p = page.page
    open_page(page, live_server + "/?la=E08000099")
    assert p.locator('[data-legend="reach"]').first.is_hidden()
    p.get_by_label("Reach", exact=True).focus()
    p.keyboard.press("Space")
    assert p.locator('ul[data-legend="reach"]').is_visible()
    assert p.locator('[data-legend="activity_class"]').is_hidden()
    chooser = p.get_by_label("Residents within 800 m of")
    assert chooser.is_visible()
    chooser.select_option("reach_food_support")
    # West: both postcodes within reach; East: one of three (next to the Pantry over the edge).
    assert ward_fills(p) == {"E05000002": REACH["0.8"], "E05000001": REACH["0.2"]}
    chooser.focus()
    chooser.select_option("reach_advice_money")
    assert ward_fills(p) == {"E05000002": REACH["0"], "E05000001": REACH["0"]}
    chooser.select_option("reach_core")  # (1 + 0) / 8 and (1/3 + 0) / 8: both under 20%
    assert set(ward_fills(p).values()) == {REACH["0"]}
    page.screenshot(f"home-reach-{backend}")
    assert serious_accessibility_violations(p) == []
    assert_clean(page)


def test_the_ward_profile_says_the_reach_in_words(live_server, page, session, backend):
    reach_borough(session)
    p = page.page
    open_page(page, live_server + "/wards/E05000001")
    text = p.locator("main").inner_text()
    assert "33% of residents live within 800 m of food support" in text
    assert "0% of residents live within 800 m of advice" in text.lower()
    assert serious_accessibility_violations(p) == []
    assert_clean(page)
