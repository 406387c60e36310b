"""WebSocket routes; the consumers live in runtime.consumers."""

websocket_urlpatterns: list = []
