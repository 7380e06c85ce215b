"""The map's colours: colour-blind readers can tell every class apart, in order."""

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from mapper.core import analysis
from mapper.web import maps

# Machado, Oliveira and Fernandes (2009), full severity, applied to linear RGB.
SIMULATIONS = {
    "normal vision": np.eye(3),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}
SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
WHITE = SRGB_TO_XYZ @ np.ones(3)
# CIE76 distance: about 2.3 is just noticeable; 15 is plainly a different colour.
MIN_DISTANCE = 15
MIN_LIGHTNESS_STEP = 10  # between neighbouring classes of an ordered scale


def linear_rgb(hex_colour):
    srgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def lab(rgb):
    t = (SRGB_TO_XYZ @ np.clip(rgb, 0, 1)) / WHITE
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen(hex_colour, vision):
    return lab(SIMULATIONS[vision] @ linear_rgb(hex_colour))


@pytest.mark.parametrize("vision", SIMULATIONS)
@pytest.mark.parametrize(
    "classes", [maps.ACTIVITY_CLASSES, maps.PRIORITIES], ids=["activity", "priority"]
)
def test_every_two_classes_look_different_to_colour_blind_readers(classes, vision):
    colours = [colour for _, _, colour, _ in classes] + [maps.NO_DATA_COLOUR]
    for a, b in itertools.combinations(colours, 2):
        distance = np.linalg.norm(seen(a, vision) - seen(b, vision))
        assert distance >= MIN_DISTANCE, (a, b, vision, distance)


@pytest.mark.parametrize("vision", SIMULATIONS)
def test_activity_classes_darken_in_order_for_every_reader(vision):
    lightness = [seen(colour, vision)[0] for _, _, colour, _ in maps.ACTIVITY_CLASSES]
    assert all(a - b >= MIN_LIGHTNESS_STEP for a, b in itertools.pairwise(lightness)), lightness


def test_every_class_has_a_text_label_and_a_description():
    for value, label, colour, description in maps.ACTIVITY_CLASSES + maps.PRIORITIES:
        assert value and label and description
        assert len(colour) == 7 and colour.startswith("#")


def test_the_key_names_every_class_and_priority_the_analysis_gives():
    assert [value for value, *_ in maps.ACTIVITY_CLASSES] == list(analysis.ACTIVITY_CLASSES)
    assert {value for value, *_ in maps.PRIORITIES} == set(analysis.PRIORITIES)


CLUSTER_DISTANCE = 25  # a cluster is further from every ward colour than classes from each other


@pytest.mark.parametrize("vision", SIMULATIONS)
def test_clusters_cannot_be_mistaken_for_a_class_of_any_ward_colouring(vision):
    ward_colours = [
        colour
        for classes in (maps.ACTIVITY_CLASSES, maps.PRIORITIES, maps.REACH_CLASSES)
        for _, _, colour, _ in classes
    ] + [maps.NO_DATA_COLOUR]
    for colour in ward_colours:
        distance = np.linalg.norm(seen(maps.CLUSTER_COLOUR, vision) - seen(colour, vision))
        assert distance >= CLUSTER_DISTANCE, (colour, vision, distance)


def test_the_stylesheet_draws_every_cluster_in_the_cluster_colour():
    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "site.css").read_text()
    rule = re.search(r"\.marker-cluster-small div, [^{]*\{([^}]*)\}", css)
    assert rule, "site.css has no rule for the clusters' discs"
    assert f"background-color: {maps.CLUSTER_COLOUR};" in rule.group(1)
    assert ".marker-cluster-medium div" in rule.group(0)
    assert ".marker-cluster-large div" in rule.group(0)
