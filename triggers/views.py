"""``POST /hooks/{hook id}/``: the webhook trigger (contract section 4).

An async view, so that a ``sync`` hook waiting for its run does not hold a
server thread: database work runs in the thread pool, the wait is an
asyncio event (see :mod:`triggers.waiting`).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from runtime.exceptions import RuntimeServiceError
from triggers import services, waiting
from triggers.exceptions import HookError, RateLimited


def _error(exc: HookError) -> JsonResponse:
    response = JsonResponse({"detail": exc.detail, "errors": []}, status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return None


def _call(request: HttpRequest) -> services.WebhookCall:
    headers = {name.lower(): value for name, value in request.headers.items()}
    query = {k: v[0] if len(v) == 1 else v for k, v in request.GET.lists()}
    return services.WebhookCall(request.method or "POST", headers, query, request.body)


def _run_state(run_id: Any) -> dict[str, Any] | None:
    from runtime.models import RUN_FINISHED, Run

    run = Run.objects.filter(pk=run_id).values("status", "output", "error").first()
    return run if run and run["status"] in RUN_FINISHED else None


def _sync_answer(run_id: Any, state: dict[str, Any]) -> JsonResponse:
    if state["status"] == "succeeded":
        return JsonResponse(state["output"] or {}, status=200, safe=False)
    return JsonResponse(
        {
            "detail": f"The run {state['status']}.",
            "errors": [],
            "run_id": str(run_id),
            "status": state["status"],
            "error": state["error"],
        },
        status=500,
    )


@csrf_exempt
async def hook(request: HttpRequest, hook_id: str) -> JsonResponse:
    if request.method not in ("POST", "PUT", "PATCH", "GET", "DELETE"):
        return JsonResponse({"detail": "Method not allowed.", "errors": []}, status=405)
    try:
        services.check_size(_content_length(request))
        hook, run = await sync_to_async(services.receive, thread_sensitive=False)(
            hook_id, _call(request)
        )
    except HookError as exc:
        return _error(exc)
    except RuntimeServiceError as exc:
        return JsonResponse({"detail": exc.detail, "errors": exc.errors}, status=exc.status)
    accepted = JsonResponse({"run_id": str(run.pk)}, status=202)
    if hook.mode != "sync":
        return accepted
    found: dict[str, Any] = {}

    async def finished() -> bool:
        state = await sync_to_async(_run_state, thread_sensitive=False)(run.pk)
        if state:
            found.update(state)
        return bool(state)

    if await waiting.wait_until_finished(run.pk, finished, settings.WEBHOOK_SYNC_TIMEOUT_S):
        return _sync_answer(run.pk, found)
    return accepted
