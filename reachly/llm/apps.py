from django.apps import AppConfig


class LlmConfig(AppConfig):
    name = "reachly.llm"
    label = "llm"
    verbose_name = "LLM calls"
