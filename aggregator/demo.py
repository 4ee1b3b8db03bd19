"""`aggregator demo`: a replayed conference day, end to end, with no account anywhere.

It starts the sandbox with the co-production conference scenario, then the real
collectors, scheduler, moderation and web app against it, on SQLite.

Time: the sandbox releases a post at offset `at` (seconds into the day) at
anchor + at/speed and dates it then; with --fast everything is released at
once and back-dated so the day ends now. The event's programme is mapped with
the same function, so posts fall under the right sessions on the timeline and
the wall shows the session that is on. The anchor is kept in
data/demo-state.json: running the demo again resumes the same day; --reset
starts over.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aggregator.cli_common import open_storage
from aggregator.config import EventSettings, LoadedConfig, load_config
from aggregator.paths import config_dir
from aggregator.storage import PostQuery, Storage
from aggregator.types import PostKind, Status

log = logging.getLogger("aggregator.demo")

SANDBOX_PORT = 8765
# The sandbox's own credentials (it accepts these and nothing else).
SANDBOX_ENV = {
    "SANDBOX_X_TOKEN": "sandbox-x-bearer-token",
    "SANDBOX_BLUESKY_HANDLE": "reporter.bsky.social",
    "SANDBOX_BLUESKY_PASSWORD": "sandbox-app-password",
}
# Demo sign-ins, printed at start. Only ever for the demo's own loopback server.
DEMO_USERS = (
    ("organiser", "organiser", "Demo Organiser", "demo-organiser"),
    ("moderator", "moderator", "Demo Moderator", "demo-moderator"),
    ("reporter", "reporter", "Demo Reporter", "demo-reporter"),
)
STORY_TITLE = "The story of the day"


@dataclass(frozen=True, slots=True)
class DemoState:
    anchor: datetime  # real time of the day's start (live) or of its end (fast)
    speed: float
    fast: bool

    def to_json(self) -> str:
        return json.dumps({"anchor": self.anchor.isoformat(), "speed": self.speed, "fast": self.fast})

    @staticmethod
    def from_json(text: str) -> DemoState:
        data = json.loads(text)
        return DemoState(datetime.fromisoformat(data["anchor"]), float(data["speed"]), bool(data["fast"]))


@dataclass(frozen=True, slots=True)
class TimeMap:
    """Scenario offset (seconds into the day) <-> real time, exactly as the sandbox dates posts."""

    state: DemoState
    last_offset: float  # the scenario's last post

    def at(self, offset: float) -> datetime:
        if self.state.fast:
            return self.state.anchor - timedelta(seconds=self.last_offset - offset)
        return self.state.anchor + timedelta(seconds=offset / self.state.speed)


def fast_anchor(ev: EventSettings, last_offset: float, now: datetime) -> datetime:
    """--fast: the day replays at its own local times (09:00 stays 09:00), on the latest date in the
    event's timezone whose last post is already past. Returns when that last post was made (UTC)."""
    tz = ev.tz
    local_start = ev.start.astimezone(tz).time() if ev.start.tzinfo else ev.start.time()
    today = now.astimezone(tz).date()
    for back in range(3):
        start = datetime.combine(today - timedelta(days=back), local_start, tzinfo=tz)
        anchor = (start + timedelta(seconds=last_offset)).astimezone(UTC)
        if anchor <= now:
            return anchor
    raise ValueError("the scenario lasts more than two days")  # not ours: ours is one day


def load_state(path: Path, speed: float, fast: bool, now: datetime, reset: bool,
               fast_start: datetime | None = None) -> tuple[DemoState, bool]:
    """The saved state (resume) or a new one; True when resumed. `fast_start`: the anchor for --fast."""
    if path.exists() and not reset:
        try:
            saved = DemoState.from_json(path.read_text(encoding="utf-8"))
            return saved, True
        except (ValueError, KeyError):
            log.warning("demo.state_unreadable path=%s: starting over", path)
    state = DemoState(fast_start if fast and fast_start is not None else now, speed, fast)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(state.to_json(), encoding="utf-8")
    return state, False


def mapped_event(ev: EventSettings, times: TimeMap) -> EventSettings:
    """The configured day moved onto the demo's clock (start of the day = scenario offset 0)."""
    zero = ev.utc(ev.start)

    def move(value: datetime) -> datetime:
        return times.at((ev.utc(value) - zero).total_seconds())

    programme = tuple(s.model_copy(update={"start": move(s.start), "end": move(s.end)}) for s in ev.programme)
    return ev.model_copy(update={"start": move(ev.start), "end": move(ev.end), "programme": programme})


def sandbox_credentials() -> None:
    """The demo config names these variables; the sandbox accepts exactly these values."""
    import os

    for key, value in SANDBOX_ENV.items():
        os.environ.setdefault(key, value)


def demo_config(path: Path | None, times: TimeMap, sandbox_url: str, public_url: str | None = None) -> LoadedConfig:
    sandbox_credentials()
    cfg = load_config(path or config_dir() / "demo.toml")
    default_base = f"http://127.0.0.1:{SANDBOX_PORT}"
    events = []
    for ev in cfg.settings.events:
        sources = tuple(
            s.model_copy(update={
                "api_base": s.api_base.replace(default_base, sandbox_url),
                "params": {k: (v.replace(default_base, sandbox_url) if isinstance(v, str) else v)
                           for k, v in s.params.items()},
            })
            for s in ev.sources
        )
        events.append(mapped_event(ev, times).model_copy(update={"sources": sources}))
    server = cfg.settings.server.model_copy(update={
        "media_origins": (sandbox_url,),
        "public_url": public_url or cfg.settings.server.public_url,
    })
    # The event page the QR code points at: this demo's own timeline.
    events = [e.model_copy(update={"url": f"{server.public_url}/e/{e.slug}/timeline"}) for e in events]
    settings = cfg.settings.model_copy(update={"events": tuple(events), "server": server})
    return LoadedConfig(cfg.path, settings, cfg.database_url, cfg.secrets)


def ensure_users(storage: Storage) -> None:
    from aggregator.web.auth import hash_password

    for username, role, name, password in DEMO_USERS:
        if storage.user_by_name(username) is None:
            storage.create_user(username, hash_password(password), role, display_name=name)


# ---- the reporter who curates the story while the day goes on -------------------------------------

SECTION_TEXT = {
    "Welcome and opening remarks": (
        "Over two hundred delegates filled the main hall. Our chair asked three questions to carry through "
        "the day: **do we share a common understanding of co-production**, has it changed the way we work, "
        "and how do we stretch our vision beyond involvement?"
    ),
    "Workshops and open space": (
        "Morning and afternoon workshops ran side by side with open space conversations led by delegates. "
        "Here is what people shared from the rooms."
    ),
    "Bringing it all together": (
        "To close, the graphic facilitators walked us through the wall they drew during the day, and "
        "delegates added their reflections."
    ),
    "Videos from the day": "Short interviews with organisers and delegates, recorded in the corridors.",
    "Social reporting": "Photos from our social reporters and from delegates, as the day happened.",
}


def _section_posts(storage: Storage, event_id: int, ev: EventSettings, heading: str) -> list[int]:
    """Approved posts that belong in a section of the seed-shaped story, best first."""
    def window(*kinds: str, titles: tuple[str, ...] = ()) -> list[tuple[datetime, datetime]]:
        return [(ev.utc(s.start), ev.utc(s.end)) for s in ev.programme
                if s.kind in kinds or any(t.lower() in s.title.lower() for t in titles)]

    page = storage.posts(event_id, PostQuery(statuses=(Status.APPROVED,), limit=500))
    posts = list(reversed(page.posts))  # oldest first

    def in_windows(ws: list[tuple[datetime, datetime]]) -> list[int]:
        chosen = [p for p in posts if any(a <= p.created_at < b for a, b in ws)]
        chosen.sort(key=lambda p: (not p.media, -p.repost_count, p.created_at))
        return [p.id for p in chosen]

    if heading.startswith("Welcome"):
        return in_windows(window(titles=("welcome",)))[:4]
    if heading.startswith("Workshops"):
        return in_windows(window("workshop", "open_space"))[:5]
    if heading.startswith("Bringing"):
        return in_windows(window(titles=("bringing", "together", "close")))[:4]
    if heading.startswith("Videos"):
        return [p.id for p in posts if p.kind is PostKind.VIDEO][:4]
    return [p.id for p in posts if p.kind is PostKind.PHOTO][:6]


def curate_story(storage: Storage, event_id: int, ev: EventSettings, author_id: int | None) -> str:
    """Create the story once (seed-page sections with text), then add the posts each section lacks."""
    story = next((s for s in storage.stories(event_id, include_drafts=True) if s.title == STORY_TITLE), None)
    if story is None:
        story = storage.create_story(event_id, STORY_TITLE, author_id,
                                     summary="Images, information and posts from the day.", seed=True)
        storage.update_story(story.id, status="published")
        story = storage.story_by_id(event_id, story.id)
        assert story is not None
        for block in [b for b in story.blocks if b.kind == "section"]:
            text = SECTION_TEXT.get(block.heading)
            if text:
                storage.add_story_block(story.id, "text", body=text, section_id=block.id)
    story = storage.story_by_id(event_id, story.id)
    assert story is not None
    used = {b.post_id for b in story.blocks if b.post_id is not None}
    for block in [b for b in story.blocks if b.kind == "section"]:
        for post_id in _section_posts(storage, event_id, ev, block.heading):
            if post_id not in used:
                storage.add_story_block(story.id, "post", post_id=post_id, section_id=block.id)
                used.add(post_id)
    return story.slug


TRICKLE_HELD = 60  # --fast: posts kept back from the release, then let out one by one
TRICKLE_EVERY = 20.0  # seconds between them (the sources poll at least this often in the demo config)


class Curator:
    """Runs `step` every few seconds until stopped (keeps the story up to date; trickles posts)."""

    def __init__(self, step: Callable[[], object], every: float = 10.0) -> None:
        self.step, self.every = step, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-curator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.step()
            except Exception:  # the demo goes on without this round
                log.exception("demo.curate_failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# ---- running it ----------------------------------------------------------------------------------


def run_demo(args: Any) -> int:
    """The `aggregator demo` command (arguments from cli.py)."""
    import uvicorn

    from aggregator.runtime import build_collection
    from aggregator.sandbox import Sandbox
    from aggregator.sandbox.scenarios import scenario_by_name
    from aggregator.scheduler import Scheduler, collect_once
    from aggregator.web.app import create_app

    now = datetime.now(UTC)
    data_dir = Path(args.data_dir)
    if args.reset:
        _reset(data_dir)
    sandbox_credentials()
    scenario = scenario_by_name(args.scenario)
    last_offset = max(p.at for p in scenario.posts)
    configured = load_config(Path(args.config) if args.config else config_dir() / "demo.toml").settings.events[0]
    fast_start = fast_anchor(configured, last_offset, now)
    state, resumed = load_state(data_dir / "demo-state.json", args.speed, args.fast, now, args.reset, fast_start)
    times = TimeMap(state, last_offset)

    # --fast releases the day at once but for the last TRICKLE_HELD posts, which then arrive one by one
    # ("just now" on the wall), so the demo shows the live product rather than a finished day.
    sandbox = Sandbox(scenario, port=args.sandbox_port, speed=state.speed, fast=state.fast, start=state.anchor,
                      hold_back=TRICKLE_HELD if state.fast else 0)
    sandbox_url = sandbox.start()
    storage: Storage | None = None
    collection = None
    scheduler = None
    curator = None
    trickle = None
    try:
        cfg = demo_config(Path(args.config) if args.config else None, times, sandbox_url,
                          public_url=f"http://{args.host}:{args.port}")
        # Never a DATABASE_URL from the environment: that may be a real deployment's.
        database = args.database or f"sqlite:///{data_dir / 'demo.db'}"
        # Kept media live beside the demo's database (--reset removes them with it).
        kept = cfg.settings.server.model_copy(update={"media_dir": str(data_dir / "demo-media")})
        cfg = LoadedConfig(cfg.path, cfg.settings.model_copy(update={"server": kept}), database, cfg.secrets)
        storage = open_storage(cfg)
        ensure_users(storage)
        ev = cfg.settings.events[0]
        record = storage.event(ev.slug)
        assert record is not None
        reporter = storage.user_by_name("reporter")
        collection = build_collection(cfg, storage)
        if state.fast:
            for _ in range(3):  # the whole day is out: collect until every source is caught up
                outcomes = collect_once(collection.runners)
                if all(o.ok and o.report is not None and o.report.inserted == 0 for o in outcomes):
                    break
        slug = curate_story(storage, record.id, ev, reporter.id if reporter else None)
        # The media job starts with the scheduler and keeps the day's photos in the background.
        scheduler = Scheduler(collection.runners, tasks=collection.tasks(), streams=collection.streams)
        scheduler.start()
        event_id = record.id
        store = storage
        curator = Curator(lambda: curate_story(store, event_id, ev, reporter.id if reporter else None))
        curator.start()
        if state.fast:
            trickle = Curator(lambda: sandbox.world.release_next(1), every=TRICKLE_EVERY)
            trickle.start()

        app = create_app(cfg, storage)
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning"))
        base = f"http://{args.host}:{args.port}"
        _announce_when_ready(server, base, ev.slug, slug, sandbox_url, state, resumed)
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after shutting down
            server.run()
    finally:
        if collection is not None and collection.keeper is not None:
            collection.keeper.stop()  # before the scheduler waits for its jobs
        for part in (trickle, curator, scheduler):
            if part is not None:
                part.stop()
        if collection is not None:
            collection.close()
        if storage is not None:
            storage.close()
        sandbox.stop()
    print("demo stopped; run it again to resume, or with --reset to start over", flush=True)
    return 0


def _announce_when_ready(server: Any, base: str, slug: str, story: str, sandbox_url: str, state: DemoState,
                         resumed: bool) -> None:
    def wait() -> None:
        while not server.started and not server.should_exit:
            _time.sleep(0.05)
        if server.should_exit:
            return
        mode = (f"all at once, then a new post every {TRICKLE_EVERY:g} s" if state.fast
                else f"at {state.speed:g}x speed")
        print(f"demo day {'resumed' if resumed else 'started'}: the conference replays {mode}", flush=True)
        for line in demo_urls(base, slug, story, sandbox_url):
            print(line, flush=True)
        for username, role, _name, password in DEMO_USERS:
            print(f"  sign in as {role}: {username} / {password}", flush=True)
        print(f"ready: {base}/e/{slug}/wall", flush=True)

    threading.Thread(target=wait, name="demo-ready", daemon=True).start()


def demo_urls(base: str, slug: str, story: str, sandbox_url: str) -> list[str]:
    """Every address a newcomer needs, one a line."""
    return [
        f"wall:       {base}/e/{slug}/wall              (the venue screen; ?theme=light, ?layout=ticker)",
        f"timeline:   {base}/e/{slug}/timeline          (the day, by programme session)",
        f"story:      {base}/e/{slug}/stories/{story}",
        f"stories:    {base}/e/{slug}/stories",
        f"console:    {base}/console                    (source health, what the post counts mean)",
        f"queue:      {base}/console/{slug}/queue       (moderators)",
        f"workspace:  {base}/console/{slug}/stories     (reporters: stories and own posts)",
        f"embeds:     {base}/console/{slug}/embed       (snippets for the organiser's site)",
        f"            {base}/e/{slug}/embed/wall  {base}/e/{slug}/embed/timeline",
        f"API docs:   {base}/docs                       (JSON API under {base}/api/)",
        f"sandbox:    {sandbox_url}                     (the fake platforms)",
    ]


def _reset(data_dir: Path) -> None:
    import shutil

    for name in ("demo.db", "demo.db-wal", "demo.db-shm", "demo-state.json"):
        (data_dir / name).unlink(missing_ok=True)
    shutil.rmtree(data_dir / "demo-media", ignore_errors=True)
