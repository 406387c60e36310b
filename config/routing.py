"""WebSocket routes (contract section 5); the consumers live in runtime.consumers.

Each route authenticates by session cookie or a ``bearer.<key>`` subprotocol
(``runtime.consumers.live_auth``); ``config.asgi`` checks the Origin.
"""

from django.urls import path

from runtime.consumers import RunConsumer, WorkflowConsumer, WorkspaceConsumer, live_auth

websocket_urlpatterns: list = [
    path("ws/runs/<uuid:run_id>/", live_auth(RunConsumer.as_asgi()), name="ws-run"),
    path(
        "ws/workflows/<uuid:workflow_id>/",
        live_auth(WorkflowConsumer.as_asgi()),
        name="ws-workflow",
    ),
    path("ws/workspaces/<slug:slug>/", live_auth(WorkspaceConsumer.as_asgi()), name="ws-workspace"),
]
