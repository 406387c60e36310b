"""Re-encrypt every credential secret with the newest key of BATON_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations import crypto, services


class Command(BaseCommand):
    help = (
        "Re-encrypt every credential secret with the newest encryption key. Key rotation: "
        "prepend a new key to BATON_ENCRYPTION_KEYS, run this, then remove the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = services.reencrypt_all()
        except crypto.SecretUnreadable as exc:
            raise CommandError(
                f"{exc} Put the old key back in BATON_ENCRYPTION_KEYS and run again."
            ) from None
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {count} credential secret(s) with the newest key.")
        )
