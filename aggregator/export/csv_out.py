"""posts.csv: one row per approved card, for spreadsheets (UTF-8 with a byte-order mark).

Cells that a spreadsheet would read as a formula (starting with =, +, -, @,
tab or carriage return) get a leading apostrophe; every cell is quoted so that
ids stay text. COLUMNS.md beside it says what each column holds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

from aggregator.export.records import MediaName, iso, session_of
from aggregator.storage.records import SessionRecord, StoredPost

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

COLUMNS: tuple[tuple[str, str], ...] = (
    ("time_local", "When it was posted, in the event's timezone (YYYY-MM-DD HH:MM:SS)."),
    ("time_utc", "When it was posted, UTC, ISO 8601."),
    ("session", "The programme session it was posted during (empty outside the programme)."),
    ("platform", "x, mastodon, bluesky, flickr, youtube, feed (blogs) or reporter (written in the console)."),
    ("external_id", "The post's id on its platform (text; Mastodon: the status URI)."),
    ("author_handle", "The author's handle as people write it, without @."),
    ("author_name", "The author's display name."),
    ("kind", "text, photo, video or link."),
    ("title", "Title (photos, videos and blog posts)."),
    ("text", "The post's text, plain (no markup)."),
    ("permalink", "The post on its platform."),
    ("media_files", "Files in this bundle (media/<sha256>.<ext>), one per line: photos, then video posters."),
    ("media_urls", "The media's original URLs on the platform, one per line."),
    ("also_on", "Networks the same person cross-posted it to, as platform URL pairs, one per line."),
    ("reposts", "Reposts/boosts folded into this card."),
    ("hashtags", "Hashtags, lower-case, space-separated, without #."),
    ("language", "Language code, where the platform gave one."),
)


def defuse(value: str) -> str:
    """A cell no spreadsheet runs as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def row(p: StoredPost, programme: list[SessionRecord], tz: ZoneInfo, name: MediaName) -> list[str]:
    files: list[str] = []
    urls: list[str] = []
    for m in p.media:
        urls.append(m.url)
        for u in ((m.url if m.kind.value == "photo" else None), m.thumbnail_url):
            f = name(u)
            if f and f not in files:
                files.append(f)
    cells = [
        p.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), iso(p.created_at) or "", session_of(p, programme),
        p.platform.value, p.external_id, p.author.handle, p.author.name, p.kind.value, p.title, p.text, p.url,
        "\n".join(files), "\n".join(urls), "\n".join(f"{pl.value} {u}" for pl, u in p.copies), str(p.repost_count),
        " ".join(p.hashtags), p.language or "",
    ]
    return [defuse(c) for c in cells]


def csv_chunks(batches: Iterable[list[StoredPost]], programme: list[SessionRecord], timezone: str,
               name: MediaName) -> Iterator[str]:
    """The whole file as text pieces: the BOM and header, then a piece per batch of rows."""
    tz = ZoneInfo(timezone)
    buf = io.StringIO()
    out = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    out.writerow([c for c, _ in COLUMNS])
    yield "\ufeff" + buf.getvalue()
    for batch in batches:
        buf.seek(0)
        buf.truncate()
        out.writerows(row(p, programme, tz, name) for p in batch)
        yield buf.getvalue()


def columns_md() -> str:
    lines = ["# posts.csv: the columns", "",
             "One row per card shown on the public pages (approved posts; a cross-posted or reposted post is "
             "one card). UTF-8 with a byte-order mark; every cell is quoted; a cell that begins with `=`, `+`, "
             "`-`, `@`, a tab or a carriage return begins with an apostrophe (`'`) so that spreadsheets do not "
             "run it as a formula. Lists inside a cell are one item per line.", "",
             "| column | what it holds |", "| --- | --- |"]
    lines += [f"| `{c}` | {d} |" for c, d in COLUMNS]
    return "\n".join(lines) + "\n"
