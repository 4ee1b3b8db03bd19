"""The timeline's posts-per-hour chart as numbers for an SVG template (no client-side drawing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aggregator.storage.records import SessionRecord

WIDTH = 1000
BARS_TOP = 24
BARS_BOTTOM = 190
BAND_TOP = 204
BAND_HEIGHT = 30
HEIGHT = 262


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str  # "09:00"
    starts_at: datetime  # the hour's start (UTC): the timeline links each bar to it


@dataclass(frozen=True, slots=True)
class Band:
    x: float
    width: float
    title: str
    kind: str
    time: str  # "09:45-10:45"
    starts_at: datetime  # the session's start (UTC): the programme links to it


@dataclass(frozen=True, slots=True)
class Chart:
    bars: tuple[Bar, ...]
    bands: tuple[Band, ...]
    total: int
    peak: int
    width: int = WIDTH
    height: int = HEIGHT
    bars_bottom: int = BARS_BOTTOM
    band_top: int = BAND_TOP
    band_height: int = BAND_HEIGHT


def posts_per_hour(times: list[datetime], sessions: list[SessionRecord], start: datetime, end: datetime,
                   timezone: str) -> Chart:
    """Bars for each hour in [start, end) and the programme drawn as a band under them."""
    hours = max(1, int((end - start).total_seconds() // 3600))
    counts = [0] * hours
    for t in times:
        i = int((t - start).total_seconds() // 3600)
        if 0 <= i < hours:
            counts[i] += 1
    return hourly_chart(counts, sessions, start, end, timezone)


def hourly_chart(counts: list[int], sessions: list[SessionRecord], start: datetime, end: datetime,
                 timezone: str) -> Chart:
    """The chart from posts per hour of [start, end) (storage's kept counts: no row is read per post)."""
    tz = ZoneInfo(timezone)
    peak = max(counts) if counts else 0
    slot = WIDTH / max(1, len(counts))
    gap = min(8.0, slot * 0.15)
    span = BARS_BOTTOM - BARS_TOP
    bars = []
    for i, n in enumerate(counts):
        h = 0.0 if peak == 0 else max(2.0, span * n / peak) if n else 0.0
        hour = start + timedelta(hours=i)
        bars.append(Bar(round(i * slot + gap / 2, 2), round(BARS_BOTTOM - h, 2), round(slot - gap, 2), round(h, 2),
                        n, hour.astimezone(tz).strftime("%H:%M"), hour))
    total_seconds = (end - start).total_seconds()
    bands = []
    for s in sessions:
        a = max(0.0, (s.starts_at - start).total_seconds() / total_seconds)
        b = min(1.0, (s.ends_at - start).total_seconds() / total_seconds)
        if b <= a:
            continue
        when = f"{s.starts_at.astimezone(tz):%H:%M}-{s.ends_at.astimezone(tz):%H:%M}"
        bands.append(Band(round(a * WIDTH, 2), round((b - a) * WIDTH, 2), s.title, s.kind, when, s.starts_at))
    return Chart(tuple(bars), tuple(bands), sum(counts), peak)
