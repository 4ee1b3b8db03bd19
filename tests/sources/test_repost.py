"""Retweets and boosts are built by one helper: the union of both platforms' content flags."""

from dataclasses import replace

from aggregator.sources.common import repost_post
from aggregator.types import Platform, RelationKind
from tests.factories import EVENT_START, make_post


def test_a_repost_carries_the_originals_content_warning_and_either_sensitive_flag() -> None:
    original = replace(make_post(1), sensitive=False, spoiler_text="self-harm mention")
    reposter = make_post(2, author="bob").author
    wrapped = repost_post(original, platform=Platform.MASTODON, external_id="boost-1", url="https://m.test/b/1",
                          author=reposter, created_at=EVENT_START, sensitive=True)
    assert wrapped.sensitive and wrapped.spoiler_text == "self-harm mention"
    assert wrapped.repost_of == original and wrapped.author == reposter and wrapped.external_id == "boost-1"
    assert [(r.kind, r.external_id) for r in wrapped.relations] == [(RelationKind.REPOST, original.external_id)]
    assert (wrapped.text, wrapped.html, wrapped.media, wrapped.hashtags) == (
        original.text, original.html, original.media, original.hashtags)


def test_a_sensitive_original_stays_sensitive_when_reposted() -> None:
    original = replace(make_post(1, Platform.X), sensitive=True)
    wrapped = repost_post(original, platform=Platform.X, external_id="2", url="https://x.test/2",
                          author=original.author, created_at=EVENT_START)
    assert wrapped.sensitive and wrapped.spoiler_text == ""
