"""Celery task entry points: thin doors into reachly/ and agents/.

A plain package, not a Django app: listed in the Celery app's `include`.
"""

from tasks import control, diagnostics, steps  # noqa: F401
