"""Account pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from accounts import permissions


@login_required
@require_POST
def switch_workspace(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = get_object_or_404(permissions.workspaces_for(request.user), slug=slug)
    request.session["workspace"] = workspace.slug
    return redirect("builder:home")

