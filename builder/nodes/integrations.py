"""Integration nodes: call an HTTP API (``http.request``), send an email
(``notify.email``).

Both go out through the guarded paths: HTTP through
:func:`integrations.outbound.send` (internal addresses refused unless
``BATON_OUTBOUND_ALLOW`` or the workspace's allow-list names them, size and
time limits), email through
Django's mail with a workspace's SMTP credential (its host vetted the same
way) or the server's default settings. Both send the step's idempotency key
(``run:node:visit``, the same on every attempt): HTTP as ``Idempotency-Key``,
email as a stable ``Message-ID``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from email.utils import parseaddr
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from builder.nodes.base import NodeConfig, NodeContext, NodeError, NodeType, Result
from builder.nodes.data import invalid
from builder.nodes.registry import registry

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")

MAX_RECIPIENTS = 50
#: the largest HTTP answer a step keeps (after decompression)
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
#: answers worth another attempt: the server may do better next time
RETRYABLE_STATUSES = frozenset({408, 425, 429})


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

    def run(self, ctx: NodeContext, config: HttpRequestConfig, input: Any) -> Result:
        headers = {
            **config.headers,
            **_auth_headers(ctx, config.credential),
            "Idempotency-Key": ctx.idempotency_key,
        }
        answer = _send(config, headers, ctx.workspace_id)
        output = {"status": answer.status, "headers": answer.headers, "body": _decoded(answer)}
        if not 200 <= answer.status < 300:
            raise NodeError(
                f"{config.method} {answer.url} answered {answer.status}: {_snippet(answer.content)}",
                type="HttpError",
                retryable=answer.status >= 500 or answer.status in RETRYABLE_STATUSES,
            )
        return Result(output)


def _credential(ctx: NodeContext, ref: str, kind: str) -> tuple[dict[str, Any], str]:
    """(config, plain secret) of the workspace credential ``ref`` of ``kind``."""
    from integrations import crypto
    from integrations.selectors import credential_for

    credential = credential_for(ctx.workspace_id, ref)
    if credential.kind != kind:
        raise NodeError(
            f"The credential {credential.name!r} is of kind {credential.kind}, not {kind}.",
            type="CredentialKind",
        )
    if credential.disabled:
        raise NodeError(
            f"The credential {credential.name!r} is disabled.", type="CredentialDisabled"
        )
    return dict(credential.config), crypto.decrypt(credential.secret_token)


def _auth_headers(ctx: NodeContext, ref: str | None) -> dict[str, str]:
    if not ref:
        return {}
    settings, secret = _credential(ctx, ref, "http")
    auth = settings.get("auth", "bearer")
    if auth == "header":
        return {settings["header_name"]: secret}
    if auth == "basic":
        pair = f"{settings['username']}:{secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    return {"Authorization": f"Bearer {secret}"}


def _body_arguments(body: Any) -> dict[str, Any]:
    if body is None or body == "":
        return {}
    if isinstance(body, str):
        return {"content": body.encode()}
    return {"json": body}


def _send(config: HttpRequestConfig, headers: dict[str, str], workspace_id: Any) -> Any:
    """The request through the guarded client, which also honours the
    workspace's own outbound allow-list."""
    import httpx

    from integrations import outbound

    try:
        with outbound.http_client(
            library="httpx", timeout=config.timeout_s, workspace=workspace_id
        ) as client:
            return outbound.send(
                client,
                config.method,
                config.url,
                max_bytes=MAX_RESPONSE_BYTES,
                deadline_s=config.timeout_s,
                workspace=workspace_id,
                params=config.query or None,
                headers=headers,
                **_body_arguments(config.body),
            )
    except outbound.OutboundRefused as exc:
        raise NodeError(str(exc), type="OutboundRefused") from None
    except (httpx.TimeoutException, outbound.DeadlineExceeded):
        raise NodeError(
            f"{config.method} {config.url} took longer than {config.timeout_s:g} s.",
            type="Timeout",
            retryable=True,
        ) from None
    except outbound.ResponseTooLarge as exc:
        raise NodeError(str(exc), type="ResponseTooLarge") from None
    except httpx.TooManyRedirects:
        raise NodeError(f"{config.url} redirects too often.", type="TooManyRedirects") from None
    except (httpx.TransportError, OSError) as exc:
        raise NodeError(
            f"Could not reach {config.url}: {exc}", type="ConnectionError", retryable=True
        ) from None
    except httpx.HTTPError as exc:
        raise NodeError(f"The request to {config.url} failed: {exc}", type="HttpError") from None


def _decoded(answer: Any) -> Any:
    text = answer.content.decode("utf-8", errors="replace")
    if "json" in answer.headers.get("content-type", "").lower():
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            return text
    return text


def _snippet(content: bytes, limit: int = 300) -> str:
    text = content.decode("utf-8", errors="replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."


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

    def run(self, ctx: NodeContext, config: EmailConfig, input: Any) -> Result:
        import smtplib

        from django.core.mail import EmailMessage

        connection, from_email = _mail_connection(ctx, config.credential)
        digest = hashlib.sha256(ctx.idempotency_key.encode()).hexdigest()[:32]
        message = EmailMessage(
            subject=config.subject,
            body=config.body,
            from_email=from_email,
            to=list(config.to),
            connection=connection,
            headers={"Message-ID": f"<{digest}@baton>"},
        )
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise NodeError(
                f"The mail server refused {sorted(exc.recipients)}.", type="EmailRejected"
            ) from None
        except smtplib.SMTPAuthenticationError:
            raise NodeError("The mail server refused the login.", type="EmailAuthFailed") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NodeError(
                f"Could not send the email: {exc}", type="EmailFailed", retryable=True
            ) from None
        return Result({"sent": True, "to": list(config.to)})


def _mail_connection(ctx: NodeContext, ref: str | None) -> tuple[Any, str | None]:
    """An SMTP connection from the workspace credential ``ref`` (its host is
    vetted like any outbound call, and the connection goes to the address
    vetted: :mod:`integrations.mail`), or the server's default mail backend."""
    from django.core.mail import get_connection

    from integrations import outbound

    if not ref:
        return get_connection(), None
    settings, secret = _credential(ctx, ref, "smtp")
    host, port = settings["host"], int(settings.get("port") or 587)
    try:
        addresses = outbound.vetted_addresses(host, port, workspace=ctx.workspace_id)
    except (outbound.OutboundRefused, OSError) as exc:
        raise NodeError(str(exc), type="OutboundRefused") from None
    connection = get_connection(
        "integrations.mail.PinnedEmailBackend",
        address=str(addresses[0]),  # the vetted address, not the name again
        host=host,
        port=port,
        username=settings.get("username") or "",
        password=secret,
        use_tls=bool(settings.get("use_tls", True)),
        timeout=30,
        fail_silently=False,
    )
    return connection, settings.get("from_email")
