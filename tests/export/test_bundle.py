"""The public export bundle: layout, BagIt validity, CSV, JSONL, Atom, takedowns; only approved posts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import bagit
import feedparser

from tests.export.conftest import ACTOR, Day
from tests.export.helpers import export


def test_bundle_holds_the_day(day: Day, tmp_path: Path) -> None:
    day.keeper.fetch_event(day.event_id)
    summary, bag_dir = export(day, tmp_path / "bundle.zip")
    assert summary.cards == 9
    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # checksums of every file, Payload-Oxum
    data = bag_dir / "data"
    for name in ("index.html", "report.html", "timeline/1.html", "photos/1.html", "videos/1.html",
                 "stories/index.html", "posts.csv", "COLUMNS.md", "posts.jsonl", "event.json", "feed.atom",
                 "takedowns.txt", "assets/common.css"):
        assert (data / name).is_file(), name
    assert len(list((data / "posts").glob("*.html"))) == 9
    assert len(list((data / "media").iterdir())) == 10  # 7 distinct photos + 3 avatars; the pending post's not

    # CSV: BOM, one row per approved card, formula defused, accents intact.
    raw = (data / "posts.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(keepends=True)))
    assert len(rows) == 9
    evil = next(r for r in rows if "HYPERLINK" in r["text"])
    assert evil["text"].startswith("'=HYPERLINK(") and "Über café" in evil["text"]
    assert all(not r[c].startswith(("=", "+", "-", "@")) for r in rows for c in r)
    photo_row = next(r for r in rows if r["media_files"])
    assert (data / photo_row["media_files"].splitlines()[0]).is_file()

    # JSONL + event.json
    lines = (data / "posts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 9
    first = json.loads(lines[0])
    assert first["author"]["avatar_file"] and (data / first["author"]["avatar_file"]).is_file()
    event = json.loads((data / "event.json").read_text(encoding="utf-8"))
    assert event["format"] == "event-aggregator-export" and event["version"] == 1
    assert event["counts"]["cards"] == 9

    # Atom
    feed = feedparser.parse((data / "feed.atom").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) == 9

    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in data.rglob("*")
                     if p.is_file() and p.suffix in (".html", ".csv", ".jsonl", ".json", ".atom", ".txt"))
    assert "pk0009q" not in text, "a pending post reached the bundle"


def test_takedown_after_media_were_kept_leaves_no_trace(day: Day, tmp_path: Path) -> None:
    day.keeper.fetch_event(day.event_id)
    ids = day.ids()
    own_url = f"{day.server.url}/img/0.png"
    digest = day.storage.kept_media([own_url])[own_url].sha256
    day.storage.moderate_posts(day.event_id, [ids["https://mastodon.test/posts/0"]], "takedown", ACTOR)
    day.keeper.prune()
    assert not day.store.exists(digest)
    summary, bag_dir = export(day, tmp_path / "after.zip")
    assert summary.cards == 8
    data = bag_dir / "data"
    assert not any(digest in p.name for p in (data / "media").iterdir())
    everything = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in data.rglob("*")
                           if p.is_file() and p.suffix != ".png")
    assert "mastodon.test/posts/0\"" not in everything and digest not in everything
    takedowns = (data / "takedowns.txt").read_text(encoding="utf-8")
    assert "taken_down" in takedowns and "https://mastodon.test/posts/0" in takedowns
