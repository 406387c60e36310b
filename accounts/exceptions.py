"""Errors of the accounts write paths, each mapped to an HTTP status by the API and pages."""

from __future__ import annotations

from typing import Any


class AccountsError(Exception):
    status = 400

    def __init__(self, detail: str, field: str = "", **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = [{"field": field, "message": detail}] if field else []
        self.extra = extra


class InvalidInput(AccountsError):
    """Unknown role names, an empty role list, a bad expiry (400)."""


class Conflict(AccountsError):
    """The change clashes with the current state: the last admin, a decided request (409)."""

    status = 409


class InvitationInvalid(AccountsError):
    """A forged, expired, revoked or already used invitation link (410 Gone)."""

    status = 410


class SelfReview(AccountsError):
    """Nobody decides their own publish request (403)."""

    status = 403
