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
        hooks.register_schedules(selectors.schedule_times)
        hooks.on_publish(services.sync_triggers)
        events.register(receivers.on_run_events)
        events.register_end_probe("triggers.watched", services.watched_probe)
        self._add_beat_entry()
        self._tick_in_embedded_mode()

    @staticmethod
    def _tick_in_embedded_mode() -> None:
        from django.conf import settings

        from runtime import embedded
        from triggers import services

        embedded.register_periodic(
            "triggers tick", services.tick, float(getattr(settings, "TRIGGERS_TICK_S", 5))
        )

    @staticmethod
    def _add_beat_entry() -> None:
        """`celery -A config beat` runs the triggers' tick beside the runtime's."""
        from config.celery import app
        from triggers.tasks import beat_entry

        schedule = app.conf.beat_schedule
        if schedule is not None:
            schedule.setdefault("triggers-tick", beat_entry())
