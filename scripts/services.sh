#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on their default local ports; start
# the machine's own servers if they are installed but stopped. Used by
# `make test`, `make demo` and `make bench`. Configure DATABASE_URL and
# REDIS_URL to use servers elsewhere (then nothing is started).
set -euo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if [[ "${DATABASE_URL:-}" == "" || "${DATABASE_URL}" == *127.0.0.1:5432* ]]; then
  if ! pg_up; then
    if command -v pg_ctlcluster >/dev/null; then
      echo "starting PostgreSQL…"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    fi
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    pg_up || { echo "PostgreSQL is not reachable on 127.0.0.1:5432 (set DATABASE_URL)"; exit 1; }
  fi
fi

if [[ "${REDIS_URL:-}" == "" || "${REDIS_URL}" == *127.0.0.1:6379* ]]; then
  if ! redis_up; then
    if command -v redis-server >/dev/null; then
      echo "starting Redis…"
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    fi
    for _ in $(seq 1 30); do redis_up && break; sleep 1; done
    redis_up || { echo "Redis is not reachable on 127.0.0.1:6379 (set REDIS_URL)"; exit 1; }
  fi
fi
