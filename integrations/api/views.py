"""Credential endpoints (admins only). Thin: parse, call a selector or service, render."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from accounts.permissions import Action
from integrations import selectors, services
from integrations.api import serializers as s
from integrations.exceptions import InvalidCredential
from integrations.models import Credential


class InvalidCredentialMixin:
    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, InvalidCredential):
            exc = exceptions.ValidationError({exc.field or "detail": [exc.message]})
        return super().handle_exception(exc)  # type: ignore[misc]


def _admin_workspaces(user: Any) -> list[int]:
    return [
        w.pk
        for w in permissions.workspaces_for(user)
        if permissions.can(user, Action.MANAGE_CREDENTIALS, w)
    ]


class CredentialListCreateView(InvalidCredentialMixin, generics.ListAPIView):
    serializer_class = s.CredentialSerializer

    @extend_schema(parameters=[OpenApiParameter("workspace", str, description="Workspace slug")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        slug = self.request.query_params.get("workspace")
        if slug:
            return selectors.credentials_in(selectors.workspace_for_admin(self.request.user, slug))
        workspaces = _admin_workspaces(self.request.user)
        return Credential.objects.filter(workspace_id__in=workspaces).select_related("workspace")

    @extend_schema(request=s.CredentialCreateSerializer, responses={201: s.CredentialSerializer})
    def post(self, request: Request) -> Response:
        body = s.CredentialCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        workspace = selectors.workspace_for_admin(request.user, data["workspace"])
        credential = services.create_credential(
            request.user,
            workspace,
            name=data["name"],
            kind=data["kind"],
            config=data["config"],
            secret=data["secret"],
            request=request,
        )
        return Response(s.CredentialSerializer(credential).data, status=status.HTTP_201_CREATED)


class CredentialChoiceListView(generics.ListAPIView):
    """Names and kinds of a workspace's credentials, for the people who build
    workflows (editors and admins) to pick one in a node's config."""

    serializer_class = s.CredentialChoiceSerializer
    pagination_class = None

    @extend_schema(parameters=[OpenApiParameter("workspace", str, description="Workspace slug")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        slug = self.request.query_params.get("workspace")
        return selectors.credentials_in(selectors.workspace_for_editor(self.request.user, slug))


class CredentialDetailView(InvalidCredentialMixin, APIView):
    @extend_schema(responses=s.CredentialSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            s.CredentialSerializer(selectors.credential_for_admin(request.user, pk)).data
        )

    @extend_schema(request=s.CredentialUpdateSerializer, responses=s.CredentialSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        credential = selectors.credential_for_admin(request.user, pk)
        body = s.CredentialUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        credential = services.update_credential(
            request.user, credential, request=request, **body.validated_data
        )
        return Response(s.CredentialSerializer(credential).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        credential = selectors.credential_for_admin(request.user, pk)
        services.delete_credential(request.user, credential, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
