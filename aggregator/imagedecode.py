"""Opening untrusted image bytes under a pixel limit: one place for the decompression-bomb rules.

The limit is checked on the header's size, before any pixel is decoded, and
Pillow's own bomb warning counts as the error it is. Every failure is an
ImageRejected (a ValueError) whose `reason` lets the caller word it.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from struct import error as struct_error
from typing import Literal

from PIL import Image, UnidentifiedImageError

Reason = Literal["empty", "format", "too_large", "bomb", "unreadable", "damaged"]


class ImageRejected(ValueError):
    def __init__(self, reason: Reason, message: str, size: tuple[int, int] = (0, 0), format: str | None = None):
        super().__init__(message)
        self.reason = reason
        self.size = size
        self.format = format


# What Pillow raises on damaged or hostile files (tests/corpora has examples of each).
_DAMAGED = (OSError, SyntaxError, EOFError, IndexError, KeyError, TypeError, struct_error, ValueError)


@contextmanager
def bounded_image(data: bytes, max_pixels: int, formats: frozenset[str] | None = None) -> Iterator[Image.Image]:
    """The opened (not yet decoded) image; decode it inside the `with`. Raises ImageRejected.

    `formats`: the Pillow format names accepted (None: any). The image is not closed on exit.
    """
    if not data:
        raise ImageRejected("empty", "not an image: no bytes")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
            if formats is not None and im.format not in formats:
                raise ImageRejected("format", f"format {im.format or 'unknown'} not accepted", im.size, im.format)
            width, height = im.size  # header only: nothing decoded yet
            if width <= 0 or height <= 0:
                raise ImageRejected("unreadable", f"not an image: size {width}x{height}", im.size, im.format)
            if width * height > max_pixels:
                raise ImageRejected("too_large", f"{width}x{height} pixels (limit {max_pixels:,})", im.size, im.format)
            yield im
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected("bomb", str(exc)) from None  # past Pillow's own limit, in open()
        except UnidentifiedImageError:
            raise ImageRejected("unreadable", "not an image: unknown or damaged format") from None
        except _DAMAGED as exc:
            raise ImageRejected("damaged", f"{type(exc).__name__}: {exc}") from exc
