"""Issue 10: the control plane reads and writes no other app's tables with
raw SQL. It asks their services (campaigns calls orchestration, never the
other way round) or keeps its own copy (orchestration_lane for sender
accounts: docs/architecture.md, "Sender accounts and lanes").

Every string literal in reachly/orchestration (migrations aside) is
searched for the table names of the campaigns, tenants, llm and webhooks
apps, taken from Django's app registry (so a new table is covered too).
Model FK definitions name models, not tables, and pass.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
FOREIGN_APPS = ("campaigns", "tenants", "llm", "webhooks")
STRING_TOKENS = {tokenize.STRING} | ({tokenize.FSTRING_MIDDLE} if hasattr(tokenize, "FSTRING_MIDDLE") else set())


def foreign_tables() -> set[str]:
    return {
        model._meta.db_table
        for label in FOREIGN_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    }


def test_the_registry_knows_the_tables_this_test_looks_for():
    assert {"campaigns_senderaccount", "campaigns_lead", "tenants_tenant"} <= foreign_tables()


def test_the_control_plane_has_no_sql_on_other_apps_tables():
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, foreign_tables()))) + r")\b")
    found = []
    for path in sorted((ROOT / "reachly" / "orchestration").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for token in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
            if token.type in STRING_TOKENS:
                for match in pattern.finditer(token.string):
                    found.append(f"{path.relative_to(ROOT)}:{token.start[0]}: {match.group()}")
    assert found == []
