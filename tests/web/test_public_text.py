"""Contacts as mail and phone links, dates as people write them: pure functions."""

from datetime import UTC, date, datetime

import pytest

from mapper.web.public_text import contact_parts, long_date, phone_href


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("jo@group.example", [("jo@group.example", "mailto:jo@group.example")]),
        (
            "Jo on 0161 496 0000",
            [("Jo on ", None), ("0161 496 0000", "tel:+441614960000")],
        ),
        (
            "(0161) 496-0000 or jo@group.example.",
            [
                ("(0161) 496-0000", "tel:+441614960000"),
                (" or ", None),
                ("jo@group.example", "mailto:jo@group.example"),
                (".", None),
            ],
        ),
        ("+44 (0)7700 900123", [("+44 (0)7700 900123", "tel:+447700900123")]),
        ("Ask at the desk", [("Ask at the desk", None)]),
        ("Room 12, 2024 opening", [("Room 12, 2024 opening", None)]),  # no phone number
        ("j.o+1@a.example 2020", [("j.o+1@a.example", "mailto:j.o+1@a.example"), (" 2020", None)]),
        ("", []),
        (None, []),
    ],
    ids=["email", "phone", "both", "international", "words", "numbers", "plus-email", "empty",
         "none"],
)  # fmt: skip
def test_a_contact_links_its_addresses_and_numbers(text, parts):
    assert contact_parts(text) == parts
    assert "".join(t for t, _ in parts) == (text or "")  # nothing lost, nothing added


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ("0161 496 0000", "tel:+441614960000"),
        ("123 4567", None),
        ("44 161 496 0000", "tel:+441614960000"),
    ],
    ids=["national", "short", "country-code"],
)
def test_a_phone_link_is_made_only_of_a_whole_number(text, href):
    assert phone_href(text) == href


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (date(2025, 3, 3), "3 March 2025"),
        ("2025-12-25", "25 December 2025"),
        (datetime(2024, 2, 29, 23, 0, tzinfo=UTC), "29 February 2024"),
        (None, ""),
    ],
    ids=["date", "iso-text", "datetime", "none"],
)
def test_a_date_is_written_as_people_write_it(value, text):
    assert long_date(value) == text
