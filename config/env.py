"""The one helper through which settings read the environment.

Every value is read here, parsed strictly, and a bad value stops start-up
with a message naming the variable: a typo in production must not silently
fall back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None, prefix: str = "BATON_"):
        self._environ = os.environ if environ is None else environ
        self._prefix = prefix

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(self._prefix + name)
        return None if value is None else value.strip()

    def is_set(self, name: str) -> bool:
        return bool(self._raw(name))

    def str(self, name: str, default: str | None = None) -> str | None:
        value = self._raw(name)
        return value if value else default

    def bool(self, name: str, default: bool = False) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{self._prefix}{name} must be a boolean (1/0, true/false), not {value!r}"
        )

    def int(self, name: str, default: int) -> int:
        value = self._raw(name)
        if not value:
            return default
        try:
            return int(value)
        except ValueError:
            raise ImproperlyConfigured(
                f"{self._prefix}{name} must be an integer, not {value!r}"
            ) from None

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self._raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        value = self._raw(name)
        if not value:
            return None
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme not in schemes:
            raise ImproperlyConfigured(
                f"{self._prefix}{name} must be a URL with one of the schemes {', '.join(schemes)}"
            )
        return value


env = Env()
