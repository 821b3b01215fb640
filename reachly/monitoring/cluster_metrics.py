"""Cluster-wide Prometheus gauges for `/metrics/cluster`: what no single
process knows (broker queue depth per agent queue, steps per agent and
state, live workers). It reads the control plane (its selectors), so it
lives above it; the per-process series are in reachly/observability/metrics.py.
"""

from __future__ import annotations

import logging

from prometheus_client.core import GaugeMetricFamily

from agents import registry
from reachly.observability import workers
from reachly.orchestration import broker, selectors

log = logging.getLogger(__name__)


class ClusterCollector:
    """Cluster-wide gauges, computed at scrape time (one query, one broker
    round trip per queue, one Redis scan)."""

    def collect(self):

        queues = [spec.queue for spec in registry.AGENTS.values()] + [registry.CONTROL_QUEUE]
        depth = GaugeMetricFamily(
            "reachly_queue_depth", "Messages waiting in the broker, per queue (None: broker down).", labels=["queue"]
        )
        for name, n in broker.queue_depths(queues).items():
            if n is not None:
                depth.add_metric([name], n)
        yield depth

        steps = GaugeMetricFamily(
            "reachly_steps",
            "Steps not finished yet, per agent and status (the backlog lives in PostgreSQL).",
            labels=["agent", "status"],
        )
        waiting = GaugeMetricFamily(
            "reachly_steps_waiting_on_limit", "Ready steps deferred by a limit, per agent.", labels=["agent"]
        )
        rows = selectors.unfinished_by_agent_and_status()
        seen = set()
        for r in rows:
            steps.add_metric([r["agent"], r["status"]], r["n"])
            if r["status"] == "ready":
                waiting.add_metric([r["agent"]], r["waiting"])
                seen.add(r["agent"])
        for role in registry.roles():
            if role not in seen:
                waiting.add_metric([role], 0)
        yield steps
        yield waiting

        live = GaugeMetricFamily("reachly_workers_live", "Workers that announced themselves recently.", labels=[])
        try:
            live.add_metric([], len(workers.live_workers()))
        except Exception:
            log.warning("metrics: worker presence unavailable", exc_info=True)
        yield live
