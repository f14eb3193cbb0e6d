"""The semantic summary: what a spec change means, ordered by risk.

Reviewers should not have to read hundreds of lines of YAML and CloudFormation to notice that a
production approval disappeared or that a new AWS account is now trusted, so those come first.
The comparison is between resolved specs (defaults applied, derived names spelled out), so a
change of a default shows up as the value it changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pipelinegen.render.cdk import resolved
from pipelinegen.spec.models import CommandCheck, Spec

Risk = Literal["high", "medium", "low"]
RISK_ORDER: dict[Risk, int] = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Change:
    risk: Risk
    topic: str  # approval, trust, marketplace, environment, image, check, setting
    message: str


def summarize(base: Spec | None, head: Spec | None) -> list[Change]:
    """Every semantic change from `base` to `head` (either may be missing), riskiest first."""
    old, new = _view(base), _view(head)
    changes = [
        *_approvals(old, new),
        *_trust(old, new),
        *_marketplace(old, new),
        *_environments(old, new),
        *_images(old, new),
        *_checks(old, new),
        *_settings(old, new),
    ]
    return sorted(changes, key=lambda change: RISK_ORDER[change.risk])


def _view(spec: Spec | None) -> dict[str, Any]:
    """The spec resolved as the stacks see it, plus what only CI sees; {} for no spec."""
    if spec is None:
        return {"environments": [], "images": {}, "checks": {}, "github": {}, "marketplace": None}
    view = resolved(spec, spec_sha256="")
    view["images"] = {image.name: image.model_dump(mode="json") for image in spec.images}
    view["checks"] = {check.name: check.model_dump(mode="json") for check in spec.checks}
    view["check_kinds"] = {
        check.name: "command" if isinstance(check, CommandCheck) else check.preset
        for check in spec.checks
    }
    view["runner"] = spec.github.runner
    view["default_branch"] = spec.github.default_branch
    view["chart"] = spec.helm.chart
    return view


def _by_name(view: dict[str, Any], key: str) -> dict[str, Any]:
    items = view.get(key) or []
    return items if isinstance(items, dict) else {item["name"]: item for item in items}


def _approvals(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    before, after = _by_name(old, "environments"), _by_name(new, "environments")
    for name, environment in before.items():
        if not environment["approval"]:
            continue
        if name not in after:
            yield Change(
                "high",
                "approval",
                f"environment '{name}', which required a manual approval, is removed",
            )
        elif not after[name]["approval"]:
            yield Change(
                "high",
                "approval",
                f"environment '{name}' no longer waits for a manual approval before deploying",
            )


def _accounts(view: dict[str, Any]) -> dict[str, str]:
    """Account → what it is used for."""
    found: dict[str, str] = {}
    if view.get("account"):
        found[view["account"]] = "the tooling account"
    for environment in view.get("environments", []):
        found.setdefault(environment["account"], f"environment '{environment['name']}'")
    return found


def _trust(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    before, after = _accounts(old), _accounts(new)
    for account in sorted(set(after) - set(before)):
        yield Change("high", "trust", f"AWS account {account} is newly trusted ({after[account]})")
    regions_before = {e["region"] for e in old.get("environments", [])} | {old.get("region")}
    for environment in new.get("environments", []):
        if environment["region"] not in regions_before:
            yield Change(
                "high",
                "trust",
                f"region {environment['region']} is newly used "
                f"(environment '{environment['name']}')",
            )
            regions_before.add(environment["region"])
    github_before, github_after = old.get("github", {}), new.get("github", {})
    for pattern in github_after.get("release_tags", []):
        if pattern not in github_before.get("release_tags", []):
            yield Change(
                "high",
                "trust",
                f"tags matching '{pattern}' now start releases and may assume the upload role",
            )
    for pattern in github_before.get("release_tags", []):
        if github_after and pattern not in github_after.get("release_tags", []):
            yield Change("medium", "trust", f"tags matching '{pattern}' no longer start releases")
    for key, what in (("repository", "GitHub repository"), ("oidc_provider_arn", "OIDC provider")):
        if github_before and github_after and github_before.get(key) != github_after.get(key):
            yield Change(
                "high",
                "trust",
                f"the trusted {what} changes from "
                f"{github_before.get(key)} to {github_after.get(key)}",
            )


def _marketplace(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    before, after = old.get("marketplace"), new.get("marketplace")
    if after and not before:
        yield Change(
            "high",
            "marketplace",
            f"AWS Marketplace publishing is turned on (product {after['product_id']})",
        )
    elif before and not after:
        yield Change("high", "marketplace", "AWS Marketplace publishing is turned off")
    elif before and after and before != after:
        changed = sorted(key for key in after if before.get(key) != after.get(key))
        risk: Risk = "high" if "product_id" in changed else "medium"
        yield Change(risk, "marketplace", f"Marketplace settings change: {', '.join(changed)}")


def _environments(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    before, after = _by_name(old, "environments"), _by_name(new, "environments")
    for name in sorted(after.keys() - before.keys()):
        environment = after[name]
        yield Change(
            "medium",
            "environment",
            f"environment '{name}' is added (account "
            f"{environment['account']}, cluster {environment['cluster']})",
        )
    for name in sorted(before.keys() - after.keys()):
        if not before[name]["approval"]:  # removals of approved environments are reported above
            yield Change("medium", "environment", f"environment '{name}' is removed")
    common = [name for name in before if name in after]
    if common != [name for name in after if name in before]:
        order = " → ".join(name for name in after if name in before)
        yield Change("medium", "environment", f"environments are reordered: {order}")
    for name in common:
        for key in ("account", "region", "cluster", "namespace", "values"):
            if before[name][key] != after[name][key]:
                yield Change(
                    "medium",
                    "environment",
                    f"environment '{name}': {key} changes "
                    f"from {before[name][key]} to {after[name][key]}",
                )


def _images(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    before, after = old.get("images", {}), new.get("images", {})
    for name in sorted(after.keys() - before.keys()):
        platforms = ", ".join(after[name]["platforms"])
        yield Change("medium", "image", f"image '{name}' is added ({platforms})")
    for name in sorted(before.keys() - after.keys()):
        yield Change("medium", "image", f"image '{name}' is removed")
    for name in sorted(before.keys() & after.keys()):
        for key in sorted(after[name]):
            if before[name][key] != after[name][key]:
                risk: Risk = "medium" if key == "platforms" else "low"
                yield Change(
                    risk,
                    "image",
                    f"image '{name}': {key} changes from "
                    f"{_show(before[name][key])} to {_show(after[name][key])}",
                )


def _checks(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    before, after = old.get("checks", {}), new.get("checks", {})
    kinds = {**old.get("check_kinds", {}), **new.get("check_kinds", {})}
    for name in sorted(before.keys() - after.keys()):
        yield Change(
            "medium",
            "check",
            f"check '{name}' ({kinds[name]}) is removed: a required "
            "status check in branch protection would never report",
        )
    for name in sorted(after.keys() - before.keys()):
        yield Change("low", "check", f"check '{name}' ({kinds[name]}) is added")
    for name in sorted(before.keys() & after.keys()):
        changed = sorted(key for key in after[name] if before[name].get(key) != after[name][key])
        if changed:
            yield Change("low", "check", f"check '{name}': {', '.join(changed)} changes")


def _settings(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    """Pipeline-wide values, as resolved: a changed default shows as the value it changes."""
    if not old.get("project") or not new.get("project"):
        return
    pairs: list[tuple[str, str, Risk]] = [
        ("project", "name", "medium"),
        ("release", "release bucket and key", "medium"),
        ("runner", "runner", "low"),
        ("default_branch", "default branch", "low"),
        ("chart", "Helm chart", "low"),
        ("helm", "Helm release", "low"),
    ]
    for key, what, risk in pairs:
        if old.get(key) != new.get(key):
            message = f"{what} changes from {_show(old.get(key))} to {_show(new.get(key))}"
            yield Change(risk, "setting", message)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v is not None) or "{}"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)
