"""Org-ids: which are accepted, and the one normalised form each is stored and matched in."""

import pytest

from mapper.io.identifiers import ORG_ID_SCHEMES, normalise_org_id, parse_org_ids


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("GB-CHC-1234567", "GB-CHC-1234567"),
        ("gb-chc-1234567", "GB-CHC-1234567"),
        (" GB-CHC- 123 4567 ", "GB-CHC-1234567"),
        ("GB-SC-SC012345", "GB-SC-SC012345"),
        ("gb-sc-sc012345", "GB-SC-SC012345"),
        ("GB-NIC-100123", "GB-NIC-100123"),
        ("GB-COH-1234567", "GB-COH-01234567"),  # Companies House numbers are 8 characters
        ("GB-COH-09876543", "GB-COH-09876543"),
        ("GB-COH-sc123456", "GB-COH-SC123456"),
        ("GB-MPR-12345R", "GB-MPR-12345R"),
        ("GB-CASC-CH1234", "GB-CASC-CH1234"),
        ("GB-EDU-100000", "GB-EDU-100000"),
        ("GB-LAE-MAN", "GB-LAE-MAN"),
        ("GB-GOR-PB1", "GB-GOR-PB1"),
    ],
)
def test_a_good_org_id_is_stored_in_its_normalised_form(text, normalised):
    assert normalise_org_id(text) == (normalised, None)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1234567", "known list's prefix"),
        ("XX-ABC-1234567", "known list's prefix"),
        ("GB-CHX-1234567", "known list's prefix"),
        ("GB-CHC-12A4567", "not an identifier of GB-CHC"),
        ("GB-CHC-", "not an identifier of GB-CHC"),
        ("GB-SC-012345", "not an identifier of GB-SC"),  # OSCR numbers start SC
        ("GB-COH-123456789", "not an identifier of GB-COH"),
        ("GB-LAE-MANCHESTER", "not an identifier of GB-LAE"),
        ("GB-CHC-" + "1" * 60, "longer than 60"),
        ("", "is empty"),
    ],
)
def test_a_malformed_org_id_is_refused_with_the_value(text, says):
    normalised, reason = normalise_org_id(text)
    assert normalised is None and says in reason
    if text.strip():
        assert repr(text) in reason


def test_a_list_is_sorted_without_repeats_and_a_bad_member_is_named():
    assert parse_org_ids("gb-coh-1234567; GB-CHC-1234567,GB-COH-01234567") == (
        ["GB-CHC-1234567", "GB-COH-01234567"],
        None,
    )
    assert parse_org_ids(None) == ([], None) and parse_org_ids("") == ([], None)
    values, reason = parse_org_ids(["GB-CHC-1234567", "GB-CHC-nope"])
    assert values is None and "'GB-CHC-nope'" in reason
    assert parse_org_ids(7) == (None, "must be a list of org-ids")


def test_every_list_has_a_description_and_a_pattern():
    for prefix, (description, pattern) in ORG_ID_SCHEMES.items():
        assert prefix.count("-") == 1 and prefix.startswith("GB-") and description and pattern
