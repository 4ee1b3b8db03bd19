from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aggregator.config import ModerationSettings
from aggregator.pipeline.dedup import (
    DedupIndex,
    DedupVerdict,
    check,
    clusters,
    identity_keys,
    plan,
    repost_target,
)
from aggregator.pipeline.phash import photo_hash
from aggregator.types import Author, Platform, Post, PostKey, Relation, RelationKind

from .factories import at, encode, make_author, make_post, photo, picture, retweet, video

POLICY = ModerationSettings()
M, X, B, F, Y = Platform.MASTODON, Platform.X, Platform.BLUESKY, Platform.FLICKR, Platform.YOUTUBE


def verdicts(items: list[tuple[Post, DedupVerdict]]) -> dict[PostKey, DedupVerdict]:
    return {post.key: v for post, v in items}


def index_of(*posts: Post, hashes: Mapping[PostKey, tuple[int, ...]] | None = None) -> DedupIndex:
    index = DedupIndex()
    for p in posts:
        index.add(p, (hashes or {}).get(p.key, ()))
    return index


def test_new_post_in_an_empty_index() -> None:
    p = make_post()
    assert check(p, DedupIndex(), POLICY) == DedupVerdict("new", None, "")
    assert clusters([p], POLICY) == {p.key: p.key}


# --- exact ----------------------------------------------------------------------------------


def test_exact_redelivery() -> None:
    p = make_post()
    index = index_of(p)
    v = check(p, index, POLICY)
    assert v.kind == "exact" and v.canonical is None


def test_one_mastodon_status_seen_through_three_instances_is_one_key() -> None:
    uri = "https://origin.example/users/alice/statuses/1"
    author = make_author(M, "alice@origin.example")
    copies = [
        Post(M, uri, f"https://{host}/@alice@origin.example/{n}", author, at(0), "Hello #conf", "<p>Hello</p>")
        for n, host in enumerate(["origin.example", "mastodon.social", "fosstodon.org"])
    ]
    items = plan(DedupIndex(), copies, POLICY)
    assert [v.kind for _, v in items] == ["new", "exact", "exact"]
    assert all(v.canonical is None for _, v in items)
    assert clusters(copies, POLICY) == {PostKey(M, uri): PostKey(M, uri)}
    index = index_of(*copies)
    assert [check(c, index, POLICY).kind for c in copies] == ["exact"] * 3


# --- reposts --------------------------------------------------------------------------------


def test_retweet_storm_folds_into_the_original() -> None:
    original = make_post(X, "1000", "Slides of the opening keynote are online", at(0))
    storm = [retweet(original, f"r{i}", f"fan{i}", minutes=1 + i) for i in range(50)]
    items = plan(DedupIndex(), storm, POLICY)
    # The original comes first (taken from repost_of: the caller stores it), then the 50 reposts.
    assert items[0][0] == original and items[0][1].kind == "new"
    assert len(items) == 51
    assert all(v.kind == "repost" and v.canonical == original.key for _, v in items[1:])
    assert items[1][1].detail == "repost of x:1000"
    mapping = clusters(storm, POLICY)
    assert set(mapping.values()) == {original.key}
    assert len(mapping) == 51


def test_retweet_storm_without_the_original_payload() -> None:
    original = make_post(X, "1000", "Slides are online", at(0))
    storm = [retweet(original, f"r{i}", f"fan{i}", embed=False) for i in range(50)]
    items = plan(DedupIndex(), storm, POLICY)
    assert len(items) == 50
    assert all(v.kind == "repost" and v.canonical == original.key for _, v in items)
    # When the original arrives later it is the card, and nothing is superseded.
    index = index_of(*storm)
    v = check(original, index, POLICY)
    assert v == DedupVerdict("new", None, "")


def test_repost_of_a_known_original() -> None:
    original = make_post(X, "1000", "Slides are online", at(0))
    index = index_of(original)
    v = check(retweet(original, "r1", "bob"), index, POLICY)
    assert v.kind == "repost" and v.canonical == original.key


def test_original_in_the_same_batch_is_not_returned_twice() -> None:
    original = make_post(X, "1000", "Slides are online", at(0))
    items = plan(DedupIndex(), [retweet(original, "r1", "bob"), original], POLICY)
    assert [(p.external_id, v.kind) for p, v in items] == [("r1", "repost"), ("1000", "new")]


def test_mastodon_boost() -> None:
    original = make_post(M, "https://a.example/s/1", "Great panel on open source funding", at(0))
    boost = make_post(
        M, "https://b.example/s/9/activity", "", at(3), author=make_author(M, "bob@b.example"), repost_of=original
    )
    assert repost_target(boost) == original.key
    assert verdicts(plan(DedupIndex(), [boost], POLICY))[boost.key].canonical == original.key


def test_self_repost_is_ignored() -> None:
    weird = make_post(X, "1", relations=(Relation(RelationKind.REPOST, "1"),))
    assert repost_target(weird) is None
    assert check(weird, DedupIndex(), POLICY).kind == "new"


# --- cross-posts --------------------------------------------------------------------------------


def crossposts(minutes: tuple[float, float, float] = (2, 0, 1)) -> list[Post]:
    text = "Brilliant keynote on community reporting by {who} - slides at {link} #conf25"
    return [
        make_post(X, "x1", text.format(who="@bob", link="https://t.co/Ab12"), at(minutes[0]),
                  make_author(X, "alice_r", "Alice Reporter")),
        make_post(M, "https://social.example/s/1", text.format(who="@bob@example.social",
                  link="https://slides.example/keynote"), at(minutes[1]),
                  make_author(M, "alice_r@social.example", "Alice Reporter 🎤")),
        make_post(B, "at://did:plc:a/post/1", text.format(who="@bob.bsky.social", link="slides.example/key…"),
                  at(minutes[2]), make_author(B, "alice-r.bsky.social", "Alice Reporter (she/her)")),
    ]  # fmt: skip


def test_crosspost_to_x_mastodon_bluesky_is_one_card() -> None:
    posts = crossposts()
    earliest = posts[1].key  # the Mastodon copy was posted first
    mapping = clusters(posts, POLICY)
    assert set(mapping.values()) == {earliest}
    v = verdicts(plan(DedupIndex(), posts, POLICY))
    assert v[earliest] == DedupVerdict("new", None, "")
    assert v[posts[0].key].kind == "crosspost" and v[posts[0].key].canonical == earliest
    assert v[posts[2].key].kind == "crosspost" and v[posts[2].key].canonical == earliest


def test_crosspost_canonical_tie_is_broken_by_platform_then_id() -> None:
    posts = crossposts((0, 0, 0))
    assert set(clusters(posts, POLICY).values()) == {PostKey(B, "at://did:plc:a/post/1")}  # "bluesky" sorts first


def test_crosspost_arriving_earlier_supersedes_the_old_canonical() -> None:
    x_copy, m_copy, _ = crossposts()
    index = index_of(x_copy)
    v = check(m_copy, index, POLICY)
    assert v.kind == "new" and v.canonical is None
    assert v.supersedes == (x_copy.key,)


def test_crosspost_needs_the_same_person() -> None:
    posts = crossposts()
    stranger = make_author(M, "mallory@social.example", "Mallory")
    posts[1] = make_post(M, posts[1].external_id, posts[1].text, posts[1].created_at, stranger)
    mapping = clusters(posts, POLICY)
    assert mapping[posts[1].key] == posts[1].key
    assert mapping[posts[0].key] == mapping[posts[2].key] == posts[2].key  # Bluesky copy is earlier


def test_same_display_name_alone_is_the_same_person() -> None:
    a = make_post(X, "1", "Our workshop starts at two in room B", at(0), make_author(X, "xyz", "Dana Smith"))
    b = make_post(
        B, "2", "Our workshop starts at two in room B", at(1), make_author(B, "dsm.bsky.social", "Dana Smith")
    )
    assert clusters([a, b], POLICY)[b.key] == a.key


def test_crosspost_needs_different_platforms_window_and_similar_text() -> None:
    base = make_post(X, "1", "Our workshop starts at two in room B", at(0))
    same_platform = make_post(X, "2", base.text, at(1))
    too_late = make_post(B, "3", base.text, at(32), make_author(B, "alice.bsky.social"))  # 31 from same_platform
    different = make_post(M, "4", "Lunch is served in the main hall now", at(1), make_author(M, "alice@m.example"))
    too_short = [make_post(X, "5", "Great talk!", at(0)), make_post(M, "6", "Great talk!", at(0), make_author(M))]
    mapping = clusters([base, same_platform, too_late, different, *too_short], POLICY)
    assert all(k == v for k, v in mapping.items())
    in_window = make_post(B, "7", base.text, at(30), make_author(B, "alice.bsky.social"))
    assert clusters([base, in_window], POLICY)[in_window.key] == base.key


def test_crosspost_similarity_threshold_comes_from_the_policy() -> None:
    a = make_post(X, "1", "Our workshop starts at two in room B today", at(0))
    b = make_post(M, "2", "Our workshop starts at three in room C today", at(1), make_author(M, "alice@m.example"))
    assert clusters([a, b], POLICY)[b.key] == b.key
    assert clusters([a, b], ModerationSettings(crosspost_similarity=0.7))[b.key] == a.key


def test_identity_keys() -> None:
    def keys(platform: Platform, handle: str, name: str) -> frozenset[str]:
        return identity_keys(Author(platform, "id", handle, name))

    assert keys(X, "@Alice_R", "Alice R.") == {"h:alicer", "n:alice r"}
    assert keys(M, "alice_r@social.example", "Alice R 🎤") == {"h:alicer", "n:alice r"}
    assert keys(B, "alice-r.bsky.social", "Alice R (she/her)") == {"h:alicer", "n:alice r"}
    assert keys(X, "a", "Al") == frozenset()


# --- same media ----------------------------------------------------------------------------------


def test_flickr_photo_and_the_same_photo_in_a_tweet() -> None:
    scene = picture(7, (1024, 768))
    flickr = make_post(F, "5301", "", at(0), make_author(F, "12345@N00", "Event Photographer"),
                       title="Opening keynote", media=(photo(),))  # fmt: skip
    tweet = make_post(X, "777", "What a crowd at the opening!", at(40), make_author(X, "attendee", "Sam"),
                      media=(photo(),))  # fmt: skip
    other = make_post(X, "778", "Coffee queue", at(41), make_author(X, "other", "Kim"), media=(photo(),))
    hashes = {
        flickr.key: (photo_hash(encode(scene)),),
        tweet.key: (photo_hash(encode(scene.resize((600, 450)), "JPEG", quality=70)),),
        other.key: (photo_hash(encode(picture(8))),),
    }
    v = verdicts(plan(DedupIndex(), [tweet, other, flickr], POLICY, hashes))
    assert v[tweet.key].kind == "same_media" and v[tweet.key].canonical == flickr.key
    assert "same photo as flickr:5301" in v[tweet.key].detail
    assert v[other.key].kind == "new"
    # Against a stored index, with the hash passed to check().
    index = index_of(flickr, hashes=hashes)
    assert check(tweet, index, POLICY, hashes[tweet.key]).canonical == flickr.key
    assert check(other, index, POLICY, hashes[other.key]).kind == "new"


def test_blank_photos_are_not_the_same_photo() -> None:
    a = make_post(X, "1", "one", media=(photo(),))
    b = make_post(X, "2", "two", author=make_author(handle="bob"), media=(photo(),))
    assert clusters([a, b], POLICY, {a.key: (0,), b.key: (0,)}) == {a.key: a.key, b.key: b.key}


def test_same_youtube_video() -> None:
    yt = make_post(Y, "yt:abc", "", at(0), make_author(Y, "EventChannel", "Event"), title="Keynote",
                   media=(video("youtube:abc"),))  # fmt: skip
    toot = make_post(M, "https://m.example/s/5", "Watch the keynote again", at(90),
                     make_author(M, "bob@m.example", "Bob"), media=(video("youtube:abc"),))  # fmt: skip
    other = make_post(M, "https://m.example/s/6", "Another video", at(91),
                      make_author(M, "bob@m.example", "Bob"), media=(video("youtube:ABC"),))  # fmt: skip
    v = verdicts(plan(DedupIndex(), [toot, other, yt], POLICY))
    assert v[toot.key] == DedupVerdict("same_media", yt.key, "same video youtube:abc as youtube:yt:abc")
    assert v[other.key].kind == "new"  # video ids are case-sensitive


# --- transitivity, index behaviour ------------------------------------------------------------------


def test_links_are_transitive() -> None:
    # A and B are cross-posts; B and C show the same video; A and C share nothing directly.
    a = make_post(X, "a", "Our workshop starts at two in room B", at(0))
    b = make_post(M, "b", "Our workshop starts at two in room B", at(5), make_author(M, "alice@m.example"),
                  media=(video("youtube:w"),))  # fmt: skip
    c = make_post(B, "c", "Recording", at(300), make_author(B, "zed.bsky.social", "Zed"), media=(video("youtube:w"),))
    assert set(clusters([c, b, a], POLICY).values()) == {a.key}


def test_plan_and_check_do_not_change_the_index() -> None:
    index = index_of(make_post(X, "1"))
    plan(index, [make_post(X, "2", author=make_author(handle="bob"))], POLICY)
    check(make_post(X, "3"), index, POLICY)
    assert len(index) == 1 and PostKey(X, "1") in index and PostKey(X, "2") not in index


def test_stored_duplicate_of_links_outside_the_window() -> None:
    # The canonical lies outside the loaded window: the stored link keeps the card together.
    old = PostKey(X, "0")
    index = DedupIndex()
    index.add(make_post(M, "m1", "Our workshop starts at two in room B", at(0), make_author(M, "alice@m.example")),
              duplicate_of=old)  # fmt: skip
    assert index.canonical_of(PostKey(M, "m1"), POLICY) == old
    v = check(make_post(X, "x9", "Our workshop starts at two in room B", at(1)), index, POLICY)
    assert v.kind == "crosspost" and v.canonical == old


def test_index_follows_the_policy() -> None:
    a = make_post(X, "1", "Our workshop starts at two in room B", at(0))
    b = make_post(M, "2", "Our workshop starts at two in room B", at(20), make_author(M, "alice@m.example"))
    index = index_of(a, b)
    assert index.canonical_of(b.key, POLICY) == a.key
    assert index.canonical_of(b.key, ModerationSettings(crosspost_window=60)) == b.key
    c = make_post(B, "3", a.text, at(1), make_author(B, "alice.bsky.social"))
    index.add(c)  # both cached link graphs follow
    assert index.canonical_of(c.key, POLICY) == a.key
    assert index.canonical_of(c.key, ModerationSettings(crosspost_window=60)) == a.key
    assert index.mapping(POLICY) == {a.key: a.key, b.key: a.key, c.key: a.key}


def test_edited_version_adds_its_links() -> None:
    a = make_post(X, "1", "Our workshop starts at two in room B", at(0))
    b_old = make_post(M, "2", "typo", at(1), make_author(M, "alice@m.example"))
    b_new = make_post(M, "2", "Our workshop starts at two in room B", at(1), make_author(M, "alice@m.example"))
    index = index_of(a, b_old)
    v = check(b_new, index, POLICY)
    assert v.kind == "exact" and v.canonical == a.key


def _kinds(items: list[tuple[Post, DedupVerdict]]) -> list[str]:
    return [v.kind for _, v in items]


def test_duplicates_within_a_batch_do_not_depend_on_batch_order() -> None:
    posts: list[Any] = crossposts()
    forward = verdicts(plan(DedupIndex(), posts, POLICY))
    backward = verdicts(plan(DedupIndex(), posts[::-1], POLICY))
    assert forward == backward
