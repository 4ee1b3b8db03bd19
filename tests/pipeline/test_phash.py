from __future__ import annotations

import struct
import zlib

import pytest
from PIL import Image

from aggregator.pipeline.phash import (
    from_signed64,
    hamming,
    is_informative,
    photo_hash,
    to_signed64,
)

from .factories import encode, picture


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size but holds almost no data (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_picture_resized_and_reencoded_is_close(seed: int) -> None:
    im = picture(seed, (1024, 768))
    original = photo_hash(encode(im))
    variants = [
        encode(im.resize((512, 384)), "JPEG", quality=60),
        encode(im.resize((300, 225)), "JPEG", quality=35),
        encode(im.resize((1600, 1200)), "JPEG", quality=92),
        encode(im.resize((640, 480)), "WEBP", quality=50),
        encode(im.convert("L"), "PNG"),
    ]
    for data in variants:
        assert hamming(original, photo_hash(data)) <= 6


def test_different_pictures_are_far_apart() -> None:
    hashes = [photo_hash(encode(picture(seed))) for seed in range(10, 18)]
    for i, a in enumerate(hashes):
        for b in hashes[i + 1 :]:
            assert hamming(a, b) >= 14


def test_hash_is_64_bits_and_deterministic() -> None:
    data = encode(picture(4))
    h = photo_hash(data)
    assert 0 <= h < 2**64
    assert photo_hash(data) == h
    assert photo_hash(bytearray(data)) == h
    assert is_informative(h)


def test_exif_rotation_is_applied() -> None:
    im = picture(5, (400, 300))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    tagged = encode(im, "JPEG", quality=90, exif=exif.tobytes())
    upright = encode(im.transpose(Image.Transpose.ROTATE_270), "JPEG", quality=90)
    assert hamming(photo_hash(tagged), photo_hash(upright)) <= 4


def test_transparency_is_flattened_onto_white() -> None:
    im = picture(6, (200, 200)).convert("RGBA")
    hidden = im.copy()
    hidden.putalpha(0)  # fully transparent: the colours underneath must not count
    white = Image.new("RGB", (200, 200), "white")
    assert photo_hash(encode(hidden)) == photo_hash(encode(white))
    assert not is_informative(photo_hash(encode(white)))


@pytest.mark.parametrize("mode", ["P", "CMYK", "1", "I;16", "LA"])
def test_other_modes(mode: str) -> None:
    im = picture(8, (120, 90)).convert(mode)
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    assert 0 <= photo_hash(encode(im, fmt)) < 2**64


def test_animated_gif_uses_the_first_frame() -> None:
    frames = [picture(9, (100, 80)).convert("P"), picture(10, (100, 80)).convert("P")]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert hamming(photo_hash(gif), photo_hash(encode(frames[0], "GIF"))) <= 2


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff\xe0" + b"\0" * 50, b"<svg></svg>"],
)
def test_invalid_bytes_raise_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="image"):
        photo_hash(data)


def test_truncated_image_raises_value_error() -> None:
    data = encode(picture(11), "JPEG")
    for cut in (20, 200, len(data) // 3):
        with pytest.raises(ValueError):
            photo_hash(data[:cut])


@pytest.mark.parametrize("side", [7_000, 10_000, 60_000])  # over our limit, Pillow's warning, its error
def test_decompression_bomb_is_refused_before_decoding(side: int) -> None:
    with pytest.raises(ValueError, match="too large"):
        photo_hash(png_header_only(side, side))


def test_own_pixel_limit() -> None:
    data = encode(picture(12, (200, 100)))
    with pytest.raises(ValueError, match="too large"):
        photo_hash(data, max_pixels=19_999)
    assert photo_hash(data, max_pixels=20_000) >= 0


def test_not_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        photo_hash("image.png")  # type: ignore[arg-type]


def test_hamming() -> None:
    assert hamming(0, 0) == 0
    assert hamming(0, 2**64 - 1) == 64
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(-1, 0) == 64  # signed values from a database column are masked to 64 bits


@pytest.mark.parametrize("h", [0, 1, 2**63 - 1, 2**63, 2**64 - 1])
def test_signed_round_trip(h: int) -> None:
    s = to_signed64(h)
    assert -(2**63) <= s < 2**63
    assert from_signed64(s) == h
