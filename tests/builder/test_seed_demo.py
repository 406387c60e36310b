"""`manage.py seed_demo`: the demo workspace of contract section 7, idempotent."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_users_examples_and_an_offline_credential(settings):
    settings.DEMO_PASSWORD = "demo-pass-123"
    call_command("seed_demo")
    call_command("seed_demo")

    from accounts.models import Membership, Workspace
    from builder.models import Workflow
    from integrations.models import Credential

    demo = Workspace.objects.get(slug="demo")
    roles = {m.user.username: m.roles for m in Membership.objects.filter(workspace=demo)}
    assert {"admin", "editor", "approver", "viewer"} <= set(roles)
    assert roles["admin"] == ["admin"] and roles["viewer"] == ["viewer"]
    from accounts.models import User

    assert User.objects.get(username="editor").check_password("demo-pass-123")

    workflows = Workflow.objects.filter(workspace=demo)
    assert workflows.count() == 6
    assert all(w.published_version is not None for w in workflows)
    credential = Credential.objects.get(workspace=demo, name="demo-scripted")
    assert credential.kind == "scripted" and not credential.disabled
