"""Secrets are encrypted at rest, keys rotate, and a command re-encrypts."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from integrations import crypto, services
from integrations.models import Credential
from tests.conftest import make_workspace
from tests.integrations.fake_providers import CANARY

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_a_secret_is_stored_encrypted(db, settings):
    settings.ENCRYPTION_KEYS = [OLD]
    credential = services.create_credential(
        None, make_workspace(), name="k", kind="openai", secret=CANARY
    )
    stored = Credential.objects.values_list("secret_token", flat=True).get(pk=credential.pk)
    assert CANARY not in stored
    assert crypto.decrypt(stored) == CANARY


def test_old_keys_still_decrypt_after_a_new_key_is_prepended(settings):
    settings.ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt(CANARY)
    settings.ENCRYPTION_KEYS = [NEW, OLD]
    assert crypto.decrypt(token) == CANARY


def test_reencrypt_command_moves_every_secret_to_the_newest_key(db, settings, capsys):
    settings.ENCRYPTION_KEYS = [OLD]
    workspace = make_workspace()
    services.create_credential(None, workspace, name="a", kind="openai", secret=CANARY)
    services.create_credential(None, workspace, name="b", kind="scripted")  # no secret
    settings.ENCRYPTION_KEYS = [NEW, OLD]
    call_command("reencrypt_credentials")
    assert "Re-encrypted 1 credential secret" in capsys.readouterr().out
    settings.ENCRYPTION_KEYS = [NEW]  # the old key can go now
    assert crypto.decrypt(Credential.objects.get(name="a").secret_token) == CANARY


def test_a_dropped_key_is_reported_not_guessed(db, settings):
    settings.ENCRYPTION_KEYS = [OLD]
    services.create_credential(None, make_workspace(), name="a", kind="openai", secret=CANARY)
    settings.ENCRYPTION_KEYS = [NEW]
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(Credential.objects.get(name="a").secret_token)
    with pytest.raises(CommandError, match="old key back"):
        call_command("reencrypt_credentials")
