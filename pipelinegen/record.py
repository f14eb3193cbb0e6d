"""The record of a compile (naming.RECORD): every file it generated, with the digest of each.

A later compile deletes what it no longer generates and never overwrites what it did not write
(pipelinegen.output); the compile cache trusts the files a matching record lists
(pipelinegen.cache). All of them read and write it here, with the one digest.
"""

from __future__ import annotations

import hashlib
import json


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
    """path → digest from a record's text ({} if there is none, or it is unreadable)."""
    try:
        files = json.loads(text)["files"] if text else {}
    except (ValueError, KeyError, TypeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def spec_digest(text: str | None) -> str | None:
    """The spec sha256 a record's text names (None if there is none, or it is unreadable)."""
    try:
        value = json.loads(text)["spec_sha256"] if text else None
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None
