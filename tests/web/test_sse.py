"""The live stream over real HTTP: ids are live-event seqs; replay from Last-Event-ID or ?after;
cards are fetched at send time."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

import httpx

from aggregator.pipeline.sanitise import text_to_html
from aggregator.storage import PostQuery
from aggregator.storage.moderation import Actor
from tests.factories import approved, make_post, pending
from tests.web.conftest import LiveServer

SLUG = "coproduction-2014"
ACTOR = Actor(None, "test")


def read_events(base: str, n: int, params: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, connected: threading.Event | None = None,
                ) -> list[dict[str, Any]]:
    """The first n SSE messages (id + parsed data); comments and pings are skipped.

    `connected` is set once the stream has answered (for tests that write after connecting)."""
    out: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with httpx.stream("GET", f"{base}/e/{SLUG}/live", params=params, headers=headers, timeout=5) as resp:
        assert resp.status_code == 200
        if connected is not None:
            connected.set()
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers["cache-control"] == "no-store"
        for line in resp.iter_lines():
            if line.startswith("id:"):
                current["id"] = int(line[3:].strip())
            elif line.startswith("data:"):
                current["data"] = json.loads(line[5:].strip())
            elif line == "" and "data" in current:
                out.append(current)
                current = {}
                if len(out) == n:
                    break
    return out


def test_replay_after_a_seq_sends_current_cards_and_bare_retractions(live_server: LiveServer) -> None:
    storage, event_id = live_server.storage, live_server.event_id
    posts = [make_post(i, text=f"Card <b>{i}</b>") for i in range(3)]
    posts = [replace(p, html=text_to_html(p.text)) for p in posts]
    storage.ingest(event_id, None, [approved(p) for p in posts] + [pending(make_post(9))], None)
    ids = {p.external_id: p.id for p in storage.posts(event_id, PostQuery()).posts}
    first, second, third = (ids[make_post(i).external_id] for i in range(3))
    storage.moderate_posts(event_id, [second], "reject", ACTOR)
    events = read_events(live_server, 4, params={"after": "0"})
    seqs = [e["id"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    kinds = [(e["data"]["kind"], e["data"]["post_id"]) for e in events]
    # The second post's approval is replayed as a retraction: it is no longer visible.
    assert kinds == [("post.approved", first), ("post.retracted", second), ("post.approved", third),
                     ("post.retracted", second)]
    card = events[0]["data"]
    assert card["html"].startswith("<article") and f'data-post-id="{first}"' in card["html"]
    assert "Card &lt;b&gt;0&lt;/b&gt;" in card["html"]
    assert card["pinned"] is False and card["featured"] is False and card["created_at"].endswith("Z")
    assert set(events[1]["data"]) == {"kind", "post_id"}

    # Last-Event-ID wins over ?after (the browser sends it on its own reconnects).
    later = read_events(live_server, 1, params={"after": "0"}, headers={"Last-Event-ID": str(seqs[2])})
    assert later[0]["id"] == seqs[3]


def test_live_rows_arrive_after_connecting(live_server: LiveServer) -> None:
    storage, event_id = live_server.storage, live_server.event_id
    start = storage.last_live_seq()
    connected = threading.Event()

    def later() -> None:
        assert connected.wait(10)
        storage.ingest(event_id, None, [approved(make_post(5))], None)
        [post] = storage.posts(event_id, PostQuery()).posts
        storage.moderate_posts(event_id, [post.id], "feature", ACTOR)

    threading.Thread(target=later).start()
    events = read_events(live_server, 2, params={"after": str(start)}, connected=connected)
    assert [e["data"]["kind"] for e in events] == ["post.approved", "post.featured"]
    assert events[1]["data"]["featured"] is True
    assert "is-featured" in events[1]["data"]["html"]


def test_an_unknown_event_is_404(live_server: LiveServer) -> None:
    assert httpx.get(f"{live_server}/e/nope/live", timeout=5).status_code == 404
