"""The `kubectl` the deploy stages run: the cluster stand-in (tests/rehearsal/cluster.py) answers.

No Kubernetes API server can run here. deploy.sh's preflight asks kubectl two things, and the
rehearsal's tests a third; each is answered from the cluster's state folder as the API server
would, and anything else is refused (exit 2), so nothing passes unanswered:

- `get namespace NS`: `namespace/NS` when an admin applied it (the environment's access file),
  else the API server's NotFound;
- `auth can-i create RESOURCE --namespace NS`: `yes` or `no` for the access entry's group, by
  the RBAC an admin applied (`Access.allowed`);
- `scale KIND/NAME --replicas=N --namespace NS`: a client other than Helm takes
  `.spec.replicas` of that object (its field manager is recorded, as the API server's
  managedFields would; the next server-side apply conflicts with it).

Environment: REHEARSAL_CLUSTERS (the state folder), KUBECONFIG (the cluster is the one the kube
context names, as for helm_shim.py).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.rehearsal.cluster import CLUSTER_KINDS, Access, folder, read_json
from tests.rehearsal.helm_shim import cluster, option

SCALE_MANAGER = "kubectl-scale"  # how kubectl names itself as the field manager of `scale`


def kind_of(resource: str) -> tuple[str, str]:
    """(API group, Kind) of `kubectl auth can-i`'s `<kind in lower case>[.<group>]`."""
    lower, _, group = resource.partition(".")
    known = {kind.lower(): kind for kind in CLUSTER_KINDS}
    known.update({"role": "Role", "rolebinding": "RoleBinding"})
    return group, known.get(lower, lower)


def main(argv: list[str]) -> int:
    # kubectl names the kube context `--context` (helm: `--kube-context`).
    args = [a.replace("--context", "--kube-context", 1) if a.startswith("--context") else a
            for a in argv]  # fmt: skip
    state = folder(Path(os.environ["REHEARSAL_CLUSTERS"]), cluster(args, raw=True))
    namespace = option(argv, "--namespace", "-n") or "default"
    access = Access(state)
    if argv[:2] == ["get", "namespace"]:
        if argv[2] in access.namespaces():
            print(f"namespace/{argv[2]}")
            return 0
        print(f'Error from server (NotFound): namespaces "{argv[2]}" not found', file=sys.stderr)
        return 1
    if argv[:3] == ["auth", "can-i", "create"]:
        group, kind = kind_of(argv[3])
        answer = access.allowed("create", group, kind, namespace)
        print("yes" if answer else "no")
        return 0 if answer else 1
    if argv[:1] == ["scale"]:
        kind, _, name = argv[1].partition("/")
        managers = read_json(state / "managers.json", {})
        key = f"{namespace}/{kind.capitalize()}/{name}"
        managers.setdefault(key, {})[".spec.replicas"] = SCALE_MANAGER
        state.mkdir(parents=True, exist_ok=True)
        (state / "managers.json").write_text(json.dumps(managers, indent=1))
        print(f"{kind}/{name} scaled")
        return 0
    print(f"[cluster stand-in] kubectl {' '.join(argv)}: not answered here", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
