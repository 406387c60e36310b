"""Matrix rows for async views that read the database from another thread.

Such a view cannot see data held in an open test transaction, so these rows
run against committed data (a transactional database) and take no object ids.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from tests.accounts.authz_rows import CALLERS, ROWS, Row
from tests.accounts.test_authorization_matrix import call
from tests.conftest import make_user, make_workspace


@pytest.mark.parametrize("row", [r for r in ROWS if r.committed], ids=lambda row: row.id)
def test_committed_row(row: Row, transactional_db: None) -> None:
    acme, other = make_workspace("acme"), make_workspace("other")
    users: dict[str, Any] = {
        role: make_user(role, workspace=acme, roles=[role])
        for role in ("viewer", "runner", "editor", "approver", "admin")
    }
    users["other_admin"] = make_user("other_admin", workspace=other, roles=["admin"])
    world: dict[str, Any] = {"users": users, "ids": {}, "tokens": {}}
    actual = {}
    for caller in CALLERS:
        cache.clear()
        client = Client(raise_request_exception=False)
        if caller != "anonymous":
            client.force_login(users[caller])
        actual[caller] = call(row, caller, client, world)
    assert actual == row.expected(), f"{row.id}: {actual}"
