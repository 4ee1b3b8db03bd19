"""Pure deduplication: which posts are one card, and which post the card shows.

Nothing here reads a database, the network or a clock; the caller loads the
posts of the relevant time window into a :class:`DedupIndex` and stores what
:func:`plan` says.

Kinds of duplicate
------------------
- **exact** -- the same :class:`PostKey` again (re-delivery; a Mastodon status
  seen through several instances has one key because its external id is the
  status URI).
- **repost** -- a retweet/boost/repost (``post.repost_of`` set, or a REPOST
  relation) folds into the post it reposts. When ``repost_of`` carries the
  original and the original is not known yet, the original joins the index
  too (and :func:`plan` returns it as an item of its own, for the caller to
  store). Reposts take part in no other kind of link: their text and media
  are the original's.
- **crosspost** -- one person posting near-identical text on *different*
  platforms: same person = the author's handle local part (``alice`` of
  ``@alice``, ``alice@example.social``, ``alice.bsky.social``; letters and
  digits only) OR the display name (normalised, brackets such as pronouns
  dropped) match; near-identical = :func:`textnorm.similarity` >=
  ``policy.crosspost_similarity`` on texts of at least
  :data:`MIN_CROSSPOST_WORDS` words; within ``policy.crosspost_window``
  seconds of each other.
- **same_media** -- the same video (``Media.video_key``, e.g. ``youtube:<id>``)
  or the same photo (perceptual hashes at most ``policy.photo_hash_distance``
  bits apart; hashes of blank images are ignored), on any platform, by anyone.

Clusters and the canonical post
-------------------------------
Links are symmetric and decided pair by pair; a card (cluster) is a connected
component of the link graph -- union-find, so links are *transitive*: if A is
a cross-post of B and B shows the same photo as C, A, B and C are one card
even though A and C share nothing directly. The canonical post of a cluster
is the one with the smallest rank, where rank is

    (tier, earliest created_at over the key's versions, platform, external_id)

and tier is 0 for a key known only by reference (a repost's original that we
have not seen, or a stored ``duplicate_of``: it is older than anything we
hold), 1 for an ordinary post, 2 for a repost (a repost is never the face of a
card while its original is in it). So within a cluster of ordinary posts the
canonical is the earliest ``created_at``, ties broken by (platform,
external_id) -- a pure function of the *set* of posts, whatever order they
arrive in. Versions of one key (an edited post delivered again) contribute the
union of their links.

Incremental use and order independence
--------------------------------------
:func:`plan` computes verdicts for a batch against the index *after* adding the
whole batch, so duplicates within the batch are found and verdicts do not
depend on the order inside the batch. Because a later batch may bring an
earlier post (a delayed collector, an original arriving after its reposts),
a verdict may *supersede* earlier canonicals: ``verdict.supersedes`` lists
keys that were canonical before this batch and now fold into the verdict's
card. The caller re-points them and everything that folded into them. The
guarantee (tested with Hypothesis):

    Start with an empty DedupIndex and an empty mapping M. For each batch B
    (any split of a set S of posts, in any order): for (post, v) in
    plan(index, B, policy, hashes): M[post.key] = v.canonical or post.key, and
    for k in v.supersedes: every entry of M equal to k becomes
    (v.canonical or post.key); then index.add(post, hashes[post.key]) for each
    returned post. At the end, M == clusters(S, policy, hashes) on every key
    of M.

Storage keeps the face a card was first shown with, so its cards can differ
from these canonicals in which member is the face, never in membership: when
a batch joins cards that are stored apart, the caller merges them
(:func:`plan_cards` lists every key of each card a batch touches;
pipeline/planning.py does the rest).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

from aggregator.config import ModerationSettings
from aggregator.pipeline.phash import hamming, is_informative
from aggregator.pipeline.textnorm import normalise_for_matching, similarity, text_tokens
from aggregator.types import Author, Platform, Post, PostKey, RelationKind

__all__ = [
    "MIN_CROSSPOST_WORDS",
    "BatchVerdicts",
    "DedupIndex",
    "DedupKind",
    "DedupVerdict",
    "check",
    "clusters",
    "identity_keys",
    "plan",
    "plan_cards",
    "repost_target",
]

DedupKind = Literal["new", "exact", "repost", "crosspost", "same_media"]
MIN_CROSSPOST_WORDS = 3  # shorter texts ("Great talk!") are no evidence that two posts are one
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}")
_NAME_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class DedupVerdict:
    """How one post relates to what is already known."""

    kind: DedupKind  # "new": its own card; "exact": key already known; else folded, and why
    canonical: PostKey | None  # the post whose card this one joins; None: this post is its card's face
    detail: str = ""  # human-readable: the partner and what matched
    supersedes: tuple[PostKey, ...] = ()  # were canonical before; now fold into (canonical or this post)
    # (may hold this post's own key: a stored canonical, delivered again, that lost its place)


def _fmt(key: PostKey) -> str:
    return f"{key.platform.value}:{key.external_id}"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def repost_target(post: Post) -> PostKey | None:
    """The key of the post this one reposts (from ``repost_of``, else a REPOST relation), if any."""
    if post.repost_of is not None:
        target = post.repost_of.key
    else:
        rel = post.relation(RelationKind.REPOST)
        if rel is None or not rel.external_id:
            return None
        target = PostKey(post.platform, rel.external_id)
    return None if target == post.key else target


def _handle_local(author: Author) -> str:
    handle = "".join(normalise_for_matching(author.handle).split()).lstrip("@")
    if "@" in handle:  # Mastodon user@instance
        handle = handle.split("@", 1)[0]
    elif author.platform is Platform.BLUESKY:  # alice.bsky.social, alice.example.com
        handle = handle.split(".", 1)[0]
    return "".join(c for c in handle if c.isalnum())


def _display_name(name: str) -> str:
    return " ".join(_NAME_WORD.findall(_BRACKETED.sub(" ", normalise_for_matching(name))))


@lru_cache(maxsize=8192)
def identity_keys(author: Author) -> frozenset[str]:
    """What makes two authors on different platforms "the same person" for cross-posts.

    ``"h:<handle local part>"`` (at least 2 characters) and ``"n:<display name>"``
    (at least 3); two authors match when their sets intersect.
    """
    keys: set[str] = set()
    local = _handle_local(author)
    if len(local) >= 2:
        keys.add("h:" + local)
    name = _display_name(author.name)
    if len(name) >= 3:
        keys.add("n:" + name)
    return frozenset(keys)


def _originals(post: Post) -> list[Post]:
    """The chain of embedded originals (repost_of), deepest first, not including ``post``."""
    chain: list[Post] = []
    seen = {post.key}
    current = post.repost_of
    while current is not None and current.key not in seen:
        chain.append(current)
        seen.add(current.key)
        current = current.repost_of
    chain.reverse()
    return chain


def _content_text(post: Post) -> str:
    return post.text or post.title


# --- the link graph -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Params:
    window: timedelta
    similarity: float
    distance: int

    @classmethod
    def of(cls, policy: ModerationSettings) -> _Params:
        return cls(timedelta(seconds=policy.crosspost_window), policy.crosspost_similarity,
                   policy.photo_hash_distance)  # fmt: skip


class _Node:
    """One key: its versions and what it links to."""

    __slots__ = ("content", "created", "hashes", "key", "links", "repost", "versions", "videos")

    def __init__(self, key: PostKey) -> None:
        self.key = key
        self.versions: set[Post] = set()
        self.content: list[Post] = []  # versions that are not reposts (they carry text and media)
        self.created: datetime | None = None
        self.repost = False
        self.hashes: set[int] = set()
        self.videos: set[str] = set()
        self.links: dict[str, dict[PostKey, str]] = {}  # kind -> partner -> what matched

    def clone(self) -> _Node:
        other = _Node(self.key)
        other.versions = set(self.versions)
        other.content = list(self.content)
        other.created = self.created
        other.repost = self.repost
        other.hashes = set(self.hashes)
        other.videos = set(self.videos)
        other.links = {kind: dict(partners) for kind, partners in self.links.items()}
        return other

    @property
    def real(self) -> bool:
        return bool(self.versions)

    @property
    def rank(self) -> tuple[int, datetime, str, str]:
        tier = 0 if not self.versions else 2 if self.repost else 1
        return (tier, self.created or _EARLIEST, self.key.platform.value, self.key.external_id)


class _PhotoIndex:
    """Hashes within ``limit`` bits of a query, without comparing against every stored hash.

    Multi-index hashing: the 64 bits are cut into ``limit + 1`` bands; two hashes at most
    ``limit`` bits apart agree exactly on at least one band (pigeonhole), so only hashes
    sharing a band value are compared. Large limits (short bands) fall back to a scan.
    """

    __slots__ = ("bands", "entries", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.entries: list[tuple[int, PostKey]] = []
        count = limit + 1 if limit < 16 else 0  # bands of 4 bits or fewer would match nearly everything
        edges = [round(i * 64 / count) for i in range(count + 1)] if count else []
        self.bands: list[tuple[int, int, dict[int, list[tuple[int, PostKey]]]]] = [
            (lo, (1 << (hi - lo)) - 1, {}) for lo, hi in itertools.pairwise(edges)
        ]

    def clone(self) -> _PhotoIndex:
        other = _PhotoIndex.__new__(_PhotoIndex)
        other.limit = self.limit
        other.entries = list(self.entries)
        other.bands = [(lo, mask, {k: list(v) for k, v in table.items()}) for lo, mask, table in self.bands]
        return other

    def add(self, h: int, key: PostKey) -> None:
        entry = (h, key)
        self.entries.append(entry)
        for lo, mask, table in self.bands:
            table.setdefault((h >> lo) & mask, []).append(entry)

    def near(self, h: int) -> list[tuple[int, PostKey]]:
        """Stored (hash, key) pairs at most ``limit`` bits from ``h``."""
        if not self.bands:
            candidates: Iterable[tuple[int, PostKey]] = self.entries
        else:
            seen: set[tuple[int, PostKey]] = set()
            for lo, mask, table in self.bands:
                seen.update(table.get((h >> lo) & mask, ()))
            candidates = seen
        return [(other, key) for other, key in candidates if hamming(h, other) <= self.limit]


@dataclass(slots=True)
class _Journal:
    """What a batch changed: only the components it touched can have lost their canonical."""

    touched: set[PostKey]  # roots (at the time) of components changed during the batch
    before: set[PostKey]  # the canonicals those components had before the batch


class _Graph:
    """Incremental union-find over pairwise links, for one set of policy parameters."""

    def __init__(self, params: _Params) -> None:
        self.params = params
        self.nodes: dict[PostKey, _Node] = {}
        self.parent: dict[PostKey, PostKey] = {}
        self.members: dict[PostKey, list[PostKey]] = {}  # root -> keys in its component
        self.best: dict[PostKey, PostKey] = {}  # root -> canonical of its component
        self.by_ident: dict[str, set[PostKey]] = {}
        self.by_video: dict[str, set[PostKey]] = {}
        self.photos = _PhotoIndex(params.distance)
        self.journal: _Journal | None = None  # set while a batch is planned: which canonicals it touched

    def clone(self) -> _Graph:
        other = _Graph(self.params)
        other.nodes = {k: n.clone() for k, n in self.nodes.items()}
        other.parent = dict(self.parent)
        other.members = {k: list(v) for k, v in self.members.items()}
        other.best = dict(self.best)
        other.by_ident = {k: set(v) for k, v in self.by_ident.items()}
        other.by_video = {k: set(v) for k, v in self.by_video.items()}
        other.photos = self.photos.clone()
        return other

    # union-find
    def find(self, key: PostKey) -> PostKey:
        parent = self.parent
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def canonical(self, key: PostKey) -> PostKey:
        return self.best[self.find(key)]

    def _ensure(self, key: PostKey) -> _Node:
        node = self.nodes.get(key)
        if node is None:
            node = self.nodes[key] = _Node(key)
            self.parent[key] = key
            self.members[key] = [key]
            self.best[key] = key
            if self.journal is not None:
                self.journal.touched.add(key)  # new in this batch: it was nobody's canonical
        return node

    def _touch(self, root: PostKey) -> None:
        """Before a component changes: remember the canonical it had when the batch began."""
        journal = self.journal
        if journal is not None and root not in journal.touched:
            journal.touched.add(root)
            journal.before.add(self.best[root])

    def _union(self, a: PostKey, b: PostKey) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        self._touch(ra)
        self._touch(rb)
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra].extend(self.members.pop(rb))
        best_a, best_b = self.best[ra], self.best.pop(rb)
        self.best[ra] = min(best_a, best_b, key=lambda k: self.nodes[k].rank)

    def _reranked(self, key: PostKey) -> None:
        root = self.find(key)
        self._touch(root)
        self.best[root] = min(self.members[root], key=lambda k: self.nodes[k].rank)

    def _link(self, kind: str, a: PostKey, b: PostKey, what: str, back_kind: str | None = None) -> None:
        """Link a and b; ``what`` is worded for either side ("cross-post of {}" gets the partner)."""
        self.nodes[a].links.setdefault(kind, {}).setdefault(b, what.format(_fmt(b)))
        back = "reposted by {}" if back_kind == "reposted" else what
        self.nodes[b].links.setdefault(back_kind or kind, {}).setdefault(a, back.format(_fmt(a)))
        self._union(a, b)

    # adding
    def add(self, post: Post, hashes: Iterable[int] = (), hint: PostKey | None = None) -> None:
        """Add one version of one post (not its embedded originals: see _add_with_originals)."""
        key = post.key
        node = self._ensure(key)
        target = repost_target(post)
        if post not in node.versions:
            was_content = bool(node.content)
            old_rank = node.rank
            node.versions.add(post)
            created = _utc(post.created_at)
            node.created = created if node.created is None else min(node.created, created)
            if target is not None:
                node.repost = True
            else:
                node.content.append(post)
            if node.rank != old_rank:
                self._reranked(key)
            if target is not None:
                self._ensure(target)
                self._link("repost", key, target, "repost of {}", back_kind="reposted")
            else:
                self._link_content(node, post)
                if not was_content:  # its photos count from now on
                    self._link_photos(node, set(node.hashes))
        new_hashes = {h for h in hashes if is_informative(h)} - node.hashes
        if new_hashes:
            node.hashes |= new_hashes
            if node.content:
                self._link_photos(node, new_hashes)
        if hint is not None and hint != key:
            self._ensure(hint)
            self._link("stored", key, hint, "stored with {}")

    def _link_content(self, node: _Node, post: Post) -> None:
        key = post.key
        idents = identity_keys(post.author)
        text = _content_text(post)
        if idents and len(text_tokens(text)) >= MIN_CROSSPOST_WORDS:
            candidates: set[PostKey] = set()
            for ident in idents:
                candidates |= self.by_ident.get(ident, set())
            for other_key in candidates:
                if other_key.platform is key.platform:
                    continue
                for other in self.nodes[other_key].content:
                    if self._crosspost(post, idents, text, other):
                        self._link("crosspost", key, other_key, "cross-post of {}")
                        break
            for ident in idents:
                self.by_ident.setdefault(ident, set()).add(key)
        for video in sorted({m.video_key.strip() for m in post.media if m.video_key and m.video_key.strip()}):
            if video in node.videos:
                continue
            node.videos.add(video)
            holders = self.by_video.setdefault(video, set())
            for other_key in sorted(holders - {key}):
                self._link("same_media", key, other_key, f"same video {video} as {{}}")
            holders.add(key)

    def _crosspost(self, post: Post, idents: frozenset[str], text: str, other: Post) -> bool:
        if abs(_utc(post.created_at) - _utc(other.created_at)) > self.params.window:
            return False
        if not idents & identity_keys(other.author):
            return False
        other_text = _content_text(other)
        if len(text_tokens(other_text)) < MIN_CROSSPOST_WORDS:
            return False
        return similarity(text, other_text, at_least=self.params.similarity) >= self.params.similarity

    def _link_photos(self, node: _Node, hashes: set[int]) -> None:
        for h in sorted(hashes):
            for other_hash, other_key in self.photos.near(h):
                if other_key != node.key:
                    distance = hamming(h, other_hash)
                    self._link("same_media", node.key, other_key, f"same photo as {{}} ({distance} bits apart)")
        for h in hashes:
            self.photos.add(h, node.key)

    def add_with_originals(
        self, post: Post, hashes: Mapping[PostKey, Sequence[int]], hint: PostKey | None = None
    ) -> None:
        for original in _originals(post):
            self.add(original, hashes.get(original.key, ()))
        self.add(post, hashes.get(post.key, ()), hint)

    def mapping(self) -> dict[PostKey, PostKey]:
        return {key: self.canonical(key) for key in self.nodes}


# --- public API ---------------------------------------------------------------------------


class DedupIndex:
    """The posts already stored for the relevant window, as dedup sees them.

    The caller fills it from storage -- ``add(post, photo_hashes=...)`` for
    every post (canonical or duplicate) of the window, optionally passing the
    stored ``duplicate_of`` so a link whose partner lies outside the window is
    kept -- and adds the posts of each batch after storing them. Links are
    computed per policy (window, similarity, hash distance) when first needed
    and kept up to date as posts are added.
    """

    __slots__ = ("_entries", "_graphs", "_keys")

    def __init__(self) -> None:
        self._entries: list[tuple[Post, tuple[int, ...], PostKey | None]] = []
        self._graphs: dict[_Params, _Graph] = {}
        self._keys: set[PostKey] = set()

    def add(self, post: Post, photo_hashes: Iterable[int] = (), *, duplicate_of: PostKey | None = None) -> None:
        """Add a stored post (and the originals embedded in it), with its photos' perceptual hashes."""
        self._record(post, tuple(photo_hashes), duplicate_of)

    def _record(self, post: Post, hashes: tuple[int, ...], hint: PostKey | None = None, *,
                skip: _Graph | None = None) -> None:
        entry = (post, hashes, hint)
        self._entries.append(entry)
        self._keys.add(post.key)
        self._keys.update(o.key for o in _originals(post))
        for graph in self._graphs.values():
            if graph is not skip:  # plan_cards(advance=True) has added it to that one already
                self._apply(graph, entry)

    @staticmethod
    def _apply(graph: _Graph, entry: tuple[Post, tuple[int, ...], PostKey | None]) -> None:
        post, hashes, hint = entry
        graph.add_with_originals(post, {post.key: hashes}, hint)

    def _graph(self, policy: ModerationSettings) -> _Graph:
        params = _Params.of(policy)
        graph = self._graphs.get(params)
        if graph is None:
            graph = self._graphs[params] = _Graph(params)
            for entry in self._entries:
                self._apply(graph, entry)
        return graph

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def canonical_of(self, key: PostKey, policy: ModerationSettings) -> PostKey | None:
        """The canonical of a known key's card (itself if it is the face), or None if unknown."""
        graph = self._graph(policy)
        return graph.canonical(key) if key in graph.nodes else None

    def mapping(self, policy: ModerationSettings) -> dict[PostKey, PostKey]:
        """Every key the index knows (including originals known only by reference) -> its canonical."""
        return self._graph(policy).mapping()


def clusters(
    posts: Iterable[Post],
    policy: ModerationSettings,
    photo_hashes: Mapping[PostKey, Sequence[int]] | None = None,
) -> dict[PostKey, PostKey]:
    """Each key -> the canonical key of its card: a pure function of the *set* of posts.

    Keys include the posts' embedded originals (``repost_of``) and originals
    known only from a REPOST relation (those map to themselves or their card).
    """
    graph = _Graph(_Params.of(policy))
    hashes = photo_hashes or {}
    for post in posts:
        graph.add_with_originals(post, hashes)
    return graph.mapping()


def plan(
    existing_index: DedupIndex,
    new_posts: Sequence[Post],
    policy: ModerationSettings,
    photo_hashes: Mapping[PostKey, Sequence[int]] | None = None,
) -> list[tuple[Post, DedupVerdict]]:
    """Verdicts for a batch, duplicates within the batch included. Does not change the index.

    Returns one item per post of ``new_posts``, in order, each preceded by the
    originals embedded in it (``repost_of``, deepest first) that are neither
    in the index nor in the batch -- the caller stores those too. Each item's
    verdict is computed with the whole batch added, so it does not depend on
    the order within the batch. A key repeated within the batch, or already in
    the index, is ``"exact"``. ``photo_hashes`` maps keys to their photos'
    hashes (:func:`aggregator.pipeline.phash.photo_hash`).
    """
    return plan_cards(existing_index, new_posts, policy, photo_hashes).items


@dataclass(frozen=True, slots=True)
class BatchVerdicts:
    """:func:`plan`'s verdicts, and every key of each card the batch touched."""

    items: list[tuple[Post, DedupVerdict]]
    cards: dict[PostKey, tuple[PostKey, ...]]  # canonical -> the keys of its card, best-ranked first


def plan_cards(
    existing_index: DedupIndex,
    new_posts: Sequence[Post],
    policy: ModerationSettings,
    photo_hashes: Mapping[PostKey, Sequence[int]] | None = None,
    *,
    advance: bool = False,
) -> BatchVerdicts:
    """:func:`plan`, plus the members of the cards the batch touched (stored ones included).

    With ``advance`` the index itself moves past the batch (as if each returned
    post were then ``add``-ed) instead of planning on a copy: the verdicts are
    the same, without copying the whole index for every batch.
    """
    hashes = photo_hashes or {}
    graph = existing_index._graph(policy)
    if not advance:
        graph = graph.clone()
    nodes = graph.nodes

    def known(key: PostKey) -> bool:
        node = nodes.get(key)
        return node is not None and node.real

    batch_keys = {post.key for post in new_posts}
    items: list[tuple[Post, bool]] = []  # (post, exact)
    emitted: set[PostKey] = set()
    for post in new_posts:
        for original in _originals(post):
            if original.key in emitted or original.key in batch_keys or known(original.key):
                continue
            emitted.add(original.key)
            items.append((original, False))
        items.append((post, post.key in emitted or known(post.key)))
        emitted.add(post.key)
    graph.journal = _Journal(set(), set())
    try:
        for post, _ in items:
            graph.add_with_originals(post, hashes)
        before = graph.journal.before
    finally:
        graph.journal = None
    if advance:
        for post, _ in items:
            existing_index._record(post, tuple(hashes.get(post.key, ())), skip=graph)

    # Earlier canonicals that lost their place go with the first item of their new card.
    first_item: dict[PostKey, int] = {}
    for i, (post, _) in enumerate(items):
        first_item.setdefault(graph.canonical(post.key), i)
    superseded: dict[int, list[PostKey]] = {}
    for old in before:
        new = graph.canonical(old)
        if new != old:
            superseded.setdefault(first_item.get(new, 0), []).append(old)

    verdicts = [
        (post, _verdict(graph, post, exact, tuple(sorted(superseded.get(i, ())))))
        for i, (post, exact) in enumerate(items)
    ]
    cards = {
        canonical: tuple(sorted(graph.members[graph.find(canonical)], key=lambda k: nodes[k].rank))
        for canonical in first_item
    }
    return BatchVerdicts(verdicts, cards)


def check(
    post: Post,
    index: DedupIndex,
    policy: ModerationSettings,
    photo_hashes: Sequence[int] = (),
) -> DedupVerdict:
    """The verdict for one post against the index (a batch of one; see :func:`plan`)."""
    return plan(index, [post], policy, {post.key: tuple(photo_hashes)})[-1][1]


_KIND_ORDER: tuple[tuple[str, DedupKind], ...] = (
    ("crosspost", "crosspost"),
    ("same_media", "same_media"),
    ("repost", "repost"),
    ("reposted", "repost"),
    ("stored", "same_media"),
)


def _verdict(graph: _Graph, post: Post, exact: bool, supersedes: tuple[PostKey, ...]) -> DedupVerdict:
    key = post.key
    canon = graph.canonical(key)
    canonical = None if canon == key else canon
    folds = f"; folds in {', '.join(map(_fmt, supersedes))}" if supersedes else ""
    if exact:
        return DedupVerdict("exact", canonical, "already known" + folds, supersedes)
    if canonical is None:
        return DedupVerdict("new", None, folds.removeprefix("; "), supersedes)
    links = graph.nodes[key].links
    target = repost_target(post)
    if target is not None and target in links.get("repost", {}):
        return DedupVerdict("repost", canonical, links["repost"][target] + folds, supersedes)
    for link_kind, kind in _KIND_ORDER:
        partners = links.get(link_kind)
        if partners:
            partner = min(partners, key=lambda k: graph.nodes[k].rank)
            return DedupVerdict(kind, canonical, partners[partner] + folds, supersedes)
    raise AssertionError(f"{_fmt(key)} is in a card without any link")  # pragma: no cover
