"""What changed between two sets of synthesized CloudFormation templates, as a reviewer needs it.

`pipelinegen diff --synth` synthesizes the CDK app at two revisions and hands both sets of
templates here. A one-line edit to pipeline.yaml can trust a new account, widen a role or drop
an approval, and a raw diff of an 80 KB template hides that among asset hashes. So this module
reports two things: which resources were added, removed or modified (and which of their
top-level properties changed), and, permission by permission, which IAM grants appear or
disappear — the list a security reviewer reads.

Comparison is semantic where CloudFormation and IAM are: the order of policy statements and of
the values in them means nothing, so reordering them is no change. CDK's bookkeeping
(`Metadata`, the `CDKMetadata` resource, the BootstrapVersion parameter and rule) is ignored.

Pure: templates in, data and text out. No files, subprocesses, clock or environment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any, Literal, TypeAlias

from pipelinegen import markdown

Templates: TypeAlias = Mapping[str, Mapping[str, Any]]
"""Stack name -> template JSON, as in a cloud assembly's `<stack>.template.json` files."""

ResourceStatus: TypeAlias = Literal["added", "removed", "modified"]
IamStatus: TypeAlias = Literal["added", "removed"]


@dataclass(frozen=True)
class ResourceChange:
    """A resource that exists at only one revision, or whose definition differs between them."""

    stack: str
    logical_id: str
    type: str
    status: ResourceStatus
    properties: tuple[str, ...] = ()
    """For "modified": the differing top-level paths ("Properties.Stages", "DependsOn"), sorted."""


@dataclass(frozen=True)
class IamChange:
    """One permission (principal x action x resource) that exists at only one revision.

    Exploding statements this far is what makes "trusts a new account" or "may now assume the
    prod role" a line of its own instead of a changed JSON blob.
    """

    stack: str
    status: IamStatus
    effect: str
    principal: str
    action: str
    resource: str
    condition: str
    """The statement's Condition as compact JSON (intrinsics rendered), "" when it has none."""
    source: str
    """The logical id of the resource whose policy holds the statement."""


@dataclass(frozen=True)
class CloudFormationDiff:
    """Everything that differs, in a stable order so reports are reproducible."""

    resources: tuple[ResourceChange, ...]
    iam: tuple[IamChange, ...]
    stacks_added: tuple[str, ...]
    stacks_removed: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """True when a deploy of head would change nothing that this module can see."""
        return not (self.resources or self.iam or self.stacks_added or self.stacks_removed)


def diff_templates(base: Templates, head: Templates) -> CloudFormationDiff:
    """Compare every stack at both revisions; a stack at one revision only compares to nothing,
    so all of its resources and grants show as added (or removed)."""
    stacks = sorted(base.keys() | head.keys())
    resources: list[ResourceChange] = []
    iam: list[IamChange] = []
    for stack in stacks:
        before, after = base.get(stack, {}), head.get(stack, {})
        resources += _resource_changes(stack, _resources(before), _resources(after))
        iam += _iam_changes(stack, _grants(before), _grants(after))
    return CloudFormationDiff(
        resources=tuple(sorted(resources, key=_resource_order)),
        iam=tuple(sorted(iam, key=_iam_order)),
        stacks_added=tuple(sorted(head.keys() - base.keys())),
        stacks_removed=tuple(sorted(base.keys() - head.keys())),
    )


_STATUS_ORDER = {"removed": 0, "added": 1, "modified": 2}


def _resource_order(change: ResourceChange) -> tuple[str, int, str]:
    return change.stack, _STATUS_ORDER[change.status], change.logical_id


def _iam_order(change: IamChange) -> tuple[str | int, ...]:
    return (
        change.stack,
        _STATUS_ORDER[change.status],
        change.principal,
        change.action,
        change.resource,
        change.effect,
        change.condition,
        change.source,
    )


# --- JSON helpers ---------------------------------------------------------------------------


def _json(value: Any) -> str:
    """Compact, key-sorted JSON: a stable text form to show, compare and sort by."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _as_list(value: Any) -> list[Any]:
    """IAM and CloudFormation accept a scalar wherever a one-element list is allowed."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _as_set(values: Iterable[Any]) -> list[Any]:
    """Sorted and deduplicated: lists whose order means nothing compare equal when reordered."""
    return [value for _, value in sorted({_json(value): value for value in values}.items())]


def _intrinsic(value: Any) -> tuple[str, Any] | None:
    """`(name, argument)` when `value` is a `{"Ref": ...}` or `{"Fn::...": ...}` call."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref" or str(name).startswith("Fn::"):
            return str(name), argument
    return None


# --- Resources ------------------------------------------------------------------------------

_CDK_BOOKKEEPING_IDS = frozenset({"CDKMetadata"})
_CDK_BOOKKEEPING_TYPES = frozenset({"AWS::CDK::Metadata"})
_ATTRIBUTES = ("Condition", "DeletionPolicy", "DependsOn", "UpdateReplacePolicy")
_MISSING = object()


def _resources(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The template's resources without CDK's own, which deploy nothing anyone reviews."""
    resources = template.get("Resources") or {}
    return {
        logical_id: resource
        for logical_id, resource in resources.items()
        if logical_id not in _CDK_BOOKKEEPING_IDS
        and isinstance(resource, Mapping)
        and _type(resource) not in _CDK_BOOKKEEPING_TYPES
    }


def _type(resource: Mapping[str, Any]) -> str:
    return str(resource.get("Type", ""))


def _properties(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    properties = resource.get("Properties")
    return properties if isinstance(properties, Mapping) else {}


def _resource_changes(
    stack: str, base: Mapping[str, Mapping[str, Any]], head: Mapping[str, Mapping[str, Any]]
) -> Iterator[ResourceChange]:
    """A changed Type is a remove and an add: CloudFormation replaces the resource."""
    for logical_id in sorted(base.keys() | head.keys()):
        old, new = base.get(logical_id), head.get(logical_id)
        if old is not None and new is not None and _type(old) == _type(new):
            changed = _changed_paths(_type(new), old, new)
            if changed:
                yield ResourceChange(stack, logical_id, _type(new), "modified", changed)
            continue
        if old is not None:
            yield ResourceChange(stack, logical_id, _type(old), "removed")
        if new is not None:
            yield ResourceChange(stack, logical_id, _type(new), "added")


def _changed_paths(
    resource_type: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[str, ...]:
    before, after = _comparable(resource_type, old), _comparable(resource_type, new)
    paths = before.keys() | after.keys()
    return tuple(sorted(p for p in paths if before.get(p, _MISSING) != after.get(p, _MISSING)))


def _comparable(resource_type: str, resource: Mapping[str, Any]) -> dict[str, Any]:
    """The deployed parts of a resource by reported path, in canonical form. `Metadata` is left
    out: CDK writes construct paths and asset hashes there, which deploy nothing."""
    comparable = {
        f"Properties.{name}": _canonical_property(resource_type, name, value)
        for name, value in _properties(resource).items()
    }
    for attribute in _ATTRIBUTES:
        if attribute in resource:
            value = resource[attribute]
            comparable[attribute] = _as_set(_as_list(value)) if attribute == "DependsOn" else value
    return comparable


_IAM_IDENTITIES = frozenset({"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"})
_UNORDERED_IAM_PROPERTIES = frozenset({"Groups", "ManagedPolicyArns", "Roles", "Users"})


def _canonical_property(resource_type: str, name: str, value: Any) -> Any:
    """Policy documents and IAM attachment lists are sets; everything else compares as written
    (order matters elsewhere, e.g. a pipeline's stages)."""
    if name == _policy_property(resource_type):
        return _canonical_document(value)
    if resource_type in _IAM_IDENTITIES and name == "Policies":
        return _as_set(_canonical_inline_policy(policy) for policy in _as_list(value))
    if resource_type.startswith("AWS::IAM::") and name in _UNORDERED_IAM_PROPERTIES:
        return _as_set(_as_list(value))
    return value


def _canonical_inline_policy(policy: Any) -> Any:
    if not isinstance(policy, Mapping):
        return policy
    return {**policy, "PolicyDocument": _canonical_document(policy.get("PolicyDocument"))}


def _canonical_document(document: Any) -> Any:
    document = _parsed(document)
    if not isinstance(document, Mapping) or "Statement" not in document:
        return document
    statements = [_canonical_statement(s) for s in _as_list(document["Statement"])]
    return {**document, "Statement": _as_set(statements)}


def _canonical_statement(statement: Any) -> Any:
    if not isinstance(statement, Mapping):
        return statement
    return {key: _canonical_element(key, value) for key, value in statement.items()}


def _canonical_element(key: str, value: Any) -> Any:
    if key in {"Action", "NotAction", "Resource", "NotResource"}:
        return _as_set(_as_list(value))
    if key in {"Principal", "NotPrincipal", "Condition"} and _is_plain_mapping(value):
        return {name: _canonical_element(key, inner) for name, inner in value.items()}
    if key in {"Principal", "NotPrincipal", "Condition"}:
        return _as_set(_as_list(value))
    return value


def _is_plain_mapping(value: Any) -> bool:
    return isinstance(value, Mapping) and _intrinsic(value) is None


def _parsed(document: Any) -> Any:
    """Some resource types (AWS::Logs::ResourcePolicy) take the policy as a JSON string."""
    if isinstance(document, str):
        try:
            return json.loads(document)
        except ValueError:
            return document
    return document


# --- Readable values ------------------------------------------------------------------------


def _render(value: Any) -> str:
    """A template value as a reviewer reads it: `{"Ref": "X"}` -> `${X}`, `Fn::GetAtt X.Arn` ->
    `${X.Arn}`, `Fn::Join` and `Fn::Sub` flattened into one string; pseudo parameters stay
    `${AWS::Partition}`. Anything else (`Fn::If`, `Fn::Select`, ...) shows as compact JSON."""
    if isinstance(value, str):
        return value
    intrinsic = _intrinsic(value)
    if intrinsic is not None:
        renderer = _RENDERERS.get(intrinsic[0])
        rendered = renderer(intrinsic[1]) if renderer is not None else None
        if rendered is not None:
            return rendered
    return _json(value)


def _render_ref(argument: Any) -> str:
    return "${" + _render(argument) + "}"


def _render_get_att(argument: Any) -> str:
    if isinstance(argument, list):
        return "${" + ".".join(_render(part) for part in argument) + "}"
    return "${" + _render(argument) + "}"


def _render_join(argument: Any) -> str | None:
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], list):
        delimiter, parts = argument
        return _render(delimiter).join(_render(part) for part in parts)
    return None


_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def _render_sub(argument: Any) -> str | None:
    """`${Name}` placeholders stay as they are unless the variable map gives them a value."""
    if isinstance(argument, str):
        return argument
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], Mapping):
        text, variables = _render(argument[0]), argument[1]
        return _SUB_VARIABLE.sub(
            lambda m: _render(variables[m[1]]) if m[1] in variables else m[0], text
        )
    return None


def _render_import(argument: Any) -> str:
    return "${Import:" + _render(argument) + "}"


_RENDERERS: Mapping[str, Callable[[Any], str | None]] = {
    "Ref": _render_ref,
    "Fn::GetAtt": _render_get_att,
    "Fn::Join": _render_join,
    "Fn::Sub": _render_sub,
    "Fn::ImportValue": _render_import,
}


def _readable_condition(condition: Any) -> Any:
    """Intrinsics rendered, and value lists as sets (IAM ORs them) with a lone value unwrapped,
    so `"x"` and `["x"]` read, and compare, the same."""
    if _intrinsic(condition) is not None:
        return _render(condition)
    if isinstance(condition, Mapping):
        return {str(key): _readable_condition(value) for key, value in condition.items()}
    if isinstance(condition, list):
        values = _as_set(_readable_condition(value) for value in condition)
        return values[0] if len(values) == 1 else values
    return condition


# --- IAM ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grant:
    """One exploded permission in one template: an IamChange without stack and status."""

    effect: str
    principal: str
    action: str
    resource: str
    condition: str
    source: str


# Identity policies: statements have no Principal; they apply to what the policy is attached to.
_IDENTITY_POLICIES = frozenset(
    {
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::RolePolicy",
        "AWS::IAM::UserPolicy",
        "AWS::IAM::GroupPolicy",
    }
)
# Where a resource type keeps its policy document, when it is not `PolicyDocument`.
_POLICY_PROPERTIES: Mapping[str, str] = {
    "AWS::IAM::Role": "AssumeRolePolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::ECR::Repository": "RepositoryPolicyText",
    "AWS::S3::AccessPoint": "Policy",
    "AWS::SecretsManager::ResourcePolicy": "ResourcePolicy",
}
# The property holding a literal physical name, which reads better than a logical id.
_NAME_PROPERTIES: Mapping[str, str] = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::ECR::Repository": "RepositoryName",
}
_ATTACHMENTS = (
    ("Roles", ""),
    ("Users", "user/"),
    ("Groups", "group/"),
    ("RoleName", ""),
    ("UserName", "user/"),
    ("GroupName", "group/"),
)
_IDENTITY_PREFIX = {"AWS::IAM::User": "user/", "AWS::IAM::Group": "group/"}
_NOT_ATTACHED = "(not attached)"
_NO_PRINCIPAL = "(no principal)"
_NO_RESOURCE = "(no resource)"
_NO_ACTION = "(no action)"
# The action of a grant that attaches a managed policy the template does not define (such as
# arn:aws:iam::aws:policy/AdministratorAccess): its statements are unknown here, so the
# attachment itself is the change to review; the resource is the policy's ARN.
_MANAGED_POLICY = "(attached managed policy)"


def _policy_property(resource_type: str) -> str:
    return _POLICY_PROPERTIES.get(resource_type, "PolicyDocument")


@dataclass(frozen=True)
class _Template:
    """A template's resources, and which identities attach each of its managed policies through
    their own `ManagedPolicyArns` (the other direction from a policy's `Roles`)."""

    resources: Mapping[str, Mapping[str, Any]]
    managed_policy_users: Mapping[str, tuple[str, ...]]

    def name_of(self, reference: Any) -> str:
        """A role, user or group named in an attachment: its literal name, or its logical id."""
        intrinsic = _intrinsic(reference)
        if intrinsic is not None and intrinsic[0] == "Ref" and intrinsic[1] in self.resources:
            return _name(intrinsic[1], self.resources[intrinsic[1]])
        return _render(reference)


def _local_managed_policy(resources: Mapping[str, Mapping[str, Any]], arn: Any) -> str | None:
    """The logical id of the template's own AWS::IAM::ManagedPolicy that `arn` refers to."""
    intrinsic = _intrinsic(arn)
    if intrinsic is None or intrinsic[0] != "Ref" or not isinstance(intrinsic[1], str):
        return None
    target = resources.get(intrinsic[1])
    is_local = target is not None and _type(target) == "AWS::IAM::ManagedPolicy"
    return intrinsic[1] if is_local else None


def _name(logical_id: str, resource: Mapping[str, Any]) -> str:
    name = _properties(resource).get(_NAME_PROPERTIES.get(_type(resource), ""))
    return name if isinstance(name, str) else logical_id


def _subject(logical_id: str, resource: Mapping[str, Any]) -> str:
    """The resource a resource policy protects, for statements that leave `Resource` implicit
    (trust policies, ECR repository policies)."""
    name = _properties(resource).get(_NAME_PROPERTIES.get(_type(resource), ""))
    return name if isinstance(name, str) else "${" + logical_id + "}"


def _identity(logical_id: str, resource: Mapping[str, Any]) -> str:
    return _IDENTITY_PREFIX.get(_type(resource), "") + _name(logical_id, resource)


def _grants(template: Mapping[str, Any]) -> frozenset[_Grant]:
    resources = _resources(template)
    context = _Template(resources, _managed_policy_users(resources))
    return frozenset(
        grant
        for logical_id, resource in resources.items()
        for grant in _resource_grants(logical_id, resource, context)
    )


def _managed_policy_users(
    resources: Mapping[str, Mapping[str, Any]],
) -> dict[str, tuple[str, ...]]:
    users: dict[str, list[str]] = {}
    for logical_id, resource in resources.items():
        if _type(resource) not in _IAM_IDENTITIES:
            continue
        for arn in _as_list(_properties(resource).get("ManagedPolicyArns")):
            policy = _local_managed_policy(resources, arn)
            if policy is not None:
                users.setdefault(policy, []).append(_identity(logical_id, resource))
    return {policy: tuple(names) for policy, names in users.items()}


def _resource_grants(
    logical_id: str, resource: Mapping[str, Any], context: _Template
) -> Iterator[_Grant]:
    resource_type, properties = _type(resource), _properties(resource)
    if resource_type in _IDENTITY_POLICIES:
        principals = _attached_to(logical_id, properties, context)
        yield from _document_grants(
            properties.get("PolicyDocument"), logical_id, principals, _NO_RESOURCE
        )
        return
    if resource_type in _IAM_IDENTITIES:
        yield from _identity_grants(logical_id, resource, context)
    document = properties.get(_policy_property(resource_type))
    subject = _subject(logical_id, resource)
    yield from _document_grants(document, logical_id, (_NO_PRINCIPAL,), subject)


def _attached_to(
    logical_id: str, properties: Mapping[str, Any], context: _Template
) -> tuple[str, ...]:
    names = {
        prefix + context.name_of(reference)
        for key, prefix in _ATTACHMENTS
        for reference in _as_list(properties.get(key))
    }
    names.update(context.managed_policy_users.get(logical_id, ()))
    return tuple(sorted(names)) or (_NOT_ATTACHED,)


def _identity_grants(
    logical_id: str, resource: Mapping[str, Any], context: _Template
) -> Iterator[_Grant]:
    """A role's, user's or group's inline policies, and the managed policies it attaches that
    the template does not define (those it defines are exploded where they are defined)."""
    identity, properties = (_identity(logical_id, resource),), _properties(resource)
    for policy in _as_list(properties.get("Policies")):
        if isinstance(policy, Mapping):
            document = policy.get("PolicyDocument")
            yield from _document_grants(document, logical_id, identity, _NO_RESOURCE)
    for arn in _as_list(properties.get("ManagedPolicyArns")):
        if _local_managed_policy(context.resources, arn) is None:
            yield _Grant("Allow", identity[0], _MANAGED_POLICY, _render(arn), "", logical_id)


def _document_grants(
    document: Any, source: str, principals: tuple[str, ...], resource: str
) -> Iterator[_Grant]:
    """Every statement exploded; `principals` and `resource` stand in where a statement has no
    Principal (identity policies) or no Resource (trust and repository policies)."""
    document = _parsed(document)
    if not isinstance(document, Mapping):
        return
    for statement in _as_list(document.get("Statement")):
        if isinstance(statement, Mapping):
            yield from _statement_grants(statement, source, principals, resource)


def _statement_grants(
    statement: Mapping[str, Any], source: str, principals: tuple[str, ...], resource: str
) -> Iterator[_Grant]:
    condition = statement.get("Condition")
    condition_text = _json(_readable_condition(condition)) if condition else ""
    effect = _render(statement.get("Effect", ""))
    for principal, action, target in product(
        _statement_principals(statement) or principals,
        _negatable(statement, "Action") or (_NO_ACTION,),
        _negatable(statement, "Resource") or (resource,),
    ):
        yield _Grant(effect, principal, action, target, condition_text, source)


def _negatable(statement: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """`Action` values, then `NotAction` values as "NOT <x>" (likewise Resource)."""
    values = [_render(value) for value in _as_list(statement.get(key))]
    values += ["NOT " + _render(value) for value in _as_list(statement.get(f"Not{key}"))]
    return tuple(values)


def _statement_principals(statement: Mapping[str, Any]) -> tuple[str, ...]:
    return _principals(statement.get("Principal"), "") + _principals(
        statement.get("NotPrincipal"), "NOT "
    )


def _principals(value: Any, prefix: str) -> tuple[str, ...]:
    """`{"AWS": [a, b], "Service": s}` -> "AWS: a", "AWS: b", "Service: s"; `"*"` stays "*"."""
    if value is None:
        return ()
    if _is_plain_mapping(value):
        return tuple(
            f"{prefix}{kind}: {_render(principal)}"
            for kind, principals in value.items()
            for principal in _as_list(principals)
        )
    return (prefix + _render(value),)


def _iam_changes(
    stack: str, base: frozenset[_Grant], head: frozenset[_Grant]
) -> Iterator[IamChange]:
    statuses: tuple[tuple[IamStatus, frozenset[_Grant]], ...] = (
        ("removed", base - head),
        ("added", head - base),
    )
    for status, grants in statuses:
        for g in grants:
            yield IamChange(
                stack, status, g.effect, g.principal, g.action, g.resource, g.condition, g.source
            )


# --- Reports --------------------------------------------------------------------------------

_MARKERS = {"added": "+", "removed": "-", "modified": "~"}
_NO_CHANGES = "No CloudFormation changes."


def render_text(diff: CloudFormationDiff) -> str:
    """Plain text for a terminal: the stacks added or removed, then per stack its resource
    changes (`+` added, `-` removed, `~` modified: paths) and IAM grants as sentences."""
    if diff.empty:
        return _NO_CHANGES
    lines = _stack_lines(diff)
    for stack in _changed_stacks(diff):
        lines.append(f"{stack}:")
        resources = [c for c in diff.resources if c.stack == stack]
        if resources:
            lines += ["  resources:"] + [f"    {_resource_line(c)}" for c in resources]
        iam = [c for c in diff.iam if c.stack == stack]
        if iam:
            lines += ["  IAM:"] + [f"    {_iam_line(c)}" for c in iam]
    return "\n".join(lines)


def _stack_lines(diff: CloudFormationDiff) -> list[str]:
    lines = []
    if diff.stacks_added:
        lines.append("stacks added: " + ", ".join(diff.stacks_added))
    if diff.stacks_removed:
        lines.append("stacks removed: " + ", ".join(diff.stacks_removed))
    return lines


def _changed_stacks(diff: CloudFormationDiff) -> list[str]:
    return sorted({c.stack for c in diff.resources} | {c.stack for c in diff.iam})


def _resource_line(change: ResourceChange) -> str:
    line = f"{_MARKERS[change.status]} {change.logical_id} ({change.type})"
    return f"{line}: {', '.join(change.properties)}" if change.properties else line


def _iam_line(change: IamChange) -> str:
    line = (
        f"{_MARKERS[change.status]} {change.effect} {change.action} on {change.resource}"
        f" for {change.principal}"
    )
    return f"{line} when {change.condition}" if change.condition else line


_RESOURCE_HEADER = ("Stack", "Logical ID", "Type", "Change", "Changed properties")
_IAM_HEADER = ("Change", "Principal", "Action", "Resource", "Condition")
MARKDOWN_BUDGET = 40_000
"""Characters of table rows render_markdown writes at most by default: a GitHub comment holds
65,536 characters in all, and adopting pipelinegen adds hundreds of grants at once."""


def render_markdown(diff: CloudFormationDiff, *, max_chars: int = MARKDOWN_BUDGET) -> str:
    """GitHub markdown for a pull-request comment: the stacks added or removed, a table of
    resource changes, then one IAM table per stack (principals such as role names only mean
    something within their stack). Past `max_chars`, rows are left out with a note saying how
    many, so the comment still posts."""
    if diff.empty:
        return _NO_CHANGES
    blocks = [_markdown_stacks(diff)] if diff.stacks_added or diff.stacks_removed else []
    tables = [("#### Resources", _RESOURCE_HEADER, [_resource_row(c) for c in diff.resources])]
    for stack in sorted({c.stack for c in diff.iam}):
        rows = [_iam_row(c) for c in diff.iam if c.stack == stack]
        tables.append((f"#### IAM in {_code(stack)}", _IAM_HEADER, rows))
    total = sum(len(rows) for _, _, rows in tables)
    budget = max_chars - sum(len(block) + 2 for block in blocks) - len(_omitted_note(total)) - 2
    omitted = 0
    for heading, header, rows in tables:
        top = f"{heading}\n\n{_row(header)}\n{_row(('---',) * len(header))}"
        kept = _within(rows, budget - len(top) - 2)
        omitted += len(rows) - len(kept)
        if kept:
            blocks.append("\n".join([top, *kept]))
            budget -= len(blocks[-1]) + 2
    if omitted:
        blocks.append(_omitted_note(omitted))
    return "\n\n".join(blocks)


def _omitted_note(rows: int) -> str:
    return (
        f"*{rows} more rows are left out to fit a comment; run "
        "`pipelinegen diff --synth` locally to see them all.*"
    )


def _within(rows: Sequence[str], budget: int) -> list[str]:
    kept: list[str] = []
    for row in rows:
        budget -= len(row) + 1
        if budget < 0:
            break
        kept.append(row)
    return kept


def _markdown_stacks(diff: CloudFormationDiff) -> str:
    lines = []
    if diff.stacks_added:
        lines.append("**Stacks added:** " + ", ".join(_code(s) for s in diff.stacks_added))
    if diff.stacks_removed:
        lines.append("**Stacks removed:** " + ", ".join(_code(s) for s in diff.stacks_removed))
    return "  \n".join(lines)


def _resource_row(change: ResourceChange) -> str:
    properties = ", ".join(_code(p) for p in change.properties)
    return _row(
        (
            _cell(change.stack),
            _code(change.logical_id),
            _cell(change.type),
            change.status,
            properties,
        )
    )


def _iam_row(change: IamChange) -> str:
    effect = "" if change.effect == "Allow" else f"**{_cell(change.effect)}** "
    return _row(
        (
            change.status,
            _code(change.principal),
            effect + _code(change.action),
            _code(change.resource),
            _code(change.condition),
        )
    )


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    """Plain table cell text, escaped (pipelinegen.markdown): no `|`, HTML or link gets out;
    a line break is `<br>` (a cell is one line)."""
    return "<br>".join(markdown.escape(line) for line in text.splitlines())


def _code(text: str) -> str:
    """Values as code spans, so `*` in an action or ARN is not read as emphasis; one span per
    line (a code span cannot hold a line break), `|` escaped (GitHub unescapes it in spans)."""
    return "<br>".join(markdown.code(line, in_table=True) for line in text.splitlines() if line)


def as_json(diff: CloudFormationDiff) -> dict[str, Any]:
    """The diff as plain JSON data, in the same order as the dataclasses::

    {
      "empty": bool,
      "stacks_added": [stack, ...],
      "stacks_removed": [stack, ...],
      "resources": [{"stack", "logical_id", "type",
                     "status": "added" | "removed" | "modified",
                     "properties": [path, ...]}, ...],
      "iam": [{"stack", "status": "added" | "removed", "effect", "principal", "action",
               "resource", "condition", "source"}, ...]
    }
    """
    return {
        "empty": diff.empty,
        "stacks_added": list(diff.stacks_added),
        "stacks_removed": list(diff.stacks_removed),
        "resources": [
            {
                "stack": c.stack,
                "logical_id": c.logical_id,
                "type": c.type,
                "status": c.status,
                "properties": list(c.properties),
            }
            for c in diff.resources
        ],
        "iam": [
            {
                "stack": c.stack,
                "status": c.status,
                "effect": c.effect,
                "principal": c.principal,
                "action": c.action,
                "resource": c.resource,
                "condition": c.condition,
                "source": c.source,
            }
            for c in diff.iam
        ],
    }
