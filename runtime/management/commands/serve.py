"""`python manage.py serve [--port N]`: the embedded server.

One process: the ASGI app (HTTP and WebSockets) under uvicorn, plus, in
embedded mode, the in-process worker and scheduler (runtime.embedded). With
BATON_REDIS_URL set the same command serves only the web side; run `celery -A
config worker` and `celery -A config beat` beside it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from config.env import env


class Command(BaseCommand):
    help = "Serve Baton: web + worker + scheduler in one process (embedded mode)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker", action="store_true", help="Do not start the embedded worker."
        )

    def handle(self, *args, host: str, port: int, no_worker: bool, **options) -> None:
        import uvicorn

        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        if not env.is_set("BASE_URL"):
            # Links the product hands out (webhook URLs) name this server.
            shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
            settings.BASE_URL = f"http://{shown}:{port}"
        embedded = not settings.DISTRIBUTED and not no_worker
        if embedded:
            from runtime import embedded as embedded_runtime

            embedded_runtime.start()
        self.stdout.write(self.style.SUCCESS(f"Baton is serving on http://{host}:{port}/"))
        self.stdout.write(
            f"Mode: {settings.BATON_MODE}{' (web + worker + scheduler)' if embedded else ''}"
        )
        if embedded:
            self.stdout.write(
                f"Demo logins: admin, editor, approver, runner, viewer / password {settings.DEMO_PASSWORD!r}"
            )
        try:
            uvicorn.run(
                "config.asgi:application",
                host=host,
                port=port,
                log_level="warning",
                lifespan="off",
                # compressing each live event cost the server more CPU than
                # anything else per event (docs/live.md)
                ws_per_message_deflate=False,
            )
        finally:
            if embedded:
                embedded_runtime.stop()
