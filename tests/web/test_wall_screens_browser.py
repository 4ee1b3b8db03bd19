"""The venue wall on real screen sizes (issue 13), in Debian's Chromium:

1. the first screen holds the newest cards in reading order, each whole inside the viewport;
2. approvals, reporters' posts and new pins are on screen within a second, 20 times in a row;
3. type and QR code sizes at 1920x1080, scaling with the screen;
4. announcements show at once and leave on time whatever the screen's clock says;
5. modes and named walls: spotlight never repeats its post, slideshow advances after its dwell
   time, photos shows media posts only, walls with different filters show different posts, and
   an option change reloads only that wall's screens.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from aggregator.config import Settings
from aggregator.storage import Storage
from aggregator.storage.moderation import Actor
from aggregator.types import Media, MediaKind, Platform, PostKind
from tests.factories import approved, make_post, make_settings, pending
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.browser
SLUG = "coproduction-2014"
ACTOR = Actor(None, "test-moderator")
SCREENS = [(1280, 720), (1920, 1080), (3840, 2160), (1080, 1920)]
LONG = ("Workshop notes: " + "co-production means sharing power, listening first and deciding together; " * 8
        + "https://www.example.org/a/very/long/path/to/the/slides/of/the/workshop?session=3&format=pdf #coprodscot")
VIDEO = Media(MediaKind.VIDEO, "https://files.mastodon.test/v/1.mp4", "https://files.mastodon.test/v/1.jpg")


@pytest.fixture
def live_settings() -> Settings:
    return make_settings(walls=[
        {"name": "stage", "title": "Stage", "mode": "spotlight", "dwell_seconds": 3},
        {"name": "show", "title": "Slideshow", "mode": "slideshow", "dwell_seconds": 3},
        {"name": "pics", "title": "Photos", "mode": "photos"},
        {"name": "x-only", "title": "X", "platforms": ["x"]},
        {"name": "slides", "mode": "slideshow", "dwell_seconds": 3, "slide_every": 1,
         "slides": [{"image": "/media/sponsor.jpg", "text": "Thanks to our sponsor"}]},
    ])


def seed_day(storage: Storage, event_id: int, n: int = 30) -> list[int]:
    """A morning of posts of every shape (short, long, photos, a video, several platforms); their ids, newest first."""
    platforms = [Platform.MASTODON, Platform.X, Platform.BLUESKY, Platform.FLICKR]
    items = []
    for i in range(n):
        platform = platforms[i % len(platforms)]
        text = LONG if i % 5 == 2 else None
        photos = 1 if i % 3 == 0 else (3 if i % 7 == 0 else 0)
        post = make_post(i, platform, text=text, photos=photos, author=f"person{i % 6}")
        if i % 11 == 5:
            post = replace(post, media=(VIDEO,), kind=PostKind.VIDEO)
        items.append(approved(post))
    storage.ingest(event_id, None, items, None)
    return [storage.post_by_key(event_id, make_post(i, platforms[i % len(platforms)]).key).id  # type: ignore[union-attr]
            for i in reversed(range(n))]


def open_wall(page: Any, base: str, path: str = f"/e/{SLUG}/wall") -> None:
    page.goto(f"{base}{path}")
    page.wait_for_selector("[data-wall][data-connected]", timeout=5000)


ON_SCREEN = """() => {
  const vw = innerWidth, vh = innerHeight;
  return [...document.querySelectorAll('[data-pool] > article')].filter(a => a.offsetParent !== null).map(a => {
    const r = a.getBoundingClientRect();
    const kids = [...a.children].filter(c => c.offsetParent !== null).map(c => c.getBoundingClientRect());
    const spill = kids.some(k => k.top < r.top - 1 || k.bottom > r.bottom + 1
                                 || k.left < r.left - 1 || k.right > r.right + 1);
    const text = a.querySelector(':scope > .card__text');
    const hidden = text && text.scrollHeight > text.clientHeight + 2;
    return {id: Number(a.dataset.postId), top: r.top, left: r.left, bottom: r.bottom, right: r.right,
            inside: r.top >= 0 && r.left >= 0 && r.bottom <= vh + 0.5 && r.right <= vw + 0.5,
            spill, unmarked: Boolean(hidden) && !a.classList.contains('is-clamped')};
  });
}"""


def reading_order(cards: list[dict[str, Any]]) -> list[int]:
    rows: list[list[dict[str, Any]]] = []
    for c in sorted(cards, key=lambda c: (c["top"], c["left"])):
        if rows and abs(rows[-1][0]["top"] - c["top"]) < 20:  # an arriving card is a little scaled down
            rows[-1].append(c)
        else:
            rows.append([c])
    return [c["id"] for row in rows for c in sorted(row, key=lambda c: c["left"])]


# ---- 1. the newest, whole, in reading order ----------------------------------------------------------------


def test_first_screen_holds_the_newest_whole_cards_at_every_screen_size(
        live_server: LiveServer, browser_page: Any) -> None:
    newest = seed_day(live_server.storage, live_server.event_id)
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(page, live_server)
    for width, height in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(400)  # the wall lays itself out again after a resize
        cards = page.evaluate(ON_SCREEN)
        order = reading_order(cards)
        assert order == newest[: len(order)], f"{width}x{height}: not the newest in reading order"
        assert len(order) >= (6 if (width, height) == (1920, 1080) else 4), f"{width}x{height}: {len(order)} cards"
        assert all(c["inside"] for c in cards), f"{width}x{height}: a card crosses the screen edge"
        assert not any(c["spill"] for c in cards), f"{width}x{height}: content overflows a card"
        assert not any(c["unmarked"] for c in cards), f"{width}x{height}: text cut without 'more on the timeline'"
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(400)
    clamped = page.locator("[data-pool] > article.is-clamped:not(.is-off) .card__more").first
    assert clamped.is_visible() and clamped.inner_text() == "more on the timeline"
    # Links read as a short domain and path, never a raw URL.
    assert "https://www.example.org" not in page.inner_text("[data-pool]")


# ---- 2. on screen within a second, 20 times in a row -------------------------------------------------------

IN_VIEW = """id => {
  const a = document.querySelector(`[data-pool] > article[data-post-id="${id}"]`);
  if (!a || a.offsetParent === null) return false;
  const r = a.getBoundingClientRect();
  return r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5;
}"""


def _wait_in_view(page: Any, post_id: int) -> float:
    started = time.monotonic()
    page.wait_for_function(IN_VIEW, arg=post_id, timeout=1000)
    return time.monotonic() - started


def test_approvals_reporters_posts_and_pins_are_on_screen_within_a_second(
        live_server: LiveServer, browser_page: Any) -> None:
    storage, event_id = live_server.storage, live_server.event_id
    seed_day(storage, event_id, 12)
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(page, live_server)
    for i in range(20):  # a moderator approves
        post = make_post(100 + i, text=f"Approved number {i} #coprodscot", minutes=100 + i)
        storage.ingest(event_id, None, [pending(post)], None)
        pid = storage.post_by_key(event_id, post.key).id  # type: ignore[union-attr]
        started = time.monotonic()
        storage.moderate_posts(event_id, [pid], "approve", ACTOR)
        page.wait_for_function(IN_VIEW, arg=pid, timeout=1000)
        assert time.monotonic() - started < 1.0
    for i in range(20):  # a reporter posts (approved as it is stored)
        post = make_post(200 + i, Platform.REPORTER, text=f"Reporter photo {i}", photos=1, minutes=200 + i)
        started = time.monotonic()
        storage.ingest(event_id, None, [approved(post)], None)
        pid = storage.post_by_key(event_id, post.key).id  # type: ignore[union-attr]
        page.wait_for_function(IN_VIEW, arg=pid, timeout=1000)
        assert time.monotonic() - started < 1.0
    old = [storage.post_by_key(event_id, make_post(i, p).key) for i, p in
           zip(range(12), [Platform.MASTODON, Platform.X, Platform.BLUESKY, Platform.FLICKR] * 3, strict=True)]
    for i in range(20):  # an older post, off screen, is pinned (pins take turns in their slot)
        target = old[i % len(old)]
        assert target is not None
        if i >= len(old):
            storage.moderate_posts(event_id, [target.id], "unpin", ACTOR)
        started = time.monotonic()
        storage.moderate_posts(event_id, [target.id], "pin", ACTOR)
        page.wait_for_function(IN_VIEW, arg=target.id, timeout=1000)
        assert time.monotonic() - started < 1.0
    # Pins never push the newest off the screen: the newest post is still in the first slot.
    cards = page.evaluate(ON_SCREEN)
    newest = storage.post_by_key(event_id, make_post(219, Platform.REPORTER).key)
    assert newest is not None and reading_order(cards)[0] == newest.id


# ---- 3. legible from the back of the hall --------------------------------------------------------------------

SIZES = """() => {
  const card = document.querySelector('[data-pool] > article:not(.is-off)');
  const px = sel => parseFloat(getComputedStyle(card.querySelector(sel)).fontSize);
  return {text: px('.card__text'), name: px('.card__name'), time: px('.card__time'), network: px('.card__platform'),
          qr: document.querySelector('.cta__qr svg').getBoundingClientRect().width};
}"""


def test_type_and_qr_code_sizes_scale_with_the_screen(live_server: LiveServer, browser_page: Any) -> None:
    seed_day(live_server.storage, live_server.event_id, 8)
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(page, live_server)
    hd = page.evaluate(SIZES)
    assert hd["text"] >= 32 and hd["name"] >= 26 and hd["time"] >= 20 and hd["network"] >= 20, hd
    assert hd["qr"] >= 260, hd
    for (width, height), factor in (((1280, 720), 2 / 3), ((3840, 2160), 2)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        sizes = page.evaluate(SIZES)
        for key, value in hd.items():
            assert sizes[key] == pytest.approx(value * factor, rel=0.05), (width, key, sizes)


# ---- 4. announcements, whatever the screen's clock says -----------------------------------------------------

SKEWED_CLOCK = """(() => {
  const skew = %d;
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + skew;
})();"""


@pytest.mark.parametrize("skew_ms", [120_000, -120_000])
def test_an_announcement_shows_at_once_and_leaves_on_time_with_a_skewed_clock(
        live_server: LiveServer, browser_page: Any, skew_ms: int) -> None:
    storage, event_id = live_server.storage, live_server.event_id
    page = browser_page
    page.add_init_script(SKEWED_CLOCK % skew_ms)
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(page, live_server)
    assert page.evaluate("Date.now() - performance.timeOrigin - performance.now()") == pytest.approx(skew_ms, abs=2000)
    now = live_server.clock()
    started = time.monotonic()
    storage.create_announcement(event_id, "Lunch is served in the hall", now, now + timedelta(seconds=3), ACTOR)
    page.wait_for_selector("[data-announcements] li:has-text('Lunch is served')", state="visible", timeout=1000)
    assert time.monotonic() - started < 1.0
    # It ends 3 s after it started: gone within a second of that.
    page.wait_for_selector("[data-announcements] li:has-text('Lunch is served')", state="hidden", timeout=4000)
    assert 2.5 < time.monotonic() - started < 4.0
    # One that starts in 2 s waits for its time, then shows.
    storage.create_announcement(event_id, "Workshops start soon", now + timedelta(seconds=2), None, ACTOR)
    page.wait_for_selector("[data-announcements] li:has-text('Workshops start soon')", state="attached", timeout=1000)
    assert not page.locator("[data-announcements] li:has-text('Workshops start soon')").is_visible()
    page.wait_for_selector("[data-announcements] li:has-text('Workshops start soon')", state="visible", timeout=3000)


# ---- 5. modes and named walls ----------------------------------------------------------------------------------

STAGE = "() => { const s = document.querySelector('[data-stage] [data-stage-post], [data-stage] [data-stage-slide]');" \
        " return s ? (s.dataset.stagePost || s.dataset.stageSlide) : null; }"


def _strip(page: Any) -> list[int]:
    return [c["id"] for c in page.evaluate(ON_SCREEN)]


def test_spotlight_rotates_without_repeating_its_post(live_server: LiveServer, browser_page: Any) -> None:
    seed_day(live_server.storage, live_server.event_id, 10)
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(page, live_server, f"/e/{SLUG}/wall/stage")
    seen = []
    for _ in range(3):
        on_stage = page.evaluate(STAGE)
        assert on_stage is not None
        strip = _strip(page)
        assert strip and int(on_stage) not in strip  # the spotlighted post is not repeated beside it
        assert page.locator(f'article[data-post-id="{on_stage}"]:visible').count() == 0
        seen.append(on_stage)
        page.wait_for_function(f"() => ({STAGE})() !== {on_stage!r}", timeout=4500)
    assert len(set(seen)) == 3


def test_slideshow_advances_after_its_dwell_time_and_interleaves_slides(
        live_server: LiveServer, browser_page: Any) -> None:
    seed_day(live_server.storage, live_server.event_id, 6)
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(page, live_server, f"/e/{SLUG}/wall/show")
    first = page.evaluate(STAGE)
    assert first is not None and _strip(page) == []  # one post at a time
    page.wait_for_function(f"() => ({STAGE})() !== {first!r}", timeout=5000)
    second, changed = page.evaluate(STAGE), time.monotonic()
    page.wait_for_function(f"() => ({STAGE})() !== {second!r}", timeout=5000)
    assert 2.5 < time.monotonic() - changed < 5.0  # dwell_seconds = 3 (timers run late on a busy machine)
    box = page.locator("[data-stage] > *").bounding_box()
    assert box is not None and box["width"] > 1200 and box["height"] > 600  # full screen
    # A wall with organiser slides: one after every post.
    open_wall(page, live_server, f"/e/{SLUG}/wall/slides")
    page.wait_for_selector("[data-stage] [data-stage-slide]", timeout=7000)
    assert "Thanks to our sponsor" in page.inner_text("[data-stage]")


def test_photos_mode_and_filtered_walls_show_their_own_posts(live_server: LiveServer, browser_page: Any) -> None:
    storage, event_id = live_server.storage, live_server.event_id
    seed_day(storage, event_id, 16)
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(page, live_server, f"/e/{SLUG}/wall/pics")
    pics = _strip(page)
    assert pics and page.locator("[data-pool] > article:visible:not(.has-media)").count() == 0
    open_wall(page, live_server, f"/e/{SLUG}/wall/x-only")
    xs = _strip(page)
    assert xs and set(xs) != set(pics)
    platforms = page.eval_on_selector_all("[data-pool] > article:visible", "els => els.map(e => e.className)")
    assert all("platform-x" in c for c in platforms)
    # Live: a new Mastodon post reaches the main wall but not the X wall; an X post reaches both.
    storage.ingest(event_id, None, [approved(make_post(300, Platform.MASTODON, minutes=300))], None)
    storage.ingest(event_id, None, [approved(make_post(301, Platform.X, minutes=301))], None)
    x_post = storage.post_by_key(event_id, make_post(301, Platform.X).key)
    m_post = storage.post_by_key(event_id, make_post(300, Platform.MASTODON).key)
    assert x_post is not None and m_post is not None
    page.wait_for_function(IN_VIEW, arg=x_post.id, timeout=1000)
    assert page.locator(f'article[data-post-id="{m_post.id}"]').count() == 0


def test_changing_one_walls_options_reloads_only_its_screens(
        live_server: LiveServer, browser_page: Any, _browser: Any) -> None:
    storage, event_id = live_server.storage, live_server.event_id
    seed_day(storage, event_id, 6)
    other_context = _browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        stage, main = browser_page, other_context.new_page()
        open_wall(stage, live_server, f"/e/{SLUG}/wall/stage")
        open_wall(main, live_server)
        for page in (stage, main):
            page.evaluate("window.__notReloaded = true")
        storage.set_wall_options(event_id, {"theme": "light"}, ACTOR, "stage")
        stage.wait_for_function("() => !window.__notReloaded && document.documentElement.classList.contains("
                                "'theme-light')", timeout=3000)
        stage.wait_for_selector("[data-wall][data-connected]", timeout=5000)
        main.wait_for_timeout(1000)
        assert main.evaluate("window.__notReloaded === true")
        assert "theme-light" not in str(main.get_attribute("html", "class"))
        main.reload()
        assert "theme-light" not in str(main.get_attribute("html", "class"))  # the main wall's options are untouched
    finally:
        other_context.close()


# ---- on a phone -------------------------------------------------------------------------------------------------


def test_on_a_phone_the_wall_is_a_newest_first_feed_with_the_navigation_and_the_qr_code_after(
        live_server: LiveServer, browser_page: Any) -> None:
    newest = seed_day(live_server.storage, live_server.event_id, 8)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    open_wall(page, live_server, f"/e/{SLUG}/wall/stage")  # whatever the wall's mode
    assert page.locator(".wall-nav a:has-text('Timeline')").is_visible()
    cards = page.evaluate(ON_SCREEN)
    assert [c["id"] for c in sorted(cards, key=lambda c: c["top"])] == newest
    assert all(c["right"] <= 390 and not c["spill"] for c in cards)
    qr_top = page.locator("[data-cta]").bounding_box()["y"]  # type: ignore[index]
    assert qr_top > max(c["bottom"] for c in cards)
    text = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.card__text')).fontSize)")
    assert text >= 16


@pytest.mark.parametrize("reduce", [False, True])
def test_a_new_card_fades_in_calmly_and_not_at_all_under_reduced_motion(
        live_server: LiveServer, browser_page: Any, reduce: bool) -> None:
    storage, event_id = live_server.storage, live_server.event_id
    seed_day(storage, event_id, 6)
    page = browser_page
    page.emulate_media(reduced_motion="reduce" if reduce else "no-preference")
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(page, live_server)
    post = make_post(500, text="Fresh from the hall", minutes=500)
    storage.ingest(event_id, None, [approved(post)], None)
    pid = storage.post_by_key(event_id, post.key).id  # type: ignore[union-attr]
    page.wait_for_function(IN_VIEW, arg=pid, timeout=1000)
    animation = page.evaluate(
        "id => getComputedStyle(document.querySelector(`article[data-post-id='${id}']`)).animationName", pid)
    assert animation == ("none" if reduce else "card-in")
    assert reading_order(page.evaluate(ON_SCREEN))[0] == pid
