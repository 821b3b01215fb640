"""The layers of docs/architecture.md are import-linter contracts
(pyproject.toml, run by `make lint`): the tree keeps them, and a crossing
added on purpose in a scratch copy breaks them."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, env={"PYTHONPATH": str(cwd)}
    )


def test_the_tree_keeps_every_contract():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_layer_crossed_on_purpose_fails_and_is_named(tmp_path):
    for name in ("reachly", "agents", "tasks", "devtools"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # The bottom layer reaching for a door; the control plane for an app
    # above it (the campaigns <-> orchestration circle of old) and for DRF.
    with (tmp_path / "reachly" / "core" / "sql.py").open("a") as f:
        f.write("\nfrom reachly.web import views  # noqa\n")
    with (tmp_path / "reachly" / "orchestration" / "lifecycle.py").open("a") as f:
        f.write("\nfrom reachly.campaigns import models  # noqa\nfrom rest_framework import serializers  # noqa\n")
    # An agent going round its ports, straight to Redis.
    with (tmp_path / "agents" / "testing.py").open("a") as f:
        f.write("\nimport redis  # noqa\n")
    # The runtime reaching for the dev tooling, which the image does not ship.
    with (tmp_path / "reachly" / "ops" / "selectors.py").open("a") as f:
        f.write("\nfrom devtools import processes  # noqa\n")

    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "reachly.core is not allowed to import reachly.web" in result.stdout
    assert "reachly.orchestration is not allowed to import reachly.campaigns" in result.stdout
    assert "reachly.orchestration.lifecycle -> rest_framework" in result.stdout
    assert "agents.testing -> redis" in result.stdout
    assert "reachly.ops.selectors -> devtools.processes" in result.stdout
    assert "4 broken" in result.stdout


def test_agents_use_no_orm_and_no_django_service():
    """What import-linter cannot say about an external package's parts: no
    agent imports django.db (the ORM), django.contrib or Django's cache;
    the ports (agents/ports.py) are their way to the database."""
    forbidden = ("django.db", "django.contrib", "django.core.cache")
    found = []
    for path in sorted((ROOT / "agents").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith(forbidden)]
    assert found == []


def _app(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "reachly" and len(parts) > 1 else parts[0]


def test_no_two_apps_import_each_other_even_through_others():
    """0 cycles between apps (issue 10): the app-level import graph (every
    module counted to its app; imports only for type checking left out, as
    lint-imports does) has no strongly connected component of two or more."""
    import grimp

    graph = grimp.build_graph("reachly", "agents", "tasks", "devtools", exclude_type_checking_imports=True)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if _app(module) != _app(imported):
                edges.setdefault(_app(module), set()).add(_app(imported))

    # Tarjan's strongly connected components (Tarjan 1972), on ~25 nodes.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert cycles == []
