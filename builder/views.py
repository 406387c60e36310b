"""Workflow pages: the workspace's list (htmx search and sort) and the canvas editor."""

from __future__ import annotations

import copy

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import permissions
from accounts import selectors as account_selectors
from accounts.permissions import Action
from builder import examples, selectors, services


@login_required
def home(request: HttpRequest) -> HttpResponse:
    workspace = account_selectors.current_workspace(request)
    query = request.GET.get("q", "").strip()[:200]
    sort = request.GET.get("sort", "-updated")
    workflows = selectors.workflows_for(request.user, workspace.slug) if workspace else None
    if workflows is not None:
        workflows = selectors.search_workflows(selectors.with_run_stats(workflows), query, sort)
    context = {
        "nav": "workflows",
        "workspace": workspace,
        "workflows": workflows,
        "query": query,
        "sort": sort,
        "can_edit": bool(workspace) and permissions.can(request.user, Action.EDIT, workspace),
    }
    if request.htmx and request.htmx.target == "workflow-table":
        return render(request, "builder/_workflow_table.html", context)
    return render(request, "builder/home.html", context)


@login_required
@require_POST
def new_workflow(request: HttpRequest) -> HttpResponse:
    workspace = account_selectors.current_workspace(request)
    if workspace is None:
        raise permissions.NotVisible
    name = request.POST.get("name", "").strip()[:200] or "Untitled workflow"
    saved = services.create_workflow(
        request.user, workspace, name=name, graph=services.starter_graph()
    )
    return redirect("builder:editor", pk=saved.workflow.pk)


@login_required
def template_gallery(request: HttpRequest) -> HttpResponse:
    workspace = account_selectors.current_workspace(request)
    if workspace is None:
        raise permissions.NotVisible
    permissions.check(request.user, Action.EDIT, workspace)
    return render(
        request, "builder/templates.html", {"nav": "workflows", "examples": examples.all_examples()}
    )


@login_required
@require_POST
def new_from_template(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = account_selectors.current_workspace(request)
    example = examples.by_slug(slug)
    if workspace is None or example is None:
        raise permissions.NotVisible
    saved = services.create_workflow(
        request.user,
        workspace,
        name=example.name,
        description=example.description,
        graph=copy.deepcopy(example.graph),
    )
    return redirect("builder:editor", pk=saved.workflow.pk)


@login_required
def editor(request: HttpRequest, pk: str) -> HttpResponse:
    workflow = selectors.workflow_for(request.user, pk)
    run_id = request.GET.get("run")
    canvas_config = {
        "workflowId": str(workflow.pk),
        "workspace": workflow.workspace.slug,
        "apiBase": "/api/v1/",
        "wsBase": "/ws/",
        "csrfToken": get_token(request),
        "canEdit": permissions.can(request.user, Action.EDIT, workflow),
        "canRun": permissions.can(request.user, Action.RUN, workflow),
        "canPublish": permissions.can(request.user, Action.EDIT, workflow),
        "publishNeedsReview": permissions.needs_review(request.user, workflow.workspace),
        "user": {"id": request.user.pk, "username": request.user.get_username()},
        "mode": "run" if run_id else "edit",
        "runId": run_id,
    }
    return render(
        request,
        "builder/editor.html",
        {"nav": "workflows", "workflow": workflow, "canvas_config": canvas_config},
    )
