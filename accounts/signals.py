"""Sign-in events into the audit log. Receivers only translate; audit.record does the work."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from accounts import audit


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.record_for_user(user, user, "auth.login", request=request)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    """A failed sign-in goes to the chains of the named user's workspaces (global if unknown)."""
    username = str(credentials.get("username", ""))[:150]
    subject = get_user_model().objects.filter(username=username).first() if username else None
    locked = bool(getattr(request, "axes_locked_out", False))
    summary = {"username": username, "locked_out": locked}
    audit.record_for_user(None, subject, "auth.login_failed", summary=summary, request=request)
