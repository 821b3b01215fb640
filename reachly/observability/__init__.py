"""Observability: structured logs, Prometheus metrics, Sentry, the step
context on both, worker presence, and the Celery signal hooks that wire
them. A low layer (docs/architecture.md): it imports only reachly.core, so
the control plane, the agents and the domain apps report through it
without depending on ops.
"""
