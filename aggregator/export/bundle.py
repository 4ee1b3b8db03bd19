"""The public export bundle: a zipped BagIt bag holding the offline archive and the data of the day.

    <slug>-export/
      bagit.txt, bag-info.txt, manifest-sha256.txt, tagmanifest-sha256.txt
      data/index.html            the event, figures, chart, programme, timeline by session
      data/timeline/N.html       every card, grouped by programme session, static pages
      data/photos/N.html, data/videos/N.html, data/posts/<id>.html, data/stories/*.html
      data/report.html           the report of the day
      data/media/<sha256>.<ext>  every kept photo, thumbnail, poster and avatar shown
      data/assets/*.css
      data/posts.csv + COLUMNS.md, data/posts.jsonl + event.json, data/feed.atom, data/takedowns.txt

Only approved posts and published stories; a file is carried only when an
approved post shows it. Each format is its own streaming pass over
Storage.approved_stream, and the zip is written straight to `out`, so memory
stays flat whatever the size of the day.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from aggregator import __version__
from aggregator.export import atom, csv_out, records
from aggregator.export.html_archive import archive_env, render
from aggregator.export.zipbag import BagZip
from aggregator.media.store import MediaStore, extension
from aggregator.paths import static_dir
from aggregator.report import build_report
from aggregator.storage import EventRecord, Storage, StoredPost
from aggregator.storage.records import SessionRecord
from aggregator.types import PostKind, Status
from aggregator.web.public import group_by_session, story_sections

TIMELINE_PAGE = 100
GALLERY_PAGE = 60
ASSETS = ("common.css", "timeline.css", "report.css", "archive.css")

Progress = Callable[[int, int], None]  # (cards written, of) in the main pass


@dataclass(frozen=True, slots=True)
class BundleSummary:
    cards: int
    media_files: int
    files: int
    payload_bytes: int


class MediaFiles:
    """Which platform URLs have their file in this bundle; files are copied in as pages need them."""

    def __init__(self, storage: Storage, store: MediaStore, bag: BagZip) -> None:
        self.storage, self.store, self.bag = storage, store, bag
        self.known: dict[str, str] = {}  # URL -> bundle name, for the batch in hand (and its story/report pages)
        self.copied = 0

    def name(self, url: str | None) -> str | None:
        return self.known.get(url) if url else None

    def load(self, posts: Iterable[StoredPost]) -> None:
        """Make the files these posts show available (kept ones only), copying any not in the bundle yet."""
        urls = {u for p in posts for u in _urls(p)}
        self.known = {}
        for url, kept in self.storage.kept_media(sorted(urls)).items():
            name = f"media/{kept.sha256}.{extension(kept.content_type)}"
            if not self.bag.has(name):
                try:
                    self.bag.copy(name, self.store.open(kept.sha256))
                except FileNotFoundError:
                    continue  # indexed but gone from the store: the page names it instead
                self.copied += 1
            self.known[url] = name


def _urls(p: StoredPost) -> Iterator[str]:
    if p.author.avatar_url:
        yield p.author.avatar_url
    for m in p.media:
        if m.kind.value == "photo":
            yield m.url
        if m.thumbnail_url:
            yield m.thumbnail_url


@dataclass
class _Toc:
    title: str
    time: str
    page: int
    count: int


def write_bundle(storage: Storage, store: MediaStore, event: EventRecord, out: BinaryIO, *, public_url: str,
                 now: datetime, database_revision: str | None, progress: Progress | None = None,
                 extra: Callable[[BagZip], None] | None = None) -> BundleSummary:
    """The public bundle; `extra` adds files (the backup's) before the manifests are written."""
    programme = storage.programme(event.id)
    root = f"{event.slug}-export"
    bag = BagZip(out, root)
    files = MediaFiles(storage, store, bag)
    env = archive_env()
    base = {"event": event, "exported_at": now, "source_url": public_url, "media_name": files.name}
    total = storage.approved_count(event.id)

    for name in ASSETS:
        bag.write(f"assets/{name}", (static_dir() / name).read_bytes())

    # 1. Post pages and the timeline, together: the same cards in the same order.
    toc = _archive_posts(storage, event, programme, bag, files, env, base, total, progress)
    # 2. The galleries.
    for kind, title, folder in ((PostKind.PHOTO, "Photos", "photos"), (PostKind.VIDEO, "Videos", "videos")):
        _gallery(storage, event, bag, files, env, base, kind, title, folder)
    # 3. Stories (published; posts still approved).
    stories = [s for s in (storage.story(event.id, st.slug) for st in storage.stories(event.id)) if s is not None]
    story_keys: dict[int, tuple[str, str]] = {}
    for story in stories:
        ids = [b.post_id for b in story.blocks if b.post_id is not None]
        shown = {i: p for i, p in storage.posts_by_ids(event.id, ids).items() if p.status is Status.APPROVED}
        story_keys.update({i: (p.platform.value, p.external_id) for i, p in shown.items()})
        files.load(shown.values())
        _load_extra(files, {b.media_url for b in story.blocks if b.media_url})
        bag.write_chunks(f"stories/{story.slug}.html", render(env, "export/story.html", {
            **base, "root": "../", "story": story, "sections": story_sections(story), "posts": shown}))
    bag.write_chunks("stories/index.html", render(env, "export/stories.html", {**base, "root": "../",
                                                                                   "stories": stories}))
    # 4. The report, and the home page with the same figures.
    report = build_report(storage, event, now)
    files.load([*report.top_posts, *report.top_photos])
    bag.write_chunks("report.html", render(env, "report/report.html", {
        **base, "root": "", "report": report, "home_href": "index.html",
        "css": [f"assets/{n}" for n in ASSETS[:3]],
        "post_href": lambda p: f"posts/{p.id}.html", "story_href": lambda s: f"stories/{s.slug}.html"}))
    bag.write_chunks("index.html", render(env, "export/index.html", {
        **base, "root": "", "programme": programme, "figures": report.figures, "chart": report.chart,
        "toc": toc, "stories": stories}))
    # 5. The data: one streaming pass per format.
    file_of = files_by_url(storage)
    bag.write_chunks("posts.jsonl", _jsonl(storage.approved_stream(event.id), programme, file_of))
    bag.write_chunks("posts.csv", csv_out.csv_chunks(storage.approved_stream(event.id), programme,
                                                     event.timezone, file_of))
    bag.write("COLUMNS.md", csv_out.columns_md())
    feed_url = f"{public_url.rstrip('/')}/e/{event.slug}/feed.atom"
    entries = (atom.post_entry(p, public_url, event.slug) for batch in storage.approved_stream(event.id)
               for p in batch)
    bag.write_chunks("feed.atom", atom.atom_chunks(atom.stable_id(event.slug, "feed"), event.title, feed_url,
                                                   f"{public_url.rstrip('/')}/e/{event.slug}/timeline", now, entries))
    bag.write("takedowns.txt", takedowns_text(storage, event))
    story_json = [records.story_record(s, story_keys) for s in sorted(stories, key=lambda s: s.slug)]
    counts = {"cards": total, "photos": report.figures.photos, "videos": report.figures.videos,
              "contributors": report.figures.contributors, "posts": report.figures.posts}
    bag.write("event.json", json.dumps(records.event_record(event, programme, story_json, counts, now,
                                                            database_revision), ensure_ascii=False, indent=2) + "\n")
    if extra is not None:
        extra(bag)
    files_total = len(bag.manifest)
    payload = bag.bytes
    bag.finish({"Source-Organization": event.title, "External-Description":
                f"Export of {event.title} ({event.slug}): approved posts, published stories, kept media",
                "External-Identifier": f"{public_url.rstrip('/')}/e/{event.slug}",
                "Bag-Software-Agent": f"event-aggregator {__version__}"})
    return BundleSummary(total, files.copied, files_total, payload)


def files_by_url(storage: Storage) -> Callable[[str | None], str | None]:
    """URL -> bundle file name, looked up per batch by the data writers (no whole-day map in memory)."""
    cache: dict[str, str | None] = {}

    def name(url: str | None) -> str | None:
        if not url:
            return None
        if url not in cache:
            if len(cache) > 5000:
                cache.clear()
            kept = storage.kept_media([url]).get(url)
            cache[url] = f"media/{kept.sha256}.{extension(kept.content_type)}" if kept else None
        return cache[url]

    return name


def _load_extra(files: MediaFiles, urls: set[str]) -> None:
    """Story photo blocks name a URL directly: carry it when it is kept."""
    for url, kept in files.storage.kept_media(sorted(urls)).items():
        name = f"media/{kept.sha256}.{extension(kept.content_type)}"
        if not files.bag.has(name):
            try:
                files.bag.copy(name, files.store.open(kept.sha256))
            except FileNotFoundError:
                continue
            files.copied += 1
        files.known[url] = name


def _archive_posts(storage: Storage, event: EventRecord, programme: list[SessionRecord], bag: BagZip,
                   files: MediaFiles, env: Any, base: dict[str, Any], total: int,
                   progress: Progress | None) -> list[_Toc]:
    pages = max(1, -(-total // TIMELINE_PAGE))
    toc: list[_Toc] = []
    page: list[StoredPost] = []
    known: dict[str, str] = {}
    number = done = 0

    def flush() -> None:
        nonlocal number, page, known
        number += 1
        groups = group_by_session(page, programme, event.timezone)
        for g in groups:
            if toc and toc[-1].title == g.title and toc[-1].time == g.time:
                toc[-1].count += len(g.posts)
            else:
                toc.append(_Toc(g.title, g.time, number, len(g.posts)))
        files.known = known
        bag.write_chunks(f"timeline/{number}.html", render(env, "export/timeline.html", {
            **base, "root": "../", "groups": groups, "number": number, "pages": pages}))
        page, known = [], {}

    for batch in storage.approved_stream(event.id):
        files.load(batch)
        for p in batch:
            index = done
            bag.write_chunks(f"posts/{p.id}.html", render(env, "export/post.html", {
                **base, "root": "../", "post": p, "page": index // TIMELINE_PAGE + 1,
                "session": records.session_of(p, programme)}))
            done += 1
            page.append(p)
            known.update({u: n for u in _urls(p) if (n := files.known.get(u))})
            if len(page) == TIMELINE_PAGE:
                held = files.known
                flush()
                files.known = held
            if progress is not None:
                progress(done, total)
    if page or number == 0:
        flush()
    return toc


def _gallery(storage: Storage, event: EventRecord, bag: BagZip, files: MediaFiles, env: Any, base: dict[str, Any],
             kind: PostKind, title: str, folder: str) -> None:
    total = storage.approved_count(event.id, (kind,))
    pages = max(1, -(-total // GALLERY_PAGE))
    number = 0
    for batch in storage.approved_stream(event.id, (kind,), batch=GALLERY_PAGE):
        number += 1
        files.load(batch)
        bag.write_chunks(f"{folder}/{number}.html", render(env, "export/gallery.html", {
            **base, "root": "../", "posts": batch, "kind": kind.value, "title": title, "number": number,
            "pages": pages}))
    if number == 0:
        bag.write_chunks(f"{folder}/1.html", render(env, "export/gallery.html", {
            **base, "root": "../", "posts": [], "kind": kind.value, "title": title, "number": 1, "pages": 1}))


def _jsonl(batches: Iterable[list[StoredPost]], programme: list[SessionRecord],
           name: Callable[[str | None], str | None]) -> Iterator[str]:
    for batch in batches:
        yield "".join(json.dumps(records.post_record(p, programme, name), ensure_ascii=False, sort_keys=True) + "\n"
                      for p in batch)


def takedowns_text(storage: Storage, event: EventRecord) -> str:
    lines = [f"# What was removed from {event.title} and why (no content is kept here).",
             "# removed at (UTC)\tplatform\treason\tid on the platform"]
    for r in storage.removals(event.id):
        lines.append(f"{records.iso(r.removed_at)}\t{r.platform}\t{r.reason}\t{r.external_id}")
    return "\n".join(lines) + "\n"
