"""Credential and price-table pages (admins). htmx requests get a partial
(a table row, or nothing after a delete); other requests get a redirect."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import permissions
from accounts import selectors as account_selectors
from accounts.models import Workspace
from accounts.permissions import Action
from integrations import pricing, selectors, services
from integrations.exceptions import InvalidCredential
from integrations.forms import CredentialForm, PriceForm
from integrations.models import Credential, CredentialKind

CONFIG_EXAMPLES = {
    "openai": '{"default_model": "gpt-4o-mini"}, or for Ollama '
    '{"base_url": "http://localhost:11434/v1", "default_model": "llama3.2"}',
    "anthropic": '{"default_model": "claude-haiku-4-5"}',
    "http": '{"auth": "header", "header_name": "X-Api-Key"}',
    "smtp": '{"host": "smtp.example.com", "port": 587, "username": "baton"}',
    "scripted": '{"replies": [{"match": "refund", "text": "Sorry!"}], "default": "Thanks.", '
    '"default_model": "gpt-4o-mini"}',
}


def _admin_workspace(request: HttpRequest) -> Workspace:
    workspace = account_selectors.current_workspace(request)
    if workspace is None:
        raise permissions.NotVisible
    permissions.check(request.user, Action.MANAGE_CREDENTIALS, workspace)
    return workspace


def _form_context(form: CredentialForm, credential: Credential | None = None) -> dict[str, Any]:
    return {
        "nav": "credentials",
        "form": form,
        "credential": credential,
        "examples": [
            (kind.value, kind.label, CONFIG_EXAMPLES[kind.value]) for kind in CredentialKind
        ],
    }


@login_required
def credential_list(request: HttpRequest) -> HttpResponse:
    workspace = _admin_workspace(request)
    context = {
        "nav": "credentials",
        "workspace": workspace,
        "credentials": selectors.credentials_in(workspace),
    }
    return render(request, "integrations/credentials.html", context)


@login_required
def credential_new(request: HttpRequest) -> HttpResponse:
    workspace = _admin_workspace(request)
    form = CredentialForm(request.POST or None, initial={"kind": request.GET.get("kind", "openai")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.create_credential(
                request.user,
                workspace,
                name=data["name"],
                kind=data["kind"],
                config=data["config"],
                secret=data["secret"],
                request=request,
            )
        except InvalidCredential as exc:
            form.add_error(_form_field(exc.field), exc.message)
        else:
            messages.success(request, f"Credential “{data['name']}” created.")
            return redirect("integrations:credentials")
    return render(request, "integrations/credential_form.html", _form_context(form))


@login_required
def credential_edit(request: HttpRequest, pk: int) -> HttpResponse:
    credential = selectors.credential_for_admin(request.user, pk)
    initial = {"name": credential.name, "kind": credential.kind, "config": credential.config}
    form = CredentialForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes: dict[str, Any] = {
            "name": data["name"],
            "kind": data["kind"],
            "config": data["config"],
        }
        if data.get("clear_secret"):
            changes["secret"] = ""
        elif data["secret"]:
            changes["secret"] = data["secret"]
        try:
            services.update_credential(request.user, credential, request=request, **changes)
        except InvalidCredential as exc:
            form.add_error(_form_field(exc.field), exc.message)
        else:
            messages.success(request, f"Credential “{credential.name}” saved.")
            return redirect("integrations:credentials")
    return render(request, "integrations/credential_form.html", _form_context(form, credential))


def _form_field(field: str) -> str | None:
    name = field.split(".")[0]
    return name if name in ("name", "kind", "config", "secret") else None


@login_required
@require_POST
def credential_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    credential = selectors.credential_for_admin(request.user, pk)
    services.update_credential(
        request.user, credential, disabled=not credential.disabled, request=request
    )
    if request.htmx:
        return render(request, "integrations/_credential_row.html", {"credential": credential})
    return redirect("integrations:credentials")


@login_required
@require_POST
def credential_delete(request: HttpRequest, pk: int) -> HttpResponse:
    credential = selectors.credential_for_admin(request.user, pk)
    name = credential.name
    services.delete_credential(request.user, credential, request=request)
    if request.htmx:
        return HttpResponse("")
    messages.success(request, f"Credential “{name}” deleted.")
    return redirect("integrations:credentials")


@login_required
def prices(request: HttpRequest) -> HttpResponse:
    workspace = _admin_workspace(request)
    form = PriceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.set_price(
            workspace, data["model"], data["input_usd_per_mtok"], data["output_usd_per_mtok"]
        )
        messages.success(request, f"Price of {data['model']} saved.")
        return redirect("integrations:prices")
    table = pricing.table_for(workspace.pk)
    chosen = request.GET.get("model", "")
    if request.method == "GET" and chosen in table:
        form = PriceForm(
            initial={
                "model": chosen,
                "input_usd_per_mtok": table[chosen][0],
                "output_usd_per_mtok": table[chosen][1],
            }
        )
    context = {
        "nav": "credentials",
        "workspace": workspace,
        "prices": [(m, _usd(table[m][0]), _usd(table[m][1])) for m in sorted(table)],
        "using_defaults": not selectors.prices_in(workspace.pk).exists(),
        "form": form,
    }
    return render(request, "integrations/prices.html", context)


def _usd(amount: Decimal) -> str:
    """At least two decimals, more only when the price has them: 0.15, 4.00, 0.0375."""
    return f"{amount:.2f}" if amount == round(amount, 2) else f"{amount.normalize():f}"


@login_required
@require_POST
def price_delete(request: HttpRequest) -> HttpResponse:
    workspace = _admin_workspace(request)
    services.delete_price(workspace, request.POST.get("model", ""))
    if request.htmx:
        return HttpResponse("")
    return redirect("integrations:prices")
