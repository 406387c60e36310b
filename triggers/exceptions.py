"""Errors of the webhook endpoint, each with the HTTP status it answers."""

from __future__ import annotations


class HookError(Exception):
    status = 400

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class HookNotFound(HookError):
    status = 404


class SignatureRejected(HookError):
    status = 401


class ReplayedDelivery(HookError):
    status = 409


class BodyTooLarge(HookError):
    status = 413


class RateLimited(HookError):
    status = 429

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after
