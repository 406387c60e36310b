"""Fixtures for the accounts tests: a workspace with one member per role."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from tests.conftest import make_user, make_workspace

ROLES = ("viewer", "runner", "editor", "approver", "admin")


@pytest.fixture(autouse=True)
def _fast_hashing_and_fresh_throttles(settings: Any) -> None:
    """MD5 keeps user creation fast here; test_security checks Argon2 on the real settings."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()


@pytest.fixture
def team(db) -> dict[str, Any]:
    """Workspace "acme" with a member per role, and "other" with its own admin."""
    acme = make_workspace("acme")
    other = make_workspace("other")
    people: dict[str, Any] = {name: make_user(name, workspace=acme, roles=[name]) for name in ROLES}
    people["other_admin"] = make_user("other_admin", workspace=other, roles=["admin"])
    return {"acme": acme, "other": other, **people}
