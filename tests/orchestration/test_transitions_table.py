"""The state machine is declared once (states.STEP_TRANSITIONS /
JOB_TRANSITIONS) and every statement that changes a status is a named query
in reachly/orchestration/transitions.py that does only what it declares
(issue 10, item 6).

These tests read the SQL: for each UPDATE of orchestration_step or
orchestration_job, the statuses its WHERE clause starts from (`status =
'x'`, `status IN (...)`, `status = ANY(ARRAY[...])`) and the statuses its
SET clause leads to (a literal, or a CASE's THEN / ELSE literals).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import transaction

from reachly.core import sql
from reachly.orchestration import events, states, transitions
from reachly.orchestration.models import JobStatus, StepStatus
from reachly.orchestration.progress import percent

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "reachly" / "orchestration" / "transitions.py"
TABLES = {"step": states.STEP_TRANSITIONS, "job": states.JOB_TRANSITIONS}
STATUSES = {"step": set(StepStatus.values), "job": set(JobStatus.values)}
QUERIES = {name: q for name, q in vars(transitions).items() if isinstance(q, transitions.Query)}

UPDATE = re.compile(r"\bUPDATE\s+orchestration_(step|job)\b(?:\s+(?!SET\b)(\w+))?\s+SET\b", re.IGNORECASE)
# Parentheses, string literals and the clause keywords, for a depth-aware scan.
TOKEN = re.compile(r"\(|\)|'[^']*'|,|\b(?:FROM|WHERE|RETURNING)\b", re.IGNORECASE)


@dataclass
class Update:
    """One UPDATE of a step or job row, as far as the state machine cares."""

    table: str  # "step" or "job"
    targets: set[str]  # statuses the SET clause leads to; empty: status unchanged
    sources: set[str]  # statuses the WHERE clause starts from
    text: str


def updates(text: str) -> list[Update]:
    """Every UPDATE of orchestration_step / orchestration_job in `text`
    (a statement, or a WITH statement's data-modifying CTEs)."""
    found = []
    for m in UPDATE.finditer(text):
        table, alias = m.group(1).lower(), m.group(2)
        clauses: dict[str, str] = {}
        clause, start, depth = "set", m.end(), 0
        end = len(text)
        for tok in TOKEN.finditer(text, m.end()):
            t = tok.group(0)
            if t == "(":
                depth += 1
            elif t == ")":
                depth -= 1
                if depth < 0:  # the end of the CTE holding this UPDATE
                    end = tok.start()
                    break
            elif depth == 0 and t.upper() in ("FROM", "WHERE", "RETURNING"):
                clauses[clause] = text[start : tok.start()]
                clause, start = t.lower(), tok.end()
        clauses[clause] = text[start:end]
        column = rf"(?<![\w.]){alias}\.status\b" if alias else r"(?<![\w.])(?:orchestration_\w+\.)?status\b"
        found.append(
            Update(
                table,
                _targets(clauses["set"]),
                _sources(clauses.get("where", ""), column),
                text[m.start() : end],
            )
        )
    return found


def _targets(set_clause: str) -> set[str]:
    for item in _top_level_split(set_clause):
        col, _, expr = item.partition("=")
        if col.strip().lower() != "status":
            continue
        expr = expr.strip()
        if m := re.fullmatch(r"'(\w+)'", expr):
            return {m.group(1)}
        if expr.upper().startswith("CASE"):
            outcomes = re.findall(r"\b(?:THEN|ELSE)\s+(\S+)", expr, re.IGNORECASE)
            literals = [re.fullmatch(r"'(\w+)'", o) for o in outcomes]
            assert all(literals), f"SET status = {expr!r}: every outcome of the CASE must be a literal"
            return {m.group(1) for m in literals if m}
        raise AssertionError(f"SET status = {expr!r}: the target must be a literal or a CASE of literals")
    return set()


def _sources(where: str, column: str) -> set[str]:
    assert not re.search(column + r"\s*=\s*%", where), f"WHERE {where!r}: a from-status must be a literal"
    sources: set[str] = set()
    for m in re.finditer(column + r"\s*(=\s*ANY\s*\(([^)]*)\)|IN\s*\(([^)]*)\)|=\s*'(\w+)')", where, re.IGNORECASE):
        listed = m.group(2) or m.group(3)
        if m.group(4):
            sources.add(m.group(4))
        else:
            literals = re.findall(r"'(\w+)'", listed)
            assert literals, f"{m.group(0)!r}: the from-statuses must be literals, not a parameter"
            sources.update(literals)
    return sources


def _top_level_split(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for tok in TOKEN.finditer(text):
        t = tok.group(0)
        depth += t == "("
        depth -= t == ")"
        if t == "," and depth == 0:
            parts.append(text[start : tok.start()])
            start = tok.end()
    parts.append(text[start:])
    return parts


def _declared(query: transitions.Query, table: str) -> tuple[str, ...]:
    return query.step if table == "step" else query.job


# ---------------------------------------------------------------------------
# The parser reads what it should (so the checks below mean something)
# ---------------------------------------------------------------------------


def test_the_parser_reads_a_case_a_cte_and_an_alias():
    own, dependents, job = updates(transitions.SUCCEED.sql)  # the attempt's UPDATE is no step's
    assert (own.table, own.sources, own.targets) == ("step", {"running"}, {"succeeded"})
    assert (dependents.sources, dependents.targets) == ({"blocked"}, {"blocked", "paused", "ready"})
    assert (job.table, job.targets) == ("job", set())
    (follow,) = updates(transitions.FOLLOW_STOPPED_JOB.sql)
    assert (follow.sources, follow.targets) == ({"enqueued"}, {"paused", "cancelled"}), "j.status is the job's"
    (cancel,) = updates(transitions.CANCEL_JOB_STEPS.sql)
    assert cancel.sources == {"blocked", "ready", "enqueued", "running", "paused"}
    assert updates("UPDATE orchestration_step SET status = 'ready' WHERE status = ANY(ARRAY['failed'])")[0].sources == {
        "failed"
    }
    for unreadable in (
        "UPDATE orchestration_step SET status = %s WHERE id = %s AND status = 'ready'",
        "UPDATE orchestration_step SET status = CASE WHEN x THEN %s ELSE 'ready' END WHERE status = 'failed'",
        "UPDATE orchestration_step SET status = 'ready' WHERE status = %s",
        "UPDATE orchestration_step SET status = 'ready' WHERE status = ANY(%s)",
    ):
        with pytest.raises(AssertionError, match="literal"):
            updates(unreadable)


# ---------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["step", "job"])
def test_the_tables_name_real_statuses(table):
    for name, t in TABLES[table].items():
        assert t.sources, name
        assert set(t.sources) | {t.target} <= STATUSES[table], name


def test_job_actions_are_the_job_transitions_of_their_names():
    for action in ("pause", "resume", "cancel"):
        assert states.JOB_ACTIONS[action] == states.JOB_TRANSITIONS[action].sources
    assert set(states.JOB_TRANSITIONS["reopen"].sources) <= set(states.JOB_ACTIONS["retry"])


# ---------------------------------------------------------------------------
# Every named statement does what it declares, and every transition has one
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_named_statement_does_only_what_it_declares(name):
    query = QUERIES[name]
    found = updates(query.sql)
    assert found, f"{name} updates no step or job"
    for table in ("step", "job"):
        declared = _declared(query, table)
        unknown = set(declared) - set(TABLES[table])
        assert not unknown, f"{name} declares {unknown}, not in {table.upper()}_TRANSITIONS"
        table_transitions = {n: TABLES[table][n] for n in declared}
        reached: set[str] = set()
        for u in (u for u in found if u.table == table):
            if u.targets:
                assert u.sources, f"{name}: SET status without a from-status in WHERE:\n{u.text}"
                for target in u.targets:
                    allowed = [t for t in table_transitions.values() if t.target == target]
                    assert allowed, f"{name} leads a {table} to {target!r}, which none of {declared} does"
                    from_set = {str(s) for t in allowed for s in t.sources}
                    assert u.sources <= from_set, (
                        f"{name} moves a {table} from {u.sources - from_set} to {target!r}; {declared} allow {from_set}"
                    )
                reached |= u.targets
            else:
                in_place = [t for t in table_transitions.values() if t.sources == (t.target,)]
                if in_place:
                    allowed_here = set().union(*(t.sources for t in in_place))
                    assert u.sources and u.sources <= allowed_here, f"{name}: WHERE status {u.sources}"
                    reached |= u.sources
        stale = {n for n, t in table_transitions.items() if t.target not in reached}
        assert not stale, f"{name} declares {stale} but its SQL never leads there"


@pytest.mark.parametrize("table", ["step", "job"])
def test_every_declared_transition_has_a_statement(table):
    performed = {n for q in QUERIES.values() for n in _declared(q, table)}
    assert set(TABLES[table]) - performed == set()


def test_every_update_in_the_module_is_a_named_statement():
    source = MODULE.read_text()
    in_queries = sum(len(UPDATE.findall(q.sql)) for q in QUERIES.values())
    assert len(UPDATE.findall(source)) == in_queries


def test_no_statement_in_the_module_is_assembled_from_fragments():
    tree = ast.parse(MODULE.read_text())
    for node in ast.walk(tree):
        assert not isinstance(node, ast.JoinedStr), f"f-string at line {node.lineno}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in ("format", "join"), f".{node.func.attr}() at line {node.lineno}"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            strings = [n for n in (node.left, node.right) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            assert not strings, f"string {type(node.op).__name__} at line {node.lineno}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Query":
            assert isinstance(node.args[0], ast.Constant), f"Query at line {node.lineno} takes whole text"


def test_returning_lists_agree_with_the_events_module():
    event_returning = "RETURNING " + events.EVENT_RETURNING
    job_returning = "RETURNING " + events.JOB_RETURNING.replace("{t}.", "")
    flat = {name: " ".join(q.sql.split()) for name, q in QUERIES.items()}
    assert event_returning in flat["CLAIM"] and event_returning in flat["SUCCEED"]
    for name, q in QUERIES.items():
        if q.job:
            assert flat[name].endswith(job_returning), name


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("total", "done", "status"),
    [(0, 0, "succeeded"), (0, 0, "running"), (3, 1, "running"), (3, 3, "running"), (7, 2, "paused"), (8, 1, "running")],
)
def test_the_progress_of_the_hot_path_is_progress_percent(total, done, status):
    expr = re.search(r"'percent',\s*(CASE .*? END)\)", transitions.SUCCEED.sql, re.DOTALL)
    assert expr is not None
    row = sql.fetchone(
        "SELECT " + expr.group(1) + " AS p FROM (VALUES (%s, %s, %s)) AS j(total_steps, succeeded_steps, status)",
        [total, done, status],
    )
    assert row is not None
    assert row["p"] == percent(total, done, status)


# ---------------------------------------------------------------------------
# Nothing else changes a status
# ---------------------------------------------------------------------------

# events.emit builds its job UPDATE from the caller's counter updates; it
# refuses a status change at run time (the next test), which text cannot show.
ASSEMBLED_ALLOWED = {"reachly/orchestration/events.py"}


def _sources_outside_the_module() -> list[Path]:
    files = []
    for package in ("reachly", "agents", "tasks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts and path != MODULE:
                files.append(path)
    return files


def test_no_status_changing_statement_outside_the_module():
    offenders = []
    for path in _sources_outside_the_module():
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(), filename=rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if UPDATE.search(text) and rel not in ASSEMBLED_ALLOWED:
                    offenders.append(f"{rel}:{node.lineno} assembles an UPDATE of a step or job")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and UPDATE.search(node.value):
                try:
                    changes = [u for u in updates(node.value) if u.targets]
                except AssertionError as e:  # SET status to a parameter
                    changes, offenders = [], [*offenders, f"{rel}:{node.lineno} {e}"]
                offenders += [f"{rel}:{node.lineno} sets a {u.table}'s status" for u in changes]
            elif isinstance(node, ast.Call) and _orm_status_write(node):
                offenders.append(f"{rel}:{node.lineno} writes a step's or job's status with the ORM")
    assert offenders == [], "status changes belong in reachly/orchestration/transitions.py"


def _orm_status_write(call: ast.Call) -> bool:
    """`Step/Job ... .update(status=...)`, `bulk_update(..., ["status"])` or
    `save(update_fields=[..."status"...])` on a step or job."""
    if not isinstance(call.func, ast.Attribute):
        return False
    chain = ast.unparse(call.func.value)
    on_step_or_job = bool(re.search(r"\b(Step|Job)\b|\.steps\b|\.jobs\b|\b(step|job)\b", chain))
    mentions_status = any(isinstance(n, ast.Constant) and n.value == "status" for n in ast.walk(call))
    if call.func.attr == "update":
        return on_step_or_job and any(k.arg == "status" for k in call.keywords)
    if call.func.attr in ("bulk_update", "save"):
        return on_step_or_job and mentions_status
    return False


def test_the_orm_scan_sees_an_orm_status_write():
    for code in (
        "Step.objects.filter(pk=1).update(status='ready')",
        "job.steps.filter(status='paused').update(status='ready')",
        "job.save(update_fields=['status'])",
    ):
        call = ast.parse(code, mode="eval").body
        assert isinstance(call, ast.Call) and _orm_status_write(call), code
    call = ast.parse("SenderAccount.objects.filter(pk=1).update(status='paused')", mode="eval").body
    assert isinstance(call, ast.Call) and not _orm_status_write(call)


@pytest.mark.django_db
def test_emit_refuses_to_change_a_status():
    with transaction.atomic(), pytest.raises(ValueError, match="transitions"):
        events.emit(0, [], job_updates="status = 'failed'")
    assert events._SETS_STATUS.search("status_reason = 'x', cancelled_steps = cancelled_steps + 1") is None


# ---------------------------------------------------------------------------
# The documentation shows the tables
# ---------------------------------------------------------------------------


def test_docs_architecture_lists_the_tables():
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Transitions", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|\s*(step|job)\s*\|\s*`(\w+)`\s*\|([^|]*)\|\s*(\w+)\s*\|", section, re.MULTILINE)
    documented = {(table, name): (tuple(re.findall(r"\w+", sources)), target) for table, name, sources, target in rows}
    declared = {
        (table, name): (tuple(str(s) for s in t.sources), str(t.target))
        for table, tab in TABLES.items()
        for name, t in tab.items()
    }
    assert documented == declared
    assert "reachly/orchestration/transitions.py" in section
