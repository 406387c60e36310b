"""ASGI entry point: HTTP and the WebSocket routes of contract section 5."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from triggers.asgi import hooks_first  # noqa: E402

application = ProtocolTypeRouter(
    {
        # /hooks/{id}/ (webhook triggers) is served past the middleware stack.
        "http": hooks_first(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
