"""Invitations over the API (admin): list the open ones, create a link, revoke one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api.errors import ServiceErrorMixin
from accounts.api.members import managed_workspace
from accounts.api.serializers import InvitationCreateSerializer, InvitationSerializer


class InvitationListView(ServiceErrorMixin, APIView):
    @extend_schema(responses=InvitationSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        workspace = managed_workspace(request, slug)
        invitations = selectors.open_invitations(workspace).order_by("-created_at")
        return Response(InvitationSerializer(invitations, many=True).data)

    @extend_schema(
        request=InvitationCreateSerializer,
        responses={201: inline_serializer("CreatedInvitation", {"url": serializers.URLField()})},
    )
    def post(self, request: Request, slug: str) -> Response:
        """The response carries the link once; only its hash is stored."""
        workspace = managed_workspace(request, slug)
        body = InvitationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        invitation, token = services.invite(
            request.user, workspace, data["roles"], data["email"], data["days"]
        )
        out = {**InvitationSerializer(invitation).data, "url": services.invitation_url(token)}
        return Response(out, status=status.HTTP_201_CREATED)


class InvitationDetailView(ServiceErrorMixin, APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, slug: str, pk: int) -> Response:
        workspace = managed_workspace(request, slug)
        services.revoke_invitation(request.user, selectors.invitation_in(workspace, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
