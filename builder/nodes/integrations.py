"""Integration nodes: call an HTTP API (``http.request``), send an email
(``notify.email``).

Only the declarations live here for now (config, ports, output); their
execution arrives with the outbound-call work (credentials, the
``BATON_OUTBOUND_ALLOW`` guard, idempotency keys), so they have no ``run``
yet.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from builder.nodes.base import NodeConfig, NodeType
from builder.nodes.data import invalid
from builder.nodes.registry import registry

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")

MAX_RECIPIENTS = 50


def _no_line_breaks(text: str) -> str:
    if "\r" in text or "\n" in text:
        raise invalid("may not contain line breaks")
    return text


# -- http.request -------------------------------------------------------------


class HttpRequestConfig(NodeConfig):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = Field(
        default="GET",
        title="Method",
        description="The HTTP method.",
    )
    url: str = Field(
        min_length=1,
        max_length=4096,
        title="URL",
        description="The address to call, starting with https:// or http://. May hold templates.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        title="Headers",
        description='Extra request headers, e.g. {"Accept": "application/json"}. Secrets belong in a credential.',
    )
    query: dict[str, Any] = Field(
        default_factory=dict,
        title="Query parameters",
        description='Added to the URL as ?name=value, e.g. {"page": 1}.',
    )
    body: Any = Field(
        default=None,
        title="Body",
        description="What to send: JSON (an object, a list, a template such as {{ input }}), or text. Empty sends nothing.",
    )
    credential: str | None = Field(
        default=None,
        min_length=1,
        title="Credential",
        description="Optional credential (id or name) that adds authentication to the request.",
    )
    timeout_s: float = Field(
        default=30,
        gt=0,
        le=300,
        title="Timeout (seconds)",
        description="How long to wait for the answer before the step fails (at most 300).",
    )

    @field_validator("url")
    @classmethod
    def _is_http_url(cls, url: str) -> str:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise invalid("must be an http:// or https:// address with a host")
        return url.strip()

    @field_validator("headers")
    @classmethod
    def _are_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_NAME.match(name):
                raise invalid(f"{name!r} is not a valid header name")
            if "\r" in value or "\n" in value:
                raise invalid(f"the value of {name} may not contain line breaks")
        return headers


@registry.register
class HttpRequest(NodeType):
    key = "http.request"
    category = "integration"
    label = "HTTP request"
    description = (
        "Call another system's web API and use its answer; an error answer fails the step."
    )
    Config = HttpRequestConfig
    side_effects = True
    output_schema = {
        "type": "object",
        "description": "The answer (only 2xx answers; others fail the step).",
        "properties": {
            "status": {"type": "integer", "description": "The HTTP status code, e.g. 200."},
            "headers": {"type": "object", "description": "Response headers, names in lower case."},
            "body": {"description": "The response body: parsed JSON when it is JSON, else text."},
        },
    }


# -- notify.email -------------------------------------------------------------


class EmailConfig(NodeConfig):
    to: str | list[str] = Field(
        title="To",
        description="One address, a comma-separated list, or a list of addresses, e.g. ops@example.com.",
    )
    subject: str = Field(
        min_length=1,
        max_length=500,
        title="Subject",
        description="The subject line. May hold templates.",
    )
    body: str = Field(
        default="",
        max_length=200_000,
        title="Message",
        description="The plain-text message. May hold templates.",
    )
    credential: str | None = Field(
        default=None,
        min_length=1,
        title="Mail server credential",
        description="Optional SMTP credential (id or name); empty uses the server's default mail settings.",
    )

    @field_validator("to")
    @classmethod
    def _addresses(cls, to: str | list[str]) -> list[str]:
        parts = to.split(",") if isinstance(to, str) else to
        addresses = [part.strip() for part in parts if part.strip()]
        if not addresses:
            raise invalid("name at least one recipient")
        if len(addresses) > MAX_RECIPIENTS:
            raise invalid(f"at most {MAX_RECIPIENTS} recipients")
        for address in addresses:
            _no_line_breaks(address)
            if not _ADDRESS.match(parseaddr(address)[1] or "-"):
                raise invalid(f"{address!r} is not an email address")
        return addresses

    @field_validator("subject")
    @classmethod
    def _one_line(cls, subject: str) -> str:
        return _no_line_breaks(subject)


@registry.register
class Email(NodeType):
    key = "notify.email"
    category = "integration"
    label = "Send email"
    description = "Send an email, for example to tell a team that something needs their attention."
    Config = EmailConfig
    side_effects = True
    output_schema = {
        "type": "object",
        "description": "Confirmation that the email was handed to the mail server.",
        "properties": {
            "sent": {
                "type": "boolean",
                "const": True,
                "description": "Always true; a failed send fails the step.",
            },
            "to": {"type": "array", "items": {"type": "string"}, "description": "The recipients."},
        },
    }
