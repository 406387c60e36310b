"""The reviewer's inbox: pending approvals on the left, the selected task on
the right, decisions without page loads (htmx), keyboard shortcuts (a:
approve, r: reject, j/k: next/previous) in ``approvals/inbox.js``.

Thin: parse, call a selector or ``services.decide`` (which checks every
rule), render. An htmx request gets the partial it targets, plus the list
and the nav count out of band; any other request gets the full page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from approvals import forms, rendering, selectors, services
from approvals.exceptions import ApprovalError
from approvals.models import ApprovalTask, TaskStatus
from builder.selectors import workflows_for

STATUS_CHOICES = [
    ("pending", "Waiting for me"),
    ("decided", "Decided"),
    ("timed_out", "Timed out"),
    ("cancelled", "Closed with their run"),
]


def _filter(request: HttpRequest) -> selectors.InboxFilter:
    status = request.GET.get("status", "pending").strip() or "pending"
    if status not in selectors.STATUS_FILTERS:
        status = "pending"
    return selectors.InboxFilter(
        status=status,
        workflow=request.GET.get("workflow", "").strip(),
        query=request.GET.get("q", "").strip()[:200],
    )


def _list_context(request: HttpRequest, wanted: selectors.InboxFilter, selected: Any) -> dict:
    tasks = selectors.tasks_for(request.user, wanted)
    return {
        "tasks": tasks,
        "wanted": wanted,
        "selected_id": str(selected.pk) if selected is not None else "",
        "query_string": request.GET.urlencode(),
    }


def _detail_context(request: HttpRequest, task: ApprovalTask | None, **extra: Any) -> dict:
    if task is None:
        return {"task": None, **extra}
    values = extra.pop("values", None)
    specs = forms.field_specs(task.fields, values if values is not None else task.values)
    for spec in specs:
        spec.error = extra.get("field_errors", {}).get(spec.name, "")
    refusal = permissions.task_refusal(request.user, task) if task.is_pending else None
    already = task.decisions.filter(user_id=request.user.pk).first()
    approvals = task.decisions.filter(decision="approve").count()
    return {
        "task": task,
        "specs": specs,
        "instructions_html": rendering.markdown_html(task.instructions),
        "data_json": rendering.pretty_json(task.data) if task.data is not None else "",
        "decisions": selectors.decisions_of(task),
        "approvals": approvals,
        "approvals_left": max(task.required_approvals - approvals, 0),
        "can_decide": task.is_pending and refusal is None and already is None,
        "refusal": refusal,
        "mine": already,
        "changes": (task.outcome or {}).get("changes") or {},
        **extra,
    }


def _page(
    request: HttpRequest, task: ApprovalTask | None, wanted: Any, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {
        "nav": "inbox",
        "statuses": STATUS_CHOICES,
        "workflows": workflows_for(request.user).order_by("name"),
        **_list_context(request, wanted, task),
        **_detail_context(request, task, **extra),
    }
    if request.htmx:
        return render(request, "approvals/_detail_response.html", context, status=status)
    return render(request, "approvals/inbox.html", context, status=status)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    wanted = _filter(request)
    if request.htmx and request.htmx.target == "task-list":
        selected = request.GET.get("selected", "")
        context = {"nav": "inbox", **_list_context(request, wanted, None), "selected_id": selected}
        return render(request, "approvals/_list_response.html", context)
    tasks = selectors.tasks_for(request.user, wanted)
    return _page(request, tasks[0] if tasks else None, wanted)


@login_required
@require_GET
def task_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    return _page(request, selectors.task_for(request.user, pk), _filter(request))


@login_required
@require_POST
def decide(request: HttpRequest, pk: Any) -> HttpResponse:
    task = selectors.task_for(request.user, pk)
    wanted = _filter(request)
    values, field_errors = forms.read_form(task.fields, request.POST)
    if field_errors:
        return _page(
            request,
            task,
            wanted,
            400,
            values=values,
            field_errors=field_errors,
            error="Some fields need attention.",
            comment=request.POST.get("comment", ""),
        )
    decision = request.POST.get("decision", "")
    try:
        task = services.decide(
            request.user, task, decision, comment=request.POST.get("comment", ""), data=values
        )
    except permissions.NotAllowed as exc:
        return _refused(request, task, wanted, 403, str(exc), values)
    except ApprovalError as exc:
        return _refused(request, task, wanted, exc.status, exc.detail, values)
    return _after_decision(request, task, wanted)


def _refused(
    request: HttpRequest, task: ApprovalTask, wanted: Any, status: int, message: str, values: dict
) -> HttpResponse:
    task.refresh_from_db()
    return _page(
        request,
        task,
        wanted,
        status,
        values=values if task.is_pending else None,
        error=message,
        comment=request.POST.get("comment", ""),
    )


def _after_decision(request: HttpRequest, task: ApprovalTask, wanted: Any) -> HttpResponse:
    """Confirm, and move on to the next task in the queue."""
    task.refresh_from_db()
    if task.status == TaskStatus.PENDING:
        left = task.required_approvals - task.decisions.filter(decision="approve").count()
        notice = (
            f"Your approval of “{task.title}” is recorded; it needs {left} more from other people."
        )
    else:
        verb = {"approved": "Approved", "rejected": "Rejected"}.get(task.status, task.status)
        notice = f"{verb} “{task.title}”. The run continues."
    if not request.htmx:  # a plain form post: redirect, so a reload does not post again
        messages.success(request, notice)
        return redirect(reverse("approvals:inbox") + _query(request))
    remaining = selectors.tasks_for(request.user, wanted)
    return _page(request, remaining[0] if remaining else None, wanted, notice=notice)


def _query(request: HttpRequest) -> str:
    return f"?{request.GET.urlencode()}" if request.GET else ""


@login_required
@require_GET
def count(request: HttpRequest) -> HttpResponse:
    """The nav item with a fresh count (polled by the nav on every page)."""
    context = {
        "inbox_count": selectors.pending_count(request.user),
        "nav": "inbox" if request.GET.get("current") else "",
    }
    return render(request, "approvals/_nav_item.html", context)
