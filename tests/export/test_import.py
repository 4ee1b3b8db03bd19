"""Backup and import: export, import into the other backend, export again gives the same posts.jsonl and
event.json (apart from the export time); a backup from a newer schema or format is refused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from aggregator.export.backup import write_backup
from aggregator.export.importer import ImportRefused, import_backup
from aggregator.media.fetch import MediaKeeper
from aggregator.media.store import LocalMediaStore
from aggregator.sources.http import HttpClient
from aggregator.storage import Storage
from aggregator.storage.migrate import upgrade
from aggregator.types import Status
from tests.export.conftest import ACTOR, LOOPBACK, Day
from tests.export.helpers import NOW, export


def fast_hash() -> str:
    return "imported-user-no-password"


def backup(day: Day, target: Path) -> Path:
    event = day.storage.event(day.slug)
    assert event is not None
    with target.open("wb") as fh:
        write_backup(day.storage, day.store, event, fh, public_url="https://wall.example.org", now=NOW,
                     database_revision="0004")
    return target


def comparable(bag: Path) -> tuple[str, dict[str, object]]:
    data = bag / "data"
    event = json.loads((data / "event.json").read_text(encoding="utf-8"))
    event.pop("exported_at")
    event.pop("database_revision")
    return (data / "posts.jsonl").read_text(encoding="utf-8"), event


@pytest.fixture
def other_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The other backend: SQLite -> PostgreSQL (the migration path people use) and back."""
    if db_url.startswith("sqlite"):
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'imported.db'}"


def test_export_import_export_is_identical(day: Day, tmp_path: Path, other_url: str) -> None:
    day.keeper.fetch_event(day.event_id)
    ids = day.ids()
    day.storage.moderate_posts(day.event_id, [ids["https://mastodon.test/posts/3"]], "takedown", ACTOR)
    day.storage.moderate_posts(day.event_id, [ids["https://mastodon.test/posts/4"]], "pin", ACTOR)
    story = day.storage.create_story(day.event_id, "Our day", None, summary="It went well", seed=True)
    day.storage.update_story(story.id, status="published")
    day.storage.add_story_block(story.id, "post", post_id=ids["https://mastodon.test/posts/1"])
    day.storage.create_story(day.event_id, "A draft", None)
    day.keeper.prune()
    _, first = export(day, tmp_path / "first.zip")
    archive = backup(day, tmp_path / "backup.zip")

    target = Storage(other_url, clock=day.storage.clock)
    try:
        upgrade(target.engine)
        store = LocalMediaStore(tmp_path / "imported-media")
        result = import_backup(target, store, archive, password_hash=fast_hash)
        assert result.slug == day.slug and result.posts == 10 and result.stories == 2
        assert result.media_files == 9
        event = target.event(day.slug)
        assert event is not None
        counts = target.count_by_status(event.id)
        assert counts[Status.APPROVED] == 8 and counts[Status.PENDING] == 1 and counts[Status.REMOVED] == 1
        assert len(target.stories(event.id, include_drafts=True)) == 2
        assert target.tombstone_reason(event.id, next(iter([_key(day, 3)]))) == "taken_down"
        assert target.audit_entries(event.id)
        http = HttpClient("test", policy=LOOPBACK)
        again = Day(target, store, MediaKeeper(target, store, http), day.server, event.id, day.slug)
        _, second = export(again, tmp_path / "second.zip")
        http.close()
        assert comparable(second) == comparable(first)
        with pytest.raises(ImportRefused, match="already has posts"):
            import_backup(target, store, archive, password_hash=fast_hash)
    finally:
        target.close()


def _key(day: Day, n: int) -> object:
    from aggregator.types import Platform, PostKey

    return PostKey(Platform.MASTODON, f"https://mastodon.test/posts/{n}")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("field", "value", "message"), [
    ("database_revision", "9999_from_the_future", "newer version of the aggregator"),
    ("version", 99, "format version 99"),
])
def test_newer_backups_are_refused(day: Day, tmp_path: Path, field: str, value: object, message: str) -> None:
    archive = backup(day, tmp_path / "backup.zip")
    changed = tmp_path / "changed.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(changed, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("backup/backup.json"):
                meta = json.loads(data)
                meta[field] = value
                data = json.dumps(meta).encode()
            dst.writestr(item, data)
    target = Storage(f"sqlite:///{tmp_path / 'target.db'}")
    try:
        upgrade(target.engine)
        with pytest.raises(ImportRefused, match=message):
            import_backup(target, LocalMediaStore(tmp_path / "m"), changed, password_hash=fast_hash)
        assert target.events() == []
    finally:
        target.close()
