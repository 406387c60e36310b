"""Run endpoints of contract section 4. Thin: parse, call a service or selector, render.

Rights are decided by ``accounts.permissions`` (the services check RUN
themselves; reads go through ``runtime.selectors``, which scope every query to
the caller's workspaces, so another workspace's run answers 404).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from builder.selectors import workflow_for
from runtime import selectors, services
from runtime.api import serializers as s
from runtime.exceptions import RuntimeServiceError

ERRORS = {
    400: OpenApiResponse(description="Invalid request: `{detail, errors: [{field, message}]}`"),
    403: OpenApiResponse(description="A member without the right to run (viewer)"),
    404: OpenApiResponse(description="Unknown, or not visible to the caller"),
}


class RuntimeErrorMixin:
    """Map runtime and selector errors to the contract's JSON error shape."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RuntimeServiceError):
            body = {"detail": exc.detail, "errors": exc.errors, **exc.extra}
            return Response(body, status=exc.status)
        if isinstance(exc, selectors.BadFilter):
            exc = exceptions.ValidationError({exc.field: [exc.message]})
        return super().handle_exception(exc)  # type: ignore[misc]


def run_body(run: Any) -> dict[str, Any]:
    return s.RunDetailSerializer(run).data


class WorkflowRunsView(RuntimeErrorMixin, generics.ListAPIView):
    """``GET``: this workflow's runs; ``POST``: start one."""

    serializer_class = s.RunSerializer

    @extend_schema(
        parameters=[OpenApiParameter("status", str, description="Comma-separated run statuses")]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        workflow = workflow_for(self.request.user, self.kwargs["pk"])
        statuses = selectors.parse_statuses(self.request.query_params.get("status"))
        return selectors.filter_runs(
            selectors.runs_for(self.request.user), workflow=workflow.pk, statuses=statuses
        )

    @extend_schema(
        request=s.StartRunSerializer,
        responses={201: s.RunDetailSerializer, **ERRORS},
        description=(
            'Start a run. `version`: a number, `"published"` (default) or `"draft"`. '
            "An invalid or unpublished workflow, or input failing the trigger's "
            "`input_schema`, answers 400; a version number that does not exist, 404."
        ),
    )
    def post(self, request: Request, pk: Any) -> Response:
        workflow = workflow_for(request.user, pk)
        body = s.StartRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = services.start_run(
            request.user,
            workflow,
            input=body.validated_data["input"],
            version=body.validated_data["version"],
        )
        return Response(
            run_body(selectors.run_for(request.user, run.pk)), status=status.HTTP_201_CREATED
        )


class RunListView(RuntimeErrorMixin, generics.ListAPIView):
    """Run history, newest first, paginated ``{count, next, previous, results}``."""

    serializer_class = s.RunSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("workflow", str, description="A workflow id"),
            OpenApiParameter("status", str, description="Comma-separated run statuses"),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.filter_runs(
            selectors.runs_for(self.request.user),
            workflow=params.get("workflow"),
            statuses=selectors.parse_statuses(params.get("status")),
        )


class RunDetailView(APIView):
    @extend_schema(responses={200: s.RunDetailSerializer, 404: ERRORS[404]})
    def get(self, request: Request, pk: Any) -> Response:
        return Response(run_body(selectors.run_for(request.user, pk)))


class RunCancelView(RuntimeErrorMixin, APIView):
    @extend_schema(
        request=None,
        responses={
            200: s.RunDetailSerializer,
            403: ERRORS[403],
            404: ERRORS[404],
            409: OpenApiResponse(description="The run has finished already"),
        },
    )
    def post(self, request: Request, pk: Any) -> Response:
        run = services.cancel_run(request.user, selectors.run_for(request.user, pk))
        return Response(run_body(selectors.run_for(request.user, run.pk)))


class RunRerunView(RuntimeErrorMixin, APIView):
    @extend_schema(
        request=s.RerunSerializer,
        responses={201: s.RunDetailSerializer, **ERRORS},
        description="A new run reusing the outputs recorded upstream of `from_node`; an unknown node answers 400.",
    )
    def post(self, request: Request, pk: Any) -> Response:
        run = selectors.run_for(request.user, pk)
        body = s.RerunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        new_run = services.rerun(request.user, run, body.validated_data["from_node"])
        return Response(
            run_body(selectors.run_for(request.user, new_run.pk)), status=status.HTTP_201_CREATED
        )


class RunEventsView(APIView):
    """The run's event log after ``since`` (contract section 5 messages), for replay."""

    @extend_schema(
        parameters=[OpenApiParameter("since", int, description="Last seq already seen")],
        responses=inline_serializer(
            "RunEventMessage",
            {
                "seq": serializers.IntegerField(),
                "kind": serializers.ChoiceField(["run", "step"]),
                "run_id": serializers.UUIDField(),
                "node_id": serializers.CharField(allow_null=True),
                "visit": serializers.IntegerField(allow_null=True),
                "status": serializers.CharField(),
                "at": serializers.DateTimeField(),
            },
            many=True,
        ),
    )
    def get(self, request: Request, pk: Any) -> Response:
        run = selectors.run_for(request.user, pk)
        try:
            since = max(0, int(request.query_params.get("since", 0)))
        except ValueError:
            raise exceptions.ValidationError({"since": ["Must be an integer."]}) from None
        events = selectors.events_of(run, since)[:1000]
        return Response([event.as_message() for event in events])
