"""Public surfaces: the live wall, its SSE stream, the timeline, permalinks, galleries, stories, embeds."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
