"""The job graph's validation: per-field errors, and the order (graphlib)."""

from __future__ import annotations

import pytest

from reachly.orchestration.graph import GraphError, StepSpec, validate


def test_a_cycle_is_named_on_the_first_step_in_it_with_the_cycle_spelled_out():
    steps = [
        StepSpec("start", "test"),
        StepSpec("a", "test", depends_on=["c", "start"]),
        StepSpec("b", "test", depends_on=["a"]),
        StepSpec("c", "test", depends_on=["b"]),
    ]
    with pytest.raises(GraphError) as caught:
        validate(steps)
    ((field, message),) = caught.value.errors.items()
    assert field == "steps[1].depends_on"
    assert message.startswith("dependency cycle: ") and {"a", "b", "c"} <= set(message.split()) | {
        part.strip() for part in message.replace("->", " ").split()
    }
    assert "start" not in message


def test_steps_come_after_what_they_depend_on():
    steps = [StepSpec("d", "test", depends_on=["b", "c"]), StepSpec("b", "test", depends_on=["a"])]
    steps += [StepSpec("c", "test", depends_on=["a"]), StepSpec("a", "test")]
    order = [s.key for s in validate(steps)]
    assert order.index("a") < order.index("b") < order.index("d") and order.index("c") < order.index("d")
