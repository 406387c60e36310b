"""Token issuing and the caller's workspaces (contract section 4)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api.serializers import TokenRequestSerializer, WorkspaceSerializer
from accounts.authentication import TokenAuthentication


class TokenThrottle(AnonRateThrottle):
    rate = "30/min"


class TokenView(APIView):
    """Exchange a username and password for a personal API token (shown once).

    Failures count towards the same django-axes lockout as the sign-in page;
    while locked out, the answer is 429 (see accounts.views.locked_out).
    """

    permission_classes = [AllowAny]
    # Kept so that a failed sign-in answers 401 with a WWW-Authenticate header.
    authentication_classes = [TokenAuthentication]
    throttle_classes = [TokenThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("Token", {"token": serializers.CharField()})},
    )
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        if user is None:
            raise exceptions.AuthenticationFailed("Wrong username or password.")
        _token, key = services.create_token(user, body.validated_data["name"])
        return Response({"token": key})


class WorkspaceListView(APIView):
    @extend_schema(responses=WorkspaceSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = [
            {
                "slug": ws.slug,
                "name": ws.name,
                "roles": roles,
                "require_publish_review": ws.require_publish_review,
            }
            for ws, roles in selectors.workspaces_with_roles(request.user)
        ]
        return Response(WorkspaceSerializer(rows, many=True).data)
