"""The subset of kustomize that k8s/ uses, in Python, for offline CI.

    python -m tests.deploy.kustomize k8s/overlays/prod     # print the rendered YAML

There may be no kustomize binary where the tests run, so the manifests are
rendered here; where `kubectl` is installed, tests/deploy/test_manifests.py
checks that this renderer and `kubectl kustomize` agree object for object.

Supported (anything else in a kustomization.yaml is an error, not ignored):
`resources` (files and directories), `namespace`, `configMapGenerator`
(literals, envs, files; behavior create/merge/replace; the name hash suffix
and the references to it), `patches` (strategic merge, JSON 6902, with or
without a target), `images`, `replicas`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "configMapGenerator", "patches", "images", "replicas"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
                  "StorageClass", "IngressClass", "PriorityClass"}  # fmt: skip
# Strategic merge: lists merged by key (in built-in kinds); others are replaced.
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
    "volumeMounts": "mountPath", "ports": "containerPort", "imagePullSecrets": "name",
}  # fmt: skip
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}
GENERATED = "__generated__"  # marks generator output until the hash suffix is applied

Resource = dict[str, Any]


class KustomizeError(ValueError):
    pass


def build(path: str | Path) -> list[Resource]:
    """Render a kustomization directory, as `kustomize build` does."""
    resources = _build(Path(path))
    _apply_name_hashes(resources)
    return resources


def _build(path: Path) -> list[Resource]:
    kfile = path / "kustomization.yaml"
    spec = yaml.safe_load(kfile.read_text()) or {}
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{kfile}: unsupported fields {sorted(unknown)}")

    resources: list[Resource] = []
    for entry in spec.get("resources", []):
        target = path / entry
        if target.is_dir():
            resources += _build(target)
        else:
            resources += [doc for doc in yaml.safe_load_all(target.read_text()) if doc]

    for generator in spec.get("configMapGenerator", []):
        _generate_config_map(path, generator, resources)

    for patch in spec.get("patches", []):
        _apply_patch(path, patch, resources)

    if "namespace" in spec:
        for res in resources:
            if res["kind"] == "Namespace":
                res["metadata"]["name"] = spec["namespace"]
            elif res["kind"] not in CLUSTER_SCOPED:
                res["metadata"]["namespace"] = spec["namespace"]

    for replica in spec.get("replicas", []):
        for res in resources:
            if res["metadata"]["name"] == replica["name"] and "spec" in res:
                res["spec"]["replicas"] = replica["count"]

    for image in spec.get("images", []):
        for res in resources:
            for container in _containers(res):
                name, tag = _split_image(container.get("image", ""))
                if name != image["name"]:
                    continue
                new_name = image.get("newName", name)
                if "digest" in image:
                    container["image"] = f"{new_name}@{image['digest']}"
                else:
                    new_tag = image.get("newTag", tag)
                    container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name
    return resources


def _split_image(image: str) -> tuple[str, str | None]:
    name, _, digest = image.partition("@")
    if digest:
        return name, None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        base, _, tag = name.rpartition(":")
        return base, tag
    return name, None


def _containers(res: Resource) -> list[dict]:
    if res.get("kind") not in POD_TEMPLATE_KINDS:
        return []
    pod = res.get("spec", {}).get("template", {}).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


# ---------------------------------------------------------------------------
# configMapGenerator
# ---------------------------------------------------------------------------


def _generate_config_map(path: Path, generator: dict, resources: list[Resource]) -> None:
    allowed = {"name", "behavior", "literals", "envs", "files"}
    if set(generator) - allowed:
        raise KustomizeError(f"configMapGenerator: unsupported fields {sorted(set(generator) - allowed)}")
    data: dict[str, str] = {}
    for env_file in generator.get("envs", []):
        for line in (path / env_file).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                data[key] = value
    for literal in generator.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    for file in generator.get("files", []):
        key, sep, file_path = file.partition("=")
        if not sep:
            key, file_path = Path(file).name, file
        data[key] = (path / file_path).read_text()

    behavior = generator.get("behavior", "create")
    name = generator["name"]
    existing = [r for r in resources if r["kind"] == "ConfigMap" and r.get(GENERATED) == name]
    if behavior == "create":
        if existing:
            raise KustomizeError(f"configMapGenerator {name}: already exists (use behavior merge or replace)")
        resources.append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data, GENERATED: name}
        )
    elif behavior in ("merge", "replace"):
        if len(existing) != 1:
            raise KustomizeError(f"configMapGenerator {name}: nothing to {behavior}")
        existing[0]["data"] = {**existing[0]["data"], **data} if behavior == "merge" else data
    else:
        raise KustomizeError(f"configMapGenerator {name}: unknown behavior {behavior}")


def _hash(config_map: Resource) -> str:
    # kustomize's hasher (api/hasher): sha256 of the JSON of kind, name and
    # data (Go's encoding: sorted keys, <>& escaped), first 10 hex digits with
    # 0,1,3,a,e swapped for letters. Its name lookup finds nothing, so the
    # name hashed is always "".
    encoded = json.dumps(
        {"data": config_map.get("data", {}), "kind": "ConfigMap", "name": ""},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    encoded = encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _apply_name_hashes(resources: list[Resource]) -> None:
    renamed: dict[tuple[str | None, str], str] = {}
    for res in resources:
        if GENERATED in res:
            name = res.pop(GENERATED)
            res["metadata"]["name"] = f"{name}-{_hash(res)}"
            renamed[(res["metadata"].get("namespace"), name)] = res["metadata"]["name"]
    if not renamed:
        return
    for res in resources:
        namespace = res["metadata"].get("namespace")
        pod = res.get("spec", {}).get("template", {}).get("spec", {}) if res["kind"] in POD_TEMPLATE_KINDS else {}
        refs: list[dict] = []
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            refs += [e["configMapRef"] for e in container.get("envFrom", []) if "configMapRef" in e]
            refs += [
                e["valueFrom"]["configMapKeyRef"]
                for e in container.get("env", [])
                if "configMapKeyRef" in e.get("valueFrom", {})
            ]
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                refs.append(volume["configMap"])
            for source in volume.get("projected", {}).get("sources", []):
                if "configMap" in source:
                    refs.append(source["configMap"])
        for ref in refs:
            new = renamed.get((namespace, ref.get("name")))
            if new:
                ref["name"] = new


# ---------------------------------------------------------------------------
# patches
# ---------------------------------------------------------------------------


def _apply_patch(path: Path, patch: dict, resources: list[Resource]) -> None:
    if set(patch) - {"path", "patch", "target"}:
        raise KustomizeError(f"patches: unsupported fields {sorted(set(patch) - {'path', 'patch', 'target'})}")
    text = (path / patch["path"]).read_text() if "path" in patch else patch["patch"]
    docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    target = patch.get("target")
    if len(docs) == 1 and isinstance(docs[0], list):  # JSON 6902
        if not target:
            raise KustomizeError("a JSON 6902 patch needs a target")
        matched = _select(resources, target)
        for res in matched:
            _json6902(res, docs[0])
        return
    for doc in docs:  # strategic merge, one or more documents
        selector = target or {"kind": doc["kind"], "name": doc["metadata"]["name"]}
        matched = _select(resources, selector)
        for res in matched:
            merged = _strategic_merge(res, doc, builtin=_builtin(res))
            res.clear()
            res.update(merged)
            if target is None:  # the patch's own metadata names the target, it does not rename it
                res["metadata"]["name"] = selector["name"]


def _builtin(res: Resource) -> bool:
    """Kubernetes' own kinds merge lists by key; custom resources (KEDA's)
    take JSON merge patch semantics, where a list replaces the old one."""
    group = res["apiVersion"].rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


def _select(resources: list[Resource], target: dict) -> list[Resource]:
    if set(target) - {"kind", "name", "group", "version"}:
        raise KustomizeError(f"patch target: unsupported fields {sorted(target)}")
    matched = [
        r
        for r in resources
        if r["kind"] == target.get("kind", r["kind"])
        and r["metadata"]["name"] == target.get("name", r["metadata"]["name"])
    ]
    if not matched:
        raise KustomizeError(f"patch target {target} matches nothing")
    return matched


def _strategic_merge(base: Any, patch: Any, builtin: bool, key: str = "") -> Any:
    if isinstance(patch, dict) and isinstance(base, dict):
        if patch.get("$patch") == "replace":
            return {k: v for k, v in patch.items() if k != "$patch"}
        if patch.get("$patch") == "delete":
            return None
        out = copy.deepcopy(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                merged = _strategic_merge(out[k], v, builtin, k)
                if merged is None:
                    out.pop(k)
                else:
                    out[k] = merged
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(patch, list) and isinstance(base, list) and builtin and key in MERGE_KEYS:
        merge_key = MERGE_KEYS[key]
        out = copy.deepcopy(base)
        for item in patch:
            for i, existing in enumerate(out):
                if existing.get(merge_key) == item.get(merge_key):
                    merged = _strategic_merge(existing, item, builtin)
                    if merged is None:
                        out.pop(i)
                    else:
                        out[i] = merged
                    break
            else:
                if item.get("$patch") != "delete":
                    out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def _json6902(res: Resource, ops: list[dict]) -> None:
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
        parent: Any = res
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if op["op"] == "add":
                    parent.insert(index, copy.deepcopy(op["value"]))
                else:
                    parent[index] = copy.deepcopy(op["value"])
            else:
                if op["op"] == "replace" and last not in parent:
                    raise KustomizeError(f"JSON patch: nothing to replace at {op['path']}")
                parent[last] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        else:
            raise KustomizeError(f"JSON patch: unsupported op {op['op']}")


if __name__ == "__main__":
    sys.stdout.write(yaml.safe_dump_all(build(sys.argv[1]), sort_keys=False))
