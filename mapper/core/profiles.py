"""A ward's gap figures in plain language, each set against the other wards in scope.

Pure functions over the rows of the gap analysis (dicts with its property names), so that the
same sentences can be checked without a database.
"""

import math


def is_missing(value):
    """Tell whether a figure is missing (None or NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def amount(value, decimals=1):
    """Return a number for people: thousands separated, at most `decimals` decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}".rstrip("0").rstrip(".")


def plural(count, one, many=None, none=None):
    """Return a count with its noun, singular or plural; `none` is said for zero when given."""
    if count == 0 and none is not None:
        return none
    return f"{amount(count)} {one if count == 1 else (many or one + 's')}"


def capitalised(text):
    """Return text with its first letter in capitals, the rest as it was."""
    return text[:1].upper() + text[1:]


# How a comparison reads: more and less than some wards, and at either end ({wards}: "the 32
# wards in Trafford", {place}: "Trafford"). Distances are further and nearer.
AMOUNT_WORDS = {
    "more": "higher",
    "less": "lower",
    "most": "the highest of {wards}",
    "least": "the lowest of {wards}",
    "joint most": "joint highest ({with_others}) of {wards}",
    "joint least": "joint lowest ({with_others}) of {wards}",
}
DISTANCE_WORDS = {
    "more": "further",
    "less": "nearer",
    "most": "further than in any other ward in {place}",
    "least": "nearer than in any other ward in {place}",
    "joint most": "joint furthest ({with_others}) of {wards}",
    "joint least": "joint nearest ({with_others}) of {wards}",
}


def compared(value, others, place, words=AMOUNT_WORDS):
    """Return `value` set against `others` in words: 'lower than 80% of the other wards in
    Trafford', 'the highest of the 32 wards in Trafford', 'joint lowest (with 2 others) of
    the 32 wards…', 'the same as every other ward…'; None when there is nothing to compare."""
    others = [v for v in others if not is_missing(v)]
    if is_missing(value) or not others:
        return None
    above = sum(1 for v in others if v > value)
    below = sum(1 for v in others if v < value)
    level = len(others) - above - below
    if above == below == 0:
        every = "the other ward" if len(others) == 1 else "every other ward"
        return f"the same as {every} in {place}"
    if above == 0 or below == 0:
        end = ("joint " if level else "") + ("most" if above == 0 else "least")
        wards = f"the {amount(len(others) + 1)} wards in {place}"
        with_others = f"with {plural(level, 'other')}"
        return words[end].format(wards=wards, place=place, with_others=with_others)
    side, count = ("less", above) if above >= below else ("more", below)
    # Neither 0% nor 100%: the ward is at neither end, so never say it is.
    percent = min(99, max(1, round(count / len(others) * 100)))
    return f"{words[side]} than {percent}% of the other wards in {place}"


def imd_sentence(decile):
    """Say where a ward's IMD decile places it nationally."""
    if is_missing(decile):
        return "Deprivation figures have not been imported for this ward."
    decile = int(decile)
    if decile <= 5:
        return f"Among the {decile * 10}% most deprived areas nationally (1 = most deprived)."
    return f"Among the {(11 - decile) * 10}% least deprived areas nationally (1 = most deprived)."


def stale_sentence(stale, groups):
    """Say how many of a ward's groups have not been verified in 12 months."""
    if not groups:
        return "No groups to check."
    if stale == 0:
        return "Every group based here has been verified in the last 12 months."
    if stale == groups == 1:
        return "The one group based here has not been verified in the last 12 months."
    if stale == groups:
        return (
            f"None of the {amount(groups)} groups based here has been verified "
            "in the last 12 months."
        )
    return (
        f"{amount(stale)} of the {amount(groups)} groups based here "
        f"{'has' if stale == 1 else 'have'} not been verified in the last 12 months."
    )


def share(value):
    """Return a share (0-1) as a whole percentage."""
    return f"{round(value * 100)}%"


# The figures set against the other wards: key, label, how the value reads, how the sentence
# reads, and what to say when the value is missing (None: leave the figure out).
COMPARED = [
    ("population", "Residents", amount, lambda v: f"{amount(v)} residents",
     "Population figures have not been imported."),
    ("groups", "Community groups", amount,
     lambda v: plural(v, "active group", none="no active groups") + " based in the ward",
     "No groups are counted."),
    ("groups_per_1k", "Groups per 1,000 residents", amount,
     lambda v: plural(v, "group", none="no groups") + " per 1,000 residents",
     "Needs population figures."),
    ("services", "Services", amount,
     lambda v: plural(v, "service", none="no services") + " based in the ward",
     "No services are counted."),
    ("services_per_1k", "Services per 1,000 residents", amount,
     lambda v: plural(v, "service", none="no services") + " per 1,000 residents", None),
    ("coordinator_coverage", "Coordinator coverage", share,
     lambda v: f"{share(v)} of the ward's area is inside a Local Area Coordinator's patch",
     "No part of the ward is inside a Local Area Coordinator's patch."),
    ("nearest_group_km", "Nearest group", lambda v: f"{amount(v, 2)} km",
     lambda v: f"The nearest active group is {amount(v, 2)} km from the middle of the ward",
     "There are no active groups anywhere."),
]  # fmt: skip
# The figures whose comparison reads as a distance: further and nearer, not higher and lower.
COMPARED_WORDS = {"nearest_group_km": DISTANCE_WORDS}


ORDER = [
    "activity_class",
    "priority",
    "groups",
    "groups_per_1k",
    "groups_serving",
    "groups_stale",
    "nearest_group_km",
    "services",
    "services_per_1k",
    "coordinator_coverage",
    "population",
    "imd_decile",
]


def reach_sentence(value, metres, what):
    """Say e.g. '62% of residents live within 800 m of food support'."""
    return f"{share(value)} of residents live within {amount(metres)} m of {what}"


def figures(row, rows, place, classes=None, reach=None):
    """Return [{key, label, value, sentence}] for the ward `row` among all `rows` in scope.

    `reach` ({"metres": walking distance, "names": {reach column: category name}}) adds the
    share of residents within reach of each category, and of the core categories on average.
    """
    others = [r for r in rows if r["ward_code"] != row["ward_code"]]
    classes = classes or {}
    result = {}

    def add(key, label, value, sentence):
        result[key] = {"key": key, "label": label, "value": value, "sentence": sentence}

    for key, label, reads, says, missing in COMPARED:
        value = row.get(key)
        if key == "coordinator_coverage" and not is_missing(value) and value <= 0:
            value = None
        if is_missing(value):
            if missing is not None:
                add(key, label, "not known" if key != "coordinator_coverage" else "none", missing)
            continue
        words = COMPARED_WORDS.get(key, AMOUNT_WORDS)
        comparison = compared(value, [r.get(key) for r in others], place, words)
        said = capitalised(says(value))
        add(key, label, reads(value), f"{said} — {comparison}." if comparison else f"{said}.")

    groups = row.get("groups") or 0
    serving = row.get("groups_serving") or 0
    add(
        "groups_serving",
        "Groups from elsewhere",
        amount(serving),
        f"{capitalised(plural(serving, 'group', none='no groups'))} based in other wards "
        f"{'says it works' if serving == 1 else 'say they work'} in this ward.",
    )
    stale = row.get("groups_stale") or 0
    add("groups_stale", "Not checked for a year", amount(stale), stale_sentence(stale, groups))
    decile = row.get("imd_decile")
    add(
        "imd_decile",
        "Deprivation (IMD decile)",
        "not known" if is_missing(decile) else str(int(decile)),
        imd_sentence(decile),
    )
    for key, label in (("activity_class", "Activity"), ("priority", "Priority")):
        value = row.get(key)
        known = classes.get(key, {}).get(value)
        add(
            key,
            label,
            known["label"] if known else str(value),
            f"{known['description']}." if known else "",
        )
        if known:
            result[key]["colour"] = known.get("colour")
    ordered = [result[key] for key in ORDER if key in result]
    return ordered + (reach_figures(row, others, place, reach) if reach else [])


def reach_figures(row, others, place, reach):
    """Return the reach figures of `figures`: reach_core first, then each category's."""
    metres, names = reach["metres"], reach["names"]
    described = [
        (
            "reach_core",
            "Reach, core categories on average",
            "a group of each core category (on average over the categories)",
        )
    ]
    described += [(column, f"Reach: {name}", name.lower()) for column, name in names.items()]
    result = []
    for key, label, what in described:
        value = row.get(key)
        if is_missing(value):
            continue
        comparison = compared(value, [r.get(key) for r in others], place)
        says = reach_sentence(value, metres, what)
        sentence = f"{says} — {comparison}." if comparison else f"{says}."
        result.append({"key": key, "label": label, "value": share(value), "sentence": sentence})
    return result
