"""What a change means, and how risky it is: one table of rules (RULES), each with a test.

**high** is for what lets something reach an environment, an AWS account or AWS Marketplace with
fewer approvals before it than before, or widens who may start a release: an approval removed,
approvals reordered so a stage runs before them, an environment retargeted to another
environment's cluster or account, Marketplace publishing moved ahead of an approval, a new
trusted account, tag pattern or repository, and committed generated files that are not what the
spec compiles to (what runs is what is committed). The approvals before each stage come from
pipelinegen.graph.flow, the same model the diagram draws. **medium** changes what is deployed or
where without reaching past an approval; **low** changes how CI builds and checks.

A rule is a row: an id (stable, in the JSON output), its risk and topic, one line on what it
catches (docs/diff.md's table is generated from it), and a function from both sides to messages.
Messages keep the values apart from the wording (`Message`), so every report can quote them in
its own way (Markdown puts them in code spans, which nothing inside can leave).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pipelinegen import naming
from pipelinegen.diff.chart import ChartDiff, ObjectChange
from pipelinegen.diff.generated import Drift
from pipelinegen.graph.flow import Flow, flow
from pipelinegen.render.cdk import resolved
from pipelinegen.render.github.install import requirement
from pipelinegen.spec.models import CommandCheck, Spec

Risk = Literal["high", "medium", "low"]
RISK_ORDER: dict[Risk, int] = {"high": 0, "medium": 1, "low": 2}
Topic = Literal[
    "generated",
    "approval",
    "trust",
    "marketplace",
    "environment",
    "image",
    "check",
    "extension",
    "setting",
    "chart",
]


@dataclass(frozen=True)
class Message:
    """Wording with `{}` where each value goes; the values stay raw until a report quotes them."""

    template: str
    values: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return self.template.format(*(f"'{value}'" for value in self.values))


def say(template: str, *values: object) -> Message:
    return Message(template, tuple(map(str, values)))


@dataclass(frozen=True)
class Change:
    risk: Risk
    topic: Topic
    rule: str
    said: Message

    @property
    def message(self) -> str:
        return self.said.text


@dataclass(frozen=True)
class View:
    """One side: the spec (None when missing or invalid), its flow, and the spec resolved as
    the stacks read it (pipeline.json), plus what only CI sees."""

    spec: Spec | None
    flow: Flow | None
    resolved: dict[str, Any] = field(hash=False)
    extension: str | None = None  # the team's extend.py, as committed

    @classmethod
    def of(cls, spec: Spec | None, *, extension: str | None = None) -> View:
        if spec is None:
            return cls(None, None, {}, extension)
        view = resolved(spec, spec_sha256="")
        view["images"] = {image.name: image.model_dump(mode="json") for image in spec.images}
        view["third_party"] = {
            image.name: image.model_dump(mode="json") for image in spec.third_party_images
        }
        view["checks"] = {check.name: check.model_dump(mode="json") for check in spec.checks}
        view["check_kinds"] = {
            check.name: "command" if isinstance(check, CommandCheck) else check.preset
            for check in spec.checks
        }
        view["runner"] = spec.github.runner
        view["default_branch"] = spec.github.default_branch
        view["chart"] = spec.helm.chart
        view["release_gates"] = {
            "require_ci": spec.release.require_ci,
            "require_default_branch": spec.release.require_default_branch,
        }
        view["patches"] = {
            target: [operation.operation() for operation in operations]
            for target, operations in spec.patches.items()
        }
        view["install"] = requirement(spec)
        view["fail_on"] = spec.pull_requests.fail_on
        return cls(spec, flow(spec), view, extension)

    def environments(self) -> dict[str, dict[str, Any]]:
        return {e["name"]: e for e in self.resolved.get("environments", [])}

    def get(self, key: str, default: Any = None) -> Any:
        return self.resolved.get(key, default)


@dataclass(frozen=True)
class Delta:
    """What a rule looks at: both sides, and the head revision's drift from its compile."""

    old: View
    new: View
    drift: Drift = field(default_factory=Drift)
    chart: ChartDiff = field(default_factory=ChartDiff)  # the chart rendered per environment

    @property
    def both(self) -> bool:
        return self.old.spec is not None and self.new.spec is not None


Finder = Callable[[Delta], Iterable[Message]]


@dataclass(frozen=True)
class Rule:
    id: str
    risk: Risk
    topic: Topic
    catches: str  # one line for docs/diff.md's table
    find: Finder


def summarize(delta: Delta) -> list[Change]:
    """Every change from old to new (either may be missing), riskiest first, in table order."""
    changes = [
        Change(rule.risk, rule.topic, rule.id, message)
        for rule in RULES
        for message in rule.find(delta)
    ]
    return sorted(changes, key=lambda change: RISK_ORDER[change.risk])


# --- generated files ----------------------------------------------------------------------------


def _hand_edited(delta: Delta) -> Iterator[Message]:
    edited = [change.path for change in delta.drift.edited]
    if edited and delta.drift.recompile:
        yield say(
            "the committed generated files were compiled from another version of the spec, or "
            "edited by hand: not what the spec compiles to (run pipelinegen compile): {}",
            ", ".join(edited),
        )
        return
    for path in edited:
        yield say("{} is edited by hand: not what the spec compiles to", path)


def _missing(delta: Delta) -> Iterator[Message]:
    for path in delta.drift.missing:
        yield say("{} is missing: the spec compiles to it (run pipelinegen compile)", path)


def _unread(delta: Delta) -> Iterator[Message]:
    for path in delta.drift.unread:
        yield say(
            "{} is a symbolic link or not UTF-8 text: not what the spec compiles to (not read)",
            path,
        )


def _foreign(delta: Delta) -> Iterator[Message]:
    for path in delta.drift.extra:
        yield say(
            "{} is not generated by pipelinegen, but sits among what it generates "
            "(it runs in CI or ships in the release)",
            path,
        )


# --- approvals: what a release passes before each stage -----------------------------------------


def _approvals(gates: tuple[str, ...]) -> str:
    return ", ".join(gates) if gates else "none"


def _approval_removed(delta: Delta) -> Iterator[Message]:
    old, new = delta.old.environments(), delta.new.environments()
    for name, environment in old.items():
        if environment["approval"] and name in new and not new[name]["approval"]:
            yield say("environment {} no longer waits for a manual approval before deploying", name)


def _fewer_approvals_before(delta: Delta) -> Iterator[Message]:
    """Approvals removed or moved so an environment runs after fewer of them (its own approval
    is _approval_removed's)."""
    if not (delta.old.flow and delta.new.flow):
        return
    for deploy in delta.new.flow.deploys:
        before = delta.old.flow.deploy(deploy.environment)
        if before is None:
            continue
        old_gates = tuple(g for g in before.gates if g != deploy.environment)
        new_gates = tuple(g for g in deploy.gates if g != deploy.environment)
        if len(new_gates) < len(old_gates):
            yield say(
                "environment {} now deploys after fewer approvals: {} (before: {})",
                deploy.environment,
                _approvals(new_gates),
                _approvals(old_gates),
            )


def _retargeted_past_approvals(delta: Delta) -> Iterator[Message]:
    """An environment pointed at a cluster (or account) that other environments reached only
    after more approvals: what it deploys now lands there with fewer."""
    if not (delta.old.flow and delta.new.flow):
        return
    old = delta.old.flow
    for deploy in delta.new.flow.deploys:
        before = old.deploy(deploy.environment)
        target = deploy.target
        if before is not None and before.target == target:
            continue
        reached = old.gates_to(target)
        if reached is not None and len(deploy.gates) < len(reached):
            yield say(
                "environment {} now deploys to cluster {} (account {}, {}), which releases "
                "reached only after approvals {}; now after {}",
                deploy.environment,
                target.cluster,
                target.account,
                target.region,
                _approvals(reached),
                _approvals(deploy.gates),
            )
            continue
        if before is not None and before.target.account == target.account:
            continue
        reached = old.gates_to_account(target.account)
        if reached is not None and len(deploy.gates) < len(reached):
            yield say(
                "environment {} now deploys into account {}, which releases reached only after "
                "approvals {}; now after {}",
                deploy.environment,
                target.account,
                _approvals(reached),
                _approvals(deploy.gates),
            )


def _moved(old: Flow, new: Flow) -> set[str]:
    """Environments on both sides whose place among the environments on both sides changed."""
    before = [d.environment for d in old.deploys if new.deploy(d.environment)]
    after = [d.environment for d in new.deploys if old.deploy(d.environment)]
    return {name for name, was in zip(after, before, strict=True) if name != was}


_WHOSE_APPROVAL = {
    "github": "its approval is the required reviewers of the GitHub environment of its own "
    "name, which GitHub creates on first use with none",
    "aws": "releases reach that cluster through its own stage and approval",
}


def _approved_cluster_reached(delta: Delta) -> Iterator[Message]:
    """A new, renamed or reordered environment (or one moved) that deploys where an approved
    environment deploys (account, region and cluster): the approval that guarded that cluster
    is no longer the one in front of it. Counting approvals cannot see this (a renamed `prod`
    keeps one), so the rule compares the environments' names and places."""
    if not (delta.old.flow and delta.new.flow):
        return
    old, new = delta.old.flow, delta.new.flow
    approved = {d.target: d.environment for d in reversed(old.deploys) if d.approval}
    moved = _moved(old, new)
    for deploy in new.deploys:
        owner = approved.get(deploy.target)
        before = old.deploy(deploy.environment)
        if owner is None or (
            before is not None and owner == deploy.environment and deploy.environment not in moved
        ):
            continue
        if before is None:
            why = "is new" if new.deploy(owner) else "is new (it replaces {})"
        elif deploy.environment in moved:
            why = "moves in the promotion order"
        elif before.target != deploy.target:
            why = "now deploys there"
        else:
            continue
        values: tuple[str, ...] = (deploy.environment,)
        if "{}" in why:
            values += (owner,)
        target = deploy.target
        yield say(
            f"environment {{}} {why} and deploys to cluster {{}} (account {{}}, {{}}), where "
            f"approved environment {{}} deployed: {_WHOSE_APPROVAL[new.delivery]}",
            *values,
            target.cluster,
            target.account,
            target.region,
            owner,
        )


def _marketplace_ahead(delta: Delta) -> Iterator[Message]:
    old = delta.old.flow.marketplace if delta.old.flow else None
    new = delta.new.flow.marketplace if delta.new.flow else None
    if old and new and len(new.gates) < len(old.gates):
        yield say(
            "AWS Marketplace publishing now runs after {} (approvals: {}); before, after {} "
            "(approvals: {})",
            new.after,
            _approvals(new.gates),
            old.after,
            _approvals(old.gates),
        )


def _approval_added(delta: Delta) -> Iterator[Message]:
    old, new = delta.old.environments(), delta.new.environments()
    for name, environment in new.items():
        if environment["approval"] and name in old and not old[name]["approval"]:
            yield say("environment {} now waits for a manual approval", name)


# --- trust --------------------------------------------------------------------------------------


def _accounts(view: View) -> dict[str, str | None]:
    """Account → the first environment that uses it (None: the tooling account)."""
    found: dict[str, str | None] = {}
    if view.get("account"):
        found[view.get("account")] = None
    for environment in view.get("environments", []):
        found.setdefault(environment["account"], environment["name"])
    return found


def _new_accounts(delta: Delta) -> Iterator[Message]:
    before, after = _accounts(delta.old), _accounts(delta.new)
    for account in sorted(set(after) - set(before)):
        environment = after[account]
        if environment is None:
            yield say("AWS account {} is newly trusted (the tooling account)", account)
        else:
            yield say("AWS account {} is newly trusted (environment {})", account, environment)


def _new_regions(delta: Delta) -> Iterator[Message]:
    seen = {e["region"] for e in delta.old.get("environments", [])} | {delta.old.get("region")}
    for environment in delta.new.get("environments", []):
        if environment["region"] not in seen:
            yield say(
                "region {} is newly used (environment {})",
                environment["region"],
                environment["name"],
            )
            seen.add(environment["region"])


def _tags(view: View) -> list[str]:
    return list(view.get("github", {}).get("release_tags", []))


def _tags_added(delta: Delta) -> Iterator[Message]:
    before = _tags(delta.old)
    for pattern in _tags(delta.new):
        if pattern not in before:
            yield say("tags matching {} now start releases and may assume the upload role", pattern)


def _tags_removed(delta: Delta) -> Iterator[Message]:
    after = _tags(delta.new)
    if delta.both:
        for pattern in _tags(delta.old):
            if pattern not in after:
                yield say("tags matching {} no longer start releases", pattern)


def _github_changed(key: str, what: str, *more: tuple[str, str]) -> Finder:
    def find(delta: Delta) -> Iterator[Message]:
        before, after = delta.old.get("github", {}), delta.new.get("github", {})
        for name, noun in ((key, what), *more):
            if delta.both and before.get(name) != after.get(name):
                yield say(
                    f"the trusted {noun} changes from {{}} to {{}}", before[name], after[name]
                )

    return find


def _trusted(view: View) -> Message:
    """What one delivery mode lets GitHub and AWS principals do, in words."""
    github = view.get("github", {})
    environments = [e["name"] for e in view.get("environments", [])]
    if view.get("delivery") == "github":
        marketplace = [e["name"] for e in view.get("environments", []) if e["marketplace"]]
        published = " and to publish to AWS Marketplace (environment {})" if marketplace else ""
        return say(
            "GitHub Actions delivers: the release workflow's jobs assume roles by OIDC to push "
            "to ECR (GitHub environment {}), to deploy with Helm (GitHub environments {}, one "
            f"deploy role each){published}",
            github.get("release_environment"),
            ", ".join(environments),
            *marketplace,
        )
    return say(
        "AWS CodePipeline delivers: GitHub OIDC may only upload the release zip to {} (GitHub "
        "environment {}); each environment's deploy role trusts the pipeline's CodeBuild "
        "project in account {}",
        view.get("release", {}).get("bucket"),
        github.get("release_environment"),
        view.get("account"),
    )


def _delivery_mode(delta: Delta) -> Iterator[Message]:
    """One change for a switch between delivery modes, with what each side trusts."""
    before, after = delta.old.get("delivery"), delta.new.get("delivery")
    if delta.both and before != after:
        old, new = _trusted(delta.old), _trusted(delta.new)
        yield Message(
            f"delivery moves from {{}} to {{}}. Before: {old.template}. Now: {new.template}. "
            "The other mode's stacks stay until removed by hand (see the migration note in "
            "pipelinegen's documentation: Concepts, delivery modes)",
            (before, after, *old.values, *new.values),
        )


_GATES = {
    "require_ci": "wait for the CI checks",
    "require_default_branch": "have to be on the default branch",
}


def _release_gates(delta: Delta) -> Iterator[Message]:
    """A release's gates before the upload role is assumed (the spec's `release.require_*`)."""
    before, after = delta.old.get("release_gates", {}), delta.new.get("release_gates", {})
    for key, what in _GATES.items():
        if delta.both and before.get(key) != after.get(key):
            now = "now" if after.get(key) else "no longer"
            value = "true" if after.get(key) else "false"
            yield say(f"releases {now} {what} (release.{key}: {{}})", value)


def _install_source(delta: Delta) -> Iterator[Message]:
    """Every generated job that runs pipelinegen (the stale check, this diff) installs it from
    here: another source is other code running with the jobs' tokens."""
    before, after = delta.old.get("install"), delta.new.get("install")
    if delta.both and before != after:
        yield say("CI now installs pipelinegen as {} (before: {})", after, before)


_RISK_NAMES = ("high", "medium", "low", "none")


def _pr_gate(*, weaker: bool) -> Finder:
    """The pull-request job's `--fail-on` (`pull_requests.fail_on`): weaker lets more through."""

    def find(delta: Delta) -> Iterator[Message]:
        before, after = delta.old.get("fail_on"), delta.new.get("fail_on")
        if not delta.both or before == after:
            return
        if (_RISK_NAMES.index(after) > _RISK_NAMES.index(before)) == weaker:
            yield say(
                "the pull-request diff job now fails on {} (pull_requests.fail_on; before: {})",
                after,
                before,
            )

    return find


# --- Marketplace --------------------------------------------------------------------------------


def _marketplace_on(delta: Delta) -> Iterator[Message]:
    before, after = delta.old.get("marketplace"), delta.new.get("marketplace")
    if after and not before:
        yield say("AWS Marketplace publishing is turned on (product {})", after["product_id"])


def _marketplace_off(delta: Delta) -> Iterator[Message]:
    if delta.old.get("marketplace") and not delta.new.get("marketplace"):
        yield say("AWS Marketplace publishing is turned off")


def _marketplace_product(delta: Delta) -> Iterator[Message]:
    before, after = delta.old.get("marketplace"), delta.new.get("marketplace")
    if before and after and before["product_id"] != after["product_id"]:
        yield say(
            "AWS Marketplace publishing moves to another product: {} to {}",
            before["product_id"],
            after["product_id"],
        )


def _marketplace_settings(delta: Delta) -> Iterator[Message]:
    before, after = delta.old.get("marketplace"), delta.new.get("marketplace")
    if before and after:
        changed = sorted(k for k in after if k != "product_id" and before.get(k) != after.get(k))
        if changed:
            yield say("Marketplace settings change: {}", ", ".join(changed))


def _marketplace_moved(delta: Delta) -> Iterator[Message]:
    old = delta.old.flow.marketplace if delta.old.flow else None
    new = delta.new.flow.marketplace if delta.new.flow else None
    if old and new and old.after != new.after and len(new.gates) >= len(old.gates):
        yield say(
            "AWS Marketplace publishing moves from after {} to after {}", old.after, new.after
        )


# --- environments -------------------------------------------------------------------------------


def _environments_added(delta: Delta) -> Iterator[Message]:
    before, after = delta.old.environments(), delta.new.environments()
    for name in sorted(after.keys() - before.keys()):
        environment = after[name]
        yield say(
            "environment {} is added (account {}, cluster {})",
            name,
            environment["account"],
            environment["cluster"],
        )


def _environments_removed(delta: Delta) -> Iterator[Message]:
    before, after = delta.old.environments(), delta.new.environments()
    for name in sorted(before.keys() - after.keys()):
        if before[name]["approval"]:
            yield say("environment {}, which required a manual approval, is removed", name)
        else:
            yield say("environment {} is removed", name)


def _environments_reordered(delta: Delta) -> Iterator[Message]:
    before, after = delta.old.environments(), delta.new.environments()
    common = [name for name in before if name in after]
    order = [name for name in after if name in before]
    if common != order:
        yield say("environments are reordered: {}", " → ".join(order))


_TARGET_KEYS = ("account", "region", "cluster", "namespace")


def _environments_retargeted(delta: Delta) -> Iterator[Message]:
    before, after = delta.old.environments(), delta.new.environments()
    for name in before.keys() & after.keys():
        keys = [k for k in _TARGET_KEYS if before[name][k] != after[name][k]]
        if keys:
            wording = ", ".join(f"{key} {{}} → {{}}" for key in keys)
            values = [v for k in keys for v in (before[name][k], after[name][k])]
            yield say(f"environment {{}} moves: {wording}", name, *values)


def _environment_values(delta: Delta) -> Iterator[Message]:
    before, after = delta.old.environments(), delta.new.environments()
    for name in sorted(before.keys() & after.keys()):
        if before[name]["values"] != after[name]["values"]:
            yield say(
                "environment {}: Helm values files change from {} to {}",
                name,
                _show(before[name]["values"]),
                _show(after[name]["values"]),
            )


def _access(view: View) -> dict[str, dict[str, Any]]:
    """Each environment's `access` (what its deploy identity may create beyond its namespace)."""
    if view.spec is None:
        return {}
    return {env.name: env.access.model_dump(mode="json") for env in view.spec.environments}


def _cluster_admin(delta: Delta) -> Iterator[Message]:
    before, after = _access(delta.old), _access(delta.new)
    for name in sorted(after):
        if after[name]["cluster_admin"] and not before.get(name, {}).get("cluster_admin"):
            yield say("environment {}: its deploy identity becomes cluster-admin", name)


def _access_added(key: str, what: str) -> Finder:
    def find(delta: Delta) -> Iterator[Message]:
        before, after = _access(delta.old), _access(delta.new)
        for name in sorted(after):
            added = sorted(set(after[name][key]) - set(before.get(name, {}).get(key, [])))
            if added:
                yield say(f"environment {{}}: its deploy identity may now {what} {{}}", name,
                          _show(added))  # fmt: skip

    return find


def _environment_changed(key: str, what: str) -> Finder:
    def find(delta: Delta) -> Iterator[Message]:
        before, after = delta.old.environments(), delta.new.environments()
        for name in sorted(before.keys() & after.keys()):
            old, new = before[name].get(key), after[name].get(key)
            if old != new:
                yield say(f"environment {{}}: {what} changes from {{}} to {{}}", name,
                          "none" if old is None else _show(old),
                          "none" if new is None else _show(new))  # fmt: skip

    return find


# --- images and checks --------------------------------------------------------------------------


def _images(view: View) -> dict[str, dict[str, Any]]:
    return dict(view.get("images", {}))


def _images_added(delta: Delta) -> Iterator[Message]:
    before, after = _images(delta.old), _images(delta.new)
    for name in sorted(after.keys() - before.keys()):
        platforms = ", ".join(after[name]["platforms"])  # values of a Literal: our wording
        yield say(f"image {{}} is added ({platforms})", name)


def _images_removed(delta: Delta) -> Iterator[Message]:
    before, after = _images(delta.old), _images(delta.new)
    for name in sorted(before.keys() - after.keys()):
        yield say("image {} is removed", name)


def _image_changes(*, platforms: bool) -> Finder:
    def find(delta: Delta) -> Iterator[Message]:
        before, after = _images(delta.old), _images(delta.new)
        for name in sorted(before.keys() & after.keys()):
            for key in sorted(after[name]):
                if (key == "platforms") == platforms and before[name][key] != after[name][key]:
                    yield say(
                        f"image {{}}: {key} changes from {{}} to {{}}",
                        name,
                        _show(before[name][key]),
                        _show(after[name][key]),
                    )

    return find


def _third_party(delta: Delta) -> Iterator[Message]:
    """Declared third-party images added, removed, re-pinned or mapped elsewhere: what the
    clusters run, and where from (the release's copy when mapped, else the public reference)."""
    before, after = delta.old.get("third_party", {}), delta.new.get("third_party", {})
    for name in sorted(after.keys() - before.keys()):
        yield say("third-party image {} is added ({})", name, after[name]["image"])
    for name in sorted(before.keys() - after.keys()):
        yield say("third-party image {} is removed", name)
    for name in sorted(before.keys() & after.keys()):
        for key in ("image", "values"):
            if before[name][key] != after[name][key]:
                yield say(
                    f"third-party image {{}}: {key} changes from {{}} to {{}}",
                    name,
                    _show(before[name][key]),
                    _show(after[name][key]),
                )


def _checks(view: View) -> dict[str, dict[str, Any]]:
    return dict(view.get("checks", {}))


def _kind(delta: Delta, name: str) -> str:
    """'command', or the preset's name (a Literal: our wording, safe in a template)."""
    return str({**delta.old.get("check_kinds", {}), **delta.new.get("check_kinds", {})}[name])


def _checks_removed(delta: Delta) -> Iterator[Message]:
    before, after = _checks(delta.old), _checks(delta.new)
    for name in sorted(before.keys() - after.keys()):
        yield say(
            f"check {{}} ({_kind(delta, name)}) is removed: a required status check in branch "
            "protection would never report",
            name,
        )


def _checks_added(delta: Delta) -> Iterator[Message]:
    before, after = _checks(delta.old), _checks(delta.new)
    for name in sorted(after.keys() - before.keys()):
        yield say(f"check {{}} ({_kind(delta, name)}) is added", name)


def _checks_changed(delta: Delta) -> Iterator[Message]:
    before, after = _checks(delta.old), _checks(delta.new)
    for name in sorted(before.keys() & after.keys()):
        changed = sorted(k for k in after[name] if before[name].get(k) != after[name][k])
        if changed:
            yield say("check {}: {} changes", name, ", ".join(changed))


# --- pipeline-wide settings ---------------------------------------------------------------------


def _setting(key: str, what: str) -> Finder:
    """A pipeline-wide value, as resolved: a changed default shows as the value it changes.
    `key` may name a nested value with dots (`enterprise.role_path`)."""

    def find(delta: Delta) -> Iterator[Message]:
        before, after = _resolved(delta.old, key), _resolved(delta.new, key)
        if delta.both and before != after:
            yield say(f"{what} changes from {{}} to {{}}", _show(before), _show(after))

    return find


def _resolved(view: View, key: str) -> Any:
    """The resolved value at the dotted `key`; None when any part is missing."""
    value: Any = view.resolved
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


# --- what the team adds: extend.py, patches, the organisation's settings ------------------------


def _extension(delta: Delta) -> Iterator[Message]:
    before, after = delta.old.extension, delta.new.extension
    if before != after:
        what = "is added" if before is None else "is removed" if after is None else "changes"
        yield say(
            f"the CDK app's extension {{}} {what} (it runs as code in every synth)",
            naming.CDK_EXTENSION,
        )


def _patches(delta: Delta, *, high: bool) -> Iterator[Message]:
    """Patched files whose operations change, split by risk: a patch that reaches a JSON file
    (pipeline.json is what the CDK app reads), a workflow's triggers or permissions, or a job
    that may request an OIDC token (`id-token: write`), is high."""
    before, after = delta.old.get("patches", {}), delta.new.get("patches", {})
    for target in sorted({*before, *after}):
        if before.get(target) == after.get(target):
            continue
        operations = [*before.get(target, []), *after.get(target, [])]
        if _risky_patch(delta, target, operations) == high:
            yield say("the patches of {} change", target)


def _risky_patch(delta: Delta, target: str, operations: list[dict[str, Any]]) -> bool:
    if not target.endswith((".yml", ".yaml")):
        return True
    tokens = _oidc_jobs(delta.new.spec, target) | _oidc_jobs(delta.old.spec, target)
    for operation in operations:
        for pointer in (operation["path"], operation.get("from") or ""):
            parts = pointer.split("/")[1:]
            if parts[:1] in (["on"], ["permissions"], ["jobs"]) and len(parts) < 3:
                return True
            if parts[:1] == ["jobs"] and (parts[1] in tokens or parts[2:3] == ["permissions"]):
                return True
    return False


def _oidc_jobs(spec: Spec | None, target: str) -> set[str]:
    """The jobs of a generated workflow (before patches) that may request an OIDC token."""
    if spec is None:
        return set()
    from ruamel.yaml import YAML

    from pipelinegen.render import Source, generated  # only a changed patch needs the files

    text = generated(spec, Source("pipeline.yaml", "")).get(target)
    data = YAML(typ="safe").load(text) if text else None
    jobs = data.get("jobs", {}) if isinstance(data, dict) else {}
    return {
        name
        for name, job in jobs.items()
        if isinstance(job, dict) and (job.get("permissions") or {}).get("id-token") == "write"
    }


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v is not None) or "{}"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


# --- the chart as each cluster gets it (pipelinegen.diff.chart) --------------------------------


def _chart_changes(status: str, *fields: str) -> Callable[[Delta], Iterator[ObjectChange]]:
    def pick(delta: Delta) -> Iterator[ObjectChange]:
        for change in delta.chart.changes:
            if change.status == status and (
                not fields or any(name in fields for name, _, _ in change.fields)
            ):
                yield change

    return pick


def _cluster_scoped_added(delta: Delta) -> Iterator[Message]:
    for change in _chart_changes("added")(delta):
        if change.key.cluster_scoped:
            yield say(
                "environment {}: the chart adds the cluster-scoped {}",
                change.environment,
                change.key,
            )


def _rbac_granted(delta: Delta) -> Iterator[Message]:
    for change in delta.chart.changes:
        for rule in change.rules_added:
            yield say("environment {}: {} grants {}", change.environment, change.key, rule)


def _unrendered(delta: Delta) -> Iterator[Message]:
    for environment, side, why in delta.chart.unrendered:
        yield say(
            "environment {}: the chart at {} cannot be rendered, so what it does there is not "
            "shown: {}",
            environment,
            side,
            why,
        )


def _objects_added(delta: Delta) -> Iterator[Message]:
    for change in _chart_changes("added")(delta):
        if not change.key.cluster_scoped:
            yield say("environment {}: the chart adds {}", change.environment, change.key)


def _objects_removed(delta: Delta) -> Iterator[Message]:
    for change in _chart_changes("removed")(delta):
        yield say("environment {}: the chart removes {}", change.environment, change.key)


def _field_changed(*names: str) -> Finder:
    def find(delta: Delta) -> Iterator[Message]:
        for change in _chart_changes("changed", *names)(delta):
            for name, before, after in change.fields:
                if name in names:
                    yield say(
                        f"environment {{}}: {{}} {name} {{}} (before: {{}})",
                        change.environment,
                        change.key,
                        after or "none",
                        before or "none",
                    )

    return find


def _object_changed(delta: Delta) -> Iterator[Message]:
    for change in _chart_changes("changed", "other", "rbac")(delta):
        if change.rules_added:
            continue  # rbac-granted says it
        names = [after if name == "other" else name for name, _, after in change.fields]
        yield say(
            "environment {}: {} changes ({})", change.environment, change.key, ", ".join(names)
        )


RULES: tuple[Rule, ...] = (
    # generated files: what runs is what is committed
    Rule("hand-edited", "high", "generated",
         "a committed generated file is not what the spec compiles to", _hand_edited),
    Rule("generated-missing", "high", "generated",
         "a file the spec compiles to is not committed", _missing),
    Rule("generated-unread", "high", "generated",
         "a generated file is a symbolic link or not UTF-8 text (never read)", _unread),
    Rule("foreign-file", "high", "generated",
         "a file pipelinegen does not generate sits among what it generates", _foreign),
    # approvals: fewer of them before a stage
    Rule("approval-removed", "high", "approval",
         "an environment no longer waits for its manual approval", _approval_removed),
    Rule("fewer-approvals-before", "high", "approval",
         "approvals removed or reordered so an environment deploys after fewer of them",
         _fewer_approvals_before),
    Rule("retargeted-past-approvals", "high", "approval",
         "an environment now deploys to another environment's cluster or account, which "
         "releases reached only after more approvals", _retargeted_past_approvals),
    Rule("approved-cluster-reached", "high", "approval",
         "a new, renamed, reordered or retargeted environment deploys to the cluster of an "
         "approved environment (whose approval is then not the one in front of it)",
         _approved_cluster_reached),
    Rule("marketplace-ahead", "high", "marketplace",
         "Marketplace publishing moves ahead of an approval", _marketplace_ahead),
    Rule("approval-added", "low", "approval",
         "an environment now waits for a manual approval", _approval_added),
    # trust: who may start a release, and where it may reach
    Rule("delivery-mode", "high", "trust",
         "delivery moves between AWS CodePipeline and GitHub Actions (what each side trusts)",
         _delivery_mode),
    Rule("account-trusted", "high", "trust", "a newly trusted AWS account", _new_accounts),
    Rule("release-tags-added", "high", "trust",
         "a tag pattern that may now start releases (and assume the upload role)", _tags_added),
    Rule("repository-changed", "high", "trust",
         "the GitHub repository trusted to upload releases changes",
         _github_changed("repository", "GitHub repository")),
    Rule("oidc-provider-changed", "high", "trust", "the trusted OIDC provider changes",
         _github_changed("oidc_provider_arn", "OIDC provider")),
    Rule("github-ids-changed", "high", "trust",
         "the GitHub owner or repository ID in the trusted OIDC subject changes",
         _github_changed("owner_id", "GitHub owner ID", ("repository_id", "GitHub repository ID"))),
    Rule("release-environment-changed", "high", "trust",
         "the GitHub environment (or workflow) trusted to upload releases changes",
         _github_changed("release_environment", "release environment",
                         ("release_workflow", "release workflow"))),
    Rule("release-gates-changed", "high", "trust",
         "a release no longer (or now) waits for CI or has to be on the default branch",
         _release_gates),
    Rule("install-source", "high", "trust",
         "where CI installs pipelinegen from changes (git repository, commit or version)",
         _install_source),
    Rule("pr-gate-weakened", "high", "trust",
         "the pull-request diff job fails on fewer findings (pull_requests.fail_on)",
         _pr_gate(weaker=True)),
    Rule("release-tags-removed", "medium", "trust",
         "a tag pattern no longer starts releases", _tags_removed),
    Rule("region-added", "medium", "trust", "a region newly used", _new_regions),
    # Marketplace
    Rule("marketplace-on", "high", "marketplace",
         "Marketplace publishing is turned on", _marketplace_on),
    Rule("marketplace-product", "high", "marketplace",
         "Marketplace publishing moves to another product", _marketplace_product),
    Rule("marketplace-off", "medium", "marketplace",
         "Marketplace publishing is turned off", _marketplace_off),
    Rule("marketplace-moved", "medium", "marketplace",
         "Marketplace publishing follows another environment, behind as many approvals",
         _marketplace_moved),
    Rule("marketplace-settings", "medium", "marketplace",
         "other Marketplace settings change", _marketplace_settings),
    # environments
    Rule("environment-added", "medium", "environment",
         "an environment is added", _environments_added),
    Rule("environment-removed", "medium", "environment",
         "an environment is removed", _environments_removed),
    Rule("environments-reordered", "medium", "environment",
         "environments are reordered", _environments_reordered),
    Rule("environment-retargeted", "medium", "environment",
         "an environment's account, region, cluster or namespace changes",
         _environments_retargeted),
    Rule("environment-values", "medium", "environment",
         "an environment's Helm values files change", _environment_values),
    Rule("cluster-admin", "high", "environment",
         "an environment's deploy identity becomes cluster-admin", _cluster_admin),
    Rule("cluster-kinds-added", "high", "environment",
         "an environment's deploy identity may create a new cluster-scoped kind",
         _access_added("cluster_kinds", "create the cluster-scoped kinds")),
    Rule("cluster-roles-added", "high", "environment",
         "an environment's deploy identity may create or bind new ClusterRoles",
         _access_added("cluster_roles", "create or bind the ClusterRoles")),
    Rule("environment-network", "medium", "environment",
         "the VPC, subnets or security groups an environment's deploy project runs in change",
         _environment_changed("network", "the deploy project's network")),
    Rule("environment-runner", "medium", "environment",
         "the runner an environment's deploy job runs on changes",
         _environment_changed("runner", "the deploy job's runner")),
    Rule("force-conflicts", "medium", "environment",
         "an environment's upgrades take over (or stop taking over) fields other field managers "
         "own", _environment_changed("force_conflicts", "Helm's --force-conflicts")),
    # images and checks
    Rule("image-added", "medium", "image", "an image is added", _images_added),
    Rule("image-removed", "medium", "image", "an image is removed", _images_removed),
    Rule("image-platforms", "medium", "image", "an image's platforms change",
         _image_changes(platforms=True)),
    Rule("image-build", "low", "image",
         "an image's build settings change (context, Dockerfile, arguments, target)",
         _image_changes(platforms=False)),
    Rule("third-party-image", "medium", "image",
         "a declared third-party image is added, removed, pinned to another digest or mapped to "
         "other values paths", _third_party),
    Rule("check-removed", "medium", "check",
         "a check is removed (its required status check would never report)", _checks_removed),
    Rule("check-added", "low", "check", "a check is added", _checks_added),
    Rule("check-changed", "low", "check", "a check's command or settings change",
         _checks_changed),
    # what the team adds
    Rule("cdk-extension", "high", "extension",
         "the CDK app's extend.py is added, changed or removed (team code in every synth)",
         _extension),
    Rule("patch-high", "high", "extension",
         "patches change on pipeline.json, a workflow's triggers or permissions, or a job that "
         "may request an OIDC token", lambda delta: _patches(delta, high=True)),
    Rule("patch", "medium", "extension", "patches on a generated file change",
         lambda delta: _patches(delta, high=False)),
    Rule("permissions-boundary", "high", "extension",
         "the permissions boundary of every role changes",
         _setting("enterprise.permissions_boundary", "permissions boundary")),
    Rule("role-path", "high", "extension",
         "the IAM path of every role changes (every named role is replaced)",
         _setting("enterprise.role_path", "role path")),
    Rule("kms-key", "high", "extension",
         "the customer managed KMS key changes (retained ECR repositories cannot change theirs)",
         _setting("enterprise.kms_key", "KMS key")),
    Rule("tags", "low", "extension", "the tags on every resource change",
         _setting("enterprise.tags", "tags")),
    Rule("alarms", "low", "setting", "who hears about failed releases changes",
         _setting("alarms", "failed-release alarm")),
    # pipeline-wide settings
    Rule("project-renamed", "medium", "setting", "the project name changes (every stack name)",
         _setting("project", "name")),
    Rule("release-location", "medium", "setting", "the release bucket or key changes",
         _setting("release", "release bucket and key")),
    Rule("runner", "low", "setting", "the runner changes", _setting("runner", "runner")),
    Rule("default-branch", "low", "setting", "the default branch changes",
         _setting("default_branch", "default branch")),
    Rule("pr-gate-tightened", "low", "setting",
         "the pull-request diff job fails on more findings (pull_requests.fail_on)",
         _pr_gate(weaker=False)),
    Rule("chart", "low", "setting", "the Helm chart changes", _setting("chart", "Helm chart")),
    Rule("helm", "low", "setting", "the Helm release or version changes",
         _setting("helm", "Helm release")),
    # the chart as each environment's cluster gets it
    Rule("chart-cluster-scoped", "high", "chart",
         "the chart adds a cluster-scoped object (a ClusterRole, a CRD, a webhook, a namespace)",
         _cluster_scoped_added),
    Rule("chart-rbac-granted", "high", "chart",
         "a Role or ClusterRole of the chart grants a new rule", _rbac_granted),
    Rule("chart-unrendered", "medium", "chart",
         "the chart cannot be rendered for an environment (nothing fetched), so its effect is "
         "not shown", _unrendered),
    Rule("chart-object-added", "medium", "chart", "the chart adds an object to an environment",
         _objects_added),
    Rule("chart-object-removed", "medium", "chart",
         "the chart removes an object from an environment", _objects_removed),
    Rule("chart-images", "medium", "chart", "a workload of the chart runs other images",
         _field_changed("images")),
    Rule("chart-replicas", "low", "chart", "a workload's replicas change",
         _field_changed("replicas")),
    Rule("chart-resources", "low", "chart", "a workload's resource requests or limits change",
         _field_changed("resources")),
    Rule("chart-object-changed", "low", "chart", "another field of an object changes",
         _object_changed),
)  # fmt: skip


def reference() -> str:
    """The rules as a Markdown table, for docs/diff.md (kept current by tests/test_docs.py)."""
    rows = ["| rule | risk | what it catches |", "|---|---|---|"]
    for rule in sorted(RULES, key=lambda rule: RISK_ORDER[rule.risk]):
        rows.append(f"| `{rule.id}` | {rule.risk} | {rule.catches} |")
    return "\n".join(rows) + "\n"
