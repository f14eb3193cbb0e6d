"""The `helm` the deploy stages run: the real Helm 4 binary, with the cluster standing in.

No Kubernetes API server can run here, so `helm upgrade --install RELEASE CHART ARGS...` renders
with `helm template RELEASE CHART ARGS...`: the same chart, values files, --set flags and
namespace, through the real Helm. Flags that only act on a live release (waiting, rolling back,
keeping history) have nothing to act on and are left out; which ones were is logged. A rendering
that succeeds becomes the cluster's state for that release (what `kubectl get` would show after
the install); a failure leaves the previous state, as --atomic/--rollback-on-failure would.
The cluster is the one the kube context names (the EKS cluster ARN `aws eks update-kubeconfig`
wrote). `helm history` reads the releases recorded; every other command is the real Helm's.

Environment: REHEARSAL_HELM (the real binary), REHEARSAL_CLUSTERS (the state folder).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.rehearsal.cluster import CLUSTER_KINDS, Access, plural, read_json

# `helm upgrade` flags that act on the live release only: (flag, takes a value).
LIVE_ONLY = {
    "--install": False,
    "-i": False,
    "--atomic": False,
    "--rollback-on-failure": False,
    "--wait-for-jobs": False,
    "--cleanup-on-fail": False,
    "--reset-values": False,
    "--reuse-values": False,
    "--reset-then-reuse-values": False,
    "--force": False,
    "--force-replace": False,
    "--force-conflicts": False,
    "--timeout": True,
    "--history-max": True,
    "--server-side": True,
    "--take-ownership": False,
}


def split(args: list[str]) -> tuple[list[str], list[str]]:
    """The arguments `helm template` gets, and the live-only ones left out."""
    kept: list[str] = []
    dropped: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        name = arg.split("=", 1)[0]
        if name == "--wait":  # --wait, --wait=watcher
            dropped.append(arg)
        elif name in LIVE_ONLY:
            dropped.append(arg)
            if LIVE_ONLY[name] and "=" not in arg and index + 1 < len(args):
                index += 1
                dropped.append(args[index])
        else:
            kept.append(arg)
        index += 1
    return kept, dropped


def option(args: list[str], *names: str) -> str:
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return ""


def cluster(args: list[str], *, raw: bool = False) -> str:
    """The cluster the kube context points at (an EKS cluster ARN), as a folder name (or, with
    `raw`, as it is)."""
    context = option(args, "--kube-context")
    config_path = option(args, "--kubeconfig") or os.environ.get("KUBECONFIG", "")
    config: dict[str, Any] = yaml.safe_load(Path(config_path).read_text()) if config_path else {}
    for entry in config.get("contexts") or []:
        if entry.get("name") == context:
            arn = str(entry["context"]["cluster"])
            return arn if raw else re.sub(r"[^A-Za-z0-9_.-]", "_", arn)
    raise SystemExit(f"Error: kube context {context!r} is not in {config_path or 'no kubeconfig'}")


def upgrade(real: str, state: Path, args: list[str]) -> int:
    kept, dropped = split(args)
    release_dir = state / cluster(args) / (option(args, "--namespace", "-n") or "default")
    positional = [a for a in kept if not a.startswith("-")]
    release = positional[0] if positional else ""
    print(f"[cluster stand-in] helm template {' '.join(kept)}", file=sys.stderr)
    if dropped:
        print(
            f"[cluster stand-in] live-release flags not rendered: {' '.join(dropped)}",
            file=sys.stderr,
        )
    result = subprocess.run([real, "template", *kept], capture_output=True, text=True, check=False)
    sys.stderr.write(result.stderr)
    history = release_dir / f"{release}.history.jsonl"
    namespace = option(args, "--namespace", "-n") or "default"
    server_side, refused = apply_method(args, _entries(history))
    if result.returncode == 0 and not refused:
        refused = applied(release_dir.parent, result.stdout, namespace, args, server_side)
    if refused:
        print(f"Error: UPGRADE FAILED: {refused}", file=sys.stderr)
    release_dir.mkdir(parents=True, exist_ok=True)
    status = "deployed" if result.returncode == 0 and not refused else "failed"
    method = "ssa" if server_side else "csa"
    entry = {"status": status, "args": args, "applyMethod": method}
    with history.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")
    if status == "failed":
        return result.returncode or 1
    (release_dir / f"{release}.yaml").write_text(result.stdout, encoding="utf-8")
    print(f'Release "{release}" has been upgraded. Happy Helming!')
    return 0


def _entries(history: Path) -> list[dict[str, Any]]:
    if not history.is_file():
        return []
    return [json.loads(line) for line in history.read_text().splitlines()]


def apply_method(args: list[str], entries: list[dict[str, Any]]) -> tuple[bool, str]:
    """Whether Helm 4.1.4 applies server-side, and its refusal of the flags if any: `auto`
    (the default) follows the last release's method, server-side for a new one, client-side for
    one Helm 3 wrote (no method recorded); --force-conflicts needs server-side apply (helm/helm
    pkg/action/upgrade.go getUpgradeServerSideValue, pkg/kube/client.go)."""
    option_value = option(args, "--server-side") or "auto"
    previous = next((e.get("applyMethod", "csa") for e in reversed(entries)
                     if e["status"] == "deployed"), None)  # fmt: skip
    if option_value == "auto":
        server_side = previous is None or previous == "ssa"
    else:
        server_side = option_value == "true"
    if "--force-conflicts" in args and not server_side:
        return server_side, "forceConflicts enabled when serverSideApply disabled"
    return server_side, ""


def _has(item: dict[str, Any], path: str) -> bool:
    found: Any = item
    for step in path.strip(".").split("."):
        if not isinstance(found, dict) or step not in found:
            return False
        found = found[step]
    return True


def applied(state: Path, rendered: str, namespace: str, args: list[str], server_side: bool) -> str:
    """What the API server refuses of the rendered objects (the access entry's RBAC, the
    escalation check, a server-side apply conflict), or "" after taking their fields."""
    access = Access(state)
    managers = read_json(state / "managers.json", {})
    force = "--force-conflicts" in args
    items = [i for i in yaml.safe_load_all(rendered) if isinstance(i, dict) and i.get("kind")]
    for item in items:
        kind, version = str(item["kind"]), str(item.get("apiVersion", ""))
        group = version.rpartition("/")[0]
        meta = item.get("metadata") or {}
        where = str(meta.get("namespace") or namespace)
        name = str(meta.get("name", ""))
        if not access.allowed("create", group, kind, where, name):
            scope = (
                "at the cluster scope" if kind in CLUSTER_KINDS else f'in the namespace "{where}"'
            )
            return (f'{plural(kind)}{"." + group if group else ""} "{name}" is forbidden: User '
                    f'(group "{access.group}") cannot create resource "{plural(kind)}" in API '
                    f'group "{group}" {scope}')  # fmt: skip
        refused = access.escalation(item, where)
        if refused:
            return refused
        owned = managers.get(f"{where}/{kind}/{name}", {})
        taken = {f: m for f, m in owned.items() if _has(item, f)}
        if taken and server_side and not force:
            field, manager = sorted(taken.items())[0]
            return (f"conflict occurred while applying object {where}/{name} {version}, "
                    f"Kind={kind}: Apply failed with {len(taken)} conflict: conflict with "
                    f'"{manager}" using {version}: {field}')  # fmt: skip
        for field in taken:  # overwritten (client-side) or taken over (--force-conflicts)
            del owned[field]
    if managers:
        (state / "managers.json").write_text(json.dumps(managers, indent=1))
    return ""


def metadata(state: Path, args: list[str]) -> int:
    """`helm get metadata RELEASE -o json`: the last deployed revision's applyMethod."""
    release = args[0]
    path = state / cluster(args) / (option(args, "--namespace", "-n") or "default")
    entries = [e for e in _entries(path / f"{release}.history.jsonl") if e["status"] == "deployed"]
    if not entries:
        print("Error: release: not found", file=sys.stderr)
        return 1
    print(json.dumps({"name": release, "applyMethod": entries[-1].get("applyMethod", "")}))
    return 0


def history(state: Path, args: list[str]) -> int:
    """`helm history RELEASE [--max N] [--output json]`: the renders recorded, as revisions
    (`superseded` for a deployed one followed by another deployed, as Helm records it)."""
    release = args[0]
    path = state / cluster(args) / (option(args, "--namespace", "-n") or "default")
    records = path / f"{release}.history.jsonl"
    if not records.is_file():
        print("Error: release: not found", file=sys.stderr)
        return 1
    entries: list[dict[str, Any]] = []
    for number, line in enumerate(records.read_text().splitlines(), 1):
        status = json.loads(line)["status"]
        if status == "deployed":
            for earlier in entries:
                if earlier["status"] == "deployed":
                    earlier["status"] = "superseded"
        entries.append({"revision": number, "status": status, "description": f"{status} render"})
    entries = entries[-int(option(args, "--max") or 256) :]
    if (option(args, "--output", "-o") or "table") == "json":
        print(json.dumps(entries))
    else:
        for entry in entries:
            print(f"{entry['revision']}\t{entry['status']}")
    return 0


def main(argv: list[str]) -> int:
    real = os.environ["REHEARSAL_HELM"]
    state = Path(os.environ["REHEARSAL_CLUSTERS"])
    if argv[:1] == ["upgrade"]:
        return upgrade(real, state, argv[1:])
    if argv[:1] == ["history"]:
        return history(state, argv[1:])
    if argv[:2] == ["get", "metadata"]:
        return metadata(state, argv[2:])
    os.execv(real, [real, *argv])
    return 127  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
