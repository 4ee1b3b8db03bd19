"""A whole conference day on every platform: ~600 posts, modelled on a national co-production conference.

The posts are data: `aggregator/sandbox/data/scenarios/coproduction.json`
(once drawn by a seeded generator; see docs/sandbox.md for the format).
This module keeps what the demo and the tests know about that day.

Offset 0 is 09:00 Europe/London on 2014-04-23 (`EVENT_START`, 08:00 UTC), so the posts line up with config/demo.toml's
programme (`PROGRAMME`) when the sandbox is anchored there:

    Sandbox(coproduction_day(), start=EVENT_START)                 # live: offset 0 is 09:00
    Sandbox(coproduction_day(), fast=True, start=fast_anchor())    # fast: every post dated on the day

Everyone in it is fictional: the delegates, the speakers, the social
reporter and the organisations are invented (the real conference this
follows is only the shape of the day).

What moderation should do with it (demo.toml: mode "post", blocked_words
casino / "crypto giveaway", the shipped profanity list, hide_content_warnings
on by default) is in `expected_catch_reasons()`; the ids say it too:

    spam-*      blocked_word     rejected (casino, crypto giveaway)
    rude-*      profanity        queued (mild words from aggregator/data/profanity.txt)
    cw-*        content_warning  queued (Mastodon spoiler text)
    offtopic-*  offtopic         another event on #coproduction (a film co-production forum);
                                 no automatic rule can tell, a moderator hides them

Other features, by id (see FEATURES): a retweet storm at the keynote,
boosts and reposts, one person cross-posting the same text on X, Mastodon
and Bluesky, the same photo on Flickr and in a tweet, Mastodon posts seen
through both instances, replies and quotes, right-to-left text and emoji,
posts in Scottish Gaelic, Polish, Arabic and Urdu, a post deleted at its
source, an edited post, reporter videos, YouTube interviews and a graphic
facilitation timelapse, and a few blog entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aggregator.sandbox.scenario import InstanceSpec, Scenario, builtin_scenario

__all__ = [
    "CW_PREFIX",
    "EVENT_START",
    "FEATURES",
    "HASHTAGS",
    "INSTANCES",
    "OFFTOPIC_PREFIX",
    "ORGANISERS_HANDLE",
    "PLAYLIST_ID",
    "PROGRAMME",
    "RUDE_PREFIX",
    "SPAM_PREFIX",
    "YOUTUBE_CHANNEL",
    "Session",
    "coproduction_day",
    "expected_catch_reasons",
    "expected_caught",
    "fast_anchor",
    "session_at",
]

EVENT_START = datetime(2014, 4, 23, 8, 0, tzinfo=UTC)  # 09:00 in Edinburgh (BST)
HASHTAGS = ("coprodscot", "coproduction")
YOUTUBE_CHANNEL = "UCsandboxCoproduction0001"  # the organisers' channel (demo.toml's channel_id)
PLAYLIST_ID = "PLsandboxCoproductionDay2014"
ORGANISERS_HANDLE = "organisers"  # X / Bluesky organisers.bsky.social / Mastodon organisers@a.sandbox.test
INSTANCES = (InstanceSpec("a", domain="a.sandbox.test"), InstanceSpec("b", domain="b.sandbox.test"))

SPAM_PREFIX = "spam-"
RUDE_PREFIX = "rude-"
CW_PREFIX = "cw-"
OFFTOPIC_PREFIX = "offtopic-"


@dataclass(frozen=True, slots=True)
class Session:
    key: str
    title: str  # as in config/demo.toml
    start: float  # offset from 09:00, seconds
    end: float
    kind: str
    room: str = ""


PROGRAMME: tuple[Session, ...] = (
    Session("registration", "Registration and coffee", 0, 2700, "break", "Foyer"),
    Session("welcome", "Welcome and opening remarks", 2700, 6300, "talk", "Main hall"),
    Session("morning", "Morning workshops", 7200, 12600, "workshop"),
    Session("lunch", "Lunch", 12600, 16200, "break"),
    Session("afternoon", "Afternoon workshops and open space", 16200, 22500, "open_space"),
    Session("together", "Bringing it all together", 22500, 27000, "talk", "Main hall"),
)

def session_at(offset: float) -> Session | None:
    """The programme session running `offset` seconds after 09:00 (None in breaks between them)."""
    for s in PROGRAMME:
        if s.start <= offset < s.end:
            return s
    return None


def fast_anchor() -> datetime:
    """The `start` that dates a fast-mode sandbox's posts on the day (its newest post is at the anchor)."""
    return EVENT_START + timedelta(seconds=max(p.at for p in coproduction_day().posts))


# Ids of the special posts, for tests and the demo ("the same photo on Flickr and in a tweet" ...).
FEATURES: dict[str, tuple[str, ...]] = {
    "retweet_storm_original": ("storm-original",),
    "crosspost": ("xpost-x", "xpost-mastodon", "xpost-bluesky"),
    "crosspost_close": ("xpost-close-x", "xpost-close-mastodon", "xpost-close-bluesky"),
    "same_photo_flickr_and_tweet": ("photo-labels-x", "photo-labels-flickr"),
    "same_photo_reporter": ("bea-mastodon-01", "flickr-bea-01"),
    "deleted": ("deleted-wrong-room", "deleted-phone-number"),
    "edited": ("edited-quote",),
    "content_warning": ("cw-recovery", "cw-lunch"),
    "rtl": ("rtl-arabic", "rtl-urdu", "rtl-arabic-reply"),
    "gaelic": ("gd-1", "gd-2", "gd-3"),
    "polish": ("pl-1", "pl-2"),
    "emoji": ("emoji-1", "emoji-2"),
    "youtube_timelapse": ("yt-timelapse",),
    "blog": ("blog-live", "blog-labels", "blog-workshops", "blog-together", "blog-videos"),
}


# ---------------------------------------------------------------- public API


def coproduction_day() -> Scenario:
    """The conference day, read from aggregator/sandbox/data/scenarios/coproduction.json."""
    return builtin_scenario("coproduction")


def expected_catch_reasons() -> dict[str, str]:
    """Scenario post id -> what moderation (demo.toml's policy) should do with it, by rule name.

    "blocked_word" (rejected), "profanity" and "content_warning" (queued) are
    the automatic rules of aggregator.pipeline.moderate; "offtopic" is another
    event's post on the hashtag, which only a moderator can recognise.
    """
    out: dict[str, str] = {}
    for p in coproduction_day().posts:
        if p.id.startswith(SPAM_PREFIX):
            out[p.id] = "blocked_word"
        elif p.id.startswith(RUDE_PREFIX):
            out[p.id] = "profanity"
        elif p.id.startswith(CW_PREFIX):
            out[p.id] = "content_warning"
        elif p.id.startswith(OFFTOPIC_PREFIX):
            out[p.id] = "offtopic"
    return out


def expected_caught() -> set[str]:
    """Every scenario post id that moderation (automatic rules or a moderator) should keep off the wall."""
    return set(expected_catch_reasons())
