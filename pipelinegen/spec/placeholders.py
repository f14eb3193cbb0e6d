"""The values `pipelinegen init` writes where only the user knows the answer.

Each is valid for its type, so the starter spec compiles its shape, and each is refused by
`validate` ("replace the placeholder") until the user writes the real value: a placeholder must
never reach a generated file (the repository scopes the OIDC trust; the accounts hold the roles).
"""

from __future__ import annotations

REPOSITORY = "your-org/your-repo"
ACCOUNT = "000000000000"  # not an account AWS issues

WHAT: dict[str, str] = {
    REPOSITORY: "your GitHub repository as owner/name",
    ACCOUNT: "a 12-digit AWS account ID",
}
