"""The batch plan: a pure function from what is stored and a batch of posts to what storage must write.

``plan_batch(stored, posts, policy, hashes, ctx)`` reads no database, network
or clock. It runs dedup (:mod:`aggregator.pipeline.dedup`) and moderation
(:mod:`aggregator.pipeline.moderate`) and returns the ingest items, in the
order storage needs (new card faces first), and the stored cards to merge.

Card faces are stable
---------------------
Dedup decides which posts are one card, independent of arrival order, and
ranks the earliest post as the card's face. Storage keeps the face a card was
first shown with: when a batch brings a post that dedup ranks before a stored
face (a delayed collector delivering the earliest copy of a cross-post), the
newcomer joins the stored card instead of replacing its face, so a card on a
venue screen never swaps under people's eyes.

When a batch joins cards that are stored apart (a new post *bridges* two
stored cards: a cross-post of one that shows the photo of the other), the
cards are merged: the stored face dedup ranks first survives, every member of
the other cards is re-pointed to it and the other faces are retracted live.
So after any sequence of batches the stored cards are exactly dedup's
clusters of everything stored (a Hypothesis test checks it); only which
member is the face follows arrival.

Edits are moderated again
-------------------------
A stored post delivered again with a newer ``edited_at`` is decided again by
the same rules, on its new text. The new verdict replaces the old one, a
human's included: a moderator approved the old text, not the new one, so an
edited post that the rules would hold goes back to the queue (and one that
they reject is rejected); storage retracts it live if it was shown. Posts
removed, rejected by a human or folded into another card keep their status.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aggregator.config import ModerationSettings
from aggregator.pipeline import dedup
from aggregator.pipeline.moderate import ModerationContext, author_key, moderate
from aggregator.types import CardMerge, Decision, IngestItem, Post, PostKey, Status

__all__ = ["KEEP", "BatchPlan", "KnownPost", "StoredView", "plan_batch"]

KEEP = Decision(Status.DUPLICATE, "dedup:exact")
"""The decision of a stored post delivered again: nothing about its moderation changes."""


@dataclass(frozen=True, slots=True)
class KnownPost:
    """A stored post of the batch: what re-deciding an edit needs."""

    status: Status
    rule: str  # status_rule: "human:<name>" when a moderator decided
    edited_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredView:
    """What is stored, as the plan sees it."""

    index: dedup.DedupIndex  # stored posts of the window (see dedup.DedupIndex)
    faces: Mapping[PostKey, PostKey]  # stored key -> the face of its stored card (a face maps to itself)
    known: Mapping[PostKey, KnownPost]  # the batch's keys that are stored already
    dead: frozenset[PostKey] = frozenset()  # the batch's keys a tombstone forbids


@dataclass(frozen=True, slots=True)
class BatchPlan:
    items: tuple[IngestItem, ...]  # new faces, then posts folded into a card, then stored posts again
    merges: tuple[CardMerge, ...]  # to apply before the items
    faces: dict[PostKey, PostKey]  # the stored-face map after the batch, for every key it sets or moves


def plan_batch(
    stored: StoredView,
    posts: Sequence[Post],
    policy: ModerationSettings,
    hashes: Mapping[PostKey, Sequence[int]],
    ctx: ModerationContext,
    *,
    advance: bool = False,
) -> BatchPlan:
    """Decide a batch (see the module docstring). ``advance``: move ``stored.index`` past the batch
    instead of planning on a copy of it (same result; for a caller that keeps the index)."""
    live = [p for p in posts if p.key not in stored.dead]
    if not live:
        return BatchPlan((), (), {})
    verdicts = dedup.plan_cards(stored.index, live, policy, hashes, advance=advance)

    # Which card each new post joins, and which stored cards become one.
    new_keys = {p.key for p, v in verdicts.items if v.kind != "exact" and p.key not in stored.known}
    face_of: dict[PostKey, PostKey] = {}
    merges: list[CardMerge] = []
    faces_after: dict[PostKey, PostKey] = {}
    def stored_face(key: PostKey) -> PostKey | None:
        # A stored post the index did not hold (older than its window) stands for its card: storage
        # follows it to the card's face.
        return stored.faces.get(key) or (key if key in stored.known else None)

    for members in verdicts.cards.values():
        stored_faces = [f for f in dict.fromkeys(map(stored_face, members)) if f is not None]
        if stored_faces:
            rank = {k: i for i, k in enumerate(members)}
            stored_faces.sort(key=lambda k: (rank.get(k, len(rank)), k))
            face = stored_faces[0]
            if len(stored_faces) > 1:
                merges.append(CardMerge(face, tuple(stored_faces[1:])))
                absorbed = set(stored_faces[1:])
                faces_after.update({k: face for k in members if stored.faces.get(k) in absorbed})
                faces_after.update({k: face for k in absorbed})
        else:
            first = next((k for k in members if k in new_keys), None)
            if first is None:
                continue  # only posts stored already: nothing to place
            face = first
        for key in members:
            if key in new_keys:
                face_of[key] = face
                faces_after[key] = face

    counts = dict(ctx.recent_author_counts)
    counting = dataclasses.replace(ctx, recent_author_counts=counts)  # sees the counts as the batch adds to them

    def decide(post: Post) -> Decision:
        return moderate(post, policy, counting)

    faces: list[IngestItem] = []
    folded: list[IngestItem] = []
    again: list[IngestItem] = []  # after what they repeat (storage applies edits)
    for post, v in verdicts.items:
        known = stored.known.get(post.key)
        if known is not None or post.key not in new_keys:
            again.append(IngestItem(post, _again(post, known, decide, counts)))
            continue
        face = face_of[post.key]
        decision = decide(post)
        if face == post.key:
            if decision.status is Status.APPROVED:
                who = author_key(post.author)
                counts[who] = counts.get(who, 0) + 1
            faces.append(IngestItem(post, decision))
        else:
            folded.append(IngestItem(post, decision, duplicate_of=face, is_repost=v.kind == "repost"))
    return BatchPlan(tuple(faces + folded + again), tuple(merges), faces_after)


def _again(post: Post, known: KnownPost | None, decide: Callable[[Post], Decision], counts: dict[str, int]) -> Decision:
    """A stored post delivered again: an edit is decided again; anything else keeps its status."""
    if known is None or post.edited_at is None:
        return KEEP
    if known.edited_at is not None and post.edited_at <= known.edited_at:
        return KEEP
    if known.status is Status.REJECTED and known.rule.startswith("human:"):
        return KEEP
    if known.status not in (Status.APPROVED, Status.PENDING, Status.REJECTED):
        return KEEP  # removed stays removed; a folded copy stays folded
    key = author_key(post.author)
    if known.status is Status.APPROVED and counts.get(key, 0) > 0:
        counts[key] -= 1  # the per-author cap must not count the post against itself
        decision = decide(post)
        counts[key] += 1
        return decision
    return decide(post)

