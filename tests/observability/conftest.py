"""The operator personas of tests/ops (Alice: staff; Charlie: not), shared
with the observability tests that moved out of tests/ops."""

from tests.ops.conftest import alice, alice_client, charlie, charlie_client  # noqa: F401
