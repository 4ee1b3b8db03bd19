"""Reporters' workspace: stories editor, own posts and photo uploads."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
