"""Run pages: the run history (htmx filters and pagination) and one run with
its steps. Thin: parse, call a selector or service, render. While a run is
active its page re-reads the live part when its WebSocket says something
happened (static/js/live-runs.js, docs/live.md); the run list does the same."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import permissions
from accounts import selectors as account_selectors
from accounts.permissions import Action
from builder.selectors import workflows_for
from runtime import selectors, services
from runtime.exceptions import RuntimeServiceError
from runtime.models import RunStatus

PAGE_SIZE = 25


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    workspace = account_selectors.current_workspace(request)
    workflow_id = request.GET.get("workflow", "").strip()
    status = request.GET.get("status", "").strip()
    runs = selectors.runs_for(request.user).filter(workspace=workspace)
    try:
        runs = selectors.filter_runs(
            runs, workflow=workflow_id, statuses=selectors.parse_statuses(status)
        )
    except selectors.BadFilter:
        runs, workflow_id, status = runs.none(), "", ""
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    for run in page.object_list:
        run.duration_text = duration_text(selectors.duration_ms(run.started_at, run.finished_at))
    context = {
        "nav": "runs",
        "workspace": workspace,
        "page": page,
        "workflows": workflows_for(request.user, workspace.slug).order_by("name")
        if workspace
        else [],
        "statuses": RunStatus.choices,
        "workflow_id": workflow_id,
        "status": status,
        "filtered": bool(workflow_id or status),
    }
    if request.htmx and request.htmx.target == "run-table":
        return render(request, "runtime/_run_table.html", context)
    return render(request, "runtime/run_list.html", context)


def duration_text(ms: int | None) -> str:
    """``840 ms``, ``3.2 s``, ``4 min 05 s``; empty while unknown."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds:02d} s"


def as_json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def step_rows(run: Any) -> list[dict[str, Any]]:
    """Steps with what the page shows beside the model: name, duration, JSON text."""
    names = selectors.node_names(run)
    return [
        {
            "step": step,
            "name": names.get(step.node_id, step.node_id),
            "duration": duration_text(selectors.duration_ms(step.started_at, step.finished_at)),
            "input": as_json_text(step.input),
            "output": None if step.output is None else as_json_text(step.output),
            "error": None if step.error is None else as_json_text(step.error),
            "tokens": sum((step.usage or {}).values()) if step.usage else 0,
        }
        for step in selectors.steps_of(run)
    ]


def run_context(request: HttpRequest, run: Any) -> dict[str, Any]:
    usage = run.usage or {}
    return {
        "nav": "runs",
        "run": run,
        "steps": step_rows(run),
        "duration": duration_text(selectors.duration_ms(run.started_at, run.finished_at)),
        "tokens": sum(v for v in usage.values() if isinstance(v, int)),
        "usage": usage,
        "output": None if run.output is None else as_json_text(run.output),
        "input": as_json_text(run.input),
        "error": None if run.error is None else as_json_text(run.error),
        "can_run": permissions.can(request.user, Action.RUN, run),
        "rerun_nodes": selectors.rerunnable_nodes(run),
    }


@login_required
def run_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    run = selectors.run_for(request.user, pk)
    context = run_context(request, run)
    if request.htmx and request.htmx.target == "run-live":
        return render(request, "runtime/_run_live.html", context)
    return render(request, "runtime/run_detail.html", context)


@login_required
@require_POST
def run_cancel(request: HttpRequest, pk: Any) -> HttpResponse:
    run = selectors.run_for(request.user, pk)
    try:
        services.cancel_run(request.user, run)
        messages.success(request, "The run was cancelled.")
    except RuntimeServiceError as exc:
        messages.error(request, exc.detail)
    return redirect("runtime:run", pk=run.pk)


@login_required
@require_POST
def run_rerun(request: HttpRequest, pk: Any) -> HttpResponse:
    run = selectors.run_for(request.user, pk)
    from_node = request.POST.get("from_node", "").strip()[:64]
    try:
        new_run = services.rerun(request.user, run, from_node)
    except RuntimeServiceError as exc:
        messages.error(request, exc.detail)
        return redirect("runtime:run", pk=run.pk)
    messages.success(request, f"Re-running from “{from_node}”.")
    return redirect("runtime:run", pk=new_run.pk)
