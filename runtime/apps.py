from django.apps import AppConfig


class RuntimeConfig(AppConfig):
    name = "runtime"
    verbose_name = "Runtime"

    def ready(self) -> None:
        from runtime import live

        live.install()  # live events: publish committed RunEvents (runtime.events hook)
