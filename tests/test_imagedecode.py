"""The one helper that opens untrusted image bytes under a pixel limit (used by phash and uploads)."""

import io

import pytest
from PIL import Image

from aggregator.imagedecode import ImageRejected, bounded_image


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def test_a_small_image_opens_and_decodes_inside_the_with() -> None:
    with bounded_image(_png(20, 10), max_pixels=200) as im:
        im.load()
        assert im.size == (20, 10) and im.format == "PNG"


def test_the_limit_is_checked_on_the_header_before_decoding() -> None:
    with pytest.raises(ImageRejected) as caught, bounded_image(_png(20, 10), max_pixels=199) as im:
        im.load()
    assert caught.value.reason == "too_large" and caught.value.size == (20, 10)


def _broken_png() -> bytes:
    data = _png(20, 10)
    at = data.index(b"IDAT") + 4
    return data[:at] + b"\xff" * 8 + data[at + 8:]  # a valid header over a broken pixel stream


@pytest.mark.parametrize(("data", "reason"), [(b"", "empty"), (b"not an image at all", "unreadable"),
                                              (_broken_png(), "damaged")])
def test_bad_bytes_are_rejected_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected) as caught, bounded_image(data, max_pixels=10_000) as im:
        im.load()
    assert caught.value.reason == reason and isinstance(caught.value, ValueError)


def test_formats_outside_the_accepted_set_are_rejected() -> None:
    with pytest.raises(ImageRejected) as caught, bounded_image(_png(4, 4), 100, frozenset({"JPEG"})):
        pass
    assert caught.value.reason == "format" and caught.value.format == "PNG"
