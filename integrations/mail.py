"""SMTP to the address that was vetted.

A workspace credential's SMTP host is resolved and vetted like any outbound
call (:func:`integrations.outbound.vetted_addresses`); the connection then
goes to that address, not to the name, so a DNS answer that changes between
the check and the connection (rebinding) cannot send the mail, or the
credential's password, elsewhere. The name is kept for STARTTLS: the server
is asked for it (SNI) and its certificate is checked against it.
"""

from __future__ import annotations

import functools
import smtplib
import socket
from typing import Any

from django.core.mail.backends.smtp import EmailBackend


class PinnedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` that connects to ``pinned`` whatever host it is given."""

    def __init__(self, host: str = "", port: int = 0, *, pinned: str, **kwargs: Any) -> None:
        self._pinned = pinned
        super().__init__(host, port, **kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((self._pinned, port), timeout, self.source_address)


class PinnedEmailBackend(EmailBackend):
    """Django's SMTP backend, connecting to ``address`` (a vetted IP address
    of ``host``). Implicit TLS (``use_ssl``) is not offered: credentials use
    STARTTLS or plain SMTP."""

    def __init__(self, *, address: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.use_ssl:
            raise ValueError("PinnedEmailBackend speaks STARTTLS or plain SMTP, not use_ssl")
        self.address = address

    @property
    def connection_class(self) -> Any:
        return functools.partial(PinnedSMTP, pinned=self.address)
