"""Count first-party imports placed inside functions (docs/architecture.md).

    python scripts/local_imports.py [-v]

Walks reachly/, agents/, tasks/ and devtools/ (migrations excluded) with
`ast`; prints "<total> <between apps>", and with -v each import with the
comment on its line or the line above (its reason).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("reachly", "agents", "tasks", "devtools")


def _app(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "reachly" and len(parts) > 1 else parts[0]


def local_imports() -> list[tuple[str, int, str, bool]]:
    """(path, line, imported module, between apps) for every first-party
    import inside a function."""
    found = []
    for base in PACKAGES:
        for path in sorted((ROOT / base).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for fn in ast.walk(ast.parse(path.read_text())):
                if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(fn):
                    names = []
                    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                        names = [node.module]
                    elif isinstance(node, ast.Import):
                        names = [a.name for a in node.names]
                    for name in names:
                        if name.split(".")[0] in PACKAGES:
                            found.append((str(path.relative_to(ROOT)), node.lineno, name, _app(name) != _app(module)))
    return found


if __name__ == "__main__":
    rows = local_imports()
    print(len(rows), sum(1 for r in rows if r[3]))
    if "-v" in sys.argv:
        for path, line, name, between in rows:
            print(f"{path}:{line}: {name}{'  (between apps)' if between else ''}")
