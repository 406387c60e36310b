from __future__ import annotations

from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"
    verbose_name = "Triggers: webhooks, schedules, events, child runs"

    def ready(self) -> None:
        from builder import hooks
        from runtime import events
        from triggers import receivers, selectors, services

        hooks.register(selectors.hook_urls)
        hooks.on_publish(services.sync_triggers)
        events.register(receivers.on_run_events)
