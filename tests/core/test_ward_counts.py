"""The one-pass counts of the gap analysis give what the joins they replace gave."""

import numpy as np
from sqlalchemy import select

from mapper.core import analysis, reach, ward_counts
from mapper.store import queries
from mapper.store.models import Category, CommunityGroup, group_categories
from tests.factories import make_group, two_wards

SLUGS = list(analysis.CORE_CATEGORIES) + ["faith", "health"]


def both_ways(session, **filters):
    """Return (one pass, joins) of the categories present per ward, as booleans."""
    wards = analysis._scope(session, (), ())
    ids = wards["id"].to_numpy()
    analysed = dict(
        session.execute(
            select(Category.slug, Category.id).where(Category.slug.in_(analysis.CORE_CATEGORIES))
        ).all()
    )
    counted = ward_counts.counted_groups(None, filters.get("kinds", ()), [])
    stale = analysis._months_before(analysis.date.today(), 12)
    groups, one_pass = ward_counts.groups_and_categories(
        session, counted, False, lambda _c: [], stale, analysed, ids
    )
    joined = ward_counts.categories_present(session, counted, False, lambda _c: [], analysed, ids)
    return one_pass, joined, groups


def scattered_groups(session, seed, count, closed_every=0):
    """Make `count` groups at random points over two_wards' wards, each with 0–3 random
    categories of SLUGS; every `closed_every`-th one (the first too) closed."""
    rng = np.random.default_rng(seed)
    groups = []
    for i in range(count):
        lonlat = (-2.099 + rng.random() * 0.198, 53.401 + rng.random() * 0.098)
        chosen = list(rng.choice(SLUGS, size=rng.integers(0, 4), replace=False))
        status = "closed" if closed_every and i % closed_every == 0 else "active"
        groups.append(make_group(session, f"G{i}", lonlat, status=status, categories=chosen))
    return groups


def test_the_category_masks_give_the_categories_present_of_the_join(session):
    two_wards(session)
    groups = scattered_groups(session, 12, 120, closed_every=5)
    one_pass, joined, counts = both_ways(session)
    assert one_pass.shape == joined.shape and (one_pass == joined).all()
    assert counts[:, 0].sum() == 96

    # Categories taken away and given (the ORM deletes and inserts links), a group deleted.
    for group in groups[:40]:
        group.categories = queries.categories_by_slug(session, ["older-people"])
    session.commit()
    session.delete(groups[50])
    session.commit()
    one_pass, joined, _ = both_ways(session)
    assert (one_pass == joined).all()
    masks = dict(session.execute(select(CommunityGroup.id, CommunityGroup.category_mask)).all())
    links = session.execute(select(group_categories.c.group_id, group_categories.c.category_id))
    expected = {group_id: 0 for group_id in masks}
    for group_id, category_id in links:
        expected[group_id] |= 1 << category_id
    assert masks == expected


def test_reach_reads_the_same_places_by_mask_as_by_link(session, monkeypatch):
    two_wards(session)
    scattered_groups(session, 13, 80, closed_every=4)
    session.commit()
    ids = list(dict(session.execute(select(Category.slug, Category.id)).all()).values())
    counted = ward_counts.counted_groups(None, (), [])
    box = (-3.0, 53.0, -1.0, 54.0)

    def places():
        found = reach.activity_points(session, box, counted, ids)
        return {
            c: sorted(zip(*(np.round(v, 9) for v in xy), strict=True)) for c, xy in found.items()
        }

    by_mask = places()
    monkeypatch.setattr(ward_counts, "MASK_IDS", range(0))
    by_link = places()
    assert by_mask == by_link and sum(len(v) for v in by_mask.values()) > 60


def test_a_category_filter_by_mask_counts_what_the_links_count(session, monkeypatch):
    two_wards(session)
    scattered_groups(session, 14, 80)
    session.commit()
    asked = ((), (), ("faith", "older-people"), (), None, analysis.resolve_params())
    by_mask = analysis._compute(session, *asked)  # compute_gaps would answer both from its cache
    monkeypatch.setattr(ward_counts, "MASK_IDS", range(0))
    by_link = analysis._compute(session, *asked)
    assert by_mask.drop(columns="geometry").equals(by_link.drop(columns="geometry"))
    assert 0 < by_mask["groups"].sum() < 80
