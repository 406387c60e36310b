"""Errors of the integrations domain."""

from __future__ import annotations


class IntegrationsError(Exception):
    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidCredential(IntegrationsError):
    """A create or update that breaks a rule (name taken, config unsuitable)."""
