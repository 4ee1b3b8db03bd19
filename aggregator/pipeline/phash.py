"""Perceptual hashes of photos, so the same picture posted in several places is one card.

:func:`photo_hash` is a 64-bit DCT hash (pHash): the image is flattened onto
white, turned to grayscale, area-averaged down to 32x32, and the lowest 8x8
frequencies of its 2-D DCT are compared with their median (one bit each).
Resizing, re-encoding (JPEG quality), small colour shifts and EXIF rotation
barely move it; a different picture lands about 32 bits away. Compare two
hashes with :func:`hamming` (differing bits, 0-64).

The caller fetches the image bytes (with its own size cap); this module only
decodes, with a pixel limit checked *before* the pixels are decoded
(decompression bombs) and every decoding failure reported as ValueError.
"""

from __future__ import annotations

import math
from functools import lru_cache

from PIL import Image, ImageOps

from aggregator.imagedecode import ImageRejected, bounded_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "HASH_BITS",
    "from_signed64",
    "hamming",
    "is_informative",
    "photo_hash",
    "to_signed64",
]

HASH_BITS = 64
DEFAULT_MAX_PIXELS = 40_000_000  # 40 megapixels: more than any phone camera
_SIZE = 32  # side of the grayscale thumbnail the DCT runs on
_LOW = 8  # side of the low-frequency block kept: 8 x 8 = 64 bits
_MASK = (1 << HASH_BITS) - 1


@lru_cache(maxsize=1)
def _dct_table() -> tuple[tuple[float, ...], ...]:
    """cos((2x + 1) * u * pi / 2N) for the first _LOW frequencies u and all x."""
    n = _SIZE
    return tuple(tuple(math.cos((2 * x + 1) * u * math.pi / (2 * n)) for x in range(n)) for u in range(_LOW))


def _decode(image_bytes: bytes, max_pixels: int) -> Image.Image:
    """Open, bound and decode to a small grayscale image. Raises ValueError."""
    try:
        with bounded_image(image_bytes, max_pixels) as im, im:
            im.draft("L", (_SIZE * 4, _SIZE * 4))  # JPEG: decode at a reduced scale
            oriented = ImageOps.exif_transpose(im)
            return _flatten(oriented).convert("L").resize((_SIZE, _SIZE), Image.Resampling.BOX)
    except ImageRejected as exc:
        if exc.reason in ("too_large", "bomb"):
            raise ValueError(f"image too large to hash: {exc}") from None
        if exc.reason == "damaged":
            raise ValueError(f"not a readable image: {exc}") from None
        raise ValueError(str(exc)) from None


def _flatten(im: Image.Image) -> Image.Image:
    """Transparent pixels become white, so hidden colour behind alpha does not count."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("RGB")
    return im


def photo_hash(image_bytes: bytes | bytearray | memoryview, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """The 64-bit perceptual hash (0 <= h < 2**64) of an encoded image (JPEG, PNG, GIF, WebP...).

    Raises ValueError for bytes that are not a decodable image or that declare
    more than ``max_pixels`` pixels. Animated images are hashed by their first frame.
    """
    if not isinstance(image_bytes, bytes | bytearray | memoryview):
        raise TypeError(f"photo_hash needs bytes, not {type(image_bytes).__name__}")
    small = _decode(bytes(image_bytes), max_pixels)
    pixels = list(small.tobytes())  # mode "L": one byte per pixel, row by row
    table = _dct_table()
    rows = [pixels[y * _SIZE : (y + 1) * _SIZE] for y in range(_SIZE)]
    # Separable DCT-II, low frequencies only: first along rows, then down columns.
    row_freq = [[sum(c * p for c, p in zip(table[u], row, strict=True)) for u in range(_LOW)] for row in rows]
    coeffs: list[float] = []
    for v in range(_LOW):
        for u in range(_LOW):
            # Rounded: a flat image must give exact zeros, not float noise that looks like a shape.
            coeffs.append(round(sum(table[v][y] * row_freq[y][u] for y in range(_SIZE)), 3))
    median = sorted(coeffs[1:])[(len(coeffs) - 1) // 2]  # the DC term says nothing about shape
    value = 0
    for c in coeffs:
        value = (value << 1) | (1 if c > median else 0)
    return value


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes (0 = same picture, ~32 = unrelated)."""
    return ((a ^ b) & _MASK).bit_count()


def is_informative(h: int) -> bool:
    """False for hashes of (nearly) flat images: blank frames all hash alike, so never match on them."""
    ones = (h & _MASK).bit_count()
    return 8 <= ones <= HASH_BITS - 8


def to_signed64(h: int) -> int:
    """The hash as a signed 64-bit integer (for a BIGINT column)."""
    h &= _MASK
    return h - (1 << HASH_BITS) if h >= 1 << (HASH_BITS - 1) else h


def from_signed64(v: int) -> int:
    """Inverse of :func:`to_signed64`."""
    return v & _MASK
