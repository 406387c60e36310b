from __future__ import annotations

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The human.approval node talks to the desk, never to models; runs
        # that end (cancelled, failed) close their open tasks via the hook.
        from django.conf import settings

        from approvals import desk, hooks, timers
        from builder.nodes import human
        from runtime import embedded, events

        human.install_desk(desk.Desk())
        events.register(hooks.close_tasks_of_finished_runs)
        embedded.register_periodic(
            "approvals tick", timers.tick, float(getattr(settings, "APPROVAL_TICK_S", 5))
        )
