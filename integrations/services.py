"""Write paths: credentials (create, update, kill switch, delete, re-encrypt)
and the price table. Callers have already checked the permission
(``Action.MANAGE_CREDENTIALS``) through :mod:`accounts.permissions`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from accounts import audit
from accounts.models import Workspace
from integrations import crypto
from integrations.exceptions import InvalidCredential
from integrations.kinds import config_errors
from integrations.models import Credential, ModelPrice

UNSET: Any = object()


def _audit(
    actor: Any,
    workspace: Workspace,
    action: str,
    credential: Credential,
    summary: dict[str, Any],
    request: Any = None,
) -> None:
    """Record in the audit log, inside the caller's transaction. The summary
    names fields only, never a secret's value."""
    audit.record(actor, workspace, action, obj=credential, summary=summary, request=request)


def _validate(
    workspace: Workspace, name: str, kind: str, config: Any, exclude_pk: Any = None
) -> None:
    if not name.strip():
        raise InvalidCredential("A name is required.", "name")
    taken = (
        Credential.objects.filter(workspace=workspace, name=name).exclude(pk=exclude_pk).exists()
    )
    if taken:
        raise InvalidCredential(
            f"A credential named {name!r} already exists in this workspace.", "name"
        )
    problems = config_errors(kind, config)
    if problems:
        field, message = problems[0]
        raise InvalidCredential(message, field)


def create_credential(
    actor: Any,
    workspace: Workspace,
    *,
    name: str,
    kind: str,
    config: dict[str, Any] | None = None,
    secret: str = "",
    request: Any = None,
) -> Credential:
    config = config or {}
    _validate(workspace, name, kind, config)
    try:
        with transaction.atomic():
            credential = Credential.objects.create(
                workspace=workspace,
                name=name,
                kind=kind,
                config=config,
                secret_token=crypto.encrypt(secret),
                created_by=actor,
            )
            summary = {"name": name, "kind": kind, "has_secret": bool(secret)}
            _audit(actor, workspace, "credential.create", credential, summary, request)
    except IntegrityError:
        raise InvalidCredential(
            f"A credential named {name!r} already exists in this workspace.", "name"
        ) from None
    return credential


def update_credential(
    actor: Any,
    credential: Credential,
    *,
    name: str = UNSET,
    kind: str = UNSET,
    config: Any = UNSET,
    secret: str | None = UNSET,
    disabled: bool = UNSET,
    request: Any = None,
) -> Credential:
    """Change what is given. ``secret=""`` clears the secret; leaving it out
    keeps it. Changing ``kind`` re-points every node using the credential
    (the demo's scripted credential becomes a real provider this way)."""
    changed: list[str] = []
    new_name = credential.name if name is UNSET else name
    new_kind = credential.kind if kind is UNSET else kind
    new_config = credential.config if config is UNSET else (config or {})
    _validate(credential.workspace, new_name, new_kind, new_config, exclude_pk=credential.pk)
    for field, value in (("name", new_name), ("kind", new_kind), ("config", new_config)):
        if getattr(credential, field) != value:
            setattr(credential, field, value)
            changed.append(field)
    if secret is not UNSET:
        credential.secret_token = crypto.encrypt(secret or "")
        changed.append("secret")
    if disabled is not UNSET and credential.disabled != bool(disabled):
        credential.disabled = bool(disabled)
        changed.append("disabled")
    if not changed:
        return credential
    try:
        with transaction.atomic():
            credential.save()
            summary = {"name": credential.name, "changed": changed}
            action = _action_for(changed, credential)
            _audit(actor, credential.workspace, action, credential, summary, request)
    except IntegrityError:
        raise InvalidCredential(
            f"A credential named {new_name!r} already exists in this workspace.", "name"
        ) from None
    return credential


def _action_for(changed: list[str], credential: Credential) -> str:
    if changed == ["disabled"]:
        return "credential.disable" if credential.disabled else "credential.enable"
    return "credential.update"


def delete_credential(actor: Any, credential: Credential, request: Any = None) -> None:
    workspace, summary = credential.workspace, {"name": credential.name, "kind": credential.kind}
    with transaction.atomic():
        _audit(actor, workspace, "credential.delete", credential, summary, request)
        credential.delete()


def reencrypt_all() -> int:
    """Re-encrypt every secret with the newest key; returns how many changed."""
    count = 0
    for credential in (
        Credential.objects.exclude(secret_token="").only("pk", "secret_token").iterator()
    ):
        rotated = crypto.rotate(credential.secret_token)
        Credential.objects.filter(pk=credential.pk).update(secret_token=rotated)
        count += 1
    return count


def set_price(
    workspace: Workspace, model: str, input_usd_per_mtok: Decimal, output_usd_per_mtok: Decimal
) -> ModelPrice:
    """Add or change one row. A workspace's first row starts its own table as
    a copy of the defaults (a table with rows replaces the defaults)."""
    if not ModelPrice.objects.filter(workspace=workspace).exists():
        seed_prices(workspace)
    price, _ = ModelPrice.objects.update_or_create(
        workspace=workspace,
        model=model.strip(),
        defaults={
            "input_usd_per_mtok": input_usd_per_mtok,
            "output_usd_per_mtok": output_usd_per_mtok,
        },
    )
    return price


def delete_price(workspace: Workspace, model: str) -> None:
    """Remove one row (a workspace still on the defaults gets its own copy first)."""
    if not ModelPrice.objects.filter(workspace=workspace).exists():
        seed_prices(workspace)
    ModelPrice.objects.filter(workspace=workspace, model=model).delete()


def seed_prices(workspace: Workspace) -> int:
    """Give a workspace a row for every default price it does not have yet."""
    from integrations.pricing import DEFAULT_PRICES

    existing = set(ModelPrice.objects.filter(workspace=workspace).values_list("model", flat=True))
    rows = [
        ModelPrice(
            workspace=workspace,
            model=model,
            input_usd_per_mtok=prices[0],
            output_usd_per_mtok=prices[1],
        )
        for model, prices in DEFAULT_PRICES.items()
        if model not in existing
    ]
    ModelPrice.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
