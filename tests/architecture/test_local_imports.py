"""Issue 10: a first-party import placed inside a function has its reason
written beside it (scripts/local_imports.py finds them and their reasons)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("local_imports", ROOT / "scripts" / "local_imports.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_function_level_first_party_import_gives_its_reason():
    undocumented = [
        f"{path}:{line}: {name}" for path, line, name, _between, reason in _script().local_imports() if not reason
    ]
    assert undocumented == []


def test_a_reason_is_the_comment_on_the_line_or_above_the_run_of_imports():
    reason = _script()._reason
    source = [
        "def ready(self):",  # 1
        "    # Lazy: models are not loaded yet.",  # 2
        "    # (AppConfig.ready)",  # 3
        "    from a import b",  # 4
        "    from c import (",  # 5
        "        d,",  # 6
        "    )",  # 7
        "",  # 8
        "def other():",  # 9
        "    from e import f",  # 10
        "    x = 1",  # 11
        "    from g import h  # cycle: g imports this module",  # 12
        "    from i import j",  # 13
    ]
    assert reason(source, 4) == "Lazy: models are not loaded yet. (AppConfig.ready)"
    assert reason(source, 5) == "Lazy: models are not loaded yet. (AppConfig.ready)"
    assert reason(source, 10) == ""
    assert reason(source, 12) == "cycle: g imports this module"
    assert reason(source, 13) == ""
