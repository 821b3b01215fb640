"""Issue 10: no `# type: ignore` without an error code and a reason (mypy
checks the code, `ignore-without-code`; this checks the reason)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IGNORE = re.compile(r"#\s*type:\s*ignore")
WITH_REASON = re.compile(r"#\s*type:\s*ignore\[[-a-z, ]+\]\s+#\s*\S")


def test_every_type_ignore_names_its_error_code_and_gives_a_reason():
    bare = []
    for package in ("reachly", "agents", "tasks"):
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if IGNORE.search(line) and not WITH_REASON.search(line):
                    bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert bare == []
