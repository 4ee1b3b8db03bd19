"""Content-addressed media files behind a small interface (`put`, `open`, `delete`, `exists`).

A file's name is the sha256 of its bytes, so one photo shared by many posts
(or avatars shared by an author's posts) is kept once. `LocalMediaStore` keeps
files in a folder (`<media_dir>/sha256/ab/abcdef...`); an object store for
several web machines implements the same four methods (see docs/media.md).
Only images are kept: the type is read from the bytes, never from the
platform's Content-Type header, so nothing but an image is served from our
origin.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

HASH = re.compile(r"^[0-9a-f]{64}$")

# Magic numbers of the image types we keep -> (content type, file extension).
_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"GIF87a", 0, "image/gif", "gif"),
    (b"GIF89a", 0, "image/gif", "gif"),
    (b"WEBP", 8, "image/webp", "webp"),
)
EXTENSIONS = {ctype: ext for _, _, ctype, ext in _SIGNATURES}


def image_type(head: bytes) -> str | None:
    """The content type of an image from its first bytes, or None when it is not one we keep."""
    for magic, offset, ctype, _ext in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic and (offset == 0 or head[:4] == b"RIFF"):
            return ctype
    return None


def extension(content_type: str) -> str:
    return EXTENSIONS.get(content_type, "bin")


class MediaStore(Protocol):
    """Where kept media files live. Names are sha256 hex digests of the content."""

    def put(self, data: bytes) -> str:
        """Store the bytes (idempotent); returns their sha256."""

    def open(self, digest: str) -> BinaryIO:
        """A binary stream of the file; FileNotFoundError if it is not kept."""

    def delete(self, digest: str) -> None:
        """Remove the file (no error if it is gone already)."""

    def exists(self, digest: str) -> bool: ...


class LocalMediaStore:
    """Files in one folder, two levels of fan-out; writes are atomic (temp file, then rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root) / "sha256"

    def path(self, digest: str) -> Path:
        if not HASH.match(digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.is_file():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return digest

    def open(self, digest: str) -> BinaryIO:
        return self.path(digest).open("rb")

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(digest).unlink()

    def exists(self, digest: str) -> bool:
        return bool(HASH.match(digest)) and self.path(digest).is_file()


def store_for(media_dir: str | Path) -> MediaStore:
    """The configured store (a local folder today; an object store URL could choose another)."""
    return LocalMediaStore(media_dir)
