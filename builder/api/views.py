"""Workflow endpoints of contract section 4. Thin: parse, call a service, render."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from builder import selectors, services
from builder.api import serializers as s
from builder.exceptions import BuilderError
from builder.nodes import registry


class BuilderErrorMixin:
    """Map builder errors to the contract's JSON error shape."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, BuilderError):
            body = {"detail": exc.detail, "errors": exc.errors, **exc.extra}
            return Response(body, status=exc.status)
        return super().handle_exception(exc)  # type: ignore[misc]


def validation_body(result: Any) -> dict[str, Any]:
    return {
        "valid": result.valid,
        "errors": [issue.as_dict() for issue in result.errors],
        "warnings": [issue.as_dict() for issue in result.warnings],
    }


CATEGORY_ORDER = ("trigger", "ai", "logic", "data", "flow", "human", "integration")


def catalog_order(node_type: Any) -> tuple[int, str]:
    """Triggers first, then the palette's categories, alphabetical within each."""
    category = node_type.category
    rank = CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER)
    return rank, node_type.key


class NodeTypeListView(APIView):
    """The node catalog (contract section 3)."""

    @extend_schema(
        responses=inline_serializer("NodeType", {"key": serializers.CharField()}, many=True)
    )
    def get(self, request: Request) -> Response:
        ordered = sorted(registry.latest(), key=catalog_order)
        return Response([node_type.describe() for node_type in ordered])


class WorkflowListCreateView(BuilderErrorMixin, generics.ListAPIView):
    serializer_class = s.WorkflowSummarySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("workspace", str, description="Workspace slug"),
            OpenApiParameter("q", str, description="Search in name and description"),
            OpenApiParameter("sort", str, enum=list(selectors.SORTS)),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        queryset = selectors.with_run_stats(
            selectors.workflows_for(self.request.user, params.get("workspace"))
        )
        return selectors.search_workflows(
            queryset, params.get("q", ""), params.get("sort", "-updated")
        )

    @extend_schema(request=s.WorkflowCreateSerializer, responses={201: s.WorkflowSerializer})
    def post(self, request: Request) -> Response:
        body = s.WorkflowCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        workspace = permissions.workspaces_for(request.user).filter(slug=data["workspace"]).first()
        if workspace is None:
            raise exceptions.ValidationError({"workspace": ["No such workspace."]})
        saved = services.create_workflow(
            request.user,
            workspace,
            name=data["name"],
            description=data["description"],
            graph=data.get("graph"),
        )
        out = s.WorkflowSerializer(saved.workflow).data
        return Response({**out, "validation": validation_body(saved.validation)}, status=201)


class WorkflowDetailView(BuilderErrorMixin, APIView):
    @extend_schema(responses=s.WorkflowSerializer)
    def get(self, request: Request, pk: Any) -> Response:
        return Response(s.WorkflowSerializer(selectors.workflow_for(request.user, pk)).data)

    @extend_schema(request=s.WorkflowUpdateSerializer, responses=s.WorkflowSerializer)
    def patch(self, request: Request, pk: Any) -> Response:
        workflow = selectors.workflow_for(request.user, pk)
        body = s.WorkflowUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        revision = changes.pop("revision", None)
        saved = services.update_workflow(request.user, workflow, revision=revision, **changes)
        out = s.WorkflowSerializer(saved.workflow).data
        return Response({**out, "validation": validation_body(saved.validation)})

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: Any) -> Response:
        services.delete_workflow(request.user, selectors.workflow_for(request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkflowValidateView(BuilderErrorMixin, APIView):
    @extend_schema(request=s.ValidateSerializer, responses=s.ValidationResultSerializer)
    def post(self, request: Request, pk: Any) -> Response:
        workflow = selectors.workflow_for(request.user, pk)
        body = s.ValidateSerializer(data=request.data if request.data else {})
        body.is_valid(raise_exception=True)
        document = body.validated_data.get("graph", workflow.graph)
        services.check_size(document)
        return Response(validation_body(services.validate(document)))


class WorkflowPublishView(BuilderErrorMixin, APIView):
    @extend_schema(
        request=s.PublishSerializer,
        responses=inline_serializer(
            "PublishResult",
            {
                "status": serializers.ChoiceField(["published", "pending"]),
                "version": serializers.IntegerField(required=False),
            },
        ),
    )
    def post(self, request: Request, pk: Any) -> Response:
        workflow = selectors.workflow_for(request.user, pk)
        body = s.PublishSerializer(data=request.data if request.data else {})
        body.is_valid(raise_exception=True)
        result = services.publish(request.user, workflow, body.validated_data["note"])
        if result.version is not None:
            return Response({"status": "published", "version": result.version.number})
        return Response({"status": "pending", "publish_request": str(result.publish_request.pk)})


class VersionListView(generics.ListAPIView):
    serializer_class = s.VersionSerializer

    def get_queryset(self):
        workflow = selectors.workflow_for(self.request.user, self.kwargs["pk"])
        return selectors.versions_of(workflow)


class VersionDetailView(APIView):
    @extend_schema(responses=s.VersionSerializer)
    def get(self, request: Request, pk: Any, number: int) -> Response:
        workflow = selectors.workflow_for(request.user, pk)
        version = get_object_or_404(selectors.versions_of(workflow), number=number)
        return Response(s.VersionSerializer(version).data)
