"""The cluster's picture for operators: capacity (queues, backlog, limits,
PostgreSQL, Redis, workers, advice) and the Prometheus endpoints
(`/metrics`, `/metrics/cluster`). Above the domain apps: it reads them
through their selectors; per-process instruments are in reachly.observability."""
