from django.apps import AppConfig


class LlmConfig(AppConfig):
    name = "reachly.llm"
    label = "llm"
    verbose_name = "LLM calls"

    def ready(self) -> None:
        from reachly.llm import checks  # noqa: F401 (registers the system check)
