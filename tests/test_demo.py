"""The demo, as a newcomer runs it: `aggregator demo --fast` and `scripts/demo`, end to end."""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from aggregator.sandbox.scenarios.coproduction import coproduction_day, expected_caught

ROOT = Path(__file__).resolve().parents[1]
SLUG = "coproduction-2014"
READY_TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(cmd: list[str], env: dict[str, str] | None = None) -> Iterator[tuple[str, list[str]]]:
    """Start the demo, wait for its `ready:` line; yields (wall URL, output lines so far); Ctrl-C at the end."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env or os.environ.copy(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT
        wall = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            if line.startswith("ready: "):
                wall = line.split(" ", 1)[1].strip()
                break
        assert wall, "no ready line:\n" + "\n".join(lines[-30:])
        yield wall, lines
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            rest, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rest, _ = proc.communicate()
            pytest.fail("the demo did not stop on Ctrl-C:\n" + "\n".join(lines[-20:]))
        lines.extend(rest.splitlines())
    assert proc.returncode == 0, "\n".join(lines[-30:])
    assert "Traceback" not in "\n".join(lines)


def caught_fragments() -> list[str]:
    """A distinctive piece of each post that moderation must keep off public surfaces."""
    caught = expected_caught()
    out = []
    for p in coproduction_day().posts:
        if p.id in caught and len(p.text) >= 20:
            out.append(p.text[:40])
    return out


def test_demo_fast_serves_the_day_and_none_of_what_moderation_caught(tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "aggregator.cli", "demo", "--fast", "--port", str(port), "--sandbox-port", "0",
           "--data-dir", str(tmp_path / "data")]
    with running(cmd) as (wall_url, lines):
        base = f"http://127.0.0.1:{port}"
        assert wall_url == f"{base}/e/{SLUG}/wall"
        story_url = next(line.split(None, 1)[1] for line in lines if line.startswith("story:"))
        assert any("sign in as moderator" in line for line in lines)
        printed = "\n".join(lines)
        for path in ("/e/coproduction-2014/timeline", "/console/coproduction-2014/stories", "/docs",
                     "/console/coproduction-2014/embed", "/e/coproduction-2014/embed/wall", "/console "):
            assert f"{base}{path}" in printed, path  # every URL a newcomer needs

        # Every approved post, through the public API's keyset pages.
        texts: list[str] = []
        url = f"{base}/api/events/{SLUG}/posts?limit=200"
        while url:
            page = requests.get(url, timeout=30).json()
            texts += [p["text"] for p in page["posts"]]
            url = f"{base}/api/events/{SLUG}/posts?limit=200&before={page['earlier']}" if page["earlier"] else ""
        assert len(texts) > 300  # the scenario's day, less duplicates and what moderation held

        pages = {
            "wall": requests.get(wall_url, timeout=30),
            "timeline": requests.get(f"{base}/e/{SLUG}/timeline", timeout=30),
            "story": requests.get(story_url, timeout=30),
        }
        for name, resp in pages.items():
            assert resp.status_code == 200, name
        # The wall shows the newest approved post; the story has posts in its sections.
        newest = html.escape(texts[0][:30], quote=False)
        assert newest in pages["wall"].text or html.escape(texts[0][:30]) in pages["wall"].text
        assert "Welcome and opening remarks" in pages["story"].text
        assert pages["story"].text.count('class="card') + pages["story"].text.count("story__gallery-item") >= 5

        everything = "\n".join([*texts, *(html.unescape(r.text) for r in pages.values())])
        leaked = [f for f in caught_fragments() if f in everything]
        assert leaked == [], leaked


def test_the_demo_resumes_and_resets(tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "aggregator.cli", "demo", "--fast", "--port", str(port), "--sandbox-port", "0",
           "--data-dir", str(tmp_path / "data")]
    with running(cmd) as (_, lines):
        assert any(line.startswith("demo day started") for line in lines)
    with running(cmd) as (_, lines):
        assert any(line.startswith("demo day resumed") for line in lines)
    with running([*cmd, "--reset"]) as (_, lines):
        assert any(line.startswith("demo day started") for line in lines)


def test_scripts_demo_from_the_readme(tmp_path: Path) -> None:
    """The README's first command: install (if needed), start, serve the wall, stop on Ctrl-C."""
    port = free_port()
    cmd = [str(ROOT / "scripts" / "demo"), "--fast", "--port", str(port), "--sandbox-port", "0",
           "--data-dir", str(tmp_path / "data")]
    with running(cmd) as (wall_url, _):
        resp = requests.get(wall_url, timeout=30)
        assert resp.status_code == 200
        assert re.search(r"coprodscot", resp.text)
