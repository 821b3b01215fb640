"""Print the Celery queues of a worker group, comma-separated.

    celery -A reachly worker -Q "$(python -m agents.queues browser)"

Keeps the Procfile, docker-compose and k8s manifests in step with the
registry: a new agent role gets a queue and a worker group in one place.
"""

import sys

from agents.registry import Group, queues_for_group

if __name__ == "__main__":
    group = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        sys.stdout.write(",".join(queues_for_group(group)) + "\n")
    except ValueError:
        sys.exit(f"usage: python -m agents.queues {{{'|'.join(g.value for g in Group)}}}")
