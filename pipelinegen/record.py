"""The record of a compile (naming.RECORD): every file it generated, with the digest of each.

A later compile deletes what it no longer generates and never overwrites what it did not write
(pipelinegen.output); the compile cache trusts the files a matching record lists
(pipelinegen.cache). All of them read and write it here, with the one digest.
"""

from __future__ import annotations

import hashlib
import json
import re

from pipelinegen import naming
from pipelinegen.errors import UserError

_SHA256 = re.compile(r"[0-9a-f]{64}")


def digest(content: str | bytes) -> str:
    """The sha256 of `content` (text as UTF-8): what the record holds for each file (and for
    the spec). Bytes are hashed as they are, so a file with CRLF line endings differs."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()


def compose(files: dict[str, str], *, spec: str, spec_sha256: str, generated_by: str) -> str:
    """The record of `files`, compiled from the spec at `spec` (repository-relative)."""
    document = {
        "generated_by": generated_by,
        "spec": spec,
        "spec_sha256": spec_sha256,
        "files": {path: digest(text) for path, text in sorted(files.items())},
    }
    return json.dumps(document, indent=2) + "\n"


def listed(text: str | None) -> dict[str, str]:
    """path → digest from a record's text ({} if there is none, or it is not a record).

    The record is in the repository, so a pull request can edit it: UserError when it lists a
    path pipelinegen never writes (see naming.is_generated_path: `../x`, `.git/HEAD`, `/etc/x`)
    or a digest that is not 64 hex digits, rather than deleting or trusting what it names."""
    try:
        files = json.loads(text)["files"] if text else {}
    except (ValueError, KeyError, TypeError):
        return {}
    if not isinstance(files, dict):
        return {}
    for path, value in files.items():
        if (
            not naming.is_generated_path(path)
            or not isinstance(value, str)
            or not _SHA256.fullmatch(value)
        ):
            raise UserError(
                f"{naming.RECORD} lists {path!r} with {value!r}: pipelinegen never writes that",
                f"the record was edited; restore it (git checkout -- {naming.RECORD}), then "
                "compile again",
            )
    return dict(files)


def spec_digest(text: str | None) -> str | None:
    """The spec sha256 a record's text names (None if there is none, or it is unreadable)."""
    try:
        value = json.loads(text)["spec_sha256"] if text else None
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None
