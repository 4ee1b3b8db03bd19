"""Deterministic pictures drawn with Pillow from a seed: photos, video posters, avatars.

Shapes are placed in coordinates relative to the picture's size, so a
thumbnail and the full-size picture of one seed look alike (their perceptual
hashes are close), while different seeds look different.
"""

from __future__ import annotations

import io
import struct
from functools import lru_cache
from typing import Literal

from PIL import Image, ImageDraw

from aggregator.sandbox.ids import digest

ImageFormat = Literal["jpeg", "png"]
MAX_SIDE = 4096


def _stream(seed: str, n: int) -> bytes:
    out = b""
    i = 0
    while len(out) < n:
        out += digest("pixels", seed, str(i))
        i += 1
    return out[:n]


@lru_cache(maxsize=128)
def picture(seed: str, width: int, height: int, fmt: ImageFormat = "jpeg", poster: bool = False) -> bytes:
    """Encoded image bytes; the same arguments always give the same bytes."""
    width = max(1, min(width, MAX_SIDE))
    height = max(1, min(height, MAX_SIDE))
    rnd = _stream(seed, 256)
    bg = (rnd[0], rnd[1], rnd[2])
    img = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(img)
    # A few large shapes carry the low frequencies a perceptual hash looks at.
    for k in range(6):
        b = rnd[8 + k * 10 : 18 + k * 10]
        x0, y0 = b[0] / 255 * 0.8, b[1] / 255 * 0.8
        x1, y1 = x0 + 0.1 + b[2] / 255 * 0.5, y0 + 0.1 + b[3] / 255 * 0.5
        box = (x0 * width, y0 * height, min(x1, 1.0) * width, min(y1, 1.0) * height)
        colour = (b[4], b[5], b[6])
        if b[7] % 2:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    if poster:
        cx, cy, r = width / 2, height / 2, min(width, height) / 6
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(0, 0, 0))
        draw.polygon([(cx - r / 3, cy - r / 2), (cx - r / 3, cy + r / 2), (cx + r / 2, cy)], fill=(255, 255, 255))
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG", optimize=False)
    else:
        img.save(buf, format="JPEG", quality=85, optimize=False, progressive=False)
    return buf.getvalue()


@lru_cache(maxsize=64)
def avatar(seed: str, size: int = 96) -> bytes:
    """A round-faced avatar as PNG."""
    rnd = _stream("avatar:" + seed, 16)
    img = Image.new("RGB", (size, size), (rnd[0], rnd[1], rnd[2]))
    draw = ImageDraw.Draw(img)
    draw.ellipse((size * 0.25, size * 0.12, size * 0.75, size * 0.62), fill=(rnd[3], rnd[4], rnd[5]))
    draw.ellipse((size * 0.1, size * 0.6, size * 0.9, size * 1.3), fill=(rnd[6], rnd[7], rnd[8]))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def fake_mp4(seed: str, size: int = 4096) -> bytes:
    """Bytes that start like an MP4 file (an ftyp box), padded to `size`; not playable."""
    ftyp = b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41"
    box = struct.pack(">I", 8 + len(ftyp)) + b"ftyp" + ftyp
    pad = _stream("mp4:" + seed, max(0, size - len(box) - 8))
    return box + struct.pack(">I", 8 + len(pad)) + b"free" + pad


def hls_playlist(video_url: str, duration: float) -> bytes:
    """A minimal HLS media playlist pointing at one MP4 segment."""
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n"
        f"#EXT-X-TARGETDURATION:{max(1, round(duration))}\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:{duration:.3f},\n{video_url}\n#EXT-X-ENDLIST\n"
    ).encode()
