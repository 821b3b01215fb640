"""`manage.py check` (and migrate, runserver) validates the LLM settings,
so a bad endpoint is found at deploy time, not on a tenant's first call."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from agents.llm import providers


@register()
def llm_providers_check(app_configs=None, **kwargs) -> list[Error]:
    errors: list[Error] = []
    configured = settings.REACHLY_LLM_PROVIDERS
    for name, config in configured.items():
        try:
            providers.build(name, config)
        except providers.ConfigError as exc:
            errors.append(Error(str(exc), obj=f"REACHLY_LLM_PROVIDERS[{name!r}]", id="reachly.llm.E001"))
    chains = {"REACHLY_LLM_CHAIN": settings.REACHLY_LLM_CHAIN}
    chains |= {f"REACHLY_LLM_ROLE_CHAINS[{role!r}]": chain for role, chain in settings.REACHLY_LLM_ROLE_CHAINS.items()}
    for where, chain in chains.items():
        unknown = [n for n in chain if n not in configured]
        if not chain or unknown:
            errors.append(
                Error(
                    f"unknown provider {unknown[0]!r}" if unknown else "the chain is empty",
                    hint=f"configured providers: {', '.join(configured)}",
                    obj=where,
                    id="reachly.llm.E002",
                )
            )
    return errors
