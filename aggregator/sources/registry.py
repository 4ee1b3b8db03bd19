"""Which collector serves which source kind."""

from __future__ import annotations

from aggregator.sources.base import Collector, SourceContext, SourceError
from aggregator.sources.http import HttpLimits


def make_collector(ctx: SourceContext, *, limits: HttpLimits | None = None) -> Collector:
    """The collector for `ctx.settings.kind`, built but not yet connected.

    Raises AuthError when required credentials are missing and SourceError for
    an unusable configuration. Modules are imported on use, so a deployment
    without X never imports tweepy.
    """
    kind = ctx.settings.kind
    if kind == "x":
        from aggregator.sources.x import XCollector

        return XCollector(ctx, limits=limits)
    if kind == "mastodon":
        from aggregator.sources.mastodon import MastodonCollector

        return MastodonCollector(ctx, limits=limits)
    if kind == "bluesky":
        from aggregator.sources.bluesky import BlueskyCollector

        return BlueskyCollector(ctx, limits=limits)
    if kind in ("flickr", "youtube", "feed"):
        from aggregator.sources.feed import FeedCollector

        return FeedCollector(ctx, limits=limits)
    raise SourceError(f"unknown source kind {kind!r}")
