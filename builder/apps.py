from django.apps import AppConfig


class BuilderConfig(AppConfig):
    name = "builder"
    verbose_name = "Workflow builder"

    def ready(self) -> None:
        import builder.nodes  # noqa: F401  (registers the node catalog)
