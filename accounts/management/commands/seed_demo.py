"""`python manage.py seed_demo`: the demo workspace, users and example workflows. Idempotent."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Role, User, Workspace

DEMO_USERS = {
    "admin": [Role.ADMIN],
    "editor": [Role.EDITOR],
    "approver": [Role.APPROVER],
    "viewer": [Role.VIEWER],
    "runner": [Role.RUNNER],
}


class Command(BaseCommand):
    help = "Create or refresh the demo workspace 'demo', its users and example workflows."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        workspace, _ = Workspace.objects.get_or_create(
            slug="demo", defaults={"name": "Demo workspace"}
        )
        for username, roles in DEMO_USERS.items():
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@demo.baton.local"}
            )
            if created or not user.has_usable_password():
                user.set_password(settings.DEMO_PASSWORD)
                user.save()
            Membership.objects.update_or_create(
                workspace=workspace, user=user, defaults={"roles": [r.value for r in roles]}
            )
        from builder.examples import seed_examples

        created = seed_examples(workspace, User.objects.get(username="admin"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo workspace ready: {len(DEMO_USERS)} users, {created} new example workflows."
            )
        )
