"""Publishing step messages to the `agent.<role>` queues.

Messages carry ids and the few fields a worker needs before touching the
database (tenant, agent, account and its time zone, for the limiter check).
They are published only after the admission committed; the reconciler
republishes anything admitted whose message went missing.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from kombu import Exchange, Queue

log = logging.getLogger(__name__)

RUN_STEP = "reachly.run_step"
RUN_STEPS = "reachly.run_steps"


def queue(name: str) -> Queue:
    """A queue with its own direct exchange and routing key: nothing is
    shared between queues, so a message goes to exactly one of them."""
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


def steps(role: str, rows: list[dict[str, Any]], *, per_message: int = 1) -> None:
    """Publish admitted steps, `per_message` to a message.

    Short steps of batchable agents travel several to a message: the worker
    runs them one after the other (each with its own claim, lease and
    events), and Celery's per-message cost is paid once per batch.
    """
    # The Celery app is the composition root's (reachly.celery, above this
    # layer); current_app is it in every process (reachly/__init__.py).
    app = current_app

    name = f"agent.{role}"
    messages = [
        {
            "step": row["id"],
            "job": row["job_id"],
            "tenant": row["tenant_id"],
            "agent": role,
            "account": row.get("sender_account_id"),
            "tz": row.get("tz"),
        }
        for row in rows
    ]
    with app.producer_or_acquire() as producer:
        # Re-declaring is cheap and restores the queue's routing after a
        # flushed broker (kombu's Redis transport keeps bindings in keys).
        declare = [queue(name)]
        for i in range(0, len(messages), max(1, per_message)):
            batch = messages[i : i + max(1, per_message)]
            if len(batch) == 1:
                app.send_task(RUN_STEP, kwargs=batch[0], queue=name, producer=producer, declare=declare)
            else:
                app.send_task(RUN_STEPS, args=[batch], queue=name, producer=producer, declare=declare)
