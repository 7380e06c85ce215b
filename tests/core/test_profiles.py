"""A ward's figures in plain language, set against the other wards in scope."""

import pytest

from mapper.core import profiles


def row(code, **values):
    base = {
        "ward_code": code,
        "population": 10_000,
        "groups": 3,
        "groups_per_1k": 0.3,
        "groups_serving": 0,
        "groups_stale": 0,
        "services": 1,
        "services_per_1k": 0.1,
        "coordinator_coverage": 0.0,
        "nearest_group_km": 0.5,
        "imd_decile": 5,
        "activity_class": "low",
        "priority": "monitor",
    }
    return {**base, **values}


def by_key(figures):
    return {f["key"]: f for f in figures}


@pytest.mark.parametrize(
    ("value", "others", "expected"),
    [
        (3, [1, 5, 6, 7, 8], "lower than 80% of the other wards in Trafford"),
        (6, [1, 5, 6, 7, 8], "lower than 40% of the other wards in Trafford"),
        (7, [1, 5, 6, 7, 8], "higher than 60% of the other wards in Trafford"),
        (9, [1, 5, 6, 7, 8], "the highest of the 6 wards in Trafford"),
        (0, [1, 5, 6, 7, 8], "the lowest of the 6 wards in Trafford"),
        (8, [1, 8, 8, 2], "joint highest (with 2 others) of the 5 wards in Trafford"),
        (1, [1, 8, 8, 2], "joint lowest (with 1 other) of the 5 wards in Trafford"),
        (5, [5, 5], "the same as every other ward in Trafford"),
        (5, [5], "the same as the other ward in Trafford"),
        (4, [3], "the highest of the 2 wards in Trafford"),
        (5, [], None),
        (None, [1, 2], None),
        (2, [None, 1, 3, 4], "lower than 67% of the other wards in Trafford"),
        # In the middle, never "0%" nor "100%", however many wards there are.
        (1, [0] + [2] * 999, "lower than 99% of the other wards in Trafford"),
        (1, [2] + [0] * 999, "higher than 99% of the other wards in Trafford"),
    ],
)
def test_a_figure_is_compared_with_the_other_wards(value, others, expected):
    assert profiles.compared(value, others, "Trafford") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "nearer than in any other ward in Trafford"),
        (9.0, "further than in any other ward in Trafford"),
        (0.5, "nearer than 67% of the other wards in Trafford"),
        (2.0, "further than 67% of the other wards in Trafford"),
        (0.2, "joint nearest (with 1 other) of the 4 wards in Trafford"),
        (3.0, "joint furthest (with 1 other) of the 4 wards in Trafford"),
    ],
)
def test_a_distance_is_nearer_or_further_never_higher_or_lower(value, expected):
    others = [0.2, 1.0, 3.0]
    assert profiles.compared(value, others, "Trafford", profiles.DISTANCE_WORDS) == expected


def test_the_nearest_group_figure_says_nearer_and_further():
    rows = [row("A", nearest_group_km=4.0)] + [
        row(f"B{i}", nearest_group_km=v) for i, v in enumerate([0.5, 1.0, 2.0])
    ]
    sentence = by_key(profiles.figures(rows[0], rows, "Trafford"))["nearest_group_km"]["sentence"]
    assert sentence == (
        "The nearest active group is 4 km from the middle of the ward — "
        "further than in any other ward in Trafford."
    )
    rows[0]["nearest_group_km"] = 0.1
    sentence = by_key(profiles.figures(rows[0], rows, "Trafford"))["nearest_group_km"]["sentence"]
    assert sentence.endswith("— nearer than in any other ward in Trafford.")
    assert "higher" not in sentence and "lower" not in sentence


@pytest.mark.parametrize(
    ("groups", "serving", "groups_sentence", "serving_sentence"),
    [
        (
            0,
            0,
            "No active groups based in the ward — the lowest of the 2 wards in Trafford.",
            "No groups based in other wards say they work in this ward.",
        ),
        (
            1,
            1,
            "1 active group based in the ward — the lowest of the 2 wards in Trafford.",
            "1 group based in other wards says it works in this ward.",
        ),
        (
            5,
            2,
            "5 active groups based in the ward — the highest of the 2 wards in Trafford.",
            "2 groups based in other wards say they work in this ward.",
        ),
    ],
)
def test_zero_and_one_read_as_people_say_them(groups, serving, groups_sentence, serving_sentence):
    rows = [row("A", groups=groups, groups_serving=serving), row("B")]
    figures = by_key(profiles.figures(rows[0], rows, "Trafford"))
    assert figures["groups"]["sentence"] == groups_sentence
    assert figures["groups_serving"]["sentence"] == serving_sentence


def test_no_services_per_1000_residents_is_said_in_words():
    rows = [row("A", services=0, services_per_1k=0.0), row("B")]
    figures = by_key(profiles.figures(rows[0], rows, "Trafford"))
    assert figures["services"]["sentence"].startswith("No services based in the ward")
    assert figures["services_per_1k"]["sentence"].startswith("No services per 1,000 residents")


def test_the_groups_per_1000_sentence_reads_as_the_issue_asks():
    rows = [row("A", groups_per_1k=3)] + [
        row(f"B{i}", groups_per_1k=v) for i, v in enumerate([1, 4, 5, 6, 7])
    ]
    figure = by_key(profiles.figures(rows[0], rows, "Trafford"))["groups_per_1k"]
    assert figure["sentence"] == (
        "3 groups per 1,000 residents — lower than 80% of the other wards in Trafford."
    )
    assert figure["value"] == "3"


def test_every_gap_figure_has_a_sentence():
    rows = [row("A", groups=1, groups_stale=1, coordinator_coverage=0.6, imd_decile=2), row("B")]
    classes = {"activity_class": {"low": {"label": "Low", "description": "Fewer groups"}}}
    figures = by_key(profiles.figures(rows[0], rows, "Trafford", classes))
    assert set(figures) >= {
        "population",
        "groups",
        "groups_per_1k",
        "groups_serving",
        "groups_stale",
        "services",
        "services_per_1k",
        "coordinator_coverage",
        "nearest_group_km",
        "imd_decile",
        "activity_class",
        "priority",
    }
    assert figures["groups"]["sentence"].startswith("1 active group based in the ward")
    assert figures["groups_stale"]["sentence"] == (
        "The one group based here has not been verified in the last 12 months."
    )
    assert figures["coordinator_coverage"]["value"] == "60%"
    assert "20% most deprived" in figures["imd_decile"]["sentence"]
    assert figures["activity_class"]["value"] == "Low"
    assert figures["activity_class"]["sentence"] == "Fewer groups."


def test_reach_is_said_in_words_for_each_category_and_on_average():
    reach = {"metres": 800.0, "names": {"reach_food_support": "Food support"}}
    rows = [
        row("E05000001", reach_food_support=0.62, reach_core=0.3),
        row("E05000002", reach_food_support=0.9, reach_core=0.5),
    ]
    figures = by_key(profiles.figures(rows[0], rows, "Trafford", reach=reach))
    food = figures["reach_food_support"]
    assert food["value"] == "62%"
    assert food["sentence"].startswith("62% of residents live within 800 m of food support")
    assert "the lowest of the 2 wards in Trafford" in food["sentence"]
    assert figures["reach_core"]["value"] == "30%"
    assert "reach_core" not in by_key(profiles.figures(rows[0], rows, "Trafford"))


def test_missing_population_and_deprivation_are_said_plainly():
    rows = [row("A", population=None, groups_per_1k=None, services_per_1k=None, imd_decile=None)]
    figures = by_key(profiles.figures(rows[0], rows, "Trafford"))
    assert figures["population"]["value"] == "not known"
    assert figures["groups_per_1k"]["sentence"] == "Needs population figures."
    assert "not been imported" in figures["imd_decile"]["sentence"]
    assert "services_per_1k" not in figures


@pytest.mark.parametrize(
    ("stale", "groups", "sentence"),
    [
        (0, 0, "No groups to check."),
        (0, 4, "Every group based here has been verified in the last 12 months."),
        (1, 4, "1 of the 4 groups based here has not been verified in the last 12 months."),
        (2, 4, "2 of the 4 groups based here have not been verified in the last 12 months."),
        (4, 4, "None of the 4 groups based here has been verified in the last 12 months."),
    ],
)
def test_stale_groups_are_counted_in_words(stale, groups, sentence):
    assert profiles.stale_sentence(stale, groups) == sentence
