"""`python manage.py verify_audit`: check every audit hash chain; exit 1 at the first broken link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts import audit


class Command(BaseCommand):
    help = "Verify the audit log's hash chains and report the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        count, broken = audit.verify()
        if broken is not None:
            raise CommandError(f"Audit log broken at {broken}.")
        self.stdout.write(self.style.SUCCESS(f"OK: {count} events, every chain intact."))
