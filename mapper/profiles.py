"""A ward's gap figures in plain language, each set against the other wards in scope.

Pure functions over the rows of the gap analysis (dicts with its property names), so that the
same sentences can be checked without a database.
"""

import math


def is_missing(value):
    return value is None or (isinstance(value, float) and math.isnan(value))


def amount(value, decimals=1):
    """Return a number for people: thousands separated, at most `decimals` decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}".rstrip("0").rstrip(".")


def plural(count, one, many=None):
    return f"{amount(count)} {one if count == 1 else (many or one + 's')}"


def compared(value, others, place):
    """Return e.g. 'lower than 80% of wards in Trafford' for `value` among `others`."""
    others = [v for v in others if not is_missing(v)]
    if is_missing(value) or not others:
        return None
    higher = sum(1 for v in others if v > value) / len(others)
    lower = sum(1 for v in others if v < value) / len(others)
    if higher == 0 and lower == 0:
        return f"the same as every other ward in {place}"
    if higher >= lower:
        return f"lower than {round(higher * 100)}% of the other wards in {place}"
    return f"higher than {round(lower * 100)}% of the other wards in {place}"


def imd_sentence(decile):
    if is_missing(decile):
        return "Deprivation figures have not been imported for this ward."
    decile = int(decile)
    if decile <= 5:
        return f"Among the {decile * 10}% most deprived areas nationally (1 = most deprived)."
    return f"Among the {(11 - decile) * 10}% least deprived areas nationally (1 = most deprived)."


def figures(row, rows, place, classes=None):
    """Return [{key, label, value, sentence}] for the ward `row` among all `rows` in scope."""
    others = [r for r in rows if r["ward_code"] != row["ward_code"]]
    classes = classes or {}

    def versus(key):
        return compared(row.get(key), [r.get(key) for r in others], place)

    def with_comparison(text, key):
        comparison = versus(key)
        return f"{text} — {comparison}." if comparison else f"{text}."

    groups, services = row["groups"], row["services"]
    result = []

    def add(key, label, value, sentence):
        result.append({"key": key, "label": label, "value": value, "sentence": sentence})

    population = row.get("population")
    if is_missing(population):
        add("population", "Residents", "not known", "Population figures have not been imported.")
    else:
        add(
            "population",
            "Residents",
            amount(population),
            with_comparison(f"{amount(population)} residents", "population"),
        )
    add(
        "groups",
        "Community groups",
        amount(groups),
        with_comparison(f"{plural(groups, 'active group')} based in the ward", "groups"),
    )
    per_1k = row.get("groups_per_1k")
    if is_missing(per_1k):
        add("groups_per_1k", "Groups per 1,000 residents", "not known", "Needs population figures.")
    else:
        add(
            "groups_per_1k",
            "Groups per 1,000 residents",
            amount(per_1k),
            with_comparison(f"{plural(per_1k, 'group')} per 1,000 residents", "groups_per_1k"),
        )
    serving = row.get("groups_serving") or 0
    add(
        "groups_serving",
        "Groups from elsewhere",
        amount(serving),
        f"{plural(serving, 'group')} based in other wards "
        f"{'says it works' if serving == 1 else 'say they work'} in this ward.",
    )
    stale = row.get("groups_stale") or 0
    add(
        "groups_stale",
        "Not checked for a year",
        amount(stale),
        f"{amount(stale)} of the {plural(groups, 'group')} based here "
        f"{'has' if stale == 1 else 'have'} not been verified in the last 12 months."
        if groups
        else "No groups to check.",
    )
    add(
        "services",
        "Services",
        amount(services),
        with_comparison(f"{plural(services, 'service')} based in the ward", "services"),
    )
    services_per_1k = row.get("services_per_1k")
    if not is_missing(services_per_1k):
        add(
            "services_per_1k",
            "Services per 1,000 residents",
            amount(services_per_1k),
            with_comparison(
                f"{plural(services_per_1k, 'service')} per 1,000 residents", "services_per_1k"
            ),
        )
    coverage = row.get("coordinator_coverage")
    if is_missing(coverage) or coverage <= 0:
        add(
            "coordinator_coverage",
            "Coordinator coverage",
            "none",
            "No part of the ward is inside a Local Area Coordinator's patch.",
        )
    else:
        share = f"{round(coverage * 100)}%"
        add(
            "coordinator_coverage",
            "Coordinator coverage",
            share,
            with_comparison(
                f"{share} of the ward's area is inside a Local Area Coordinator's patch",
                "coordinator_coverage",
            ),
        )
    nearest = row.get("nearest_group_km")
    if is_missing(nearest):
        add("nearest_group_km", "Nearest group", "none", "There are no active groups anywhere.")
    else:
        add(
            "nearest_group_km",
            "Nearest group",
            f"{amount(nearest, 2)} km",
            with_comparison(
                f"The nearest active group is {amount(nearest, 2)} km from the middle of the ward",
                "nearest_group_km",
            ),
        )
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
    return result
