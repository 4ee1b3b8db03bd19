"""Video links inside posts become video media, from the id alone."""

from __future__ import annotations

import pytest

from aggregator.sources.video import extract_videos, video_from_url, vimeo_id, with_videos, youtube_id
from aggregator.types import Media, MediaKind


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?feature=share&v=dQw4w9WgXcQ&t=42",
        "https://m.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?si=abc",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/embed/dQw4w9WgXcQ",
        "https://www.youtube.com/live/dQw4w9WgXcQ?feature=shared",
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "HTTP://WWW.YOUTUBE.COM/watch?v=dQw4w9WgXcQ",
    ],
)
def test_youtube_urls(url: str) -> None:
    assert youtube_id(url) == "dQw4w9WgXcQ"
    media = video_from_url(url)
    assert media == Media(
        kind=MediaKind.VIDEO,
        url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        thumbnail_url="https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg",
        embed_url="https://www.youtube.com/embed/dQw4w9WgXcQ",
        video_key="youtube:dQw4w9WgXcQ",
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=short",
        "https://www.youtube.com/channel/UCdemo26channel000000000",
        "https://youtu.be/",
        "https://evil.example/watch?v=dQw4w9WgXcQ",
        "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "javascript:alert('https://youtu.be/dQw4w9WgXcQ')",
        'https://www.youtube.com/watch?v=dQw4w9WgXcQ"><script>',
    ],
)
def test_not_youtube(url: str) -> None:
    assert youtube_id(url) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://vimeo.com/76979871", "76979871"),
        ("https://vimeo.com/channels/staffpicks/76979871", "76979871"),
        ("https://player.vimeo.com/video/76979871?h=abc", "76979871"),
        ("https://vimeo.com/about", None),
        ("https://notvimeo.com/76979871", None),
    ],
)
def test_vimeo(url: str, expected: str | None) -> None:
    assert vimeo_id(url) == expected
    if expected:
        media = video_from_url(url)
        assert media is not None
        assert media.embed_url == f"https://player.vimeo.com/video/{expected}"
        assert media.video_key == f"vimeo:{expected}"
        assert media.thumbnail_url == f"https://vumbnail.com/{expected}.jpg"


def test_extract_from_links_and_text_dedups() -> None:
    found = extract_videos(
        ["https://youtu.be/dQw4w9WgXcQ", "https://example.org/"],
        "watch https://www.youtube.com/watch?v=dQw4w9WgXcQ, and https://vimeo.com/76979871.",
    )
    assert [m.video_key for m in found] == ["youtube:dQw4w9WgXcQ", "vimeo:76979871"]
    existing = found[:1]
    assert [m.video_key for m in with_videos(existing, ["https://vimeo.com/76979871"])] == [
        "youtube:dQw4w9WgXcQ",
        "vimeo:76979871",
    ]
