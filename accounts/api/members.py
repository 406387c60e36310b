"""Members and roles of a workspace (contract section 4; admin only)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions, selectors, services
from accounts.api.errors import ServiceErrorMixin
from accounts.api.serializers import MemberAddSerializer, MemberSerializer, MemberUpdateSerializer
from accounts.models import User, Workspace
from accounts.permissions import Action


def managed_workspace(request: Request, slug: str) -> Workspace:
    workspace = selectors.workspace_for(request.user, slug)
    permissions.check(request.user, Action.MANAGE_MEMBERS, workspace)
    return workspace


def find_user(ref: int | str) -> User:
    """A user by id (a number) or by username; 400 if there is none."""
    by_id = isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit())
    user = (
        User.objects.filter(pk=int(ref)).first()
        if by_id
        else User.objects.filter(username=ref).first()
    )
    if user is None or not user.is_active:
        raise exceptions.ValidationError({"user": ["No such user."]})
    return user


class MemberListView(ServiceErrorMixin, APIView):
    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        workspace = managed_workspace(request, slug)
        return Response(MemberSerializer(selectors.members_of(workspace), many=True).data)

    @extend_schema(request=MemberAddSerializer, responses={201: MemberSerializer})
    def post(self, request: Request, slug: str) -> Response:
        workspace = managed_workspace(request, slug)
        body = MemberAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = find_user(body.validated_data["user"])
        membership = services.add_member(
            request.user, workspace, user, body.validated_data["roles"]
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(ServiceErrorMixin, APIView):
    @extend_schema(request=MemberUpdateSerializer, responses=MemberSerializer)
    def patch(self, request: Request, slug: str, user_id: int) -> Response:
        workspace = managed_workspace(request, slug)
        membership = selectors.member_of(workspace, user_id)
        body = MemberUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.change_roles(
            request.user, workspace, membership, body.validated_data["roles"]
        )
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, slug: str, user_id: int) -> Response:
        workspace = managed_workspace(request, slug)
        services.remove_member(request.user, workspace, selectors.member_of(workspace, user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=MemberSerializer)
    def get(self, request: Request, slug: str, user_id: int) -> Response:
        workspace = managed_workspace(request, slug)
        return Response(MemberSerializer(selectors.member_of(workspace, user_id)).data)
