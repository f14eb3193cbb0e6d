"""Rules that relate several fields: uniqueness, cross-references and Marketplace limits.

They read the plain YAML data rather than the validated models, so they run even when some field
is invalid and the user still gets every problem in one run. Each rule yields diagnostics and
tolerates values of the wrong type (the models report those).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from typing import Any

from pipelinegen.errors import Diagnostic
from pipelinegen.naming import BUILD_JOB_PREFIX, CHART_JOB, STALE_CHECK_JOB
from pipelinegen.spec import placeholders
from pipelinegen.spec.types import escapes, is_relative
from pipelinegen.spec.yaml import Document

MARKETPLACE_MAX_IMAGES = 50  # ContainerImages of one delivery option
USAGE_INSTRUCTIONS_MAX = 4000
HELM_OPTION_NAME_MAX = 50  # HelmDeliveryOptionDetails: ReleaseName, Namespace (Catalog API shapes)
# Characters `helm --set` reads as syntax in a value (helm/helm pkg/strvals/parser.go): ',' ends
# the key=value, '\\' escapes the next character, '{' ... '}' is a list.
SET_SYNTAX = frozenset(",\\{}")

Rule = Callable[[Document], Iterator[Diagnostic]]


def check(document: Document) -> list[Diagnostic]:
    """Every rule's diagnostics for the document."""
    return [diagnostic for rule in RULES for diagnostic in rule(document)]


def top(document: Document) -> dict[str, Any]:
    """The document's mapping, or {} when it is not one."""
    return document.data if isinstance(document.data, dict) else {}


def section(document: Document, key: str) -> dict[str, Any]:
    """A top-level mapping, or {} when it is missing or not a mapping."""
    value = top(document).get(key)
    return value if isinstance(value, dict) else {}


def items(document: Document, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, mapping) for each mapping item of a top-level list."""
    values = top(document).get(key)
    for index, item in enumerate(values if isinstance(values, list) else []):
        if isinstance(item, dict):
            yield index, item


def _unique_names(key: str, noun: str) -> Rule:
    """Names are compared in any letter case: they become GitHub job ids and environment
    names, which GitHub compares case-insensitively, and ECR repository names."""

    def rule(document: Document) -> Iterator[Diagnostic]:
        seen: dict[str, tuple[int, str]] = {}
        for index, item in items(document, key):
            name = item.get("name")
            if not isinstance(name, str):
                continue
            if name.casefold() in seen:
                first, other = seen[name.casefold()]
                line = document.values[(key, first, "name")].line
                case = "" if other == name else f" (as '{other}': letter case does not count)"
                message = f"{noun} name '{name}' is used twice{case}"
                hint = f"first used on line {line}; names must be unique"
                yield document.diagnostic((key, index, "name"), message, hint)
            else:
                seen[name.casefold()] = (index, name)

    return rule


def _check_names_free(document: Document) -> Iterator[Diagnostic]:
    """Check names are job ids; generated jobs own `pipelinegen`, `chart` and `build-<image>`, in
    any letter case (GitHub compares job ids case-insensitively)."""
    images = {
        name.casefold()
        for _, item in items(document, "images")
        if isinstance(name := item.get("name"), str)
    }
    prefix = BUILD_JOB_PREFIX.casefold()
    for index, item in items(document, "checks"):
        name = item.get("name")
        if not isinstance(name, str):
            continue
        folded = name.casefold()
        image = folded.removeprefix(prefix)
        if folded in (STALE_CHECK_JOB, CHART_JOB) or (
            folded.startswith(prefix) and image in images
        ):
            owner = {
                STALE_CHECK_JOB: "pipelinegen's own job",
                CHART_JOB: "the chart check",
            }.get(folded, f"the build of '{image}'")
            case = "" if name == folded else " (job ids ignore letter case)"
            message = f"check name '{name}' is taken by {owner}{case}"
            yield document.diagnostic(("checks", index, "name"), message, "rename the check")


def _unique_platforms(document: Document) -> Iterator[Diagnostic]:
    for index, image in items(document, "images"):
        platforms = image.get("platforms")
        if not isinstance(platforms, list):
            continue
        for position, platform in enumerate(platforms):
            if platform in platforms[:position]:
                path = ("images", index, "platforms", position)
                yield document.diagnostic(path, f"platform '{platform}' is listed twice")


def _dockerfile_inside(document: Document) -> Iterator[Diagnostic]:
    """The Dockerfile is relative to the context; together they must stay in the repository."""
    for index, image in items(document, "images"):
        context, dockerfile = image.get("context", "."), image.get("dockerfile", "Dockerfile")
        if not (isinstance(context, str) and isinstance(dockerfile, str)):
            continue
        if escapes(context) or not is_relative(dockerfile):
            continue  # the models report these
        if escapes(posixpath.join(context, dockerfile)):
            message = f"dockerfile '{dockerfile}' escapes the repository from context '{context}'"
            hint = "the dockerfile path is relative to the context directory"
            yield document.diagnostic(("images", index, "dockerfile"), message, hint)


def _values_pinned(document: Document) -> Iterator[Diagnostic]:
    """A values mapping must carry the digest: images are deployed by digest only (the spec's
    and the declared third-party images' copies alike)."""
    for key, kind in (("images", "image"), ("third_party_images", "third-party image")):
        for index, image in items(document, key):
            listed = image.get("values")
            for position, item in enumerate(listed if isinstance(listed, list) else []):
                if isinstance(item, dict) and not set(item) & {"reference", "tag", "digest"}:
                    message = f"{kind} '{image.get('name')}': this mapping does not pin the digest"
                    hint = "add `tag` (receives <version>@<digest>), `digest` or `reference`"
                    yield document.diagnostic((key, index, "values", position), message, hint)


def _marketplace(document: Document) -> Iterator[Diagnostic]:
    """`marketplace: true` needs the block, the block needs a user, and only one may publish."""
    block = top(document).get("marketplace")
    publishers = [
        (i, env) for i, env in items(document, "environments") if env.get("marketplace") is True
    ]
    for index, env in publishers:
        path = ("environments", index, "marketplace")
        if block is None:
            name = env.get("name")
            message = f"environment '{name}' publishes to AWS Marketplace, but there is no "
            hint = "add a top-level 'marketplace:' block (product_id, seller_prefix, ...)"
            yield document.diagnostic(path, message + "'marketplace:' block", hint)
        if index != publishers[0][0]:
            first = publishers[0][1].get("name")
            message = "only one environment may publish to AWS Marketplace"
            yield document.diagnostic(path, message, f"environment '{first}' already does")
    environments = top(document).get("environments")
    if block is not None and not publishers and isinstance(environments, list):
        message = "'marketplace:' is set, but no environment has 'marketplace: true'"
        hint = "set 'marketplace: true' on the environment after which to publish"
        yield document.diagnostic(("marketplace",), message, hint, at_key=True)
    count = len(list(items(document, "images")))
    copies = len(list(items(document, "third_party_images")))
    if block is not None and count + copies > MARKETPLACE_MAX_IMAGES:
        message = (
            f"AWS Marketplace takes at most {MARKETPLACE_MAX_IMAGES} images; there are "
            f"{count + copies}" + (f" ({copies} of them third-party images)" if copies else "")
        )
        yield document.diagnostic(("marketplace",), message, at_key=True)


def _marketplace_delivery(document: Document) -> Iterator[Diagnostic]:
    """The delivery options of one version: each listed once, the Helm block used only when the
    Helm option is published, and two options told apart by their titles (buyers choose one by
    its title; AddDeliveryOptions adds every option of a version in one change set)."""
    block = section(document, "marketplace")
    listed = block.get("delivery_options", ["container-images"])
    listed = (
        [option for option in listed if isinstance(option, str)] if isinstance(listed, list) else []
    )
    for position, option in enumerate(listed):
        if option in listed[:position]:
            path = ("marketplace", "delivery_options", position)
            yield document.diagnostic(path, f"delivery option '{option}' is listed twice")
    helm = block.get("helm")
    if "helm" in block and "helm" not in listed:
        message = "'helm:' is set, but delivery_options does not list 'helm'"
        hint = "add 'helm' to marketplace.delivery_options, or remove the 'helm:' block"
        yield document.diagnostic(("marketplace", "helm"), message, hint, at_key=True)
    helm = helm if isinstance(helm, dict) else {}
    title = block.get("delivery_option_title")
    if {"helm", "container-images"} <= set(listed) and helm.get("title", title) == title:
        where: tuple[str, ...] = ("marketplace", "delivery_options")
        if "helm" in block:
            where = ("marketplace", "helm", "title") if "title" in helm else ("marketplace", "helm")
        message = f"both delivery options would be titled '{title}'"
        hint = "give the Helm option its own title (marketplace.helm.title): buyers pick by title"
        yield document.diagnostic(where, message, hint, at_key=where[-1] == "helm")
    if "helm" in listed:
        yield from _helm_defaults(document, helm)
    parameters = helm.get("override_parameters")
    keys: dict[str, int] = {}
    for index, parameter in enumerate(parameters if isinstance(parameters, list) else []):
        key = parameter.get("key") if isinstance(parameter, dict) else None
        if not isinstance(key, str):
            continue
        if key in keys:
            spot = ("marketplace", "helm", "override_parameters", index, "key")
            message = f"override parameter '{key}' is listed twice"
            hint = f"first listed as parameter {keys[key] + 1}"
            yield document.diagnostic(spot, message, hint)
        keys.setdefault(key, index)
    for index, parameter in enumerate(parameters if isinstance(parameters, list) else []):
        default = parameter.get("default") if isinstance(parameter, dict) else None
        found = sorted({c for c in str(default) if c in SET_SYNTAX}) if default is not None else []
        if found:
            spot = ("marketplace", "helm", "override_parameters", index, "default")
            shown = " ".join(f"'{c}'" for c in found)
            message = (
                f"override parameter default '{default}' holds {shown}, which a buyer's "
                "`helm install --set` reads as syntax, not as part of the value"
            )
            hint = (
                "AWS Marketplace passes each override with --set, whose ',' starts another "
                "key=value, '\\' escapes and '{...}' makes a list (Helm strvals): write a "
                "default without them"
            )
            yield document.diagnostic(spot, message, hint)


def _helm_defaults(document: Document, helm: dict[str, Any]) -> Iterator[Diagnostic]:
    """The Helm delivery option's namespace and release name default to the publishing
    environment's namespace and `helm.release`, which may be longer than the 50 characters
    HelmDeliveryOptionDetails takes (Namespace, ReleaseName)."""
    defaults: list[tuple[str, tuple[str | int, ...]]] = []
    if "namespace" not in helm:
        defaults += [
            ("namespace", ("environments", index, "namespace"))
            for index, env in items(document, "environments")
            if env.get("marketplace") is True
        ][:1]
    if "release_name" not in helm:
        defaults.append(("release_name", ("helm", "release")))
    for field, path in defaults:
        value = _at(top(document), path)
        if isinstance(value, str) and len(value) > HELM_OPTION_NAME_MAX:
            message = (
                f"'{value}' is the Marketplace Helm option's {field.replace('_', ' ')}, and AWS "
                f"Marketplace takes at most {HELM_OPTION_NAME_MAX} characters"
            )
            hint = f"set marketplace.helm.{field} to a shorter one"
            yield document.diagnostic(path, message, hint)


def _approvals(document: Document) -> Iterator[Diagnostic]:
    """A manual approval notifies a topic in the pipeline's own region. (A block with no
    approval to announce is allowed: removing an approval should not need a second edit.)"""
    block = top(document).get("approvals")
    arn = block.get("topic_arn") if isinstance(block, dict) else None
    region = section(document, "aws").get("region")
    if isinstance(arn, str) and arn.count(":") == 5 and isinstance(region, str):
        topic_region = arn.split(":")[3]
        if topic_region != region:
            message = f"the topic is in {topic_region}, but the pipeline is in {region}"
            hint = "a manual approval notifies a topic in the pipeline's own region"
            yield document.diagnostic(("approvals", "topic_arn"), message, hint)


def _oidc_provider_in_tooling_account(document: Document) -> Iterator[Diagnostic]:
    """The upload role trusts the provider of its own account; IAM cannot use another's."""
    aws = section(document, "aws")
    arn, account = aws.get("oidc_provider_arn"), aws.get("account")
    if isinstance(arn, str) and isinstance(account, str) and arn.count(":") >= 5:
        provider_account = arn.split(":")[4]
        if provider_account != account:
            message = f"the OIDC provider is in account {provider_account}, not in {account}"
            hint = "use the provider of the tooling account (aws.account), or leave it out"
            yield document.diagnostic(("aws", "oidc_provider_arn"), message, hint)


def _github_ids_together(document: Document) -> Iterator[Diagnostic]:
    """The immutable subject names both IDs: one without the other cannot be trusted exactly."""
    github = section(document, "github")
    given = [key for key in ("owner_id", "repository_id") if github.get(key) is not None]
    if len(given) == 1:
        [key] = given
        other = "repository_id" if key == "owner_id" else "owner_id"
        message = f"github.{key} is set without github.{other}"
        hint = "set both (gh api repos/OWNER/REPO --jq '.owner.id, .id'), or neither"
        yield document.diagnostic(("github", key), message, hint)


def _inline_usage_instructions(document: Document) -> Iterator[Diagnostic]:
    block = top(document).get("marketplace")
    text = block.get("usage_instructions") if isinstance(block, dict) else None
    if isinstance(text, str) and not is_file_reference(text):
        yield from usage_instructions_length(document, "usage_instructions", len(text))


def usage_instructions_length(document: Document, what: str, length: int) -> Iterator[Diagnostic]:
    """Marketplace's limit on usage instructions, inline or read from a file."""
    if length > USAGE_INSTRUCTIONS_MAX:
        message = f"{what} is {length} characters long; AWS Marketplace accepts at most "
        hint = "shorten it, and link to longer documentation"
        path = ("marketplace", "usage_instructions")
        yield document.diagnostic(path, message + str(USAGE_INSTRUCTIONS_MAX), hint)


def is_file_reference(text: str) -> bool:
    """`usage_instructions` names a file when it is one word ending in .md, .markdown or .txt."""
    return not any(c.isspace() for c in text) and text.endswith((".md", ".markdown", ".txt"))


def _placeholders(document: Document) -> Iterator[Diagnostic]:
    """The values `init` writes for the user to replace (see `placeholders`)."""
    where: list[tuple[str | int, ...]] = [("github", "repository"), ("aws", "account")]
    where += [("environments", index, "account") for index, _ in items(document, "environments")]
    for path in where:
        value = _at(top(document), path)
        if isinstance(value, str) and value in placeholders.WHAT:
            message = f"replace the placeholder '{value}'"
            yield document.diagnostic(path, message, f"write {placeholders.WHAT[value]}")


def _placeholder_work(document: Document) -> Iterator[Diagnostic]:
    """The starter test command and cluster names `init` writes when it cannot know them."""
    for index, check in items(document, "checks"):
        if check.get("run") == placeholders.TEST_COMMAND:
            message = "replace the placeholder test command"
            hint = f"write {placeholders.WHAT[placeholders.TEST_COMMAND]}"
            yield document.diagnostic(("checks", index, "run"), message, hint)
    for index, environment in items(document, "environments"):
        cluster = environment.get("cluster")
        if isinstance(cluster, str) and placeholders.CLUSTER.match(cluster):
            message = f"replace the placeholder '{cluster}'"
            hint = f"write {placeholders.CLUSTER_WHAT}"
            yield document.diagnostic(("environments", index, "cluster"), message, hint)


def _placeholder_owner(document: Document) -> Iterator[Diagnostic]:
    """`pipelinegen.git` copied from documentation with its owner left to fill in."""
    url = section(document, "pipelinegen").get("git")
    if isinstance(url, str) and (owner := placeholders.placeholder_owner(url)):
        message = f"replace the placeholder owner '{owner}' in the git URL"
        hint = f"write {placeholders.GIT_URL_WHAT}"
        yield document.diagnostic(("pipelinegen", "git"), message, hint)


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        if isinstance(step, int):
            data = data[step] if isinstance(data, list) and step < len(data) else None
        else:
            data = data.get(step) if isinstance(data, dict) else None
    return data


def _github_delivery(document: Document) -> Iterator[Diagnostic]:
    """With `delivery: github` the push job's GitHub environment must not be a deploy
    environment: the push role would then trust that deploy job too, and the deploy role the
    push job. (The handoff's bucket and key and the approval topic are kept but unused, so the
    mode switches in one line.)"""
    if top(document).get("delivery") != "github":
        return
    pushing = section(document, "release").get("environment", "release")
    if not isinstance(pushing, str):
        return
    for index, item in items(document, "environments"):
        name = item.get("name")
        if isinstance(name, str) and name.casefold() == pushing.casefold():
            message = f"environment '{name}' is also the GitHub environment of the push job"
            hint = (
                "with delivery: github each role trusts one GitHub environment: rename the "
                "environment, or set another release.environment"
            )
            yield document.diagnostic(("environments", index, "name"), message, hint)


def _approved_targets_stay_approved(document: Document) -> Iterator[Diagnostic]:
    """An environment that deploys to the cluster (same account, region and name) of an
    approved environment needs an approval too: otherwise a release reaches that cluster past
    the approval, through the other environment (and under `delivery: github` a new GitHub
    environment has no required reviewers until someone sets them). Two environments without
    an approval may share a cluster, as dev and staging often do."""
    aws = section(document, "aws")
    targets: dict[tuple[Any, Any, Any], list[tuple[int, str, bool]]] = {}
    for index, item in items(document, "environments"):
        target = (
            item.get("account", aws.get("account")),
            item.get("region", aws.get("region")),
            item.get("cluster"),
        )
        if not all(isinstance(part, str) for part in target):
            continue
        name = item.get("name")
        targets.setdefault(target, []).append(
            (index, name if isinstance(name, str) else "?", item.get("approval") is True)
        )
    for (account, region, cluster), sharing in targets.items():
        approved = [name for _, name, approval in sharing if approval]
        if not approved:
            continue
        for index, name, approval in sharing:
            if approval:
                continue
            message = (
                f"environment '{name}' deploys to cluster '{cluster}' (account {account}, "
                f"{region}) without an approval; approved environment '{approved[0]}' deploys there"
            )
            hint = (
                "set `approval: true` on it too, or deploy it to another cluster: a release "
                "would otherwise reach that cluster past the approval"
            )
            yield document.diagnostic(("environments", index, "cluster"), message, hint)


def _third_party_names_free(document: Document) -> Iterator[Diagnostic]:
    """A third-party image may not share a spec image's name: the chart check tells a spec image
    by its repository's last segment, so `rabbitmq` would be both."""
    images = {
        str(item.get("name")).casefold(): str(item.get("name"))
        for _, item in items(document, "images")
    }
    for index, item in items(document, "third_party_images"):
        name = item.get("name")
        if isinstance(name, str) and name.casefold() in images:
            message = (
                f"third-party image '{name}' has the name of image '{images[name.casefold()]}'"
            )
            hint = "name it after its upstream repository, unlike any image the spec builds"
            yield document.diagnostic(("third_party_images", index, "name"), message, hint)


RULES: tuple[Rule, ...] = (
    _placeholders,
    _placeholder_work,
    _placeholder_owner,
    _unique_names("images", "image"),
    _unique_names("checks", "check"),
    _unique_names("environments", "environment"),
    _check_names_free,
    _unique_platforms,
    _dockerfile_inside,
    _values_pinned,
    _marketplace,
    _marketplace_delivery,
    _approvals,
    _inline_usage_instructions,
    _oidc_provider_in_tooling_account,
    _github_ids_together,
    _github_delivery,
    _approved_targets_stay_approved,
    _unique_names("third_party_images", "third-party image"),
    _third_party_names_free,
)
