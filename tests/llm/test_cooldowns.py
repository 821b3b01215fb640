"""Provider cool-downs (reachly/llm/cooldowns.py) against a real Redis."""

from __future__ import annotations

import pytest

from reachly.llm import cooldowns


@pytest.fixture(autouse=True)
def _fresh():
    cooldowns.reset()
    yield
    cooldowns.reset()


def test_a_providers_429_is_shared_with_every_worker_process():
    cooldowns.cool("primary", 30)
    cooldowns.forget_local()  # another process: it never saw the 429 itself
    assert 25 < cooldowns.cooling("primary") <= 30
    cooldowns.cool("primary", 5)  # a shorter Retry-After never shortens the mark
    assert cooldowns.cooling("primary") > 25
    assert cooldowns.cooling("secondary") == 0
