"""Human moderation in storage, over SQLite and PostgreSQL: one transaction per action, audited, undoable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection

from aggregator.config import WallSettings
from aggregator.storage import Storage
from aggregator.storage.announcements import WallOptionsError, effective_wall_settings
from aggregator.storage.moderation import ActionError, Actor, QueueQuery, next_state
from aggregator.storage.schema import audit_log, live_events, moderation_decisions
from aggregator.types import Status
from tests.factories import approved, make_post, migrated_storage, pending

MO = Actor(None, "mo")
ANN = Actor(None, "ann")


def _seed(storage: Storage, *items: Any) -> tuple[int, list[int]]:
    ev = storage.event("coproduction-2014")
    assert ev is not None
    storage.ingest(ev.id, None, list(items), None)
    ids = sorted(p.id for p in storage.moderation_queue(ev.id, QueueQuery(statuses=())))
    return ev.id, ids


def _kinds(storage: Storage) -> list[tuple[str, int | None]]:
    return [(e.kind, e.post_id) for e in storage.live_after(0)]


def _status(storage: Storage, event_id: int, post_id: int) -> Status:
    p = storage.post(event_id, post_id)
    assert p is not None
    return p.status


def test_next_state_is_pure_and_explains_itself() -> None:
    queued = {"status": "pending", "rule": "mode:pre", "detail": "", "pinned": False, "featured": False,
              "tombstone": None}
    assert next_state("approve", queued, MO) == {**queued, "status": "approved", "rule": "human:mo",
                                                 "detail": "approve"}
    assert next_state("reject", queued, MO)["tombstone"] == "rejected"  # type: ignore[index]
    assert next_state("unpin", queued, MO) is None
    assert next_state("pin", queued, MO)["status"] == "approved"  # type: ignore[index]
    with pytest.raises(ActionError):
        next_state("explode", queued, MO)


def test_each_action_audits_and_writes_live_rows(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, (a, b) = _seed(storage, pending(make_post(1)), approved(make_post(2)))
        base = len(_kinds(storage))  # the ingest's own post.approved for b
        storage.moderate_posts(event_id, [a], "approve", MO)
        storage.moderate_posts(event_id, [b], "feature", MO)
        storage.moderate_posts(event_id, [b], "pin", MO)
        storage.moderate_posts(event_id, [a, b], "reject", MO)
        assert _kinds(storage)[base:] == [("post.approved", a), ("post.featured", b), ("post.pinned", b),
                                          ("post.retracted", a), ("post.retracted", b)]
        entries = storage.audit_entries(event_id)
        assert [(e.action, e.target_type, e.target_id) for e in reversed(entries)] == [
            ("approve", "post", str(a)), ("feature", "post", str(b)), ("pin", "post", str(b)),
            ("reject", "posts", f"{a},{b}")]
        assert entries[0].after["posts"][str(b)]["pinned"] is False  # type: ignore[index]
        with storage.read() as conn:
            rules = set(conn.execute(select(moderation_decisions.c.rule).where(
                moderation_decisions.c.rule.like("human:%"))).scalars())
        assert rules == {"human:mo"}
        # A no-op writes nothing.
        result = storage.moderate_posts(event_id, [a], "reject", MO)
        assert result.audit_id is None and result.skipped == (a,)


def test_a_failed_commit_keeps_nothing(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, (a,) = _seed(storage, pending(make_post(1)))

        def boom(conn: Connection) -> None:
            raise RuntimeError("injected")

        storage.before_commit = boom
        with pytest.raises(RuntimeError):
            storage.moderate_posts(event_id, [a], "approve", MO)
        storage.before_commit = None
        assert _status(storage, event_id, a) is Status.PENDING
        with storage.read() as conn:
            assert list(conn.execute(select(audit_log))) == []
            assert list(conn.execute(select(live_events))) == []


def test_undo_is_per_user_and_never_overwrites_a_later_decision(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, (a, b) = _seed(storage, pending(make_post(1)), pending(make_post(2)))
        storage.moderate_posts(event_id, [a], "approve", MO)
        storage.moderate_posts(event_id, [b], "approve", ANN)
        storage.moderate_posts(event_id, [b], "pin", MO)
        storage.moderate_posts(event_id, [b], "unpin", ANN)  # ann changed b after mo's pin
        first = storage.undo_last(event_id, MO)  # mo's pin of b: b changed since, left alone
        assert first is not None and first.changed == () and first.skipped == (b,)
        second = storage.undo_last(event_id, MO)  # mo's approve of a
        assert second is not None and second.changed == (a,)
        assert _status(storage, event_id, a) is Status.PENDING
        assert _status(storage, event_id, b) is Status.APPROVED
        assert storage.undo_last(event_id, MO) is None
        assert ("post.retracted", a) == _kinds(storage)[-1]


def test_block_then_undo_restores_standing_and_posts(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, (a, b, c) = _seed(storage, approved(make_post(1, author="sp")), pending(make_post(2, author="sp")),
                                    pending(make_post(3, author="ok")))
        author_id = storage.post(event_id, a).author_id  # type: ignore[union-attr]
        result = storage.moderate_author(event_id, author_id, "block", MO)
        assert sorted(result.changed) == [a, b]
        assert [_status(storage, event_id, i) for i in (a, b, c)] == [Status.REJECTED, Status.REJECTED,
                                                                        Status.PENDING]
        assert storage.author_record(event_id, author_id).standing == "blocked"  # type: ignore[union-attr]
        # Their next post, collected again, is tombstoned: never back.
        assert storage.ingest(event_id, None, [approved(make_post(1, author="sp"))], None).tombstoned == 1
        undo = storage.undo_last(event_id, MO)
        assert undo is not None and sorted(undo.changed) == [a, b]
        assert [_status(storage, event_id, i) for i in (a, b)] == [Status.APPROVED, Status.PENDING]
        assert storage.author_record(event_id, author_id).standing is None  # type: ignore[union-attr]
        assert _kinds(storage)[-2:] == [("post.retracted", a), ("post.approved", a)]
        assert storage.ingest(event_id, None, [approved(make_post(1, author="sp"))], None).tombstoned == 0
        with pytest.raises(ActionError):
            storage.moderate_author(event_id, 999_999, "block", MO)


def test_take_down_removes_everywhere_and_undo_lifts_the_tombstone(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, (a,) = _seed(storage, approved(make_post(1)))
        storage.moderate_posts(event_id, [a], "feature", MO)
        storage.moderate_posts(event_id, [a], "takedown", MO)
        p = storage.post(event_id, a)
        assert p is not None and p.status is Status.REMOVED and not p.featured
        assert storage.tombstone_reason(event_id, make_post(1).key) == "taken_down"
        assert storage.posts(event_id).posts == ()
        storage.undo_last(event_id, MO)
        assert storage.tombstone_reason(event_id, make_post(1).key) is None
        p = storage.post(event_id, a)
        assert p is not None and p.status is Status.APPROVED and p.featured


def test_announcements(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, _ = _seed(storage)
        now = storage.clock()
        later = storage.create_announcement(event_id, "Keynote at 2", now + timedelta(hours=1), None, MO)
        soon = storage.create_announcement(event_id, "  Lunch   now ", now, now + timedelta(minutes=30), MO)
        assert soon.text == "Lunch now"
        assert [a.id for a in storage.active_announcements(event_id, now)] == [soon.id]
        assert [a.id for a in storage.active_announcements(event_id, now + timedelta(hours=1))] == [later.id]
        assert storage.withdraw_announcement(event_id, later.id, MO)
        assert not storage.withdraw_announcement(event_id, later.id, MO)
        assert storage.active_announcements(event_id, now + timedelta(hours=1)) == []
        events = storage.live_after(0)
        assert [e.kind for e in events] == ["announcement", "announcement", "announcement.withdrawn"]
        assert events[1].payload["text"] == "Lunch now" and events[2].payload == {"id": later.id}
        with pytest.raises(ValueError, match="after the start"):
            storage.create_announcement(event_id, "x", now, now, MO)
        with pytest.raises(ValueError, match="text"):
            storage.create_announcement(event_id, "   ", now, None, MO)


def test_wall_options_are_validated(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, _ = _seed(storage)
        stored = storage.set_wall_options(event_id, {"theme": "light", "platforms": ["x"]}, MO)
        assert stored == {"theme": "light", "platforms": ["x"]}
        ev = storage.event("coproduction-2014")
        assert ev is not None and ev.wall_options == stored
        merged = effective_wall_settings(WallSettings(accent_colour="#000000"), ev.wall_options)
        assert (merged.theme, merged.platforms, merged.accent_colour) == ("light", ("x",), "#000000")
        for bad in ({"accent_colour": "red"}, {"embed_origins": ["https://evil.example"]}, {"nope": 1},
                    {"logo_url": "javascript:alert(1)"}, {"max_cards": 0}):
            with pytest.raises(WallOptionsError):
                storage.set_wall_options(event_id, bad, MO)
        [event] = [e for e in storage.live_after(0) if e.kind == "wall.options"]
        assert event.payload == {"options": stored, "wall": ""}  # "": the event's own wall
        assert [e.action for e in storage.audit_entries(event_id)] == ["wall_options"]


def test_users_and_login_failures(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        uid = storage.create_user(" Mo ", "$argon2id$fake", "moderator")
        assert storage.user_by_name("MO").id == uid  # type: ignore[union-attr]
        with pytest.raises(ValueError, match="already exists"):
            storage.create_user("mo", "h", "moderator")
        with pytest.raises(ValueError, match="unknown role"):
            storage.create_user("zed", "h", "admin")
        storage.update_user(uid, disabled=True, role="organiser", actor=ANN)
        u = storage.user(uid)
        assert u is not None and u.disabled and u.role == "organiser"
        now = storage.clock()
        for _ in range(3):
            storage.record_login_failure("mo", "10.0.0.1")
        storage.record_login_failure("other", "10.0.0.1")
        assert storage.login_failure_counts("mo", "10.0.0.1", now - timedelta(minutes=15)) == (3, 4)
        storage.clear_login_failures("mo")
        assert storage.login_failure_counts("mo", "10.0.0.1", now - timedelta(minutes=15)) == (0, 1)
        with pytest.raises(ValueError, match="unknown role"):
            storage.update_user(uid, role="admin")
