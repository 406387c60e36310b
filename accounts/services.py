"""Write paths for accounts: members and roles, invitations, tokens, workspace
settings and publish review. Each checks rights through accounts.permissions,
changes the database in one transaction and records an audit event in it."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import audit, permissions
from accounts.exceptions import Conflict, InvalidInput, InvitationInvalid, SelfReview
from accounts.models import (
    ApiToken,
    Invitation,
    Membership,
    PublishRequest,
    Role,
    User,
    Workspace,
)
from accounts.permissions import Action

INVITATION_DAYS = 7
MAX_INVITATION_DAYS = 30


def clean_roles(names: Any) -> list[str]:
    """Valid, non-empty, canonical role list; InvalidInput otherwise."""
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise InvalidInput("roles must be a list of role names.", field="roles")
    try:
        roles = permissions.valid_roles(names)
    except ValueError as exc:
        known = ", ".join(role.value for role in Role)
        raise InvalidInput(f"{exc}. Known roles: {known}.", field="roles") from None
    if not roles:
        raise InvalidInput("Give at least one role.", field="roles")
    return roles


# -- members -----------------------------------------------------------------


def _locked_memberships(workspace: Workspace) -> list[Membership]:
    """Lock the workspace's memberships so two admins cannot both step down at once."""
    return list(Membership.objects.select_for_update().filter(workspace=workspace))


def _ensure_an_admin_remains(
    memberships: list[Membership], user_id: int, new_roles: list[str]
) -> None:
    admins_after = [
        m for m in memberships if Role.ADMIN in (new_roles if m.user_id == user_id else m.roles)
    ]
    if not admins_after:
        raise Conflict(
            "A workspace needs at least one admin: make someone else admin first.",
            field="roles",
        )


@transaction.atomic
def add_member(actor: Any, workspace: Workspace, user: User, roles: Any) -> Membership:
    permissions.check(actor, Action.MANAGE_MEMBERS, workspace)
    roles = clean_roles(roles)
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise Conflict(f"{user.get_username()} is already a member; change their roles instead.")
    try:
        with transaction.atomic():
            membership = Membership.objects.create(workspace=workspace, user=user, roles=roles)
    except IntegrityError:  # added by a concurrent request since the check above
        raise Conflict(f"{user.get_username()} is already a member.") from None
    audit.record(
        actor,
        workspace,
        "member.added",
        obj=membership,
        summary={"user": user.get_username(), "roles": roles},
    )
    permissions.forget(user)
    return membership


@transaction.atomic
def change_roles(
    actor: Any, workspace: Workspace, membership: Membership, roles: Any
) -> Membership:
    permissions.check(actor, Action.MANAGE_MEMBERS, workspace)
    roles = clean_roles(roles)
    _ensure_an_admin_remains(_locked_memberships(workspace), membership.user_id, roles)
    before = list(membership.roles)
    Membership.objects.filter(pk=membership.pk).update(roles=roles)
    membership.roles = roles
    audit.record(
        actor,
        workspace,
        "member.roles_changed",
        obj=membership,
        summary={"user": membership.user.get_username(), "before": before, "after": roles},
    )
    permissions.forget(actor)
    return membership


@transaction.atomic
def remove_member(actor: Any, workspace: Workspace, membership: Membership) -> None:
    permissions.check(actor, Action.MANAGE_MEMBERS, workspace)
    _ensure_an_admin_remains(_locked_memberships(workspace), membership.user_id, [])
    audit.record(
        actor,
        workspace,
        "member.removed",
        obj=membership,
        summary={"user": membership.user.get_username(), "roles": membership.roles},
    )
    Membership.objects.filter(pk=membership.pk).delete()
    permissions.forget(actor)


# -- invitations -------------------------------------------------------------


def invitation_url(token: str) -> str:
    """The link on the host the admin is using; BATON_BASE_URL outside a request."""
    path = reverse("accounts:invitation-accept", args=[token])
    request = audit.current_request.get()
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.BASE_URL.rstrip("/") + path


@transaction.atomic
def invite(
    actor: Any, workspace: Workspace, roles: Any, email: str = "", days: int = INVITATION_DAYS
) -> tuple[Invitation, str]:
    """Create a one-time link; returns the invitation and its token (never stored)."""
    permissions.check(actor, Action.MANAGE_MEMBERS, workspace)
    roles = clean_roles(roles)
    if not 1 <= days <= MAX_INVITATION_DAYS:
        raise InvalidInput(f"An invitation lasts 1 to {MAX_INVITATION_DAYS} days.", field="days")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        roles=roles,
        created_by=actor,
        token_hash=Invitation.hash_token(token),
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit.record(
        actor,
        workspace,
        "invitation.created",
        obj=invitation,
        summary={"email": email, "roles": roles, "expires_at": invitation.expires_at},
    )
    if email:
        transaction.on_commit(lambda: _send_invitation(invitation, token))
    return invitation, token


def _send_invitation(invitation: Invitation, token: str) -> None:
    send_mail(
        subject=f"You are invited to {invitation.workspace.name} on Baton",
        message=(
            f"{invitation.created_by} invited you to the workspace {invitation.workspace.name} "
            f"as {', '.join(invitation.roles)}.\n\nJoin here (the link works once, until "
            f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n{invitation_url(token)}\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
        fail_silently=True,
    )


@transaction.atomic
def revoke_invitation(actor: Any, invitation: Invitation) -> None:
    permissions.check(actor, Action.MANAGE_MEMBERS, invitation.workspace)
    if not invitation.is_open:
        raise Conflict("This invitation was already used, revoked or has expired.")
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    audit.record(
        actor,
        invitation.workspace,
        "invitation.revoked",
        obj=invitation,
        summary={"email": invitation.email},
    )


REFUSED = "This invitation link is not valid: it may have expired, been used already, or been revoked. Ask an admin for a new one."


def open_invitation(token: str) -> Invitation:
    """The open invitation for this token; InvitationInvalid (audited) otherwise."""
    invitation = (
        Invitation.objects.select_related("workspace")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
    )
    if invitation is None or not invitation.is_open:
        _refuse(invitation)
    return invitation


def _refuse(invitation: Invitation | None) -> None:
    request = audit.current_request.get()
    actor = getattr(request, "user", None)
    if invitation is None:
        audit.record(actor, None, "invitation.refused", summary={"reason": "unknown link"})
    else:
        reason = (
            "used" if invitation.accepted_at else "revoked" if invitation.revoked_at else "expired"
        )
        audit.record(
            actor,
            invitation.workspace,
            "invitation.refused",
            obj=invitation,
            summary={"reason": reason},
        )
    raise InvitationInvalid(REFUSED)


@transaction.atomic
def accept_invitation(token: str, user: User) -> Membership:
    """Join the invitation's workspace (roles are merged if already a member)."""
    invitation = open_invitation(token)
    updated = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now(), accepted_by=user
    )
    if not updated:  # accepted by a concurrent request between the read and now
        _refuse(Invitation.objects.get(pk=invitation.pk))
    membership, created = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"roles": invitation.roles}
    )
    if not created:
        membership.roles = permissions.valid_roles(set(membership.roles) | set(invitation.roles))
        Membership.objects.filter(pk=membership.pk).update(roles=membership.roles)
    audit.record(
        user,
        invitation.workspace,
        "invitation.accepted",
        obj=invitation,
        summary={"user": user.get_username(), "roles": membership.roles, "new_user": False},
    )
    permissions.forget(user)
    return membership


@transaction.atomic
def sign_up_with_invitation(token: str, username: str, email: str, password: str) -> User:
    """Create the account an invitation is for, then accept the invitation with it."""
    open_invitation(token)
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(
            "That username is taken; choose another, or sign in first.", field="username"
        )
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:  # taken by a concurrent sign-up since the check above
        raise Conflict("That username is taken; choose another.", field="username") from None
    accept_invitation(token, user)
    return user


# -- API tokens --------------------------------------------------------------


@transaction.atomic
def create_token(user: User, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry must be in the future.", field="expires_at")
    token, key = ApiToken.issue(user, name.strip()[:100] or "API token", expires_at)
    audit.record_for_user(
        user,
        user,
        "token.created",
        obj=token,
        summary={"name": token.name, "prefix": token.prefix, "expires_at": expires_at},
    )
    return token, key


@transaction.atomic
def revoke_token(user: User, token: ApiToken) -> None:
    if token.user_id != user.pk:
        raise permissions.NotVisible
    if token.revoked_at is not None:
        raise Conflict("This token is already revoked.")
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    audit.record_for_user(
        user, user, "token.revoked", obj=token, summary={"name": token.name, "prefix": token.prefix}
    )


# -- workspace settings ------------------------------------------------------


@transaction.atomic
def update_workspace(actor: Any, workspace: Workspace, **changes: Any) -> Workspace:
    permissions.check(actor, Action.MANAGE_SETTINGS, workspace)
    allowed = {"name", "require_publish_review"}
    diff = {
        key: {"before": getattr(workspace, key), "after": value}
        for key, value in changes.items()
        if key in allowed and getattr(workspace, key) != value
    }
    if "name" in changes and not str(changes["name"]).strip():
        raise InvalidInput("The workspace needs a name.", field="name")
    if diff:
        Workspace.objects.filter(pk=workspace.pk).update(**{k: v["after"] for k, v in diff.items()})
        workspace.refresh_from_db()
        audit.record(actor, workspace, "workspace.settings_changed", obj=workspace, summary=diff)
    return workspace


@transaction.atomic
def set_outbound_allow(actor: Any, workspace: Workspace, entries: Any) -> Workspace:
    """Replace the workspace's outbound allow-list (admins; every change audited).

    Entries are validated by integrations.outbound, which owns their grammar,
    and stored in canonical spelling without duplicates. InvalidInput names
    each bad entry, with its position as the field (``entries[2]``).
    """
    from integrations import outbound

    permissions.check(actor, Action.MANAGE_SETTINGS, workspace)
    if not isinstance(entries, (list, tuple)):
        raise InvalidInput("entries must be a list of host, host:port or CIDR entries.", "entries")
    try:
        cleaned = outbound.clean_allow_list(entries)
    except outbound.InvalidAllowList as exc:
        raise _invalid_entries(exc.problems) from None
    # Locked, so that two admins saving at once each audit what they changed.
    before = Workspace.objects.select_for_update().get(pk=workspace.pk).outbound_allow
    if cleaned != before:
        Workspace.objects.filter(pk=workspace.pk).update(outbound_allow=cleaned)
        audit.record(
            actor,
            workspace,
            "workspace.outbound_allow_changed",
            obj=workspace,
            summary={
                "added": [entry for entry in cleaned if entry not in before],
                "removed": [entry for entry in before if entry not in cleaned],
                "entries": cleaned,
            },
        )
    workspace.outbound_allow = cleaned
    return workspace


def _invalid_entries(problems: list[tuple[int | None, str]]) -> InvalidInput:
    error = InvalidInput(" ".join(message for _index, message in problems), field="entries")
    error.errors = [
        {"field": "entries" if index is None else f"entries[{index}]", "message": message}
        for index, message in problems
    ]
    return error


# -- publish review ----------------------------------------------------------


@transaction.atomic
def submit_publish_request(user: Any, workflow: Any, note: str = "") -> PublishRequest:
    """Snapshot the draft for review; the author's older pending requests are superseded."""
    permissions.check(user, Action.EDIT, workflow)
    superseded = PublishRequest.objects.filter(
        workflow=workflow, requested_by=user, status=PublishRequest.Status.PENDING
    ).update(status=PublishRequest.Status.SUPERSEDED)
    publish_request = PublishRequest.objects.create(
        workspace_id=workflow.workspace_id,
        workflow=workflow,
        requested_by=user,
        graph=workflow.graph,
        source_revision=workflow.revision,
        note=note,
    )
    audit.record(
        user,
        workflow.workspace_id,
        "publish_request.created",
        obj=publish_request,
        summary={
            "workflow": str(workflow.pk),
            "revision": workflow.revision,
            "note": note,
            "superseded": superseded,
        },
    )
    return publish_request


def decide_publish_request(
    user: Any, publish_request: PublishRequest, decision: str, comment: str = ""
) -> PublishRequest:
    """Approve (the snapshot becomes the live version) or reject a pending request."""
    permissions.check(user, Action.REVIEW_PUBLISH, publish_request)
    if not permissions.may_decide_own(user, publish_request.requested_by_id):
        # Recorded outside the decision's transaction, so the refusal stays in the log.
        audit.record(
            user,
            publish_request.workspace_id,
            "publish_request.self_review_refused",
            obj=publish_request,
        )
        raise SelfReview(
            "You cannot review your own publish request; another approver or admin must."
        )
    if decision not in ("approve", "reject"):
        raise InvalidInput("decision must be approve or reject.", field="decision")
    return _decide(user, publish_request, decision, comment)


@transaction.atomic
def _decide(
    user: Any, publish_request: PublishRequest, decision: str, comment: str
) -> PublishRequest:
    status = (
        PublishRequest.Status.APPROVED if decision == "approve" else PublishRequest.Status.REJECTED
    )
    claimed = PublishRequest.objects.filter(
        pk=publish_request.pk, status=PublishRequest.Status.PENDING
    ).update(status=status, decided_by=user, decided_at=timezone.now(), comment=comment)
    if not claimed:
        raise Conflict("This publish request was already decided or superseded.")
    publish_request.refresh_from_db()
    if status == PublishRequest.Status.APPROVED:
        _publish_snapshot(user, publish_request)
    audit.record(
        user,
        publish_request.workspace_id,
        f"publish_request.{status}",
        obj=publish_request,
        summary={
            "workflow": str(publish_request.workflow_id),
            "comment": comment,
            "version": publish_request.version.number if publish_request.version else None,
        },
    )
    return publish_request


def _publish_snapshot(user: Any, publish_request: PublishRequest) -> None:
    from builder import services as builder_services
    from builder.models import Workflow

    workflow = Workflow.objects.alive().filter(pk=publish_request.workflow_id).first()
    if workflow is None:
        raise Conflict("The workflow was deleted; nothing to publish.")
    builder_services.require_valid(publish_request.graph)
    version = builder_services.create_version(
        publish_request.requested_by,
        workflow,
        publish_request.note,
        graph=publish_request.graph,
        revision=publish_request.source_revision,
    )
    PublishRequest.objects.filter(pk=publish_request.pk).update(version=version)
    publish_request.version = version
    audit.record(
        user,
        workflow.workspace_id,
        "workflow.published",
        obj=workflow,
        summary={
            "version": version.number,
            "note": publish_request.note,
            "publish_request": publish_request.pk,
        },
    )
