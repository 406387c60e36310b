"""ASGI entry point: HTTP and the WebSocket routes of contract section 5."""

import gc
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

# Keep the cyclic garbage collector off everything loaded so far: Django, DRF,
# Channels and the apps, about 97,000 objects once a socket has loaded the
# Redis layer. A full collection walks every object it tracks and stops the
# event loop meanwhile, about 45 ms on a quiet 2-vCPU machine (over 100 ms on
# a busy one), stalling every socket's live events past the 25 ms budget of
# issue 6. Frozen objects are never walked again, so later collections only
# see what the server allocated since.
gc.collect()
gc.freeze()
