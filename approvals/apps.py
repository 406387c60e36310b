from __future__ import annotations

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The human.approval node talks to the desk, never to models; runs
        # that end (cancelled, failed) close their open tasks via the hook.
        from django.core.signals import request_started

        from approvals import desk, embedded, hooks
        from builder.nodes import human
        from runtime import events

        human.install_desk(desk.Desk())
        events.register(hooks.close_tasks_of_finished_runs)
        request_started.connect(embedded.start_if_embedded, dispatch_uid="approvals-embedded-tick")
