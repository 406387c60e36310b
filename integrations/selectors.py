"""Read paths: credentials for admins (pages, API) and for nodes (by id or name)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts import permissions
from accounts.models import Workspace
from accounts.permissions import Action
from builder.nodes.base import NodeError
from integrations.models import Credential, ModelPrice


class CredentialNotFound(NodeError):
    def __init__(self, ref: Any):
        super().__init__(f"No credential {ref!r} in this workspace.", type="CredentialNotFound")


def workspace_for_admin(user: Any, slug: str | None) -> Workspace:
    """The workspace named ``slug`` if the user may manage its credentials
    (404 for non-members and unknown slugs, 403 for members without the right)."""
    workspace = Workspace.objects.filter(slug=slug or "").first()
    if workspace is None:
        raise permissions.NotVisible
    permissions.check(user, Action.MANAGE_CREDENTIALS, workspace)
    return workspace


def workspace_for_editor(user: Any, slug: str | None) -> Workspace:
    """The workspace named ``slug`` if the user may edit its workflows."""
    workspace = Workspace.objects.filter(slug=slug or "").first()
    if workspace is None:
        raise permissions.NotVisible
    permissions.check(user, Action.EDIT, workspace)
    return workspace


def credentials_in(workspace: Workspace) -> QuerySet[Credential]:
    return (
        Credential.objects.filter(workspace=workspace).select_related("workspace").order_by("name")
    )


def credential_for_admin(user: Any, pk: Any) -> Credential:
    credential = Credential.objects.select_related("workspace").filter(pk=_as_id(pk)).first()
    if credential is None:
        raise permissions.NotVisible
    permissions.check(user, Action.MANAGE_CREDENTIALS, credential)
    return credential


def credential_for(workspace_id: Any, ref: Any) -> Credential:
    """The credential a node names, by id or by name, within its workspace.
    Disabled credentials are returned too: the caller fails fast on them."""
    credentials = Credential.objects.filter(workspace_id=workspace_id)
    found = None
    if _as_id(ref) is not None:
        found = credentials.filter(pk=_as_id(ref)).first()
    if found is None and isinstance(ref, str):
        found = credentials.filter(name=ref).first()
    if found is None:
        raise CredentialNotFound(ref)
    return found


def chat_credentials(workspace_id: Any) -> QuerySet[Credential]:
    return Credential.objects.filter(
        workspace_id=workspace_id, kind__in=["openai", "anthropic", "scripted"]
    )


def prices_in(workspace_id: Any) -> QuerySet[ModelPrice]:
    return ModelPrice.objects.filter(workspace_id=workspace_id).order_by("model")


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
