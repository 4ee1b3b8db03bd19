"""Hypothesis properties of the pure batch plan (pipeline/planning.py), against a model of storage.

The model applies a plan the way Storage.ingest does (merges first, then each new post's
card: its own, or the face it folds into). Over any split of a set of posts into batches,
in any order:
- the stored cards are exactly dedup's clusters of the union (order independence follows);
- faces are stable: a stored face stays a face unless a merge folds its card into another
  stored face, and a new post never becomes the face of a card that has a stored post;
- advancing the kept index gives the same plan as planning on a copy of it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.config import ModerationSettings
from aggregator.pipeline.dedup import DedupIndex, clusters
from aggregator.pipeline.moderate import ModerationContext
from aggregator.pipeline.planning import BatchPlan, KnownPost, StoredView, plan_batch
from aggregator.types import Media, MediaKind, Platform, Post, PostKey, Status

from .factories import T0, at, make_author, make_post
from .test_dedup_properties import Case, Hashes, cases, everything

POLICY = ModerationSettings()
CTX = ModerationContext.build(POLICY, event_start=T0, event_end=T0 + timedelta(hours=8), now=T0 + timedelta(hours=9))


class Store:
    """What storage holds after applying plans: each stored key -> the face of its card."""

    def __init__(self) -> None:
        self.face: dict[PostKey, PostKey] = {}
        self.edited: dict[PostKey, datetime] = {}  # newest edit stored

    def apply(self, plan: BatchPlan) -> None:
        for merge in plan.merges:
            survivor = self.face[merge.survivor]
            for absorbed in merge.absorbed:
                old = self.face[absorbed]
                for key, face in self.face.items():
                    if face == old:
                        self.face[key] = survivor
        for item in plan.items:
            key = item.post.key
            edited = item.post.edited_at
            if edited is not None and (key not in self.edited or edited > self.edited[key]):
                self.edited[key] = edited
            if key in self.face:
                continue  # stored already (storage applies an edit)
            self.face[key] = key if item.duplicate_of is None else self.face[item.duplicate_of]

    def view(self, index: DedupIndex, batch: Sequence[Post]) -> StoredView:
        known = {p.key: KnownPost(Status.APPROVED, "mode:post", self.edited.get(p.key))
                 for p in batch if p.key in self.face}
        return StoredView(index, dict(self.face), known)

    def cards(self) -> set[frozenset[PostKey]]:
        groups: dict[PostKey, set[PostKey]] = {}
        for key, face in self.face.items():
            groups.setdefault(face, set()).add(key)
        return {frozenset(g) for g in groups.values()}


def run(batches: Sequence[Sequence[Post]], hashes: Hashes) -> Store:
    """Plan and store every batch twice over: on a kept, advanced index and on a copy; both must agree."""
    store = Store()
    kept, copied = DedupIndex(), DedupIndex()
    for batch in batches:
        before = dict(store.face)
        on_copy = plan_batch(store.view(copied, batch), batch, POLICY, hashes, CTX)
        advanced = plan_batch(store.view(kept, batch), batch, POLICY, hashes, CTX, advance=True)
        assert advanced == on_copy
        store.apply(on_copy)
        for item in on_copy.items:
            copied.add(item.post, hashes.get(item.post.key, ()))
        assert kept.mapping(POLICY) == copied.mapping(POLICY)
        check_faces_stable(before, store.face, on_copy)
    return store


def check_faces_stable(before: dict[PostKey, PostKey], after: dict[PostKey, PostKey], plan: BatchPlan) -> None:
    absorbed = {k: m.survivor for m in plan.merges for k in m.absorbed}
    for key, face in before.items():
        if face != key:
            continue
        if key in absorbed:
            assert after[key] == absorbed[key] and before[absorbed[key]] == absorbed[key]
        else:
            assert after[key] == key, f"stored face {key} lost its place"
    new_faces = {after[k] for k in after if k not in before}
    old_cards = {after[k] for k in before}
    assert not (new_faces - set(before)) & old_cards, "a new post became the face of a stored card"


def expected_cards(posts: Sequence[Post], hashes: Hashes, stored: set[PostKey]) -> set[frozenset[PostKey]]:
    groups: dict[PostKey, set[PostKey]] = {}
    for key, canonical in clusters(posts, POLICY, hashes).items():
        if key in stored:
            groups.setdefault(canonical, set()).add(key)
    return {frozenset(g) for g in groups.values()}


FAST = settings(max_examples=100, deadline=None)


@given(cases(), st.randoms(use_true_random=False), st.data())
@FAST
def test_batches_end_at_the_clusters_of_the_union(case: Case, rnd: random.Random, data: st.DataObject) -> None:
    posts, hashes = case
    shuffled = list(posts)
    rnd.shuffle(shuffled)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=5)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    store = run(batches, hashes)
    assert set(store.face) == {p.key for p in everything(posts)}
    assert store.cards() == expected_cards(posts, hashes, set(store.face))


@given(cases(), st.randoms(use_true_random=False))
@FAST
def test_one_batch_does_not_depend_on_order(case: Case, rnd: random.Random) -> None:
    posts, hashes = case
    shuffled = list(posts)
    rnd.shuffle(shuffled)
    first, second = run([posts], hashes), run([shuffled], hashes)
    assert first.face == second.face
    # Into an empty store, the face of a card is dedup's canonical whenever that post is stored.
    canonical = clusters(posts, POLICY, hashes)
    for key, face in first.face.items():
        if canonical[key] in first.face:
            assert face == canonical[key]


@given(cases())
@FAST
def test_a_redelivered_batch_changes_nothing(case: Case) -> None:
    posts, hashes = case
    store = run([posts], hashes)
    index = DedupIndex()
    for p in everything(posts):
        index.add(p, hashes.get(p.key, ()))
    again = plan_batch(store.view(index, posts), posts, POLICY, hashes, CTX)
    assert not again.merges and not again.faces
    assert all(item.duplicate_of is None and item.decision.status is Status.DUPLICATE for item in again.items)


# ---- the bridging case (issue 11), by example ----------------------------------------------------


def test_a_post_that_bridges_two_stored_cards_merges_them() -> None:
    alice_x = make_author(Platform.X, "alice", "Alice R")
    text = "Brilliant keynote on community reporting this morning"
    a = make_post(Platform.X, "a", text, at(0), alice_x)
    photo = (Media(MediaKind.PHOTO, "https://img.example/1.jpg"),)
    b = make_post(Platform.FLICKR, "b", "The hall", at(1), make_author(Platform.FLICKR, "bob", "Bob"), media=photo)
    c = make_post(Platform.MASTODON, "c", text, at(2), make_author(Platform.MASTODON, "alice@m.example", "Alice R"),
                  media=photo)
    h = 0x9F3A_5C71_E2B4_0D68
    hashes = {b.key: (h,), c.key: (h ^ 0b101,)}
    assert len({v for k, v in clusters([a, b, c], POLICY, hashes).items()}) == 1  # dedup: one card

    store = run([[a], [b]], hashes)
    assert store.cards() == {frozenset({a.key}), frozenset({b.key})}
    index = DedupIndex()
    for p in (a, b):
        index.add(p, hashes.get(p.key, ()))
    plan = plan_batch(store.view(index, [c]), [c], POLICY, hashes, CTX)
    assert [(m.survivor, m.absorbed) for m in plan.merges] == [(a.key, (b.key,))]
    assert [(i.post.key, i.duplicate_of) for i in plan.items] == [(c.key, a.key)]
    store.apply(plan)
    assert store.cards() == {frozenset({a.key, b.key, c.key})}
