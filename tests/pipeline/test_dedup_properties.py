"""Hypothesis properties of dedup: clusters() is a pure function of the set of posts, and
plan() over batches, in any split and order, ends at the same mapping.

The incremental guarantee tested here is the one stated in aggregator/pipeline/dedup.py:

    Start with an empty DedupIndex and an empty mapping M. For each batch B (any split of a
    set S of posts, in any order): for (post, v) in plan(index, B, policy, hashes):
    M[post.key] = v.canonical or post.key, and for k in v.supersedes: every entry of M
    equal to k becomes (v.canonical or post.key); then index.add(post, hashes[post.key]) for
    each returned post. At the end, M == clusters(S, policy, hashes) on every key of M, and
    M's keys are exactly the keys of the posts of S and of the originals embedded in them.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Sequence
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.config import ModerationSettings
from aggregator.pipeline.dedup import DedupIndex, DedupVerdict, clusters, plan
from aggregator.pipeline.phash import is_informative
from aggregator.types import Media, MediaKind, Platform, Post, PostKey, Relation, RelationKind

from .factories import at, make_author, make_post

POLICY = ModerationSettings()
PLATFORMS = (Platform.X, Platform.MASTODON, Platform.BLUESKY, Platform.FLICKR)
PEOPLE = (
    {Platform.X: ("alice", "Alice R"), Platform.MASTODON: ("alice@m.example", "Alice R"),
     Platform.BLUESKY: ("alice.bsky.social", "Alice"), Platform.FLICKR: ("99@N00", "Alice R")},
    {Platform.X: ("bob", "Bob"), Platform.MASTODON: ("bobby@m.example", "Bob"),
     Platform.BLUESKY: ("bob.bsky.social", "Robert"), Platform.FLICKR: ("bob", "Bob")},
    {Platform.X: ("carol", "Carol"), Platform.MASTODON: ("cz@m.example", "Cz"),
     Platform.BLUESKY: ("carol.example.com", "C"), Platform.FLICKR: ("carolphotos", "Carol")},
)  # fmt: skip
TEXTS = (
    "Brilliant keynote on community reporting this morning",
    "Brilliant keynote on community reporting this morning! https://t.co/x1 #conf",
    "Brilliant keynote on community reporting this afternoon",
    "Workshop on open data starts at two in room B",
    "Lunch is served in the main hall now",
    "Great talk!",
    "",
)
VIDEOS = (None, None, "youtube:a", "youtube:b")
_rnd = random.Random(2025)
BASE_HASHES = tuple(h for h in (_rnd.getrandbits(64) for _ in range(20)) if is_informative(h))[:3]

Hashes = dict[PostKey, tuple[int, ...]]
Case = tuple[list[Post], Hashes]


@st.composite
def cases(draw: st.DrawFn, max_posts: int = 18) -> Case:
    """Posts with many chances to collide: few people, texts, videos and photos; reposts; re-deliveries."""
    posts: list[Post] = []
    hashes: Hashes = {}
    for i in range(draw(st.integers(0, max_posts))):
        kind = draw(st.sampled_from(["post", "post", "post", "post", "repost", "repost_out", "repost_rel", "again"]))
        originals = [p for p in posts if p.repost_of is None and p.relation(RelationKind.REPOST) is None]
        if kind == "again" and posts:  # re-delivery: the same post, or an edited version of it
            old = draw(st.sampled_from(posts))
            if draw(st.booleans()):
                posts.append(old)
            else:
                posts.append(dataclasses.replace(old, text=draw(st.sampled_from(TEXTS)), edited_at=old.created_at))
            continue
        platform = draw(st.sampled_from(PLATFORMS))
        handle, name = draw(st.sampled_from(PEOPLE))[platform]
        created = at(draw(st.integers(0, 120)))
        author = make_author(platform, handle, name)
        if kind == "repost" and originals:
            original = draw(st.sampled_from(originals))
            author = make_author(original.platform, handle, name)
            posts.append(make_post(original.platform, f"p{i}", "RT", original.created_at + timedelta(minutes=1),
                                   author, repost_of=original))  # fmt: skip
            continue
        if kind == "repost_out":  # the original is only embedded, never delivered itself
            original = make_post(platform, f"o{i}", draw(st.sampled_from(TEXTS)), created - timedelta(minutes=5),
                                 make_author(platform, "orig", "Orig"))  # fmt: skip
            posts.append(make_post(platform, f"p{i}", "RT", created, author, repost_of=original))
            continue
        if kind == "repost_rel":  # only a relation: the original is known by its id
            target = f"o{draw(st.integers(0, 2))}"
            posts.append(make_post(platform, f"p{i}", "RT", created, author,
                                   relations=(Relation(RelationKind.REPOST, target),)))  # fmt: skip
            continue
        media: tuple[Media, ...] = ()
        video = draw(st.sampled_from(VIDEOS))
        if video:
            media = (Media(MediaKind.VIDEO, "https://v.example", video_key=video),)
        post = make_post(platform, f"p{i}", draw(st.sampled_from(TEXTS)), created, author, media=media)
        posts.append(post)
        if draw(st.integers(0, 2)) == 0:
            base = draw(st.sampled_from(BASE_HASHES))
            flips = draw(st.lists(st.integers(0, 63), max_size=8))
            h = base
            for bit in flips:
                h ^= 1 << bit
            hashes[post.key] = (h,)
    return posts, hashes


def everything(posts: Iterable[Post]) -> list[Post]:
    """The posts and the originals embedded in them."""
    out: list[Post] = []
    for post in posts:
        current: Post | None = post
        while current is not None:
            out.append(current)
            current = current.repost_of
    return out


def check_verdict(post: Post, v: DedupVerdict) -> None:
    if v.kind == "new":
        assert v.canonical is None
    elif v.kind != "exact":
        assert v.canonical is not None and v.canonical != post.key
    assert v.canonical != post.key
    if post.key in v.supersedes:  # only a stored canonical, delivered again, can lose its place
        assert v.kind == "exact" and v.canonical is not None


def run_batches(batches: Sequence[Sequence[Post]], hashes: Hashes) -> dict[PostKey, PostKey]:
    """What a caller following the documented recipe ends up with."""
    index = DedupIndex()
    mapping: dict[PostKey, PostKey] = {}
    for batch in batches:
        items = plan(index, batch, POLICY, hashes)
        for post, v in items:
            check_verdict(post, v)
            face = v.canonical or post.key
            mapping[post.key] = face
            for old in v.supersedes:
                for key, value in mapping.items():
                    if value == old:
                        mapping[key] = face
        for post, _ in items:
            index.add(post, hashes.get(post.key, ()))
    return mapping


FAST = settings(max_examples=100, deadline=None)


@given(cases())
@FAST
def test_clusters_is_idempotent(case: Case) -> None:
    posts, hashes = case
    mapping = clusters(posts, POLICY, hashes)
    assert clusters(posts, POLICY, hashes) == mapping
    assert clusters(posts + posts, POLICY, hashes) == mapping  # a set: repeats change nothing
    assert all(mapping[face] == face for face in mapping.values())  # canonicals are their own canonical
    faces = [p for p in everything(posts) if mapping[p.key] == p.key]
    assert clusters(faces, POLICY, hashes) == {p.key: p.key for p in faces}
    assert {p.key for p in everything(posts)} <= mapping.keys()


@given(cases(), st.randoms(use_true_random=False))
@FAST
def test_clusters_does_not_depend_on_order(case: Case, rnd: random.Random) -> None:
    posts, hashes = case
    shuffled = list(posts)
    rnd.shuffle(shuffled)
    assert clusters(shuffled, POLICY, hashes) == clusters(posts, POLICY, hashes)


@given(cases())
@FAST
def test_exact_redelivery_yields_only_exact(case: Case) -> None:
    posts, hashes = case
    run_once = run_batches([posts], hashes)
    index = DedupIndex()
    for post, _ in plan(index, posts, POLICY, hashes):
        index.add(post, hashes.get(post.key, ()))
    again = plan(index, posts, POLICY, hashes)
    assert len(again) == len(posts)  # no embedded original is offered twice
    assert all(v.kind == "exact" and not v.supersedes for _, v in again)
    assert all((v.canonical or p.key) == run_once[p.key] for p, v in again)
    # Within one batch too: the second delivery of everything is exact.
    doubled = plan(DedupIndex(), posts + posts, POLICY, hashes)
    assert all(v.kind == "exact" for _, v in doubled[len(doubled) - len(posts) :])


@given(cases(), st.randoms(use_true_random=False), st.data())
@FAST
def test_plan_over_batches_matches_clusters_of_the_union(case: Case, rnd: random.Random, data: st.DataObject) -> None:
    posts, hashes = case
    shuffled = list(posts)
    rnd.shuffle(shuffled)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=5)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    mapping = run_batches(batches, hashes)
    expected = clusters(posts, POLICY, hashes)
    assert mapping.keys() == {p.key for p in everything(posts)}
    assert mapping == {key: expected[key] for key in mapping}


@given(cases())
@FAST
def test_one_batch_verdicts_agree_with_clusters(case: Case) -> None:
    posts, hashes = case
    expected = clusters(posts, POLICY, hashes)
    for post, v in plan(DedupIndex(), posts, POLICY, hashes):
        check_verdict(post, v)
        assert (v.canonical or post.key) == expected[post.key]
        assert not v.supersedes  # nothing existed before
