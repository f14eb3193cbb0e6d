"""The pipeline as a flow: what a release passes through, in order, from CI to AWS Marketplace.

One model of the generated pipeline that both the diagram (pipelinegen.graph.mermaid) and the
risk rules of `diff` (pipelinegen.diff.rules) read, so the picture a reviewer sees and the
approvals the rules count are the same. It mirrors what the generated files do:

- CI (`pipelinegen-ci.yml`) runs the checks and image builds on pull requests and the default
  branch; the release workflow starts on the release tags.
- The release workflow refuses a tag off the default branch and runs CI again on the tagged
  commit (unless the spec relaxes these gates), builds every image, and uploads the handoff zip
  by OIDC, from its GitHub environment, to the fixed key.
- The CodePipeline (templates/cdk/stacks/pipeline.py) runs Source → UpdatePipeline (synth and
  self-mutation in one action) → Release (contract check, push to ECR), then one stage per
  environment in promotion order (a manual approval first where asked, then Helm), and
  Marketplace right after the environment that sets `marketplace: true`. Stages run one after
  another, so an approval gates every stage after it.
- With `delivery: github` the release workflow does the same itself after packaging: `push`,
  then a job per environment in promotion order (the GitHub environment's required reviewers
  where the spec asks for an approval), and Marketplace in the publishing environment's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelinegen import naming
from pipelinegen.spec.models import CommandCheck, Spec

# The CodePipeline stages before the first environment, as the pipeline stack names them.
PIPELINE_STAGES = ("Source", "UpdatePipeline", "Release")


@dataclass(frozen=True, order=True)
class Target:
    """Where a deploy lands: an EKS cluster in an AWS account and region."""

    account: str
    region: str
    cluster: str


@dataclass(frozen=True)
class Deploy:
    """One environment's stage.

    `gates` names the environments whose manual approval a release has passed when this
    deploy runs, its own approval included, in pipeline order.
    """

    environment: str
    target: Target
    namespace: str
    approval: bool
    gates: tuple[str, ...]


@dataclass(frozen=True)
class Marketplace:
    """Publishing to AWS Marketplace, after the deploy of `after` (so behind its gates)."""

    product_id: str
    after: str
    gates: tuple[str, ...]


@dataclass(frozen=True)
class Flow:
    """The whole pipeline one spec compiles to."""

    project: str
    delivery: str  # "aws" (the handoff and the pipeline) or "github" (the release workflow)
    repository: str
    default_branch: str
    release_tags: tuple[str, ...]
    release_gates: tuple[str, ...]  # what a tag must pass before the upload, in order
    release_environment: str
    checks: tuple[str, ...]
    images: tuple[str, ...]
    tooling: Target  # the account and region of the bucket and pipeline (cluster: "")
    bucket: str
    key: str
    deploys: tuple[Deploy, ...]
    marketplace: Marketplace | None

    def deploy(self, environment: str) -> Deploy | None:
        return next((d for d in self.deploys if d.environment == environment), None)

    def gates_to(self, target: Target) -> tuple[str, ...] | None:
        """The fewest approvals a release passes before it reaches `target` (the first deploy
        there), or None when nothing deploys there."""
        reaching = [d.gates for d in self.deploys if d.target == target]
        return min(reaching, key=len) if reaching else None

    def gates_to_account(self, account: str) -> tuple[str, ...] | None:
        """Like gates_to, for any cluster in `account`."""
        reaching = [d.gates for d in self.deploys if d.target.account == account]
        return min(reaching, key=len) if reaching else None


def _release_gates(spec: Spec) -> tuple[str, ...]:
    gates = [f"on {spec.github.default_branch}"] if spec.release.require_default_branch else []
    return (*gates, "CI passed") if spec.release.require_ci else tuple(gates)


def flow(spec: Spec) -> Flow:
    """The flow `spec` compiles to (pure: the spec is already validated)."""
    deploys: list[Deploy] = []
    gates: tuple[str, ...] = ()
    marketplace = None
    for environment in spec.environments:
        if environment.approval:
            gates = (*gates, environment.name)
        target = Target(
            naming.environment_account(spec, environment),
            naming.environment_region(spec, environment),
            environment.cluster,
        )
        deploys.append(
            Deploy(environment.name, target, environment.namespace, environment.approval, gates)
        )
        if environment.marketplace and spec.marketplace is not None:
            marketplace = Marketplace(spec.marketplace.product_id, environment.name, gates)
    return Flow(
        project=spec.name,
        delivery=spec.delivery,
        repository=spec.github.repository,
        default_branch=spec.github.default_branch,
        release_tags=tuple(spec.github.release_tags),
        release_gates=_release_gates(spec),
        release_environment=spec.release.environment,
        checks=tuple(
            f"{c.name}" if isinstance(c, CommandCheck) else f"{c.name} ({c.preset})"
            for c in spec.checks
        ),
        images=tuple(image.name for image in spec.images),
        tooling=Target(spec.aws.account, spec.aws.region, ""),
        bucket=naming.release_bucket(spec),
        key=naming.release_key(spec),
        deploys=tuple(deploys),
        marketplace=marketplace,
    )
