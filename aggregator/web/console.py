"""The moderator and organiser console: queue, actions, authors, audit log, announcements, wall options."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
