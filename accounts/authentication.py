"""`Authorization: Token <key>` authentication against hashed ApiToken rows."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import ApiToken


def user_for_token(key: str):
    """The active user owning this key, or None."""
    token = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash_key(key)).first()
    if token is not None and not token.is_active:
        _refused(token)
        return None, None
    if token is None or not token.user.is_active:
        return None, None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        user, token = user_for_token(key)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        return user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


def _refused(token: ApiToken) -> None:
    """A revoked or expired token still in use is worth an admin's attention."""
    from accounts import audit

    reason = "revoked" if token.revoked_at is not None else "expired"
    audit.record_for_user(
        None,
        token.user,
        "token.refused",
        obj=token,
        summary={"name": token.name, "prefix": token.prefix, "reason": reason},
    )
