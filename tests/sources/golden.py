"""Golden files: a platform payload under tests/data/<platform>/ next to the Posts it must become.

`<name>.expected.json` holds the Posts as plain JSON. Set UPDATE_GOLDEN=1 to
rewrite them after a deliberate change, then review the diff.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from aggregator.types import Post

DATA = Path(__file__).resolve().parent.parent / "data"


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def posts_to_json(posts: Sequence[Post]) -> list[dict[str, Any]]:
    return [_plain(p) for p in posts]


def check_golden(posts: Sequence[Post], expected_file: Path, server_url: str | None = None) -> None:
    """Compare with the golden file; the loopback server's address is written as http://server."""
    actual = posts_to_json(posts)
    if server_url:
        actual = json.loads(json.dumps(actual).replace(server_url, "http://server"))
    if os.environ.get("UPDATE_GOLDEN") or not expected_file.exists():
        expected_file.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if not os.environ.get("UPDATE_GOLDEN"):
            raise AssertionError(f"wrote missing golden file {expected_file}; review it and re-run")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert actual == expected
