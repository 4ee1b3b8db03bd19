"""Video links inside any post -> video Media with an embed URL and a poster, no network.

YouTube: youtube.com/watch?v=ID, youtu.be/ID, youtube.com/shorts/ID,
youtube.com/embed/ID, youtube.com/live/ID, youtube-nocookie.com/embed/ID.
Vimeo: vimeo.com/N, player.vimeo.com/video/N.
The thumbnail is derived from the id (i.ytimg.com for YouTube, vumbnail.com
for Vimeo) so it can be shown without an API key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from aggregator.types import Media, MediaKind

_YT_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_VIMEO_ID = re.compile(r"^\d{1,12}$")
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_YT_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
_YT_NOCOOKIE = {"youtube-nocookie.com", "www.youtube-nocookie.com"}
_YT_PATH_PREFIXES = ("shorts", "embed", "live", "v")


def youtube_id(url: str) -> str | None:
    """The 11-character video id of a YouTube URL, or None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    host = (parts.hostname or "").lower()
    candidate: str | None = None
    segments = [s for s in parts.path.split("/") if s]
    if host in ("youtu.be", "www.youtu.be"):
        candidate = segments[0] if segments else None
    elif host in _YT_HOSTS:
        if parts.path.rstrip("/") == "/watch":
            values = parse_qs(parts.query).get("v")
            candidate = values[0] if values else None
        elif len(segments) >= 2 and segments[0] in _YT_PATH_PREFIXES:
            candidate = segments[1]
    elif host in _YT_NOCOOKIE and len(segments) >= 2 and segments[0] == "embed":
        candidate = segments[1]
    if candidate and _YT_ID.match(candidate):
        return candidate
    return None


def vimeo_id(url: str) -> str | None:
    """The numeric id of a Vimeo video URL, or None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    candidate: str | None = None
    if host in ("vimeo.com", "www.vimeo.com"):
        # vimeo.com/123, vimeo.com/channels/staffpicks/123, vimeo.com/groups/x/videos/123
        for seg in reversed(segments):
            if _VIMEO_ID.match(seg):
                candidate = seg
                break
    elif host == "player.vimeo.com" and len(segments) >= 2 and segments[0] == "video":
        candidate = segments[1]
    if candidate and _VIMEO_ID.match(candidate):
        return candidate
    return None


def youtube_media(video_id: str, *, title: str = "") -> Media:
    return Media(
        kind=MediaKind.VIDEO,
        url=f"https://www.youtube.com/watch?v={video_id}",
        thumbnail_url=f"https://i.ytimg.com/vi/{video_id}/hqdefault.jpg",
        alt_text=title,
        embed_url=f"https://www.youtube.com/embed/{video_id}",
        video_key=f"youtube:{video_id}",
    )


def vimeo_media(video_id: str, *, title: str = "") -> Media:
    return Media(
        kind=MediaKind.VIDEO,
        url=f"https://vimeo.com/{video_id}",
        thumbnail_url=f"https://vumbnail.com/{video_id}.jpg",
        alt_text=title,
        embed_url=f"https://player.vimeo.com/video/{video_id}",
        video_key=f"vimeo:{video_id}",
    )


def video_from_url(url: str) -> Media | None:
    """Video media for a YouTube or Vimeo URL, or None for anything else."""
    yt = youtube_id(url)
    if yt:
        return youtube_media(yt)
    vm = vimeo_id(url)
    if vm:
        return vimeo_media(vm)
    return None


def extract_videos(links: Iterable[str], text: str = "") -> tuple[Media, ...]:
    """Video media for every distinct YouTube/Vimeo link among `links` and URLs in `text`."""
    found: dict[str, Media] = {}
    urls = list(links) + [m.group(0).rstrip(".,;:!?)]}'\"") for m in _URL_IN_TEXT.finditer(text)]
    for url in urls:
        media = video_from_url(url)
        if media and media.video_key and media.video_key not in found:
            found[media.video_key] = media
    return tuple(found.values())


def with_videos(media: tuple[Media, ...], links: Iterable[str], text: str = "") -> tuple[Media, ...]:
    """`media` plus video media from links/text whose video is not already there."""
    have = {m.video_key for m in media if m.video_key}
    extra = tuple(m for m in extract_videos(links, text) if m.video_key not in have)
    return media + extra
