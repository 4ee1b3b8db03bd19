"""The public, read-only JSON API (OpenAPI at /docs)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
