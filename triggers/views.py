"""``/hooks/{hook id}/``: the webhook trigger (contract section 4), as a
Django view. :mod:`triggers.asgi` serves the same endpoint past the
middleware stack; both answer through :mod:`triggers.endpoint`."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from triggers import endpoint, services
from triggers.exceptions import HookError


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return None


def _call(request: HttpRequest) -> services.WebhookCall:
    headers = {name.lower(): value for name, value in request.headers.items()}
    query = {k: v[0] if len(v) == 1 else v for k, v in request.GET.lists()}
    return services.WebhookCall(request.method or "POST", headers, query, request.body)


def _response(answer: endpoint.Answer) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status, safe=False)
    for name, value in answer.headers.items():
        response[name] = value
    return response


@csrf_exempt
async def hook(request: HttpRequest, hook_id: str) -> JsonResponse:
    try:
        services.check_size(_content_length(request))
    except HookError as exc:
        return _response(endpoint.error(exc.status, exc.detail))
    return _response(await endpoint.handle(hook_id, _call(request)))
