"""A stand-in for `aws`, `skopeo`, `helm`, `curl`, `npm` and `cdk` on the scripts' PATH
(installed under each of those names). It appends each call to $FAKE_LOG as one JSON line, and
answers from $FAKE_CONFIG:

    ecr_tags            {"<repository>:<tag>": "<digest>"}: tags already in ECR
    ecr_listed          [{"imageDigest", "imageTag"}, ...]: what `ecr list-images` lists
    missing_repos       ["<repository>"]: describe-images says RepositoryNotFoundException
    remote_manifests    {"<image reference>": "<raw manifest>"}: what skopeo inspect --raw sees
    push_digest         {"<destination>": "<digest>"}: what skopeo copy reports (default: the
                        archive's own digest, as --preserve-digests gives)
    old_skopeo          true: `skopeo copy --help` has no --preserve-digests
    caller              the ARN `aws sts get-caller-identity` reports (default: a CodeBuild role)
    list                [[summary, ...], ...]: ListChangeSets answers in turn (default: none)
    start               [response, ...]: StartChangeSet answers in turn ({"error": code} or JSON)
    describe            [response, ...]: DescribeChangeSet answers in turn, the last one repeated
    helm_upgrade_exit   helm upgrade's exit status
    history             [{"revision", "status", "description"}, ...]: what helm history -o json
                        shows before an upgrade ran; null: the release does not exist (default)
    history_after       the same after an upgrade ran (default: history)
    rollback_exit       helm rollback's exit status
    dependencies        {"<chart dependency>": "<status>"}: what helm dependency list shows
    curl_file           the file curl "downloads"
    npm_tarball         the file `npm pack` "downloads" (named as npm names it); `npm install
                        --global <tarball>` then makes `cdk --version` print the tarball's version
    fail                {"<tool> <first arg>": exit status}: fail that command
    cluster             what `aws eks describe-cluster` says of the endpoint: {"public": bool,
                        "private": bool, "cidrs": [...]} (default: public to 0.0.0.0/0)
    namespace_error     what `kubectl get namespace` prints on stderr before it exits 1
                        (default: the namespace exists)
    can_i               {"<resource>": "no" | "unknown"}: `kubectl auth can-i create` answers
                        (default: yes; unknown: the server doesn't have the resource type)
    kubeconfig_server   the API server `aws eks update-kubeconfig` writes into a kubeconfig a real
                        kubectl can read (default: a kubeconfig with no cluster)
    apply_method        what `helm get metadata -o json` says as applyMethod ("ssa", "csa", or
                        "" for a release Helm 3 wrote)
    upgrade_stderr      what a failing helm upgrade prints on stderr

With $REAL_HELM set, `helm package`, `helm template` and `helm show` run the real Helm (without
it, `helm template` renders nothing); `helm
registry login` succeeds, and `helm push PACKAGE oci://HOST/PREFIX` stores a Helm chart manifest
(its content layer: the package) at HOST/PREFIX/<name>:<version> in remote_manifests, as a
registry would. A started change set's JSON (`--change-set file://...`) is logged as "changeset".
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

RECORDED_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "KUBECONFIG",
    "REGISTRY_AUTH_FILE",
)


def main() -> int:
    tool = Path(sys.argv[0]).name
    argv = sys.argv[1:]
    config: dict[str, Any] = json.loads(Path(os.environ["FAKE_CONFIG"]).read_text())
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else _read_stdin(tool, argv)
    call = {
        "tool": tool,
        "argv": argv,
        "env": {name: os.environ.get(name) for name in RECORDED_ENV},
        "stdin": stdin,
        "files": _value_files(argv) if tool == "helm" else {},
        "changeset": _changeset(argv) if tool == "aws" else None,
    }
    with Path(os.environ["FAKE_LOG"]).open("a", encoding="utf-8") as log:
        log.write(json.dumps(call) + "\n")
    key = f"{tool} {argv[0] if argv else ''}"
    if key in config.get("fail", {}):
        print(f"{tool}: made to fail", file=sys.stderr)
        return int(config["fail"][key])
    tools = {
        "aws": aws,
        "skopeo": skopeo,
        "helm": helm,
        "curl": curl,
        "npm": npm,
        "cdk": cdk,
        "kubectl": kubectl,
    }
    return tools[tool](argv, config)


def _value_files(argv: list[str]) -> dict[str, Any]:
    """The JSON values files passed with -f (the scripts delete them when they exit)."""
    found = {}
    for flag, value in itertools.pairwise(argv):
        if flag == "-f" and value.endswith(".json") and Path(value).is_file():
            found[value] = json.loads(Path(value).read_text())
    return found


def _changeset(argv: list[str]) -> Any:
    """The change set a start-change-set call sends (the script deletes its file when it exits)."""
    if argv[:2] != ["marketplace-catalog", "start-change-set"] or "--change-set" not in argv:
        return None
    return json.loads(Path(option(argv, "--change-set").removeprefix("file://")).read_text())


def _read_stdin(tool: str, argv: list[str]) -> str:
    # Only the commands that read standard input in the scripts do so here.
    if (tool == "skopeo" and argv[:1] == ["login"]) or (
        tool == "helm" and argv[:2] == ["registry", "login"]
    ):
        return sys.stdin.read()
    return ""


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def next_answer(config: dict[str, Any], name: str) -> Any:
    state_path = Path(os.environ["FAKE_LOG"]).with_suffix(".state")
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    index = state.get(name, 0)
    state[name] = index + 1
    state_path.write_text(json.dumps(state))
    answers = config[name]
    return answers[min(index, len(answers) - 1)]


def aws(argv: list[str], config: dict[str, Any]) -> int:
    command = argv[:2]
    if command == ["ecr", "get-login-password"]:
        print("fake-password")
    elif command == ["ecr", "describe-images"]:
        repository = option(argv, "--repository-name")
        tag = option(argv, "--image-ids").removeprefix("imageTag=")
        if repository in config.get("missing_repos", []):
            return error("RepositoryNotFoundException", "DescribeImages", "no such repository")
        digest = config.get("ecr_tags", {}).get(f"{repository}:{tag}")
        if digest is None:
            return error(
                "ImageNotFoundException",
                "DescribeImages",
                f"The image with imageId {{imageDigest:'null', imageTag:'{tag}'}} does not exist "
                f"within the repository with name '{repository}' in the registry with id "
                "'111111111111'",
            )
        print(digest)
    elif command == ["sts", "get-caller-identity"]:
        print(config.get("caller", "arn:aws:sts::111111111111:assumed-role/codebuild/AWSCodeBuild"))
    elif command == ["sts", "assume-role"]:
        print("ASIAFAKEKEY\tfake-secret\tfake-session-token")
    elif command == ["eks", "describe-cluster"]:
        cluster = {"public": True, "private": False, "cidrs": ["0.0.0.0/0"]}
        cluster.update(config.get("cluster", {}))
        cluster["endpoint"] = "https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
        print(json.dumps(cluster))
    elif command == ["eks", "update-kubeconfig"]:
        server = config.get("kubeconfig_server")
        if server:  # a kubeconfig a real kubectl can use (a token: it never gets that far)
            context = option(argv, "--alias")
            Path(option(argv, "--kubeconfig")).write_text(
                json.dumps(
                    {
                        "apiVersion": "v1",
                        "kind": "Config",
                        "clusters": [{"name": "c", "cluster": {"server": server}}],
                        "users": [{"name": "u", "user": {"token": "stand-in"}}],
                        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
                    }
                )
            )
        else:
            Path(option(argv, "--kubeconfig")).write_text("apiVersion: v1\nkind: Config\n")
    elif command == ["ecr", "batch-get-image"]:  # running.py marks what was deployed
        digest = option(argv, "--image-ids").removeprefix("imageDigest=")
        manifest = {"imageManifest": "{}", "imageManifestMediaType": "application/json"}
        print(json.dumps({"images": [{"imageId": {"imageDigest": digest}, **manifest}]}))
    elif command in (["ecr", "put-image"], ["ecr", "batch-delete-image"]):
        print("{}")
    elif command == ["ecr", "list-images"]:
        print(json.dumps({"imageIds": config.get("ecr_listed", [])}))
    elif command == ["marketplace-catalog", "list-change-sets"]:
        listed = next_answer(config, "list") if "list" in config else []
        print(json.dumps({"ChangeSetSummaryList": listed}))
    elif command == ["marketplace-catalog", "start-change-set"]:
        return answer(next_answer(config, "start"), "StartChangeSet")
    elif command == ["marketplace-catalog", "describe-change-set"]:
        return answer(next_answer(config, "describe"), "DescribeChangeSet")
    else:
        print(f"fake aws: unexpected {argv}", file=sys.stderr)
        return 2
    return 0


def answer(response: dict[str, Any], operation: str) -> int:
    if "error" in response:
        return error(response["error"], operation, "made to fail")
    print(json.dumps(response))
    return 0


def error(code: str, operation: str, message: str) -> int:
    print(
        f"\nAn error occurred ({code}) when calling the {operation} operation: {message}",
        file=sys.stderr,
    )
    return 254


def skopeo(argv: list[str], config: dict[str, Any]) -> int:
    if argv == ["copy", "--help"]:
        flags = "" if config.get("old_skopeo") else "      --preserve-digests   Preserve digests\n"
        print(f"Usage:\n  skopeo copy [command options] SOURCE-IMAGE DESTINATION-IMAGE\n{flags}")
    elif argv == ["--version"]:
        print("skopeo version 1.4.1")
    elif argv[:1] == ["login"]:
        return 0
    elif argv[:2] == ["inspect", "--raw"] and argv[2].startswith("oci:"):
        sys.stdout.buffer.write(_layout_manifest(argv[2], config))
    elif argv[:2] == ["inspect", "--raw"]:
        manifest = config.get("remote_manifests", {}).get(argv[2].removeprefix("docker://"))
        if manifest is None:
            print("FATA[0001] Error parsing image name: manifest unknown", file=sys.stderr)
            return 1
        sys.stdout.write(manifest)
    elif argv[:1] == ["--policy"] and argv[2:3] == ["copy"]:
        source, destination = argv[-2], argv[-1].removeprefix("docker://")
        manifest = _layout_manifest(source, config)
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        digest = config.get("push_digest", {}).get(destination, digest)
        Path(option(argv, "--digestfile")).write_text(digest)
    else:
        print(f"fake skopeo: unexpected {argv}", file=sys.stderr)
        return 2
    return 0


def _layout_manifest(source: str, config: dict[str, Any]) -> bytes:
    """The bytes of image NAME's manifest in the OCI layout of `oci:LAYOUT:NAME`, as skopeo
    reads it (`layout_reads` in the config: what a skopeo that reads another image returns)."""
    layout, name = source.removeprefix("oci:").rsplit(":", 1)
    reads: dict[str, str] = config.get("layout_reads", {})
    if name in reads:
        return reads[name].encode()
    index = json.loads((Path(layout) / "index.json").read_text())
    [digest] = [
        entry["digest"]
        for entry in index["manifests"]
        if entry["annotations"]["org.opencontainers.image.ref.name"] == name
    ]
    return (Path(layout) / "blobs" / "sha256" / str(digest).removeprefix("sha256:")).read_bytes()


def helm(argv: list[str], config: dict[str, Any]) -> int:
    real = os.environ.get("REAL_HELM")
    if real and argv[:1] in (["package"], ["template"], ["show"]):
        return subprocess.run([real, *argv], check=False).returncode
    if argv[:2] == ["registry", "login"]:
        return 0
    if argv[:1] == ["template"]:
        return 0  # without the real Helm: an empty rendering
    if argv[:1] == ["push"]:
        return push_chart(Path(argv[1]), argv[2].removeprefix("oci://"))
    if argv[:1] == ["version"]:
        print("v4.1.4+g05fa379")
    elif argv[:1] == ["upgrade"]:
        status = int(config.get("helm_upgrade_exit", 0))
        if status:
            message = "Error: UPGRADE FAILED: context deadline exceeded"
            print(config.get("upgrade_stderr", message), file=sys.stderr)
        return status
    elif argv[:2] == ["get", "metadata"]:
        method = config.get("apply_method", "ssa")
        print(json.dumps({"name": argv[2], **({"applyMethod": method} if method else {})}))
    elif argv[:1] == ["history"] and "json" in argv:
        upgraded = any(
            json.loads(line)["argv"][:1] == ["upgrade"]
            for line in Path(os.environ["FAKE_LOG"]).read_text().splitlines()
        )
        entries = config.get("history")
        if upgraded:
            entries = config.get("history_after", entries)
        if entries is None:
            print("Error: release: not found", file=sys.stderr)
            return 1
        print(json.dumps(entries))
    elif argv[:1] == ["history"]:
        print("REVISION\tSTATUS\n1\tdeployed\n2\tfailed\n3\tdeployed")
    elif argv[:1] == ["rollback"]:
        status = int(config.get("rollback_exit", 0))
        if status:
            print("Error: timed out waiting for the condition", file=sys.stderr)
        return status
    elif argv[:2] == ["dependency", "list"]:
        print("NAME \tVERSION\tREPOSITORY                        \tSTATUS")
        for name, status in config.get("dependencies", {}).items():
            print(f"{name}\t1.0.0  \thttps://charts.example.com/stable\t{status}")
        print()
    elif argv[:2] == ["dependency", "build"]:
        return 0
    else:
        print(f"fake helm: unexpected {argv}", file=sys.stderr)
        return 2
    return 0


def kubectl(argv: list[str], config: dict[str, Any]) -> int:
    if argv[:2] == ["get", "namespace"]:
        error = config.get("namespace_error")
        if error:
            print(error, file=sys.stderr)
            return 1
        print(f"namespace/{argv[2]}")
    elif argv[:3] == ["auth", "can-i", "create"]:
        answer = config.get("can_i", {}).get(argv[3], "yes")
        if answer == "unknown":
            print(f"Warning: the server doesn't have a resource type '{argv[3]}'", file=sys.stderr)
            answer = "no"
        print(answer)
        return 0 if answer == "yes" else 1
    else:
        print(f"fake kubectl: unexpected {argv}", file=sys.stderr)
        return 2
    return 0


def push_chart(package: Path, target: str) -> int:
    """Store a chart manifest for the package, as `helm push` to an OCI registry does."""
    name, _, version = package.name.removesuffix(".tgz").rpartition("-")
    layer = "sha256:" + hashlib.sha256(package.read_bytes()).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json"},
            "layers": [
                {
                    "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                    "digest": layer,
                }
            ],
        }
    )
    path = Path(os.environ["FAKE_CONFIG"])
    config = json.loads(path.read_text())
    config.setdefault("remote_manifests", {})[f"{target}/{name}:{version}"] = manifest
    path.write_text(json.dumps(config))
    print(f"Pushed: {target}/{name}:{version}")
    print("Digest: sha256:" + hashlib.sha256(manifest.encode()).hexdigest())
    return 0


def curl(argv: list[str], config: dict[str, Any]) -> int:
    shutil.copyfile(config["curl_file"], option(argv, "--output"))
    return 0


def npm(argv: list[str], config: dict[str, Any]) -> int:
    installed = Path(os.environ["FAKE_LOG"]).with_suffix(".cdk")
    if argv[:1] == ["pack"]:
        version = argv[1].removeprefix("aws-cdk@")
        shutil.copyfile(config["npm_tarball"], f"aws-cdk-{version}.tgz")
    elif argv[:2] == ["install", "--global"]:
        installed.write_text(Path(argv[-1]).name.removeprefix("aws-cdk-").removesuffix(".tgz"))
    else:
        print(f"fake npm: unexpected {argv}", file=sys.stderr)
        return 2
    return 0


def cdk(argv: list[str], config: dict[str, Any]) -> int:
    installed = Path(os.environ["FAKE_LOG"]).with_suffix(".cdk")
    if argv != ["--version"] or not installed.exists():
        print(f"fake cdk: unexpected {argv}", file=sys.stderr)
        return 2
    print(f"{installed.read_text()} (build 0000000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
