"""Looking into the broker: how many messages wait in each queue.

The one queue-depth reader: the reconciler (is a stale step's message still
waiting?), the capacity page and the cluster metrics all read through it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from amqp.protocol import queue_declare_ok_t

log = logging.getLogger(__name__)


class DeclaringChannel(Protocol):
    """What a channel of every kombu transport (py-amqp's, and the virtual
    one of Redis) offers here; kombu's stubs type a connection's channels as
    the bare StdChannel base."""

    def queue_declare(self, queue: str, passive: bool = ...) -> queue_declare_ok_t: ...

    def close(self) -> None: ...


def queue_depths(names: list[str]) -> dict[str, int | None]:
    """Messages waiting per queue, through kombu (Redis or RabbitMQ alike);
    None for every queue when the broker cannot be reached."""
    # The composition root's app (reachly.celery sits above ops).
    from celery import current_app as app

    depths: dict[str, int | None] = {}
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            channel = cast(DeclaringChannel, conn.default_channel)
            for name in names:
                try:
                    depths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except conn.channel_errors:
                    # RabbitMQ: not declared yet, so nothing waits in it (the
                    # failed passive declare closed the channel).
                    depths[name] = 0
                    channel = cast(DeclaringChannel, conn.channel())
    except Exception:
        log.warning("broker unavailable while reading queue depths", exc_info=True)
        return dict.fromkeys(names)
    return depths
