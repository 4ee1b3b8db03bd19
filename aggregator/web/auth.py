"""Sign-in, sessions, roles and CSRF for the console."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
