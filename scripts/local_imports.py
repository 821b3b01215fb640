"""Count first-party imports placed inside functions (docs/architecture.md).

    python scripts/local_imports.py [-v] [--check]

Walks reachly/, agents/, tasks/ and devtools/ (migrations excluded) with
`ast`; prints "<total> <between apps>", with -v each import and its reason,
and with --check exits 1 when one has no reason. An import's reason is the
comment on its own line (after the code) or the comment line directly above
the run of import lines it belongs to (tests/architecture/test_local_imports.py
keeps every one of them documented).
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


def _reason(lines: list[str], lineno: int) -> str:
    """The comment that documents the import at 1-based `lineno`, or ""."""
    own = lines[lineno - 1]
    if "#" in own:
        return own.split("#", 1)[1].strip()
    i = lineno - 2
    # Climb over the import lines of the same run (a parenthesised import
    # spans several), then read the comment block above it, if any.
    while i >= 0 and not lines[i].strip().startswith("#") and lines[i].strip() and not lines[i].rstrip().endswith(":"):
        if not lines[i].strip().startswith(("from ", "import ")) and not lines[i].startswith(" " * 8):
            return ""
        i -= 1
    block: list[str] = []
    while i >= 0 and lines[i].strip().startswith("#"):
        block.insert(0, lines[i].strip().lstrip("#").strip())
        i -= 1
    return " ".join(block)


def local_imports() -> list[tuple[str, int, str, bool, str]]:
    """(path, line, imported module, between apps, reason) for every
    first-party import inside a function; reason "" when none is written."""
    found = []
    for base in PACKAGES:
        for path in sorted((ROOT / base).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            text = path.read_text()
            lines = text.splitlines()
            seen: set[tuple[int, str]] = set()
            for fn in ast.walk(ast.parse(text)):
                if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(fn):
                    names = []
                    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                        names = [node.module]
                    elif isinstance(node, ast.Import):
                        names = [a.name for a in node.names]
                    for name in names:
                        if name.split(".")[0] in PACKAGES and (node.lineno, name) not in seen:
                            seen.add((node.lineno, name))  # a nested function is walked twice
                            between = _app(name) != _app(module)
                            reason = _reason(lines, node.lineno)
                            found.append((str(path.relative_to(ROOT)), node.lineno, name, between, reason))
    return found


if __name__ == "__main__":
    rows = local_imports()
    print(len(rows), sum(1 for r in rows if r[3]))
    if "-v" in sys.argv:
        for path, line, name, between, reason in rows:
            print(f"{path}:{line}: {name}{'  (between apps)' if between else ''}  # {reason or 'NO REASON'}")
    if "--check" in sys.argv and any(not r[4] for r in rows):
        sys.exit(1)
