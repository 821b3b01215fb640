"""The `test` agent: a configurable no-op / sleep / fail / effect agent.

It drives the control plane's tests and benchmarks. Its input:

    items       units of work (default 1); a safe point and a checkpoint after each
    sleep       seconds to sleep per item (default 0)
    effect      record one external effect per item in the test sink (default false)
    action      call ctx.acquire(action) before each item (action-level limits)
    fail        "retryable" or "permanent": raise instead of finishing
    fail_times  with fail: only the first N attempts fail (default: all)
    output      a dict merged into the output
"""

from __future__ import annotations

import os
import time
from functools import partial
from typing import Any

from agents.base import AgentError, PermanentError
from agents.ports import StepContext


class TestAgent:
    __test__ = False  # not a pytest test class

    def run(self, ctx: StepContext) -> dict[str, Any]:
        spec = ctx.input
        items = int(spec.get("items", 1))
        sleep = float(spec.get("sleep", 0))
        start = int(ctx.state.get("next", 0))
        processed: list[int] = list(ctx.state.get("processed", []))

        for item in range(start, items):
            ctx.safe_point()
            if spec.get("action"):
                ctx.acquire(spec["action"])
            if spec.get("effect"):
                ctx.effect(f"item:{item}", partial(ctx.sink.record, item), verify=partial(ctx.sink.find, item))
            if sleep:
                time.sleep(sleep)  # the "action": not interruptible, like a page load
            processed.append(item)
            if item + 1 < items:  # after the last item, success records it all
                ctx.checkpoint({"next": item + 1, "processed": processed})

        fail = spec.get("fail")
        if fail and ctx.attempt < int(spec.get("fail_times", 1 << 30)):
            if fail == "permanent":
                raise PermanentError("test agent: permanent failure requested")
            raise AgentError(f"test agent: failure on attempt {ctx.attempt + 1}")

        return {"items": items, "processed": processed, "pid": os.getpid(), **spec.get("output", {})}
