"""A fresh, private environment for one benchmark run.

A new PostgreSQL database (`reachly_bench`, dropped and migrated), a private
redis-server, Django set up in this process against them, and `procs` to
start Celery workers. Baselines run on the same machine, processes and
broker in the same run, so figures are compared as ratios.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devtools.processes import PrivateRedis, Processes, wait_for  # noqa: E402

__all__ = ["Bench", "percentile", "wait_for"]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Bench:
    def __init__(self, name: str, **settings: str):
        self.name = name
        self.tmp = Path(tempfile.mkdtemp(prefix=f"reachly-bench-{name}-"))
        self.redis = PrivateRedis(self.tmp / "redis")
        # Per process, so two benchmark runs never share (or drop) a database.
        self.db_name = f"reachly_bench_{name}_{os.getpid()}".replace("-", "_")
        self.env = {
            "REACHLY_ENV": "test",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.db_name}",
            "REDIS_URL": f"{self.redis.url}/1",
            "CELERY_BROKER_URL": f"{self.redis.url}/0",
            "CELERY_SEND_EVENTS": "false",
            "LOG_LEVEL": "WARNING",
            **settings,
        }
        os.environ.update(self.env)
        self._setup_django()
        self.procs = Processes(self.env, self.tmp / "logs")

    def _setup_django(self) -> None:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reachly.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)

    def tenant(self, slug: str, **allocation):
        from reachly.tenants.models import AgentAllocation
        from reachly.tenants.services import tenant_create

        tenant = tenant_create(slug=slug, plan="enterprise")
        if allocation:
            AgentAllocation.objects.create(tenant=tenant, role="test", **allocation)
        return tenant

    def broker(self):
        import redis

        return redis.Redis.from_url(self.env["CELERY_BROKER_URL"])

    def app_redis(self):
        import redis

        return redis.Redis.from_url(self.env["REDIS_URL"])

    def close(self) -> None:
        self.procs.stop_all()
        from django.db import connections

        connections.close_all()
        self.redis.stop()
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def summary(values: list[float], unit: str = "ms", scale: float = 1000.0) -> str:
    return (
        f"p50 {percentile(values, 50) * scale:.1f} {unit}, p99 {percentile(values, 99) * scale:.1f} {unit}"
        f" (n={len(values)}, mean {statistics.fmean(values) * scale:.1f} {unit})"
    )
