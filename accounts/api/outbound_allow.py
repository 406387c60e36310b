"""A workspace's outbound allow-list: the internal destinations its outbound
calls may reach (admins only; see integrations.outbound and docs/security.md)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions, selectors, services
from accounts.api.errors import ServiceErrorMixin
from accounts.api.serializers import OutboundAllowSerializer, OutboundAllowUpdateSerializer
from accounts.models import Workspace
from accounts.permissions import Action


def settings_of(request: Request, slug: str) -> Workspace:
    workspace = selectors.workspace_for(request.user, slug)
    permissions.check(request.user, Action.MANAGE_SETTINGS, workspace)
    return workspace


class OutboundAllowView(ServiceErrorMixin, APIView):
    @extend_schema(responses=OutboundAllowSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(OutboundAllowSerializer(settings_of(request, slug)).data)

    @extend_schema(request=OutboundAllowUpdateSerializer, responses=OutboundAllowSerializer)
    def put(self, request: Request, slug: str) -> Response:
        """Replace the list; 400 names every entry that cannot be read."""
        workspace = settings_of(request, slug)
        body = OutboundAllowUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workspace = services.set_outbound_allow(
            request.user, workspace, body.validated_data["entries"]
        )
        return Response(OutboundAllowSerializer(workspace).data)
