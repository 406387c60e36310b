"""Account pages (htmx): profile and tokens, members and invitations, workspace
settings, publish review, the audit log, and the sign-in lockout answer.

Thin: parse, call one service or selector, render. Rights come from
accounts.permissions; a POST from an htmx request gets the re-rendered panel,
a plain POST is redirected back (post/redirect/get).
"""

from __future__ import annotations

import csv
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts import forms, permissions, selectors, services
from accounts.exceptions import AccountsError, InvitationInvalid
from accounts.models import User, Workspace
from accounts.permissions import Action

LOCKOUT_MESSAGE = (
    "Too many failed sign-in attempts for this account from your address. "
    "Sign-in is locked for {minutes} minutes; try again later or ask an admin to unlock it."
)


def locked_out(request: HttpRequest, response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes lockout answer: JSON (contract error shape) for the API, the sign-in page otherwise."""
    from django.conf import settings

    minutes = round(float(settings.AXES_COOLOFF_TIME) * 60)
    message = LOCKOUT_MESSAGE.format(minutes=minutes)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "errors": []}, status=429)
    form = AuthenticationForm(request)
    context = {"form": form, "locked_out_message": message, "next": request.POST.get("next", "")}
    return render(request, "accounts/login.html", context, status=429)


@login_required
@require_POST
def switch_workspace(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = get_object_or_404(permissions.workspaces_for(request.user), slug=slug)
    request.session["workspace"] = workspace.slug
    return redirect("builder:home")


def _workspace(request: HttpRequest, action: Action) -> Workspace:
    """The current workspace if the user holds ``action`` in it (404 / 403 otherwise)."""
    workspace = selectors.current_workspace(request)
    if workspace is None:
        raise permissions.NotVisible
    permissions.check(request.user, action, workspace)
    return workspace


def _panel(request: HttpRequest, page: str, partial: str, context: dict[str, Any]) -> HttpResponse:
    template = partial if request.htmx else page
    return render(request, template, context)


def _after_post(request: HttpRequest, url_name: str, render_panel: Any) -> HttpResponse:
    if request.htmx:
        return render_panel()
    return redirect(url_name)


def _form_errors(request: HttpRequest, form: Any) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label or field.title() if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


# -- profile and tokens -------------------------------------------------------


def _profile_context(request: HttpRequest, new_key: str = "") -> dict[str, Any]:
    return {
        "nav": "profile",
        "tokens": selectors.tokens_of(request.user),
        "token_form": forms.TokenForm(),
        "new_key": new_key,
        "memberships": selectors.workspaces_with_roles(request.user),
    }


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html", _profile_context(request))


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = forms.TokenForm(request.POST)
    new_key = ""
    if form.is_valid():
        try:
            _token, new_key = services.create_token(
                request.user, form.cleaned_data["name"], form.expires_at()
            )
            messages.success(request, "Token created. Copy it now: it is shown only once.")
        except AccountsError as exc:
            messages.error(request, exc.detail)
    else:
        _form_errors(request, form)
    # The key is rendered into this response only, never into a redirect or the session.
    context = _profile_context(request, new_key)
    return _panel(request, "accounts/profile.html", "accounts/_tokens.html", context)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token = selectors.token_of(request.user, pk)
        services.revoke_token(request.user, token)
        messages.success(request, f"Token “{token.name}” revoked; it no longer works.")
    except AccountsError as exc:
        messages.error(request, exc.detail)
    return _after_post(
        request,
        "accounts:profile",
        lambda: render(request, "accounts/_tokens.html", _profile_context(request)),
    )


# -- members and invitations --------------------------------------------------


def _members_context(
    request: HttpRequest, workspace: Workspace, invite_link: str = ""
) -> dict[str, Any]:
    return {
        "nav": "members",
        "workspace": workspace,
        "members": selectors.members_of(workspace),
        "invitations": selectors.open_invitations(workspace),
        "roles": forms.ROLE_CHOICES,
        "add_form": forms.MemberAddForm(),
        "invite_form": forms.InviteForm(),
        "invite_link": invite_link,
    }


def _members_panel(
    request: HttpRequest, workspace: Workspace, invite_link: str = ""
) -> HttpResponse:
    context = _members_context(request, workspace, invite_link)
    return _panel(request, "accounts/members.html", "accounts/_members.html", context)


@login_required
@require_GET
def members(request: HttpRequest) -> HttpResponse:
    return _members_panel(request, _workspace(request, Action.MANAGE_MEMBERS))


def _run(request: HttpRequest, success: str, action: Any) -> Any:
    """Run a service call, turning its refusal into an error message."""
    try:
        result = action()
    except AccountsError as exc:
        messages.error(request, exc.detail)
        return None
    messages.success(request, success)
    return result


@login_required
@require_POST
def member_add(request: HttpRequest) -> HttpResponse:
    workspace = _workspace(request, Action.MANAGE_MEMBERS)
    form = forms.MemberAddForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        user = User.objects.filter(username=form.cleaned_data["username"], is_active=True).first()
        if user is None:
            messages.error(request, "There is no account with that username. Invite them instead.")
        else:
            _run(
                request,
                f"{user.username} added.",
                lambda: services.add_member(
                    request.user, workspace, user, form.cleaned_data["roles"]
                ),
            )
    return _after_post(request, "accounts:members", lambda: _members_panel(request, workspace))


@login_required
@require_POST
def member_update(request: HttpRequest, user_id: int) -> HttpResponse:
    workspace = _workspace(request, Action.MANAGE_MEMBERS)
    membership = selectors.member_of(workspace, user_id)
    form = forms.MemberRolesForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        _run(
            request,
            f"Roles of {membership.user.username} saved.",
            lambda: services.change_roles(
                request.user, workspace, membership, form.cleaned_data["roles"]
            ),
        )
    return _after_post(request, "accounts:members", lambda: _members_panel(request, workspace))


@login_required
@require_POST
def member_remove(request: HttpRequest, user_id: int) -> HttpResponse:
    workspace = _workspace(request, Action.MANAGE_MEMBERS)
    membership = selectors.member_of(workspace, user_id)
    _run(
        request,
        f"{membership.user.username} removed from {workspace.name}.",
        lambda: services.remove_member(request.user, workspace, membership),
    )
    if membership.user_id == request.user.pk and not permissions.is_member(request.user, workspace):
        # They left the workspace: this page is no longer theirs.
        home = reverse("builder:home")
        return HttpResponseClientRedirect(home) if request.htmx else redirect(home)
    return _after_post(request, "accounts:members", lambda: _members_panel(request, workspace))


@login_required
@require_POST
def invite(request: HttpRequest) -> HttpResponse:
    workspace = _workspace(request, Action.MANAGE_MEMBERS)
    form = forms.InviteForm(request.POST)
    link = ""
    if not form.is_valid():
        _form_errors(request, form)
    else:
        data = form.cleaned_data
        created = _run(
            request,
            "Invitation created. Copy the link now: it is shown only once.",
            lambda: services.invite(
                request.user, workspace, data["roles"], data["email"], data["days"]
            ),
        )
        link = services.invitation_url(created[1]) if created else ""
    # The link is rendered into this response only.
    return _members_panel(request, workspace, invite_link=link)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    workspace = _workspace(request, Action.MANAGE_MEMBERS)
    invitation = selectors.invitation_in(workspace, pk)
    _run(
        request, "Invitation revoked.", lambda: services.revoke_invitation(request.user, invitation)
    )
    return _after_post(request, "accounts:members", lambda: _members_panel(request, workspace))


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Open to anyone holding the link: join as the signed-in user, or create an account."""
    try:
        invitation = services.open_invitation(token)
    except InvitationInvalid as exc:
        return render(
            request, "accounts/invitation_invalid.html", {"message": exc.detail}, status=410
        )
    form = forms.SignUpForm(request.POST or None, initial={"email": invitation.email})
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                services.accept_invitation(token, request.user)
            elif form.is_valid():
                data = form.cleaned_data
                user = services.sign_up_with_invitation(
                    token, data["username"], data["email"], data["password1"]
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                return _invitation_page(request, invitation, form, status=400)
        except InvitationInvalid as exc:
            return render(
                request, "accounts/invitation_invalid.html", {"message": exc.detail}, status=410
            )
        except AccountsError as exc:
            form.add_error(None, exc.detail)
            return _invitation_page(request, invitation, form, status=400)
        request.session["workspace"] = invitation.workspace.slug
        messages.success(request, f"Welcome to {invitation.workspace.name}.")
        return redirect("builder:home")
    return _invitation_page(request, invitation, form)


def _invitation_page(
    request: HttpRequest, invitation: Any, form: Any, status: int = 200
) -> HttpResponse:
    context = {"invitation": invitation, "form": form, "login_url": reverse("accounts:login")}
    return render(request, "accounts/invitation.html", context, status=status)


# -- workspace settings ---------------------------------------------------------


def _settings_form(workspace: Workspace, data: Any = None) -> forms.WorkspaceSettingsForm:
    # A copy: a failed validation must not change the workspace the page shows.
    copy = Workspace(
        pk=workspace.pk,
        slug=workspace.slug,
        name=workspace.name,
        require_publish_review=workspace.require_publish_review,
    )
    return forms.WorkspaceSettingsForm(data, instance=copy)


@login_required
@require_http_methods(["GET", "POST"])
def workspace_settings(request: HttpRequest) -> HttpResponse:
    workspace = _workspace(request, Action.MANAGE_SETTINGS)
    form = _settings_form(workspace, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            _run(
                request,
                "Settings saved.",
                lambda: services.update_workspace(
                    request.user, workspace, **{f: form.cleaned_data[f] for f in form.Meta.fields}
                ),
            )
            if not request.htmx:
                return redirect("accounts:settings")
        else:
            _form_errors(request, form)
    context = {
        "nav": "settings",
        "workspace": workspace,
        "form": form,
        "allow_text": "\n".join(workspace.outbound_allow),
    }
    return _panel(request, "accounts/settings.html", "accounts/_settings_form.html", context)


@login_required
@require_POST
def outbound_allow(request: HttpRequest) -> HttpResponse:
    """Replace the workspace's outbound allow-list (one entry a line)."""
    workspace = _workspace(request, Action.MANAGE_SETTINGS)
    form = forms.OutboundAllowForm(request.POST)
    typed = request.POST.get("entries", "")
    if not form.is_valid():
        _form_errors(request, form)
    else:
        try:
            services.set_outbound_allow(request.user, workspace, form.entry_lines())
        except AccountsError as exc:
            for error in exc.errors or [{"message": exc.detail}]:
                messages.error(request, error["message"])
        else:
            messages.success(request, "Outbound allow-list saved.")
            typed = "\n".join(workspace.outbound_allow)
            if not request.htmx:
                return redirect("accounts:settings")
    form = _settings_form(workspace)
    context = {"nav": "settings", "workspace": workspace, "form": form, "allow_text": typed}
    return _panel(request, "accounts/settings.html", "accounts/_outbound_allow.html", context)


# -- publish review ---------------------------------------------------------------


def _review_context(request: HttpRequest, workspace: Workspace) -> dict[str, Any]:
    return {
        "nav": "publish-requests",
        "workspace": workspace,
        "pending": selectors.pending_publish_requests(request.user, workspace),
        "recent": selectors.publish_requests_for(request.user, workspace).exclude(status="pending")[
            :20
        ],
        "can_review": permissions.can(request.user, Action.REVIEW_PUBLISH, workspace),
    }


@login_required
@require_GET
def publish_requests(request: HttpRequest) -> HttpResponse:
    workspace = _workspace(request, Action.VIEW)
    context = _review_context(request, workspace)
    return _panel(
        request, "accounts/publish_requests.html", "accounts/_publish_requests.html", context
    )


@login_required
@require_POST
def publish_request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    from builder.exceptions import BuilderError

    publish_request = selectors.publish_request_for(request.user, pk)
    form = forms.DecisionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        data = form.cleaned_data
        try:
            decided = services.decide_publish_request(
                request.user, publish_request, data["decision"], data["comment"]
            )
            messages.success(request, f"{decided.workflow.name}: publish request {decided.status}.")
        except (AccountsError, BuilderError) as exc:
            messages.error(request, exc.detail)
    workspace = publish_request.workspace
    return _after_post(
        request,
        "accounts:publish-requests",
        lambda: render(
            request, "accounts/_publish_requests.html", _review_context(request, workspace)
        ),
    )


# -- audit log ----------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50
EXPORT_FIELDS = [
    "id",
    "created_at",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "summary",
    "ip_address",
    "seq",
    "prev_hash",
    "hash",
]


def _audit_queryset(request: HttpRequest, workspace: Workspace) -> tuple[Any, Any]:
    form = forms.AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    return form, selectors.audit_events(workspace, **{k: v for k, v in filters.items() if v})


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    workspace = _workspace(request, Action.VIEW_AUDIT)
    form, events = _audit_queryset(request, workspace)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "nav": "audit",
        "workspace": workspace,
        "form": form,
        "page": page,
        "actions": selectors.audit_actions(workspace),
        "query": query.urlencode(),
    }
    return _panel(request, "accounts/audit.html", "accounts/_audit_table.html", context)


def _csv_cell(value: Any) -> Any:
    """Plain text for spreadsheets: JSON for structures, and no cell that starts a formula."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    workspace = _workspace(request, Action.VIEW_AUDIT)
    _form, events = _audit_queryset(request, workspace)
    rows = events.values(*EXPORT_FIELDS).iterator()
    stamp = f"audit-{workspace.slug}"
    if request.GET.get("format") == "json":
        body = json.dumps(list(rows), cls=DjangoJSONEncoder, indent=1)
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{stamp}.json"'
        return response
    writer = csv.writer(_Echo())
    lines = (writer.writerow([_csv_cell(row[f]) for f in EXPORT_FIELDS]) for row in rows)
    header = iter([writer.writerow(EXPORT_FIELDS)])
    response = StreamingHttpResponse(
        (line for part in (header, lines) for line in part), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="{stamp}.csv"'
    return response
