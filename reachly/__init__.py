"""Reachly: multi-tenant campaign orchestration on Django and Celery."""

from reachly.celery import app as celery_app

__all__ = ["celery_app"]
