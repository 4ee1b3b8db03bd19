"""Screenshots of the public surfaces, for people to look at (run through scripts/screenshots).

Without --base-url: seeds a throwaway SQLite database with a morning of posts
(photos made locally, so nothing is fetched), serves it on loopback and
photographs it. With --base-url URL --slug SLUG: photographs a running server
(the demo) instead; --story picks the story to show.

Writes PNGs into --out (default ./screenshots) and prints where they are.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
SLUG = "coproduction-2014"
START = datetime(2014, 4, 23, 8, 0, tzinfo=UTC)  # 09:00 in Edinburgh

TEXTS = [
    ("Packed hall for the opening of #coprodscot: 200 people who all believe services work better made together.",
     "x"),
    ("\"Co-production is not a project, it is a way of working.\" Great start from the chair. #coprodscot", "mastodon"),
    ("Graphic facilitators already filling the back wall with the morning's ideas #coprodscot", "bluesky"),
    ("Workshop 3: what does power-sharing look like in a care home? Honest conversations. #coproduction", "x"),
    ("Loving the open space format: the agenda is whatever the room cares about. https://example.org/open-space",
     "mastodon"),
    ("Our table: small grants, big trust. People closest to the problem know what to do. #coprodscot", "bluesky"),
    ("Lunch conversations are as good as the sessions. Met three people from Fife doing amazing peer support.",
     "x"),
    ("Slides from our workshop on asset-based approaches are up on the blog #coprodscot", "feed"),
    ("\u0645\u0631\u062d\u0628\u0627 \u0645\u0646 \u0627\u0644\u0645\u0624\u062a\u0645\u0631! Greetings from the "
     "Arabic-speaking carers' network #coprodscot", "mastodon"),
    ("Key message from the panel: evaluate *with* people, not *on* them. #coprodscot", "x"),
    ("The energy in this room! Photos from the morning on Flickr", "flickr"),
    ("Bringing it all together: five commitments from today, written by everyone in the room. #coprodscot",
     "bluesky"),
]
NAMES = [("Aileen Macdonald", "aileenmac"), ("Kwame Mensah", "kwame"), ("Sofia Rossi", "sofiarossi"),
         ("Co-production Network", "coprodnet"), ("Dr Hamish Grant", "hamishg"), ("Priya Patel", "priya_p"),
         ("Ewan Stewart", "ewanstewart"), ("Layla Haddad", "layla")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _image(path: Path, seed: int, size: tuple[int, int]) -> None:
    """A calm abstract picture (gradient and circles) so the screenshots need no network."""
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    w, h = size
    top = (rnd.randint(30, 120), rnd.randint(60, 140), rnd.randint(90, 200))
    bottom = (rnd.randint(150, 240), rnd.randint(90, 200), rnd.randint(60, 160))
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for y in range(h):
        t = y / h
        draw.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    for _ in range(6):
        r = rnd.randint(h // 10, h // 3)
        x, y = rnd.randint(0, w), rnd.randint(0, h)
        colour = (rnd.randint(180, 255), rnd.randint(180, 255), rnd.randint(180, 255))
        draw.ellipse([x - r, y - r, x + r, y + r], outline=colour, width=max(2, r // 8))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=85)


def seed(storage: Any, media_dir: Path, event_id: int) -> None:
    from aggregator.storage.moderation import Actor
    from aggregator.types import Author, Decision, IngestItem, Media, MediaKind, Platform, Post, PostKind, Status

    for i in range(len(NAMES)):
        _image(media_dir / "demo" / f"avatar{i}.jpg", 100 + i, (128, 128))
    items = []
    for n, (text, platform) in enumerate(TEXTS * 2):
        name, handle = NAMES[n % len(NAMES)]
        plat = Platform(platform)
        photos: tuple[Media, ...] = ()
        kind = PostKind.TEXT
        if n % 4 == 2 or platform == "flickr":
            _image(media_dir / "demo" / f"photo{n}.jpg", n, (800, 600))
            photos = (Media(MediaKind.PHOTO, f"/media/demo/photo{n}.jpg", f"/media/demo/photo{n}.jpg",
                            alt_text="Delegates around a table, sticky notes on the wall"),)
            kind = PostKind.PHOTO
        if n == 9:
            _image(media_dir / "demo" / "poster.jpg", 999, (800, 450))
            photos = (Media(MediaKind.VIDEO, "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "/media/demo/poster.jpg",
                            alt_text="Highlights", embed_url="https://www.youtube.com/embed/dQw4w9WgXcQ",
                            video_key="youtube:dQw4w9WgXcQ"),)
            kind = PostKind.VIDEO
        from aggregator.pipeline.sanitise import text_to_html

        body = text if n < len(TEXTS) else text.replace("#coprodscot", "#coproduction")
        items.append(IngestItem(Post(
            platform=plat, external_id=f"demo-{n}", url=f"https://{platform}.example/{handle}/{n}",
            author=Author(plat, f"{platform}:{handle}", handle, name, avatar_url=f"/media/demo/avatar{n % 8}.jpg"),
            created_at=START + timedelta(minutes=20 + n * 8), text=body,
            html=text_to_html(body, hashtag_url=lambda t: f"https://example.org/tags/{t}"), kind=kind, media=photos,
            hashtags=("coprodscot",), title="Morning at the conference" if platform == "flickr" else "",
        ), Decision(Status.APPROVED, "mode:post")))
    storage.ingest(event_id, None, items, None)
    page = storage.posts(event_id)
    ids = [p.id for p in page.posts]
    actor = Actor(None, "screenshots")
    storage.moderate_posts(event_id, [ids[3]], "pin", actor)
    storage.moderate_posts(event_id, [ids[1], ids[6]], "feature", actor)
    storage.create_announcement(event_id, "Lunch is served in the Playfair Library: workshops resume at 13:30",
                                START, None, actor)
    story = storage.create_story(event_id, "The day in stories", None,
                                 "What 200 people made of co-production in one day.", seed=True)
    sections = [b.id for b in story.blocks]
    storage.add_story_block(story.id, "text", body="The day opened with a **full hall** and a simple idea: "
                            "services work better when they are *made with* the people who use them.",
                            section_id=sections[0])
    storage.add_story_block(story.id, "post", post_id=ids[-1], section_id=sections[0])
    storage.add_story_block(story.id, "text", body="In the afternoon the open space took over.",
                            section_id=sections[1])
    storage.add_story_block(story.id, "post", post_id=ids[-5], section_id=sections[1])
    storage.add_story_block(story.id, "video", media_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                            body="Highlights", section_id=sections[3])
    storage.update_story(story.id, status="published")


def serve_seeded(tmp: Path) -> tuple[str, Any]:
    import uvicorn

    from aggregator.clock import FakeClock
    from aggregator.config import LoadedConfig, Settings
    from aggregator.storage import Storage
    from aggregator.storage.migrate import upgrade
    from aggregator.web.app import create_app

    media = tmp / "media"
    settings = Settings.model_validate({
        "server": {"media_dir": str(media), "public_url": "http://127.0.0.1:8000"},
        "events": [{
            "slug": SLUG, "title": "3rd National Co-production Conference", "timezone": "Europe/London",
            "start": datetime(2014, 4, 23, 9, 0), "end": datetime(2014, 4, 23, 16, 30),
            "venue": "Pollock Halls, Edinburgh", "hashtags": ["coprodscot", "coproduction"],
            "url": "https://example.org/coproduction-2014",
            "programme": [
                {"title": "Registration and coffee", "start": datetime(2014, 4, 23, 9, 0),
                 "end": datetime(2014, 4, 23, 9, 45), "kind": "break", "room": "Foyer"},
                {"title": "Welcome and opening remarks", "start": datetime(2014, 4, 23, 9, 45),
                 "end": datetime(2014, 4, 23, 10, 45), "room": "Main hall"},
                {"title": "Morning workshops", "start": datetime(2014, 4, 23, 11, 0),
                 "end": datetime(2014, 4, 23, 12, 30), "kind": "workshop"},
                {"title": "Lunch", "start": datetime(2014, 4, 23, 12, 30), "end": datetime(2014, 4, 23, 13, 30),
                 "kind": "break"},
                {"title": "Afternoon workshops and open space", "start": datetime(2014, 4, 23, 13, 30),
                 "end": datetime(2014, 4, 23, 15, 15), "kind": "open_space"},
                {"title": "Bringing it all together", "start": datetime(2014, 4, 23, 15, 15),
                 "end": datetime(2014, 4, 23, 16, 30), "room": "Main hall"},
            ],
            "wall": {"max_cards": 40},
            "walls": [{"name": "stage", "title": "Spotlight", "mode": "spotlight", "dwell_seconds": 5},
                      {"name": "slideshow", "title": "Slideshow", "mode": "slideshow", "dwell_seconds": 5,
                       "footer": True},
                      {"name": "photos", "title": "Photos", "mode": "photos"}],
        }],
    })
    db_url = f"sqlite:///{tmp / 'screens.db'}"
    clock = FakeClock(START + timedelta(hours=3, minutes=50))
    storage = Storage(db_url, clock=clock)
    upgrade(storage.engine)
    ids = storage.sync_config(settings)
    seed(storage, media, ids[SLUG])
    app = create_app(LoadedConfig(tmp / "config.toml", settings, db_url, {}), storage, clock=clock)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def shoot(base: str, slug: str, story: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    hd = {"width": 1920, "height": 1080}
    # (file, path, viewport, full page, a selector to wait for: the modes rotate, so wait for a photo on stage)
    shots: list[tuple[str, str, dict[str, int], bool, str]] = [
        ("wall-1920x1080.png", f"/e/{slug}/wall", hd, False, ""),
        ("wall-phone-390x844.png", f"/e/{slug}/wall", {"width": 390, "height": 844}, False, ""),
        ("wall-portrait-1080x1920.png", f"/e/{slug}/wall", {"width": 1080, "height": 1920}, False, ""),
        ("wall-high-contrast-1920x1080.png", f"/e/{slug}/wall?high_contrast=1", hd, False, ""),
        ("wall-spotlight-1920x1080.png", f"/e/{slug}/wall/stage", hd, False, ".stage-post--media"),
        ("wall-slideshow-1920x1080.png", f"/e/{slug}/wall/slideshow", hd, False, ".stage-post--media"),
        ("wall-photos-1920x1080.png", f"/e/{slug}/wall/photos", hd, False, ""),
        ("timeline.png", f"/e/{slug}/timeline", {"width": 1280, "height": 900}, True, ""),
        ("story.png", f"/e/{slug}/stories/{story}", {"width": 1100, "height": 900}, True, ""),
    ]
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for name, path, viewport, full, wait_for in shots:
                page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
                page.goto(base + path, wait_until="load")
                if wait_for:
                    with contextlib.suppress(Exception):  # not every day has a photo to show: take what is there
                        page.wait_for_selector(wait_for, timeout=90_000)
                page.wait_for_timeout(900)  # past the arrival fade
                target = out / name
                page.screenshot(path=str(target), full_page=full)
                page.close()
                written.append(target)
        finally:
            browser.close()
    return written


def shoot_archive(base: str, slug: str, out: Path, credentials: str) -> list[Path]:
    """Sign in as an organiser, press "Export the day", open the downloaded archive from disk with the
    network blocked, and photograph it; also the report of the day."""
    import zipfile

    from playwright.sync_api import sync_playwright

    username, _, password = credentials.partition(":")
    written = []
    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="archive-") as tmp:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.goto(f"{base}/console/login", wait_until="load")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("load")
            page.goto(f"{base}/console/{slug}/export", wait_until="load")
            with page.expect_download(timeout=300_000) as info:
                page.click("a.button")
            bundle = Path(tmp) / "day.zip"
            info.value.save_as(str(bundle))
            with zipfile.ZipFile(bundle) as zf:
                zf.extractall(tmp)
            index = next(Path(tmp).glob("*/data/index.html"))
            shots = [("archive.png", index.as_uri(), {"width": 1280, "height": 1000}),
                     ("archive-phone-390x844.png", index.as_uri(), {"width": 390, "height": 844}),
                     ("archive-timeline.png", (index.parent / "timeline" / "1.html").as_uri(),
                      {"width": 1920, "height": 1080})]
            for name, url, viewport in shots:
                offline = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
                offline.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
                offline.goto(url, wait_until="load")
                offline.screenshot(path=str(out / name))
                offline.close()
                written.append(out / name)
            page.set_viewport_size({"width": 1100, "height": 1400})
            page.goto(f"{base}/e/{slug}/report", wait_until="load")
            page.screenshot(path=str(out / "report.png"))
            written.append(out / "report.png")
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="screenshots", help="folder for the PNGs (default ./screenshots)")
    parser.add_argument("--base-url", help="photograph this running server instead of a seeded one")
    parser.add_argument("--slug", default=SLUG, help=f"event slug (default {SLUG})")
    parser.add_argument("--story", default="the-day-in-stories", help="story slug to photograph")
    parser.add_argument("--organiser", metavar="USER:PASSWORD",
                        help="with --base-url: also export the day as this organiser and photograph the archive "
                        "and the report (the demo's is organiser:demo-organiser)")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    if args.base_url:
        written = shoot(args.base_url.rstrip("/"), args.slug, args.story, out)
        if args.organiser:
            written += shoot_archive(args.base_url.rstrip("/"), args.slug, out, args.organiser)
    else:
        with tempfile.TemporaryDirectory(prefix="screens-") as tmp:
            base, server = serve_seeded(Path(tmp))
            try:
                written = shoot(base, args.slug, args.story, out)
            finally:
                server.should_exit = True
    for path in written:
        print(path)
    print(f"{len(written)} screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
