"""Approval endpoints of contract section 4. Thin: parse, call a selector or
the decision service (which checks every rule), render."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from accounts import selectors as account_selectors
from approvals import selectors, services
from approvals.api import serializers as s
from approvals.exceptions import ApprovalError


class ApprovalErrorMixin:
    """The contract's JSON errors, keeping the reason of a refusal (403)."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ApprovalError):
            return Response({"detail": exc.detail, "errors": exc.errors}, status=exc.status)
        if isinstance(exc, permissions.NotAllowed):
            exc = exceptions.PermissionDenied(str(exc) or None)
        if isinstance(exc, selectors.BadFilter):
            exc = exceptions.ValidationError({"status": [str(exc)]})
        return super().handle_exception(exc)  # type: ignore[misc]


class ApprovalListView(ApprovalErrorMixin, generics.ListAPIView):
    """Approval tasks: with ``status=pending`` (the default) those the caller may decide."""

    serializer_class = s.TaskSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                str,
                description="pending (default), approved, rejected, timed_out, cancelled, decided or closed",
            ),
            OpenApiParameter("workspace", str, description="A workspace slug"),
            OpenApiParameter("workflow", str, description="A workflow id"),
            OpenApiParameter("q", str, description="Text in the title"),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        params = self.request.query_params
        slug = params.get("workspace", "").strip()
        workspace = account_selectors.workspace_for(self.request.user, slug) if slug else None
        wanted = selectors.InboxFilter(
            status=params.get("status", "pending").strip() or "pending",
            workflow=params.get("workflow", "").strip(),
            query=params.get("q", "").strip(),
            workspace_id=workspace.pk if workspace else None,
        )
        return selectors.tasks_for(self.request.user, wanted)


class ApprovalDetailView(ApprovalErrorMixin, APIView):
    @extend_schema(
        responses={
            200: s.TaskSerializer,
            404: OpenApiResponse(description="Unknown or not visible"),
        }
    )
    def get(self, request: Request, pk: Any) -> Response:
        task = selectors.task_for(request.user, pk)
        return Response(s.TaskSerializer(task, context={"request": request}).data)


class ApprovalDecisionView(ApprovalErrorMixin, APIView):
    @extend_schema(
        request=s.DecideSerializer,
        responses={
            200: s.TaskSerializer,
            400: OpenApiResponse(description="Invalid decision or field values"),
            403: OpenApiResponse(
                description="Not an assignee, or the run's starter (self-approval)"
            ),
            404: OpenApiResponse(description="Unknown or not visible"),
            409: OpenApiResponse(
                description="Already decided, timed out, closed, or already approved by you"
            ),
        },
    )
    def post(self, request: Request, pk: Any) -> Response:
        task = selectors.task_for(request.user, pk)
        body = s.DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = services.decide(
            request.user,
            task,
            body.validated_data["decision"],
            comment=body.validated_data["comment"],
            data=body.validated_data["data"],
        )
        task = selectors.task_for(request.user, task.pk)
        return Response(s.TaskSerializer(task, context={"request": request}).data)
