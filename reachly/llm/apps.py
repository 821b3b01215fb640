from django.apps import AppConfig


class LlmConfig(AppConfig):
    name = "reachly.llm"
    label = "llm"
    verbose_name = "LLM calls"

    def ready(self) -> None:
        # Here, not at the top: Django imports apps.py before the models are
        # loaded, and these modules use them (Django docs: AppConfig.ready()).
        from reachly.llm import (
            checks,  # noqa: F401 (registers the system check)
            selectors,
        )
        from reachly.llm.step_ports import LLMAdapter
        from reachly.orchestration import ports, usage

        ports.provide("llm", LLMAdapter)  # the LLM agents' port (reachly/orchestration/ports.py)
        # The usage pages' LLM figures come from this app's call ledger.
        usage.provide_llm_usage(by_day=selectors.llm_usage_by_day, by_agent=selectors.llm_usage_by_agent)
