"""Lay a job's step graph out for a server-rendered SVG.

Columns are dependency levels (a step sits one column right of its deepest
dependency); rows are ordered by the average row of each node's parents, so
edges mostly run straight. A level with many steps (a fan-out of 240
batches) shows one node per agent with counts by status instead of 240
boxes: the page stays readable and small whatever the job's size.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

NODE_W, NODE_H = 184, 56
GAP_X, GAP_Y = 56, 14
PAD = 12
# More steps than this in one level are grouped by agent.
GROUP_OVER = 8
BAR_X, BAR_W = 14, NODE_W - 28
# Per-step status for live updates is embedded up to this many steps.
LIVE_STEPS_MAX = 5000


@dataclass
class Node:
    id: str
    level: int
    steps: list[dict[str, Any]]
    agent: str
    row: int = 0
    sort_key: float = 0.0  # barycenter of the parents' rows, for ordering a column
    x: int = 0
    y: int = 0

    @property
    def group(self) -> bool:
        return len(self.steps) > 1

    @property
    def step(self) -> dict[str, Any]:
        return self.steps[0]

    @property
    def label(self) -> str:
        if self.group:
            return f"{len(self.steps)} \u00d7 {self.agent}"
        return _short(self.step["key"], 22)

    @property
    def title(self) -> str:
        if self.group:
            keys = [s["key"] for s in self.steps]
            return f"{len(keys)} {self.agent} steps: {keys[0]} … {keys[-1]}"
        s = self.step
        return f"{s['key']} ({s['agent']}): {s['status']}"

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for s in self.steps:
            out[s["status"]] += 1
        return dict(out)

    @property
    def bar(self) -> list[dict[str, Any]]:
        """A group's mini bar: done, failed and running segments (x, width)."""
        counts, n, x = self.counts, len(self.steps), 0.0
        out = []
        for status in ("succeeded", "failed", "running"):
            width = BAR_W * counts.get(status, 0) / n
            out.append({"status": status, "x": round(BAR_X + x, 2), "width": round(width, 2)})
            x += width
        return out

    @property
    def summary(self) -> str:
        return group_summary(self.counts, len(self.steps))

    @property
    def status(self) -> str:
        """A single step's status; for a group, the most telling one."""
        if not self.group:
            return self.step["status"]
        counts = self.counts
        for status in ("failed", "running", "paused", "enqueued", "ready", "blocked", "cancelled", "succeeded"):
            if counts.get(status):
                return status
        return "blocked"


@dataclass
class Edge:
    source: Node
    target: Node

    @property
    def path(self) -> str:
        x1, y1 = self.source.x + NODE_W, self.source.y + NODE_H // 2
        x2, y2 = self.target.x, self.target.y + NODE_H // 2
        bend = max(24, (x2 - x1) // 2)
        return f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"


@dataclass
class Layout:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    width: int = 0
    height: int = 0
    levels: int = 0

    def live_steps(self) -> dict[str, Any] | None:
        """{step id: [status, node id, [dependency ids]]} for the page's
        live updates (None for very large jobs: progress stays live, the
        graph does not)."""
        total = sum(len(n.steps) for n in self.nodes)
        if total > LIVE_STEPS_MAX:
            return None
        ids = {s["key"]: s["id"] for n in self.nodes for s in n.steps}
        return {
            str(s["id"]): [s["status"], n.id, [ids[d] for d in s["depends_on"] if d in ids]]
            for n in self.nodes
            for s in n.steps
        }


def group_summary(counts: dict[str, int], total: int) -> str:
    """ "120/240 done · 3 running · 2 failed" (live.js writes the same)."""
    parts = [f"{counts.get('succeeded', 0)}/{total} done"]
    for status, word in (("running", "running"), ("failed", "failed"), ("paused", "paused")):
        if counts.get(status):
            parts.append(f"{counts[status]} {word}")
    return " · ".join(parts)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def levels(steps: list[dict[str, Any]]) -> dict[str, int]:
    """Each step's dependency level (Kahn's algorithm: no recursion, so a
    chain of 100,000 steps is fine). Unknown dependencies are ignored."""
    keys = {s["key"] for s in steps}
    deps = {s["key"]: [d for d in s["depends_on"] if d in keys] for s in steps}
    children: dict[str, list[str]] = defaultdict(list)
    pending = {}
    for key, ds in deps.items():
        pending[key] = len(ds)
        for d in ds:
            children[d].append(key)
    level = dict.fromkeys(keys, 0)
    queue = deque(k for k, n in pending.items() if n == 0)
    while queue:
        key = queue.popleft()
        for child in children[key]:
            level[child] = max(level[child], level[key] + 1)
            pending[child] -= 1
            if pending[child] == 0:
                queue.append(child)
    return level


def layout(steps: list[dict[str, Any]], *, group_over: int = GROUP_OVER) -> Layout:
    if not steps:
        return Layout()
    level_of = levels(steps)
    by_level: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in steps:
        by_level[level_of[s["key"]]].append(s)

    nodes: list[Node] = []
    node_of: dict[str, Node] = {}  # step key -> node
    columns: list[list[Node]] = []
    for lvl in range(max(by_level) + 1):
        members = by_level.get(lvl, [])
        column: list[Node] = []
        if len(members) > group_over:
            by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for s in members:
                by_agent[s["agent"]].append(s)
            for agent, group in by_agent.items():
                node_id = f"s{group[0]['id']}" if len(group) == 1 else f"g{lvl}-{agent}"
                column.append(Node(node_id, lvl, group, agent))
        else:
            column = [Node(f"s{s['id']}", lvl, [s], s["agent"]) for s in members]
        for node in column:
            for s in node.steps:
                node_of[s["key"]] = node
        columns.append(column)

    # Order each column by its nodes' parents' rows (barycenter), stable.
    for column in columns:
        for node in column:
            parents = {node_of[d].row for s in node.steps for d in s["depends_on"] if d in node_of}
            node.sort_key = (sum(parents) / len(parents)) if parents else -1.0
        column.sort(key=lambda n: n.sort_key)
        for row, node in enumerate(column):
            node.row = row

    tallest = max(len(c) for c in columns)
    for column in columns:
        offset = (tallest - len(column)) * (NODE_H + GAP_Y) // 2
        for node in column:
            node.x = PAD + node.level * (NODE_W + GAP_X)
            node.y = PAD + offset + node.row * (NODE_H + GAP_Y)
            nodes.append(node)

    seen: set[tuple[str, str]] = set()
    edges: list[Edge] = []
    for node in nodes:
        for s in node.steps:
            for d in s["depends_on"]:
                parent = node_of.get(d)
                if parent is None or parent is node or (parent.id, node.id) in seen:
                    continue
                seen.add((parent.id, node.id))
                edges.append(Edge(parent, node))

    return Layout(
        nodes=nodes,
        edges=edges,
        width=2 * PAD + len(columns) * NODE_W + (len(columns) - 1) * GAP_X,
        height=2 * PAD + tallest * NODE_H + (tallest - 1) * GAP_Y,
        levels=len(columns),
    )
