"""The timeline over HTTP: sessions as headings, filters, search, keyset paging that holds still, galleries, chart."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.types import Platform
from tests.factories import approved, make_post
from tests.web.conftest import ConsoleEnv
from tests.web.public_env import SLUG, parse, public_env


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(db_url, tmp_path) as e:
        e.clock.advance(24 * 3600)  # the day after: the archive opens at the start of the day
        yield e


def post_numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"Post number (\d+) ", html)]


def link(html: str, attr: str) -> str | None:
    for tag, attrs in parse(html).tags:
        if tag == "a" and (attr, None) in attrs:
            return dict(attrs)["href"]
    return None


def test_the_day_in_order_under_programme_headings(env: ConsoleEnv) -> None:
    # Posts at 09:00, 10:00 (Welcome 09:45-10:45 local), 10:50 (between), 11:30 (Workshops) local time.
    env.storage.ingest(env.event_id, None, [approved(make_post(n, minutes=m))
                                            for n, m in ((1, 0), (2, 60), (3, 110), (4, 150))], None)
    html = env.client().get(f"/e/{SLUG}/timeline").text
    assert post_numbers(html) == [1, 2, 3, 4]
    headings = re.findall(r'<h2 class="timeline__heading">(.*?)</h2>', html)
    assert [re.sub(r"<[^>]+>", "", h) for h in headings] == [
        "Before the programme", "09:45-10:45 Welcome", "Between sessions", "11:00-12:30 Workshops"]
    # The chart: one bar per hour of the event day, the programme under it.
    assert 'class="chart__svg"' in html and "<title>09:45-10:45 Welcome</title>" in html


def test_paging_both_ways_holds_still_while_posts_arrive(env: ConsoleEnv) -> None:
    env.storage.ingest(env.event_id, None, [approved(make_post(i)) for i in range(100)], None)
    client = env.client()
    first = client.get(f"/e/{SLUG}/timeline").text
    assert post_numbers(first) == list(range(40))
    assert link(first, "data-earlier") is None
    later = link(first, "data-later")
    assert later is not None
    second = client.get(later).text
    assert post_numbers(second) == list(range(40, 80))
    # New posts arrive, at the newest end and inside the page's span: the page does not shift.
    env.storage.ingest(env.event_id, None, [approved(make_post(i)) for i in range(200, 210)], None)
    assert post_numbers(client.get(later).text)[:40] == list(range(40, 80))
    earlier = link(second, "data-earlier")
    assert earlier is not None
    assert post_numbers(client.get(earlier).text) == list(range(40))
    latest = client.get(f"/e/{SLUG}/timeline?latest=1").text
    assert post_numbers(latest)[-1] == 209 and link(latest, "data-later") is None


def test_filters_and_search(env: ConsoleEnv) -> None:
    env.storage.ingest(env.event_id, None, [
        approved(make_post(1, text="Post number 1 about workshops ")),
        approved(make_post(2, Platform.X, photos=1, author="bob")),
        approved(make_post(3, Platform.BLUESKY, text="Post number 3 on power ")),
    ], None)
    client = env.client()
    assert post_numbers(client.get(f"/e/{SLUG}/timeline?kind=photos").text) == [2]
    assert post_numbers(client.get(f"/e/{SLUG}/timeline?kind=posts").text) == [1, 3]
    assert post_numbers(client.get(f"/e/{SLUG}/timeline?platform=bluesky").text) == [3]
    bob = next(a for a in env.storage.author_facets(env.event_id) if a.handle == "bob")
    assert post_numbers(client.get(f"/e/{SLUG}/timeline?author={bob.id}").text) == [2]
    assert post_numbers(client.get(f"/e/{SLUG}/timeline?q=workshops").text) == [1]
    none = client.get(f"/e/{SLUG}/timeline?q=nothing+here").text
    assert post_numbers(none) == [] and "No posts match" in none
    # Nonsense filters are ignored, not errors.
    assert client.get(f"/e/{SLUG}/timeline?kind=evil&platform=zz&author=x&before=garbage").status_code == 200


def test_permalink_and_galleries(env: ConsoleEnv) -> None:
    env.storage.ingest(env.event_id, None, [approved(make_post(1, photos=2)), approved(make_post(2))], None)
    client = env.client()
    photos = client.get(f"/e/{SLUG}/photos").text
    assert photos.count('class="gallery__item"') == 2 and 'referrerpolicy="no-referrer"' in photos
    assert "No videos yet" in client.get(f"/e/{SLUG}/videos").text
    post = env.storage.posts(env.event_id).posts[-1]
    page = client.get(f"/e/{SLUG}/p/{post.id}")
    assert page.status_code == 200 and "Post number 1" in page.text
    assert client.get(f"/e/{SLUG}/p/999999").status_code == 404


def test_posts_from_other_days_show_their_date(env: ConsoleEnv) -> None:
    # The event is on 23 April 2014 (Europe/London); one post was made the evening before.
    env.storage.ingest(env.event_id, None, [
        approved(make_post(1, minutes=-13 * 60)),  # 22 Apr, 20:00 BST
        approved(make_post(2, minutes=30)),
    ], None)
    client = env.client()
    timeline = client.get(f"/e/{SLUG}/timeline").text
    times = re.findall(r'class="card__time"[^>]*><time[^>]*>([^<]+)</time>', timeline)
    assert sorted(times) == ["09:30", "22 Apr 2014, 20:00"]
    before = next(p for p in env.storage.posts(env.event_id).posts if p.text.startswith("Post number 1 "))
    permalink = client.get(f"/e/{SLUG}/p/{before.id}").text
    assert "22 Apr 2014, 20:00</time>" in permalink
    photos = [approved(make_post(3, minutes=-13 * 60, photos=1))]
    env.storage.ingest(env.event_id, None, photos, None)
    assert "· 22 Apr 2014, 20:00</p>" in client.get(f"/e/{SLUG}/photos").text


def test_share_counts_are_pluralised(env: ConsoleEnv) -> None:
    from aggregator.types import Decision, IngestItem, Status

    one, three = make_post(1), make_post(2)
    boosts = [
        IngestItem(make_post(100 + i, author=f"fan{i}", text=f"RT {i}"), Decision(Status.APPROVED, "mode:post"),
                   duplicate_of=(one if i == 0 else three).key, is_repost=True)
        for i in range(4)
    ]
    env.storage.ingest(env.event_id, None, [approved(one), approved(three), *boosts], None)
    timeline = env.client().get(f"/e/{SLUG}/timeline").text
    counts = sorted(re.findall(r'class="card__reposts"[^>]*>([^<]+)<', timeline))
    assert counts == ["1 share", "3 shares"]


def test_sensitive_video_posters_are_blurred_like_photos(env: ConsoleEnv) -> None:
    import dataclasses

    from aggregator.types import Media, MediaKind, PostKind

    video = Media(MediaKind.VIDEO, "https://x.com/carol/status/1", thumbnail_url="https://img.test/poster.jpg")
    post = dataclasses.replace(make_post(1), media=(video,), kind=PostKind.VIDEO, sensitive=True)
    env.storage.ingest(env.event_id, None, [approved(post)], None)
    html = env.client().get(f"/e/{SLUG}/timeline").text
    poster = re.search(r'<a class="card__video"[^>]*>\s*<img [^>]*>', html)
    assert poster is not None and 'class="is-sensitive"' in poster.group(0)
