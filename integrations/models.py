"""Credentials (secrets encrypted at rest) and the per-workspace model price table."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CredentialKind(models.TextChoices):
    OPENAI = "openai", "OpenAI or OpenAI-compatible"
    ANTHROPIC = "anthropic", "Anthropic"
    HTTP = "http", "HTTP (bearer, header or basic auth)"
    SMTP = "smtp", "SMTP"
    SCRIPTED = "scripted", "Scripted (test double)"


class Credential(models.Model):
    """A named connection to an outside service.

    ``config`` holds the non-secret settings (``base_url``, a header name, the
    scripted replies...). ``secret_token`` is the Fernet token of the secret;
    the plain secret is only ever produced by :func:`integrations.crypto.decrypt`
    at the moment a provider needs it, and is never serialised.
    """

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="credentials"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=CredentialKind.choices)
    config = models.JSONField(default=dict, blank=True)
    secret_token = models.TextField(blank=True, default="")
    disabled = models.BooleanField(
        default=False, help_text="The kill switch: nodes using it fail fast."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="credential_name_unique_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def __repr__(self) -> str:
        return f"<Credential {self.pk} {self.name!r} {self.kind}>"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_token)

    @property
    def is_test_double(self) -> bool:
        return self.kind == CredentialKind.SCRIPTED


class ModelPrice(models.Model):
    """One row of a workspace's price table: USD per million tokens."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="model_prices"
    )
    model = models.CharField(max_length=120, help_text="A model name, or a prefix of one.")
    input_usd_per_mtok = models.DecimalField(max_digits=12, decimal_places=4)
    output_usd_per_mtok = models.DecimalField(max_digits=12, decimal_places=4)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "model"], name="one_price_per_model")
        ]

    def __str__(self) -> str:
        return (
            f"{self.model}: {self.input_usd_per_mtok}/{self.output_usd_per_mtok} USD per 1M tokens"
        )
