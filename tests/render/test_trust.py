"""Who can assume the upload role: OIDC tokens as GitHub issues them, evaluated against the trust
policy of the really synthesized handoff stack, and the tags the release workflow runs for
against the tags the role trusts (the two must be the same set)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from ruamel.yaml import YAML

from pipelinegen import naming
from pipelinegen.spec.models import GitHub
from tests.conftest import ROOT
from tests.policy import allows, github_filter
from tests.render.test_cdk_app import load, resources

ISSUER = "token.actions.githubusercontent.com"


def token(
    *,
    repository: str,
    ref: str = "refs/tags/v1.2.3",
    environment: str | None = "release",
    ids: tuple[str, str] | None = None,
    audience: str = "sts.amazonaws.com",
    workflow: str = naming.RELEASE_WORKFLOW,
) -> dict[str, str]:
    """The request context IAM builds from a GitHub Actions OIDC token (GitHub docs, "OpenID
    Connect reference": claims; subject `repo:OWNER/REPO:environment:ENV` for a job in an
    environment, `repo:OWNER/REPO:ref:REF` otherwise; with `ids`, the immutable
    `repo:OWNER@OWNER_ID/REPO@REPO_ID:…` form of repositories created from 2026-07-15)."""
    owner, name = repository.split("/")
    owner_id, repository_id = ids or ("1000", "2000")
    prefix = f"repo:{owner}@{owner_id}/{name}@{repository_id}" if ids else f"repo:{repository}"
    claims = {
        "aud": audience,
        "sub": f"{prefix}:environment:{environment}" if environment else f"{prefix}:ref:{ref}",
        "repository": repository,
        "repository_owner": owner,
        "repository_id": repository_id,
        "repository_owner_id": owner_id,
        "ref": ref,
        "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
        "workflow_ref": f"{repository}/{workflow}@{ref}",
        "job_workflow_ref": f"{repository}/{workflow}@{ref}",
        "event_name": "push",
    }
    if environment:
        claims["environment"] = environment
    return {f"{ISSUER}:{claim}": value for claim, value in claims.items()}


def trust_statement(synthesized: dict[str, Path], name: str) -> dict[str, Any]:
    [role] = resources(load(synthesized[name], "handoff"), "AWS::IAM::Role")
    [statement] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert list(statement["Principal"]) == ["Federated"]
    return statement  # type: ignore[no-any-return]


ACME = "acme/platform"  # examples/full: no IDs, tags v*
ORBIT = "orbit-labs/orbit"  # examples/monorepo: IDs given, tags release-* and v*
IDS = ("1234567", "89012345")  # examples/monorepo/pipeline.yaml

# (case, token, allowed by example-full (no IDs), allowed by example-monorepo (IDs given))
CASES: list[tuple[str, dict[str, Any], bool, bool]] = [
    ("legacy subject, release environment", {}, True, False),
    ("immutable subject, the repository's IDs", {"ids": IDS}, True, True),
    ("immutable subject, a recycled name (other IDs)", {"ids": ("1", "2")}, True, False),
    ("other repository of the owner", {"repository": "{owner}/other"}, False, False),
    ("other owner, same repository name", {"repository": "evil/{name}"}, False, False),
    ("other owner, same name, immutable", {"repository": "evil/{name}", "ids": IDS}, False, False),
    ("the name in another casing", {"repository": "{upper}"}, False, False),
    ("wrong audience", {"audience": "https://github.com/{owner}", "ids": IDS}, False, False),
    ("branch ref in the environment", {"ref": "refs/heads/main", "ids": IDS}, False, False),
    ("tag v1/x (v* does not start it)", {"ref": "refs/tags/v1/x", "ids": IDS}, False, False),
    ("tag outside the patterns", {"ref": "refs/tags/x1.0", "ids": IDS}, False, False),
    ("tag-form subject, no environment", {"environment": None, "ids": IDS}, False, False),
    ("another environment", {"environment": "staging", "ids": IDS}, False, False),
    (
        "another workflow of the repository",
        {"workflow": ".github/workflows/other.yml", "ids": IDS},
        False,
        False,
    ),
]


def _case_token(repository: str, options: dict[str, Any]) -> dict[str, str]:
    owner, name = repository.split("/")
    options = dict(options)
    chosen = options.pop("repository", repository)
    fields = {"owner": owner, "name": name, "upper": repository.upper()}
    options = {k: v.format(**fields) if isinstance(v, str) else v for k, v in options.items()}
    return token(repository=chosen.format(**fields), **options)


@pytest.mark.parametrize(("case", "options", "full", "monorepo"), CASES, ids=[c[0] for c in CASES])
def test_oidc_claims_against_the_synthesized_trust_policy(
    synthesized: dict[str, Path], case: str, options: dict[str, Any], full: bool, monorepo: bool
) -> None:
    assert allows(trust_statement(synthesized, "example-full"), _case_token(ACME, options)) is full
    orbit = trust_statement(synthesized, "example-monorepo")
    assert allows(orbit, _case_token(ORBIT, options)) is monorepo


def test_an_environment_name_cannot_smuggle_a_matching_subject(
    synthesized: dict[str, Path],
) -> None:
    """The `@*` immutable form alone would match a subject whose environment name carries the
    rest of it; the repository, environment and workflow conditions refuse it."""
    crafted = token(repository="acme/other", ids=("1", "3"))
    crafted[f"{ISSUER}:sub"] = "repo:acme@1/other@3:environment:x/platform@9:environment:release"
    crafted[f"{ISSUER}:environment"] = "x/platform@9:environment:release"
    statement = trust_statement(synthesized, "example-full")
    assert not allows(statement, crafted)
    # ...while the subject condition alone would have let it through.
    subject_only = {
        "Effect": "Allow",
        "Condition": {
            "StringLike": {f"{ISSUER}:sub": statement["Condition"]["StringLike"][f"{ISSUER}:sub"]}
        },
    }
    assert allows(subject_only, crafted)


TAGS = [
    "v1", "v1.2.3", "v", "v1/x", "v1/", "x/v1", "V1", "vv", "release-", "release-1", "release-1/x",
    "release-a-x", "release-a/b-x", "1.2.3", "1.2.3/4", "12.3", "1..", "..", "nightly",
]  # fmt: skip


@pytest.mark.parametrize("name", ["example-full", "example-monorepo", "spec-tricky"])
def test_the_workflow_and_the_role_accept_the_same_tags(
    compiled: dict[str, Path], synthesized: dict[str, Path], name: str
) -> None:
    workflow = YAML(typ="safe").load((compiled[name] / naming.RELEASE_WORKFLOW).read_text())
    patterns = workflow["on"]["push"]["tags"]
    spec = json.loads((compiled[name] / naming.CDK_SPEC).read_text())["github"]
    ids = (spec["owner_id"], spec["repository_id"]) if spec["owner_id"] else None
    environment = spec["release_environment"]
    statement = trust_statement(synthesized, name)
    started = {tag for tag in TAGS if github_filter(patterns, tag)}
    trusted = {
        tag
        for tag in TAGS
        if allows(
            statement,
            token(
                repository=spec["repository"],
                ref=f"refs/tags/{tag}",
                environment=environment,
                ids=ids,
            ),
        )
    }
    assert started == trusted
    assert started  # the table exercises a match for every spec


# --- one meaning of a tag pattern, for every pattern the spec accepts ---------------------

AGREE = settings(max_examples=400, deadline=None, derandomize=True, database=None)
# Characters of tag names (git check-ref-format allows '/'), and of patterns, refused ones too.
TAG_TEXT = st.text(alphabet="v1a.-_/", min_size=1, max_size=8)
PATTERN_TEXT = st.text(alphabet="v1a.-_*/?+[]!", min_size=1, max_size=6)


def _accepted(pattern: str) -> bool:
    try:
        GitHub.model_validate({"repository": ACME, "release_tags": [pattern]})
    except ValidationError:
        return False
    return True


def _upload_trust() -> Any:
    """The handoff stack's own condition builder, from the CDK app's sources."""
    sys.path.insert(0, str(ROOT / "templates" / "cdk"))
    try:
        from stacks.handoff import upload_trust
    finally:
        sys.path.pop(0)
    return upload_trust


def _role_trusts(pattern: str, tag: str) -> bool:
    conditions = _upload_trust()(
        {
            "repository": ACME,
            "owner_id": None,
            "repository_id": None,
            "release_tags": [pattern],
            "release_environment": "release",
            "release_workflow": naming.RELEASE_WORKFLOW,
        }
    )
    statement = {"Effect": "Allow", "Condition": conditions}
    return allows(statement, token(repository=ACME, ref=f"refs/tags/{tag}"))


@AGREE
@given(pattern=PATTERN_TEXT, tag=TAG_TEXT)
def test_every_accepted_pattern_means_the_same_tags_to_github_and_iam(
    pattern: str, tag: str
) -> None:
    assume(_accepted(pattern))
    event(f"started: {github_filter([pattern], tag)}")
    assert github_filter([pattern], tag) == _role_trusts(pattern, tag)


@pytest.mark.parametrize(
    ("pattern", "tag"),
    [
        ("release/*", "release/1"),  # a '/' in the pattern: the role refuses every tag with '/'
        ("v**", "v1/x"),  # GitHub's '**' crosses '/'
        ("v1?", "v"),  # GitHub's '?' makes the preceding character optional; IAM's is one char
        ("v1+", "v11"),  # GitHub's '+' repeats the preceding character; IAM's is literal
        ("v[12]", "v1"),  # a GitHub character class; literal to IAM
        ("!v1", "v2"),  # a GitHub exclusion (nothing included before it); literal to IAM
    ],
)
def test_each_refused_pattern_feature_would_split_the_meaning(pattern: str, tag: str) -> None:
    assert not _accepted(pattern)
    assert github_filter(["*", pattern] if pattern.startswith("!") else [pattern], tag) != (
        _role_trusts(pattern, tag)
    )
