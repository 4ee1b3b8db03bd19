"""Safety headers on every public surface: CSP without inline script, nosniff, referrer policy, framing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import approved, make_post
from tests.web.conftest import ConsoleEnv
from tests.web.public_env import SLUG, public_env

PAGES = [f"/e/{SLUG}/wall", f"/e/{SLUG}/timeline", f"/e/{SLUG}/p/1", f"/e/{SLUG}/photos", f"/e/{SLUG}/stories",
         "/api/events", f"/e/{SLUG}/theme.css"]
EMBEDS = [f"/e/{SLUG}/embed/wall", f"/e/{SLUG}/embed/timeline"]


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(sqlite_url, tmp_path, wall={"embed_origins": ["https://organiser.example"]}) as e:
        e.storage.ingest(e.event_id, None, [approved(make_post(1))], None)
        yield e


def directives(csp: str) -> dict[str, str]:
    out = {}
    for part in csp.split(";"):
        name, _, value = part.strip().partition(" ")
        out[name] = value
    return out


def test_pages_carry_a_strict_csp_and_cannot_be_framed(env: ConsoleEnv) -> None:
    client = env.client()
    for path in PAGES:
        resp = client.get(path)
        assert resp.status_code == 200, path
        csp = directives(resp.headers["content-security-policy"])
        assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
        assert "'unsafe-inline'" not in csp["style-src"]
        assert csp["object-src"] == "'none'"
        assert csp["frame-ancestors"] == "'none'"
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_embeds_may_be_framed_only_by_configured_origins(env: ConsoleEnv) -> None:
    client = env.client()
    for path in EMBEDS:
        resp = client.get(path)
        assert resp.status_code == 200, path
        csp = directives(resp.headers["content-security-policy"])
        assert csp["frame-ancestors"] == "'self' https://organiser.example"
        assert "x-frame-options" not in resp.headers
        assert resp.headers["x-content-type-options"] == "nosniff"


def test_no_inline_script_or_style_in_any_page(env: ConsoleEnv) -> None:
    from tests.web.public_env import parse

    client = env.client()
    for path in PAGES[:5] + EMBEDS:
        doc = parse(client.get(path).text)
        for tag, attrs in doc.tags:
            names = {n for n, _ in attrs}
            assert "style" not in names, f"{path}: style= on <{tag}>"
            assert not any(n.startswith("on") for n in names), f"{path}: handler on <{tag}>"
            if tag == "script":
                assert dict(attrs).get("src", "").startswith("/static/"), f"{path}: inline script"  # type: ignore[union-attr]
            assert tag != "style", f"{path}: <style> element"
        if "/wall" in path:
            assert any(t == "img" or t == "svg" for t, _ in doc.tags)


def test_third_party_media_send_no_referrer_and_load_lazily(env: ConsoleEnv) -> None:
    from tests.web.public_env import parse

    env.storage.ingest(env.event_id, None, [approved(make_post(2, photos=2))], None)
    doc = parse(env.client().get(f"/e/{SLUG}/wall").text)
    imgs = [dict(a) for t, a in doc.tags if t == "img"]
    assert imgs
    for img in imgs:
        assert img.get("referrerpolicy") == "no-referrer"
        assert img.get("loading") == "lazy"
