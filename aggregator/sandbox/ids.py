"""Deterministic platform identifiers derived from scenario data (never from the wall clock).

Ids grow with a post's release offset, so "newer" means "larger" exactly as on
the real platforms (X and Mastodon snowflakes, Bluesky TIDs).
"""

from __future__ import annotations

import base64
import hashlib

ID_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z: ids encode this plus the release offset
TWITTER_EPOCH_MS = 1_288_834_974_657
_B32_SORT = "234567abcdefghijklmnopqrstuvwxyz"


def digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()


def number(*parts: str, digits: int = 10) -> int:
    """A stable positive integer with exactly `digits` digits."""
    n = int.from_bytes(digest(*parts)[:12], "big")
    low = int(10 ** (digits - 1))
    return low + n % (9 * low)


def id_ms(at: float) -> int:
    return ID_EPOCH_MS + round(at * 1000)


def snowflake(at: float, seq: int) -> str:
    """An X tweet id (ms since the Twitter epoch << 22 | sequence)."""
    return str(((id_ms(at) - TWITTER_EPOCH_MS) << 22) | (seq & 0x3FFFFF))


def mastodon_id(at: float, seq: int, instance_no: int) -> str:
    """A Mastodon snowflake (ms << 16 | low bits), different on each instance."""
    return str((id_ms(at) << 16) | (((seq & 0x3FFF) << 2) | (instance_no & 0x3)))


def tid(at: float, seq: int) -> str:
    """An atproto TID record key: 13 chars base32-sortable of (microseconds << 10 | clock id)."""
    value = ((id_ms(at) * 1000) << 10) | (seq & 0x3FF)
    out = ""
    for _ in range(13):
        out = _B32_SORT[value & 31] + out
        value >>= 5
    return out


def b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")


def did(handle: str) -> str:
    return "did:plc:" + b32(digest("did", handle))[:24]


def cid(*parts: str) -> str:
    """A CIDv1 (dag-cbor, sha-256) shaped string: 'bafyrei' + 52 base32 chars."""
    return "bafyrei" + b32(digest("cid", *parts))[:52]


def blob_cid(*parts: str) -> str:
    """A raw-codec CIDv1 shaped string, as for blobs: 'bafkrei' + 52 base32 chars."""
    return "bafkrei" + b32(digest("blob", *parts))[:52]


def urlsafe(n: int, *parts: str) -> str:
    return base64.urlsafe_b64encode(digest(*parts)).decode("ascii")[:n]


def youtube_video_id(post_id: str) -> str:
    return urlsafe(11, "yt-video", post_id)


def youtube_channel_id(key: str) -> str:
    return "UC" + urlsafe(22, "yt-channel", key)


def flickr_nsid(key: str) -> str:
    return f"{number('flickr-nsid', key, digits=9)}@N0{number('flickr-n', key, digits=1) % 8}"


def tco(url: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    n = int.from_bytes(digest("tco", url)[:10], "big")
    out = ""
    for _ in range(10):
        n, r = divmod(n, len(alphabet))
        out += alphabet[r]
    return "https://t.co/" + out
