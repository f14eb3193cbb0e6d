"""Small, faithful evaluators of the two readers of a release tag, for the trust tests.

- IAM: an `Allow` statement's `Condition` block as AWS evaluates it for a single-valued request
  context (IAM User Guide, "IAM JSON policy elements: Condition operators" and "Condition
  block"): every operator and every key must hold; the values listed for one key are ORed;
  `StringEquals` and `StringLike` are case-sensitive and false when the key is absent;
  `StringNotLike` is true when the key is absent; in `StringLike` `*` matches any run of
  characters (`/` included) and `?` any one character.
- GitHub: the branch and tag filters of `on.push` (GitHub docs, "Workflow syntax for GitHub
  Actions: filter pattern cheat sheet"), ported from nektos/act `pkg/workflowpattern`
  (`PatternToRegex` and `Skip`): `*` matches any run of characters except `/`, `**` any run,
  `?` and `+` quantify the preceding character, `[...]` is a class, `\\` escapes, and a leading
  `!` excludes what earlier patterns included (the last matching pattern decides).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

OPERATORS = ("StringEquals", "StringLike", "StringNotLike")


def string_like(pattern: str, value: str) -> bool:
    """IAM's StringLike for one pattern."""
    parts = ("." if char == "?" else ".*" if char == "*" else re.escape(char) for char in pattern)
    return re.fullmatch("".join(parts), value, flags=re.DOTALL) is not None


def allows(statement: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """Whether an Allow statement's conditions hold for the request context."""
    assert statement["Effect"] == "Allow"
    for operator, conditions in statement.get("Condition", {}).items():
        if operator not in OPERATORS:
            raise ValueError(f"the evaluator does not know {operator}")
        for key, listed in conditions.items():
            values = [listed] if isinstance(listed, str) else list(listed)
            assert all(isinstance(v, str) for v in values), values  # no CloudFormation tokens
            if not _holds(operator, values, context.get(key)):
                return False
    return True


def _holds(operator: str, values: list[str], actual: str | None) -> bool:
    if operator == "StringNotLike":
        return actual is None or not any(string_like(v, actual) for v in values)
    if actual is None:
        return False
    if operator == "StringEquals":
        return actual in values
    return any(string_like(v, actual) for v in values)


def github_pattern(pattern: str) -> re.Pattern[str]:
    """One GitHub filter pattern (without a leading `!`) as a regular expression."""
    out, pos = ["^"], 0
    while pos < len(pattern):
        char = pattern[pos]
        if pattern.startswith("**/", pos):
            out.append("(.+/)?")
            pos += 3
        elif pattern.startswith("**", pos):
            out.append(".*")
            pos += 2
        elif char == "*":
            out.append("[^/]*")
            pos += 1
        elif char in "+?":
            out.append(char if pos > 0 else re.escape(char))
            pos += 1
        elif char == "[":
            end = pattern.index("]", pos + 1)
            out.append("[" + pattern[pos + 1 : end] + "]")
            pos = end + 1
        elif char == "\\":
            out.append(re.escape(pattern[pos + 1]))
            pos += 2
        else:
            out.append(re.escape(char))
            pos += 1
    return re.compile("".join(out) + "$")


def github_filter(patterns: Sequence[str], value: str) -> bool:
    """Whether a push of `value` (a tag name) passes the `tags:` filter."""
    matched = False
    for raw in patterns:
        negative = raw.startswith("!")
        if github_pattern(raw[1:] if negative else raw).match(value):
            matched = not negative
    return matched
