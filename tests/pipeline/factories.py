"""Small builders for Post values used by the pipeline tests (and pictures for phash)."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw

from aggregator.types import Author, Media, MediaKind, Platform, Post, Relation, RelationKind

T0 = datetime(2025, 5, 20, 9, 0, tzinfo=UTC)  # the event starts


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_author(
    platform: Platform = Platform.X,
    handle: str = "alice",
    name: str = "Alice Example",
    external_id: str | None = None,
    **kw: Any,
) -> Author:
    return Author(platform, external_id or f"{platform.value}-{handle}", handle, name, **kw)


def make_post(
    platform: Platform = Platform.X,
    external_id: str = "1",
    text: str = "Hello from the conference",
    created_at: datetime = T0,
    author: Author | None = None,
    **kw: Any,
) -> Post:
    return Post(
        platform=platform,
        external_id=external_id,
        url=f"https://{platform.value}.example/{external_id}",
        author=author or make_author(platform),
        created_at=created_at,
        text=text,
        html=f"<p>{text}</p>",
        **kw,
    )


def retweet(original: Post, external_id: str, handle: str, *, embed: bool = True, minutes: float = 1) -> Post:
    """A repost of ``original`` on its platform, with the original embedded (or only a relation)."""
    return make_post(
        original.platform,
        external_id,
        text=f"RT {original.text}",
        created_at=original.created_at + timedelta(minutes=minutes),
        author=make_author(original.platform, handle, handle.title()),
        relations=(Relation(RelationKind.REPOST, original.external_id),),
        repost_of=original if embed else None,
    )


def photo(url: str = "https://img.example/p.jpg", alt: str = "") -> Media:
    return Media(MediaKind.PHOTO, url, alt_text=alt)


def video(key: str) -> Media:
    return Media(MediaKind.VIDEO, f"https://video.example/{key}", video_key=key)


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A reproducible 'photo': a gradient with coloured shapes on it."""
    rnd = random.Random(seed)
    w, h = size
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    im = Image.blend(im, Image.new("RGB", size, tuple(rnd.randrange(256) for _ in range(3))), 0.5)
    draw = ImageDraw.Draw(im)
    for _ in range(10):
        x0, y0 = rnd.randrange(w), rnd.randrange(h)
        box = [x0, y0, x0 + rnd.randrange(w // 10, w // 2), y0 + rnd.randrange(h // 10, h // 2)]
        colour = tuple(rnd.randrange(256) for _ in range(3))
        if rnd.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    return im


def encode(im: Image.Image, fmt: str = "PNG", **kw: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()
