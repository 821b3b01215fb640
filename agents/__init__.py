"""Agent implementations: plain data in, plain data out, no ORM imports.

The control plane (reachly.orchestration) hands an agent a StepContext and
takes back an output dict; everything the agent needs from the outside world
(limits, checkpoints, idempotent effects, stop requests) goes through it.
"""
