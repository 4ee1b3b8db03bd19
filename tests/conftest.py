"""Test-wide set-up: the network guard and the database fixtures (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests import netguard

netguard.install()
