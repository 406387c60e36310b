"""Publish review (contract section 4): list requests, decide one."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api.errors import ServiceErrorMixin
from accounts.api.serializers import (
    DecisionSerializer,
    PublishRequestDetailSerializer,
    PublishRequestSerializer,
)
from accounts.models import PublishRequest


class PublishRequestListView(ServiceErrorMixin, generics.ListAPIView):
    """Reviewers see every request of their workspaces; authors see their own."""

    serializer_class = PublishRequestSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("workspace", str, description="Workspace slug"),
            OpenApiParameter("status", str, enum=list(PublishRequest.Status.values)),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        slug = params.get("workspace")
        workspace = selectors.workspace_for(self.request.user, slug) if slug else None
        queryset = selectors.publish_requests_for(self.request.user, workspace)
        wanted = params.get("status")
        if wanted:
            if wanted not in PublishRequest.Status.values:
                raise exceptions.ValidationError({"status": [f"Unknown status {wanted!r}."]})
            queryset = queryset.filter(status=wanted)
        return queryset


class PublishRequestDetailView(APIView):
    @extend_schema(responses=PublishRequestDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        publish_request = selectors.publish_request_for(request.user, pk)
        return Response(PublishRequestDetailSerializer(publish_request).data)


class PublishRequestDecisionView(ServiceErrorMixin, APIView):
    @extend_schema(request=DecisionSerializer, responses=PublishRequestSerializer)
    def post(self, request: Request, pk: int) -> Response:
        publish_request = selectors.publish_request_for(request.user, pk)
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decided = services.decide_publish_request(
            request.user,
            publish_request,
            body.validated_data["decision"],
            body.validated_data["comment"],
        )
        return Response(PublishRequestSerializer(decided).data)
