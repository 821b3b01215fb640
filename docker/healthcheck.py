"""Container health check (the image's HEALTHCHECK, docker-compose).

* Workers and beat (REACHLY_WORKER_HEARTBEAT_FILE is set): their heartbeat
  file is fresh — `python -m reachly.observability.liveness FILE --max-age N` — which
  does not depend on the broker: a worker waiting for Redis is alive.
* Everything else: GET REACHLY_HEALTHCHECK_URL, by default the web app's
  `/healthz` on $PORT (Flower sets its own `/flower/healthcheck`).

Standard library only: it runs every 30 seconds.
"""

import os
import sys
import urllib.request

heartbeat = os.environ.get("REACHLY_WORKER_HEARTBEAT_FILE")
if heartbeat:
    max_age = os.environ.get("REACHLY_HEARTBEAT_MAX_AGE", "60")
    os.execv(sys.executable, [sys.executable, "-m", "reachly.observability.liveness", heartbeat, "--max-age", max_age])

url = os.environ.get("REACHLY_HEALTHCHECK_URL") or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
try:
    with urllib.request.urlopen(url, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy", said on stderr
    sys.stderr.write(f"unhealthy: {url}: {exc}\n")
    sys.exit(1)
