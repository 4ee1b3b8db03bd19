"""Reporters' photo uploads: checked by content, size-capped, re-encoded without metadata, thumbnailed.

Nothing of the uploaded file is kept: Pillow decodes it (so the type is what
the bytes say, not what the name or the browser claims), applies the EXIF
orientation, copies the pixels alone into a new image, and writes a fresh JPEG
from them: no EXIF (no GPS position, no camera serial), no XMP, no IPTC, no
JPEG comment, no PNG text chunk, and no ICC profile (dropped: photos are shown
as sRGB, which almost every phone writes anyway). A thumbnail is written beside it.
Files live under server.media_dir/<event slug>/ and are served at /media/.
"""

from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_EDGE = 2560
THUMB_EDGE = 720
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "MPO"})
JPEG_QUALITY = 85


class UploadError(ValueError):
    """An upload we will not store; the message is shown to the reporter."""


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    url: str  # /media/<slug>/<name>.jpg
    thumbnail_url: str
    width: int
    height: int


def _decode(data: bytes) -> Image.Image:
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the photo is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    if not data:
        raise UploadError("the file is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
            if img.format not in ACCEPTED_FORMATS:
                raise UploadError(f"not a photo we accept ({img.format or 'unknown'}): use JPEG, PNG, WebP or GIF")
            if img.width * img.height > MAX_PIXELS:
                raise UploadError(f"the photo is too large ({img.width}x{img.height} pixels)")
            img.load()
        except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise UploadError("the file is not a photo we can read") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            if isinstance(exc, UploadError):
                raise
            raise UploadError("the photo is damaged or truncated") from exc
    return img


def _flatten(img: Image.Image) -> Image.Image:
    img = ImageOps.exif_transpose(img) or img
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return _pixels_only(background)
    return _pixels_only(img.convert("RGB"))


def _pixels_only(img: Image.Image) -> Image.Image:
    """A new image from the pixels alone: Pillow's save() would otherwise carry `info` over
    (a JPEG's comment, ICC profile, XMP), and convert() and exif_transpose() keep it."""
    clean = Image.new(img.mode, img.size)
    clean.paste(img)
    return clean


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    # A pixels-only image and no exif=, icc_profile=, comment= or xmp=: the file carries pixels only.
    img.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def store_photo(data: bytes, media_dir: Path, slug: str) -> StoredPhoto:
    """Check, clean and store one photo; raises UploadError with a reason a person can act on."""
    img = _flatten(_decode(data))
    img.thumbnail((MAX_EDGE, MAX_EDGE), Image.Resampling.LANCZOS)
    thumb = img.copy()
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    name = uuid.uuid4().hex
    folder = media_dir / slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jpg").write_bytes(_jpeg(img))
    (folder / f"{name}_t.jpg").write_bytes(_jpeg(thumb))
    return StoredPhoto(f"/media/{slug}/{name}.jpg", f"/media/{slug}/{name}_t.jpg", img.width, img.height)
