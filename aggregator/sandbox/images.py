"""Deterministic pictures drawn with Pillow from a seed: photos, video posters, avatars.

Shapes are placed in coordinates relative to the picture's size, so a
thumbnail and the full-size picture of one seed look alike (their perceptual
hashes are close), while different seeds look different.
"""

from __future__ import annotations

import io
import math
import struct
from functools import lru_cache
from typing import Literal

from PIL import Image, ImageDraw, ImageFilter

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
    img = _scene_sized(seed, width, height) if scene_kind(seed) else _shapes(seed, width, height)
    draw = ImageDraw.Draw(img)
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


def _shapes(seed: str, width: int, height: int) -> Image.Image:
    """The abstract picture of a plain seed: a background and six large shapes."""
    rnd = _stream(seed, 256)
    img = Image.new("RGB", (width, height), (rnd[0], rnd[1], rnd[2]))
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
    return img


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


# ---------------------------------------------------------------- event-photo scenes
#
# Seeds of the form "evt:<kind>:<anything>" are drawn as a plausible event photo
# (a hall with an audience, a speaker on stage, a workshop table, a wall of labels,
# a graphic-facilitation mural, ...) instead of abstract shapes. The camera position,
# light, palette and crowd vary with the whole seed, so two seeds of one kind still
# look (and hash) different; coordinates are relative, so thumbnails match.

SCENE_KINDS: tuple[str, ...] = (
    "hall", "stage", "workshop", "labels", "wallchart", "coffee", "openspace", "portrait", "group", "lunch",
)

_SKIN = ((241, 204, 178), (224, 172, 138), (198, 134, 98), (161, 102, 68), (120, 78, 52), (88, 56, 38))
_HAIR = ((30, 24, 20), (70, 48, 30), (120, 84, 48), (190, 150, 90), (150, 150, 150), (160, 60, 30))
_CLOTHES = (
    (32, 48, 96), (150, 30, 40), (40, 110, 70), (220, 220, 215), (25, 25, 30), (200, 140, 40), (90, 60, 120),
    (70, 130, 180), (230, 110, 90), (110, 110, 110), (20, 90, 100), (240, 200, 60),
)
_NOTES = ((255, 236, 120), (255, 170, 190), (150, 220, 255), (170, 240, 160), (255, 200, 120), (245, 245, 240))


_RGB = tuple[int, int, int]


class _Rnd:
    """A deterministic stream of uniform numbers from a seed (no global state)."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.buf = b""
        self.pos = 0
        self.block = 0

    def u(self) -> float:
        if self.pos + 2 > len(self.buf):
            self.buf = digest("scene", self.seed, str(self.block))
            self.block += 1
            self.pos = 0
        v = int.from_bytes(self.buf[self.pos : self.pos + 2], "big") / 65535
        self.pos += 2
        return v

    def uni(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.u()

    def pick(self, items: tuple[_RGB, ...]) -> _RGB:
        return items[min(len(items) - 1, int(self.u() * len(items)))]

    def jitter(self, c: _RGB, amount: int = 18) -> _RGB:
        return (_clamp(c[0] + self.uni(-amount, amount)), _clamp(c[1] + self.uni(-amount, amount)),
                _clamp(c[2] + self.uni(-amount, amount)))



def _clamp(v: float) -> int:
    return max(0, min(255, round(v)))


def _shade(c: _RGB, f: float) -> _RGB:
    return (_clamp(c[0] * f), _clamp(c[1] * f), _clamp(c[2] * f))


def scene_kind(seed: str) -> str | None:
    """The scene an "evt:<kind>:..." seed draws, or None for an abstract picture."""
    if not seed.startswith("evt:"):
        return None
    kind = seed[4:].split(":", 1)[0]
    return kind if kind in SCENE_KINDS else "hall"


_MASTER_SIDE = 1024


def _scene_sized(seed: str, width: int, height: int) -> Image.Image:
    """A scene at any size: smaller sizes are downscaled from one larger drawing, as real thumbnails are."""
    long_side = max(width, height)
    if long_side >= _MASTER_SIDE:
        return _scene(seed, width, height).copy()
    scale = _MASTER_SIDE / long_side
    master = _scene(seed, max(1, round(width * scale)), max(1, round(height * scale)))
    return master.resize((width, height), Image.Resampling.LANCZOS)


@lru_cache(maxsize=32)
def _scene(seed: str, width: int, height: int) -> Image.Image:
    """Draw the scene of an "evt:" seed (cached: callers must not modify the image)."""
    kind = scene_kind(seed) or "hall"
    r = _Rnd(seed)
    w, h = width, height
    wall = r.jitter(r.pick(((196, 184, 160), (170, 180, 190), (120, 96, 80), (220, 214, 200), (90, 100, 120),
                            (150, 160, 130), (60, 62, 70), (200, 170, 150))), 25)
    floor = r.jitter(r.pick(((90, 60, 45), (60, 60, 70), (130, 40, 45), (40, 60, 90), (150, 130, 100))), 20)
    horizon = r.uni(0.3, 0.72)
    img = Image.new("RGB", (w, h), wall)
    d = ImageDraw.Draw(img)
    d.rectangle((0, horizon * h, w, h), fill=floor)
    # Windows or lights: big bright/dark panels carry most of a photo's low frequencies.
    for _ in range(1 + int(r.u() * 3)):
        x0, y0 = r.uni(-0.1, 0.9), r.uni(0.0, max(0.05, horizon - 0.2))
        pw, ph = r.uni(0.08, 0.35), r.uni(0.12, 0.45)
        tone = r.pick(((250, 248, 235), (40, 40, 48), (200, 225, 250), (255, 230, 180)))
        d.rectangle((x0 * w, y0 * h, (x0 + pw) * w, min(y0 + ph, horizon) * h), fill=tone)

    def person(cx: float, base_y: float, s: float, facing_away: bool = False) -> None:
        """A seated/standing figure: shoulders at base_y, size s (fractions of the height)."""
        skin, hair, cloth = r.pick(_SKIN), r.pick(_HAIR), r.jitter(r.pick(_CLOTHES), 12)
        # Widths scale with the picture's width (as in a 4:3 frame), heights with its height, so a
        # squeezed thumbnail (Flickr's squares) is the same drawing stretched.
        sw = s * 0.9 * 0.75 * w
        d.rounded_rectangle((cx * w - sw / 2, base_y * h, cx * w + sw / 2, (base_y + s * 1.4) * h),
                            radius=max(1, int(min(sw, s * h) / 3)), fill=cloth)
        rx, ry = s * 0.32 * 0.75 * w, s * 0.32 * h
        hy = base_y * h - ry * 0.8
        d.ellipse((cx * w - rx, hy - ry, cx * w + rx, hy + ry), fill=hair if facing_away else skin)
        if not facing_away:
            d.chord((cx * w - rx, hy - ry * 1.05, cx * w + rx, hy + ry * 0.4), 180, 360, fill=hair)

    def crowd(rows: int, y0: float, y1: float, s0: float, s1: float, away: bool, density: float) -> None:
        for i in range(rows):
            t = i / max(1, rows - 1)
            y, s = y0 + (y1 - y0) * t, s0 + (s1 - s0) * t
            n = max(1, int(density / s))
            shift = r.uni(0, 1.0 / n)
            for j in range(n):
                if r.u() < 0.15:
                    continue
                person((j + 0.5) / n + shift + r.uni(-0.02, 0.02), y + r.uni(-0.01, 0.01), s, away)

    if kind in ("hall", "stage"):
        sx, sw_ = r.uni(0.05, 0.6), r.uni(0.25, 0.4)
        top = max(0.02, horizon - r.uni(0.25, 0.4))
        screen = r.jitter(r.pick(((235, 240, 250), (30, 60, 120), (250, 250, 245), (0, 120, 140))), 10)
        d.rectangle((sx * w, top * h, (sx + sw_) * w, (horizon - 0.05) * h), fill=screen)
        ink = _shade(screen, 0.35) if sum(screen) > 380 else (240, 240, 240)
        for k in range(3 + int(r.u() * 3)):
            ly = top + 0.05 + k * 0.045
            if ly < horizon - 0.08:
                d.rectangle(((sx + 0.03) * w, ly * h, (sx + r.uni(0.1, sw_ - 0.03)) * w, (ly + 0.018) * h),
                            fill=ink)
        lx = min(0.92, sx + sw_ + r.uni(0.03, 0.12)) if r.u() < 0.5 else max(0.05, sx - r.uni(0.05, 0.12))
        d.rectangle(((lx - 0.03) * w, (horizon - 0.08) * h, (lx + 0.03) * w, (horizon + 0.04) * h),
                    fill=(80, 50, 30))
        person(lx, horizon - 0.2, 0.1 if kind == "hall" else 0.18)
        if kind == "hall":
            crowd(3 + int(r.u() * 3), horizon + 0.08, 0.95, 0.05, 0.16, True, r.uni(0.6, 0.9))
        else:
            crowd(1, 0.86, 0.86, 0.22, 0.22, True, r.uni(0.5, 0.9))
    elif kind in ("workshop", "lunch"):
        cx, cy, tw = r.uni(0.35, 0.65), r.uni(max(0.55, horizon + 0.1), 0.75), r.uni(0.45, 0.75)
        cloth = (245, 245, 240) if kind == "lunch" else r.jitter((140, 100, 60), 20)
        if kind == "workshop":
            fx = r.uni(0.05, 0.85)
            d.rectangle((fx * w, (horizon - 0.35) * h, (fx + 0.13) * w, (horizon + 0.05) * h), fill=(250, 250, 250))
            for k in range(4):
                d.line((((fx + 0.02) * w, (horizon - 0.3 + k * 0.07) * h),
                        ((fx + 0.11) * w, (horizon - 0.28 + k * 0.07) * h)),
                       fill=r.pick(((20, 60, 160), (200, 30, 30), (20, 120, 40))), width=max(1, w // 250))
        crowd(1, cy - 0.22, cy - 0.22, 0.12, 0.12, False, tw * 0.9)
        d.ellipse(((cx - tw / 2) * w, (cy - 0.11) * h, (cx + tw / 2) * w, (cy + 0.11) * h), fill=cloth)
        for _ in range(5 + int(r.u() * 6)):
            px, py = cx + r.uni(-tw / 2.6, tw / 2.6), cy + r.uni(-0.05, 0.05)
            c = (255, 255, 255) if kind == "lunch" else r.pick(_NOTES)
            d.ellipse(((px - 0.035) * w, (py - 0.02) * h, (px + 0.035) * w, (py + 0.02) * h), fill=c)
        crowd(1, cy + 0.08, cy + 0.08, 0.2, 0.2, True, tw * 0.8)
    elif kind in ("labels", "wallchart"):
        x0 = r.uni(-0.05, 0.4)
        x1 = min(1.05, x0 + r.uni(0.5, 0.95))
        y0, y1 = r.uni(0.03, 0.25), min(0.92, horizon + r.uni(0.05, 0.3))
        paper = r.jitter((248, 246, 238), 6)
        d.rectangle((x0 * w, y0 * h, x1 * w, y1 * h), fill=paper)
        if kind == "labels":
            cols, rows = 5 + int(r.u() * 5), 4 + int(r.u() * 4)
            for i in range(cols):
                for j in range(rows):
                    if r.u() < 0.2:
                        continue
                    lx = x0 + (x1 - x0) * (i + r.uni(0.05, 0.2)) / cols
                    ly = y0 + (y1 - y0) * (j + r.uni(0.05, 0.2)) / rows
                    lw, lh = (x1 - x0) / cols * 0.75, (y1 - y0) / rows * 0.7
                    d.rectangle((lx * w, ly * h, (lx + lw) * w, (ly + lh) * h), fill=r.pick(_NOTES))
                    d.line(((lx + lw * 0.1) * w, (ly + lh * 0.5) * h, (lx + lw * 0.8) * w, (ly + lh * 0.5) * h),
                           fill=(40, 40, 60), width=max(1, w // 400))
        else:
            inks = ((20, 90, 170), (210, 60, 40), (30, 140, 80), (240, 160, 20), (120, 40, 140), (30, 30, 30))
            for _ in range(8 + int(r.u() * 8)):
                bx, by = r.uni(x0, x1 - 0.1), r.uni(y0, y1 - 0.1)
                bs = r.uni(0.05, 0.16)
                ink = r.pick(inks)
                wd = max(1, w // 200)
                if r.u() < 0.5:
                    d.ellipse((bx * w, by * h, (bx + bs) * w, (by + bs) * h), outline=ink, width=wd)
                else:
                    d.rounded_rectangle((bx * w, by * h, (bx + bs * 1.4) * w, (by + bs * 0.7) * h),
                                        radius=max(1, int(bs * h / 4)), outline=ink, width=wd)
                d.line((bx * w, (by + bs) * h, (bx + bs) * w, (by + bs * 1.3) * h), fill=ink, width=wd)
            person(r.uni(0.2, 0.8), horizon - 0.05, 0.2, True)
        if kind == "labels" and r.u() < 0.6:  # someone reading the wall up close
            person(r.uni(0.15, 0.85), r.uni(0.45, 0.65), r.uni(0.25, 0.4), True)
        else:
            crowd(1, 0.88, 0.88, 0.16, 0.16, True, r.uni(0.3, 0.7))
    elif kind in ("coffee", "openspace", "group"):
        if kind == "coffee":
            tx = r.uni(0.05, 0.55)
            d.rectangle((tx * w, (horizon - 0.02) * h, (tx + 0.4) * w, (horizon + 0.1) * h), fill=(240, 240, 235))
            for k in range(3):
                d.rectangle(((tx + 0.05 + k * 0.12) * w, (horizon - 0.14) * h, (tx + 0.1 + k * 0.12) * w,
                             (horizon - 0.02) * h), fill=(170, 170, 175))
            crowd(2, horizon + 0.05, 0.85, 0.1, 0.16, r.u() < 0.5, r.uni(0.5, 0.8))
        elif kind == "openspace":
            for _ in range(6 + int(r.u() * 6)):
                sx, sy = r.uni(0.0, 0.9), r.uni(0.05, max(0.1, horizon - 0.2))
                d.rectangle((sx * w, sy * h, (sx + 0.08) * w, (sy + 0.1) * h), fill=r.pick(_NOTES))
            cx, cy, rad = r.uni(0.4, 0.6), r.uni(max(0.55, horizon + 0.12), 0.7), r.uni(0.3, 0.4)
            seats = 7 + int(r.u() * 5)
            ring = sorted(((math.sin(2 * math.pi * k / seats), math.cos(2 * math.pi * k / seats))
                           for k in range(seats)), key=lambda sc: sc[0])  # far side first
            for sn, cs in ring:
                person(cx + rad * cs, cy + rad * 0.4 * sn - 0.1, 0.12 + 0.05 * sn, sn > 0.2)
        else:
            crowd(3, horizon - 0.12, horizon + 0.22, 0.09, 0.13, False, r.uni(0.55, 0.8))
    else:  # portrait (interviews)
        bx = r.uni(0.0, 0.5)
        d.rectangle((bx * w, 0, (bx + r.uni(0.2, 0.5)) * w, horizon * h), fill=r.jitter(wall, 60))
        person(r.uni(0.3, 0.7), r.uni(0.45, 0.62), r.uni(0.3, 0.42))
    if r.u() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    # Lens softness and a warm/cool cast, like a phone photo indoors.
    radius = max(w, h) / 700
    if radius >= 0.6:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    cast = Image.new("RGB", (w, h), r.pick(((255, 200, 140), (140, 180, 255), (255, 255, 255), (60, 50, 40))))
    return Image.blend(img, cast, r.uni(0.04, 0.16))
