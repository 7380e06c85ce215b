"""Organisation identifiers (org-ids) in the 360Giving / org-id.guide scheme: which lists we
accept, what an identifier in each looks like, and the one normalised form stored and matched.

An org-id is the list's prefix and the identifier in that list: `GB-CHC-1234567`. The
normalised form upper-cases the prefix, drops spaces, keeps charity numbers as digits and pads
company numbers to Companies House's eight characters, so two spellings of one body compare
equal.
"""

import re

# The lists (org-id.guide prefixes) we accept: (what it is, the pattern of a normalised id).
ORG_ID_SCHEMES = {
    "GB-CHC": ("Charity Commission for England and Wales", r"\d{6,8}"),
    "GB-SC": ("Scottish Charity Regulator (OSCR)", r"SC\d{6}"),
    "GB-NIC": ("Charity Commission for Northern Ireland", r"\d{5,6}"),
    "GB-COH": ("Companies House (companies and CICs)", r"(\d{8}|(SC|NI|OC|SO|NC|R|IP|SP|RS)\d{6})"),
    "GB-MPR": ("Mutuals Public Register (FCA)", r"\d{1,6}[A-Z]{0,2}"),
    "GB-CASC": ("Community amateur sports clubs (HMRC)", r"[A-Z]{0,2}\d{1,6}"),
    "GB-EDU": ("Schools and colleges (Get Information about Schools URN)", r"\d{6}"),
    "GB-LAE": ("Local authorities in England", r"[A-Z]{3}"),
    "GB-LAS": ("Local authorities in Scotland", r"[A-Z]{3}"),
    "GB-PLA": ("Local authorities in Wales", r"[A-Z]{3}"),
    "GB-LANI": ("Local authorities in Northern Ireland", r"[A-Z]{3}"),
    "GB-GOR": ("Government organisations register", r"[A-Z]{1,3}\d{1,5}"),
    "GB-NHS": ("NHS organisations (ODS code)", r"[A-Z0-9]{3,6}"),
    "GB-UKPRN": ("UK register of learning providers", r"1\d{7}"),
    "GB-REVCHAR": ("HMRC charities (tax relief reference)", r"[A-Z]{1,2}\d{1,6}"),
}
ORG_ID_PATTERNS = {
    prefix: re.compile(f"^{pattern}$") for prefix, (_, pattern) in ORG_ID_SCHEMES.items()
}
ORG_ID_EXAMPLE = "GB-CHC-1234567, GB-SC-SC012345 or GB-COH-01234567"
LONGEST_ORG_ID = 60


def split_org_id(value):
    """Return (prefix, identifier) of a normalised org-id: the prefix is its first two parts."""
    country, _, rest = value.partition("-")
    scheme, _, identifier = rest.partition("-")
    return f"{country}-{scheme}", identifier


def normalise_org_id(text):
    """Return (normalised org-id, None) or (None, why `text` is not one we accept)."""
    if not isinstance(text, str):
        return None, "must be text"
    compact = "".join(text.split()).upper()
    text = text.strip()  # as the reasons show it
    if not compact:
        return None, "is empty"
    if len(compact) > LONGEST_ORG_ID:
        return None, f"{text!r} is longer than {LONGEST_ORG_ID} characters"
    prefix, identifier = split_org_id(compact)
    if prefix not in ORG_ID_PATTERNS:
        return None, (
            f"{text!r} does not start with a known list's prefix ("
            + ", ".join(ORG_ID_SCHEMES)
            + f"), such as {ORG_ID_EXAMPLE}"
        )
    if prefix == "GB-COH" and identifier.isdigit():
        identifier = identifier.zfill(8)
    if not ORG_ID_PATTERNS[prefix].match(identifier):
        return None, f"{text!r} is not an identifier of {prefix} ({ORG_ID_SCHEMES[prefix][0]})"
    return f"{prefix}-{identifier}", None


def parse_org_ids(value):
    """Return (sorted unique normalised org-ids, None) or (None, the reason naming the bad one).

    `value` is a list (API), or text separated by semicolons, commas or new lines (a file's
    column, a form); None and empty text are no org-ids.
    """
    if value is None:
        return [], None
    if isinstance(value, str):
        value = [part for part in re.split(r"[;,\n]", value) if part.strip()]
    if not isinstance(value, list | tuple):
        return None, "must be a list of org-ids"
    found = set()
    for item in value:
        normalised, reason = normalise_org_id(item)
        if reason:
            return None, reason
        found.add(normalised)
    return sorted(found), None
