"""Deletion details in storage and the scheduler, over SQLite and PostgreSQL: the card's next face,
the re-check's sweep through every post of the event, and a fresh cursor for a changed source."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import pytest

from aggregator import scheduler
from aggregator.clock import FakeClock
from aggregator.config import Settings
from aggregator.scheduler import RECHECK_EVERY, SourceJob, SourceRunner
from aggregator.sources.base import SourceContext, SourceError
from aggregator.storage import PostQuery, Storage
from aggregator.types import Cursor, Decision, FetchResult, IngestItem, IngestReport, Post, Status
from tests.factories import EVENT_START, approved, make_post, make_settings, migrated_storage, settings_dict

NOW = EVENT_START + timedelta(hours=1)


def _ids(storage: Storage) -> tuple[int, int]:
    event = storage.event("coproduction-2014")
    assert event is not None
    source = storage.source(event.id, "masto")
    assert source is not None
    return event.id, source.id


def _card(storage: Storage, event_id: int, source_id: int) -> list[Post]:
    """A face and two copies folded into it (stored in dedup's order: earliest first)."""
    face, a, b = make_post(1), make_post(2, minutes=5), make_post(3, minutes=3)
    items = [approved(face), IngestItem(a, Decision(Status.APPROVED, "mode:post"), duplicate_of=face.key),
             IngestItem(b, Decision(Status.APPROVED, "mode:post"), duplicate_of=face.key)]
    storage.ingest(event_id, source_id, items, None)
    return [face, a, b]


@pytest.mark.parametrize("verdict", [Status.APPROVED, Status.PENDING, Status.REJECTED])
def test_a_deleted_face_hands_its_card_to_the_earliest_copy_as_moderation_allows(db_url: str,
                                                                                  verdict: Status) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        face, later, earlier = _card(storage, event_id, source_id)
        seq = storage.last_live_seq()
        seen: list[Post] = []

        def decide(post: Post) -> Decision:
            seen.append(post)
            return Decision(verdict, "rule")

        assert storage.remove_at_source(event_id, [face.key], decide=decide) == 1
        new = storage.post_by_key(event_id, earlier.key)
        other = storage.post_by_key(event_id, later.key)
        assert new is not None and other is not None
        assert [p.key for p in seen] == [earlier.key]  # moderation ran on the copy that steps in
        assert new.canonical_id is None and new.status is verdict
        assert other.canonical_id == new.id and other.status is Status.DUPLICATE
        assert [url for _, url in new.copies] == [later.url]
        rows = [(e.kind, e.post_id) for e in storage.live_after(seq, event_id)]
        old = storage.post_by_key(event_id, face.key)
        assert old is not None and ("post.retracted", old.id) in rows
        assert (("post.approved", new.id) in rows) is (verdict is Status.APPROVED)
        shown = [p.id for p in storage.posts(event_id).posts]
        assert shown == ([new.id] if verdict is Status.APPROVED else [])


def test_without_moderation_a_promoted_copy_waits_for_a_moderator(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        face, _, earlier = _card(storage, event_id, source_id)
        storage.remove_at_source(event_id, [face.key])
        new = storage.post_by_key(event_id, earlier.key)
        assert new is not None and new.status is Status.PENDING


def test_a_deleted_copy_leaves_the_links_and_the_face_is_updated_live(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        face, later, earlier = _card(storage, event_id, source_id)
        seq = storage.last_live_seq()
        assert storage.remove_at_source(event_id, [later.key]) == 1
        card = storage.post_by_key(event_id, face.key)
        assert card is not None and [url for _, url in card.copies] == [earlier.url]
        assert ("post.updated", card.id) in [(e.kind, e.post_id) for e in storage.live_after(seq, event_id)]


# --- the sweep ----------------------------------------------------------------------------------


class Checker:
    """A collector that answers deletion checks: records what it was asked, or fails."""

    def __init__(self, gone: set[str]) -> None:
        self.gone = gone
        self.asked: list[list[str]] = []
        self.fail = False

    def fetch(self, cursor: Cursor) -> FetchResult:
        return FetchResult((), cursor)

    def check_deleted(self, external_ids: Sequence[str]) -> list[str]:
        if self.fail:
            raise SourceError("HTTP 503")
        self.asked.append(list(external_ids))
        return [i for i in external_ids if i in self.gone]

    def close(self) -> None:
        pass


def _runner(storage: Storage, checker: Checker, clock: FakeClock) -> SourceRunner:
    ev = make_settings().events[0]
    event_id, source_id = _ids(storage)
    job = SourceJob(ev, event_id, ev.sources[0], source_id, "masto", {})

    def process(j: SourceJob, result: FetchResult) -> IngestReport:
        return storage.ingest(j.event_id, j.source_id, [], result.cursor)

    def factory(_ctx: SourceContext) -> Checker:
        return checker

    return SourceRunner(job, storage, process, factory, clock, "test-agent")


def test_the_recheck_sweeps_every_post_of_the_event_over_runs_and_survives_a_restart(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(scheduler.RECHECK_NEWEST, "mastodon", 2)
    monkeypatch.setitem(scheduler.RECHECK_SWEEP, "mastodon", 4)
    clock = FakeClock(NOW + timedelta(days=3))  # every post is older than the "newest" day
    with migrated_storage(db_url, clock=clock) as storage:
        event_id, source_id = _ids(storage)
        posts = [make_post(n) for n in range(10)]
        storage.ingest(event_id, source_id, [approved(p) for p in posts], None)
        gone = {posts[8].external_id}
        checker = Checker(gone)
        runner = _runner(storage, checker, clock)

        assert runner.run().removed == 0  # posts 0-3
        checker.fail = True  # an outage: nothing removed, the sweep stays where it was
        clock.advance(RECHECK_EVERY.total_seconds())
        outcome = runner.run()
        assert outcome.ok and outcome.removed == 0
        checker.fail = False
        runner = _runner(storage, checker, clock)  # a restart: the place is in the database
        clock.advance(RECHECK_EVERY.total_seconds())
        assert runner.run().removed == 0  # posts 4-7
        clock.advance(RECHECK_EVERY.total_seconds())
        assert runner.run().removed == 1  # posts 8-9: the end, so the next sweep starts again
        asked = [i for batch in checker.asked for i in batch]
        assert set(asked) == {p.external_id for p in posts}
        assert len(asked) == len(posts)
        clock.advance(RECHECK_EVERY.total_seconds())
        runner.run()
        assert checker.asked[-1] == [p.external_id for p in posts[:4]]
        removed = storage.posts(event_id, PostQuery(statuses=(Status.REMOVED,))).posts
        assert [p.external_id for p in removed] == [posts[8].external_id]


def test_duplicates_are_rechecked_too(db_url: str) -> None:
    clock = FakeClock(NOW)
    with migrated_storage(db_url, clock=clock) as storage:
        event_id, source_id = _ids(storage)
        face, later, earlier = _card(storage, event_id, source_id)
        checker = Checker({later.external_id})
        assert _runner(storage, checker, clock).run().removed == 1
        assert set(checker.asked[0]) == {face.external_id, later.external_id, earlier.external_id}


# --- a changed source ---------------------------------------------------------------------------


def test_a_source_whose_address_changes_starts_from_a_fresh_cursor(db_url: str,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        storage.ingest(event_id, source_id, [], Cursor("110000", etag='"e1"'))

        def cursor() -> str | None:
            src = storage.source(event_id, "masto")
            assert src is not None and src.id == source_id  # matched by name: the same row
            return src.cursor_position

        base = {"kind": "mastodon", "name": "masto", "api_base": "http://127.0.0.1:9/mastodon/a"}
        storage.sync_config(make_settings(sources=[{**base, "interval": 120}]))  # tuning only
        assert cursor() == "110000"
        with caplog.at_level(logging.WARNING, logger="aggregator.storage"):
            storage.sync_config(make_settings(sources=[{**base, "api_base": "http://127.0.0.1:9/mastodon/b"}]))
        assert cursor() is None
        assert any("source.address_changed" in r.getMessage() and "masto" in r.getMessage() for r in caplog.records)

        storage.ingest(event_id, source_id, [], Cursor("120000"))
        storage.sync_config(make_settings(sources=[{**base, "api_base": "http://127.0.0.1:9/mastodon/b",
                                                    "hashtags": ["othertag"]}]))
        assert cursor() is None  # the query changed

        storage.ingest(event_id, source_id, [], Cursor("130000"))
        settings = settings_dict(sources=[{"kind": "feed", "name": "masto", "params": {"url": "http://127.0.0.1:9/f"}}])
        storage.sync_config(Settings.model_validate(settings))
        assert cursor() is None  # the kind changed
