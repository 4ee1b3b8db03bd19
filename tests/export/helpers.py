"""Export a Day to a zip and unpack it, for the bundle tests."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

from aggregator.export.bundle import BundleSummary, write_bundle
from tests.export.conftest import Day

NOW = datetime(2014, 4, 23, 18, 0, tzinfo=UTC)


def export(day: Day, target: Path) -> tuple[BundleSummary, Path]:
    """Write the bundle to `target` (a zip) and unpack it beside; returns the bag's folder."""
    event = day.storage.event(day.slug)
    assert event is not None
    with target.open("wb") as fh:
        summary = write_bundle(day.storage, day.store, event, fh, public_url="https://wall.example.org", now=NOW,
                               database_revision="test")
    out = target.with_suffix("")
    with zipfile.ZipFile(target) as zf:
        zf.extractall(out)
    return summary, out / f"{day.slug}-export"
