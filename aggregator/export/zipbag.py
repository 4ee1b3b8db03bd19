"""A BagIt bag (RFC 8493) written straight into a zip stream, one file at a time.

Every payload file goes under `<root>/data/` and is hashed (sha256) while it is
written; `finish()` adds bagit.txt, bag-info.txt, manifest-sha256.txt and
tagmanifest-sha256.txt, so an archive or library can ingest and verify the
bundle as it is. Only the manifest lines are kept in memory, never a file's
content; the output may be a pipe (no seeking: zip data descriptors).
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import IO, BinaryIO

CHUNK = 256 * 1024
# Already compressed: stored as they are.
STORED_SUFFIXES = (".jpg", ".png", ".gif", ".webp", ".bin")


class HashingWriter:
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        self.raw.write(data)
        return len(data)

    def text(self, value: str) -> None:
        self.write(value.encode("utf-8"))


class BagZip:
    def __init__(self, out: BinaryIO, root: str) -> None:
        self.root = root.strip("/")
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True)
        self.manifest: list[tuple[str, str]] = []  # (sha256, path under the bag)
        self.bytes = 0
        self.names: set[str] = set()

    def has(self, name: str) -> bool:
        return name in self.names

    @contextmanager
    def open(self, name: str) -> Iterator[HashingWriter]:
        """A payload file `data/<name>`, written in pieces."""
        path = f"data/{name}"
        info = zipfile.ZipInfo(f"{self.root}/{path}", date_time=(2000, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED if name.endswith(STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with self.zip.open(info, "w", force_zip64=True) as raw:
            writer = HashingWriter(raw)
            yield writer
        self.names.add(name)
        self.manifest.append((writer.sha.hexdigest(), path))
        self.bytes += writer.size

    def write(self, name: str, data: bytes | str) -> None:
        with self.open(name) as w:
            w.write(data.encode("utf-8") if isinstance(data, str) else data)

    def write_chunks(self, name: str, chunks: Iterable[str]) -> None:
        """A text file from pieces (a Jinja template's generate()), buffered a little."""
        with self.open(name) as w:
            buf: list[str] = []
            size = 0
            for piece in chunks:
                buf.append(piece)
                size += len(piece)
                if size >= CHUNK:
                    w.text("".join(buf))
                    buf, size = [], 0
            if buf:
                w.text("".join(buf))

    def copy(self, name: str, src: BinaryIO) -> None:
        with self.open(name) as w, src:
            while chunk := src.read(CHUNK):
                w.write(chunk)

    def _tag(self, name: str, text: str) -> str:
        data = text.encode("utf-8")
        info = zipfile.ZipInfo(f"{self.root}/{name}", date_time=(2000, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        self.zip.writestr(info, data)
        return hashlib.sha256(data).hexdigest()

    def finish(self, info: dict[str, str]) -> None:
        """The tag files, then the zip's central directory."""
        tags: list[tuple[str, str]] = []
        lines = "".join(f"{digest}  {path}\n" for digest, path in self.manifest)
        tags.append((self._tag("manifest-sha256.txt", lines), "manifest-sha256.txt"))
        tags.append((self._tag("bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"),
                     "bagit.txt"))
        fields = {"Bagging-Date": date.today().isoformat(), "Payload-Oxum": f"{self.bytes}.{len(self.manifest)}",
                  **info}
        text = "".join(f"{k}: {' '.join(str(v).split())}\n" for k, v in fields.items())
        tags.append((self._tag("bag-info.txt", text), "bag-info.txt"))
        self._tag("tagmanifest-sha256.txt", "".join(f"{d}  {p}\n" for d, p in tags))
        self.zip.close()
