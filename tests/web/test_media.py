"""Issue 9 item 8: uploads keep pixels only; /media/ serves only files of posts that are public now;
hostile media paths are 404s; every error response carries the pages' security headers."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.middleware.base import BaseHTTPMiddleware

from aggregator.storage import PostQuery
from aggregator.types import Platform
from aggregator.web.security import SecurityHeaders
from tests.web.conftest import ConsoleEnv, csrf_from
from tests.web.public_env import ACTOR, SLUG, public_env

SECRET = b"SECRET-LOCATION-55.9533N"


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(db_url, tmp_path) as e:
        yield e


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_every_metadata_block() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), (30, 160, 90)).save(out, "JPEG")
    plain = out.getvalue()
    extra = b"".join([
        _segment(0xE1, b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00" + SECRET),  # EXIF
        _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"),  # XMP
        _segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + SECRET),  # ICC
        _segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00" + SECRET),  # IPTC
        _segment(0xEC, b"Ducky" + SECRET),  # APP12
        _segment(0xFE, b"comment: " + SECRET),  # COM
    ])
    data = plain[:2] + extra + plain[2:]
    Image.open(io.BytesIO(data)).load()  # still a readable JPEG
    return data


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_with_text_chunks() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (40, 30), (200, 10, 10, 128)).save(out, "PNG")
    plain = out.getvalue()
    at = plain.index(b"IDAT") - 4
    extra = (_chunk(b"tEXt", b"Comment\x00" + SECRET) + _chunk(b"zTXt", b"Author\x00\x00" + zlib.compress(SECRET))
             + _chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + SECRET)
             + _chunk(b"eXIf", b"MM\x00*\x00\x00\x00\x08\x00\x00" + SECRET))
    return plain[:at] + extra + plain[at:]


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG up to the start of scan."""
    assert data[:2] == b"\xff\xd8"
    i, found = 2, []
    while i < len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        found.append(marker)
        if marker == 0xDA:
            break
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    return found


def _upload(env: ConsoleEnv, name: str, data: bytes, kind: str) -> tuple[object, list[str]]:
    env.add_user("rita", "reporter")
    client = env.sign_in("rita")
    token = csrf_from(client.get(f"/console/{SLUG}/posts/new").text)
    resp = client.post(f"/console/{SLUG}/posts", data={"csrf_token": token, "text": "Photo"},
                       files={"photos": (name, data, kind)})
    assert resp.status_code == 303, resp.text
    [post] = [p for p in env.storage.posts(env.event_id, PostQuery()).posts if p.platform is Platform.REPORTER]
    [photo] = post.media
    assert photo.thumbnail_url
    return client, [photo.url, photo.thumbnail_url]


@pytest.mark.parametrize("name, make, kind", [
    ("photo.jpg", jpeg_with_every_metadata_block, "image/jpeg"),
    ("photo.png", png_with_text_chunks, "image/png"),
])
def test_uploads_keep_no_metadata_block_at_all(env: ConsoleEnv, name: str, make: object, kind: str) -> None:
    client, urls = _upload(env, name, make(), kind)  # type: ignore[operator]
    for url in urls:
        served = client.get(url)  # type: ignore[attr-defined]
        assert served.status_code == 200
        data = served.content
        assert SECRET not in data and b"Exif" not in data and b"ICC_PROFILE" not in data
        assert b"ns.adobe.com" not in data and b"Photoshop" not in data
        # SOI is implicit; then only JFIF (APP0), tables, frame and scan: no APP1-APP15, no COM.
        markers = jpeg_markers(data)
        assert not [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE], [hex(m) for m in markers]
        img = Image.open(io.BytesIO(data))
        assert img.format == "JPEG"
        assert not {"comment", "icc_profile", "xmp", "exif", "photoshop"} & set(img.info)


def test_a_taken_down_reporter_photo_is_no_longer_served(env: ConsoleEnv) -> None:
    client, urls = _upload(env, "photo.jpg", jpeg_with_every_metadata_block(), "image/jpeg")
    anonymous = env.client()
    for url in urls:
        assert anonymous.get(url).status_code == 200
    [post] = env.storage.posts(env.event_id, PostQuery()).posts
    env.storage.moderate_posts(env.event_id, [post.id], "takedown", ACTOR)
    for url in urls:
        assert anonymous.get(url).status_code == 404, url
        assert client.get(url).status_code == 404, url  # type: ignore[attr-defined]
    # A file in the folder that no post names is not served either.
    folder = Path(env.app.state.cfg.settings.server.media_dir) / SLUG
    (folder / ("0" * 32 + ".jpg")).write_bytes(b"\xff\xd8\xff\xd9")
    assert anonymous.get(f"/media/{SLUG}/{'0' * 32}.jpg").status_code == 404


@pytest.mark.parametrize("path", [
    "/media/%00", f"/media/{SLUG}/%00.jpg", f"/media/{SLUG}/a%00b.jpg", "/media/x%00/../../etc/passwd",
    "/media/../../etc/passwd", f"/media/{SLUG}/..%2f..%2fconfig.toml", "/media/%2e%2e/%2e%2e/etc/passwd",
    f"/media/{SLUG}/%252e%252e%252fsecret.jpg", "/media/..%5c..%5cwin.ini", f"/media/{SLUG}/%ff%fe.jpg",
    f"/media/{SLUG}/{'a' * 32}.jpg%00.png", "/media/" + "a/" * 300,
])
def test_hostile_media_paths_are_404_not_500(env: ConsoleEnv, path: str) -> None:
    resp = env.client(raise_server_exceptions=False).get(path)
    assert resp.status_code == 404, (path, resp.status_code)
    assert "content-security-policy" in resp.headers


def test_the_security_headers_middleware_is_pure_asgi() -> None:
    # BaseHTTPMiddleware relays every streamed (SSE) message through extra tasks and a queue.
    assert not issubclass(SecurityHeaders, BaseHTTPMiddleware)


HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


def test_error_responses_carry_the_same_security_headers_as_pages(env: ConsoleEnv,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    client = env.client(raise_server_exceptions=False)
    page = client.get(f"/e/{SLUG}/timeline")
    assert page.status_code == 200
    expected = {h: page.headers[h] for h in HEADERS}
    env.add_user("rita", "reporter")
    reporter = env.sign_in("rita")
    token = csrf_from(reporter.get(f"/console/{SLUG}/stories").text)
    errors = {
        404: client.get("/e/no-such-event/timeline"),
        403: reporter.post(f"/console/{SLUG}/stories"),  # no CSRF token
        400: reporter.post(f"/console/{SLUG}/stories/add-post", data={"csrf_token": token, "post_id": "1",
                                                                      "target": "not-a-story"}),
        422: client.get(f"/api/events/{SLUG}/posts?before=not-a-cursor"),
        405: client.delete(f"/e/{SLUG}/timeline"),
    }

    def boom(*_args: object, **_kw: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(env.storage, "events", boom)
    errors[500] = client.get("/api/events")
    for status, resp in errors.items():
        assert resp.status_code == status, (status, resp.status_code, resp.text[:200])
        assert {h: resp.headers.get(h) for h in HEADERS} == expected, status
    assert errors[500].text == "Internal Server Error"  # the format stays Starlette's (issue 15 changes it)
