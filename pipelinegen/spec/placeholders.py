"""The values `pipelinegen init` writes where only the user knows the answer.

Each is valid for its type, so the starter spec compiles its shape, and each is refused by
`validate` ("replace the placeholder") until the user writes the real value: a placeholder must
never reach a generated file (the repository scopes the OIDC trust; the accounts hold the roles;
a cluster name the pipeline deploys to; a check is a required status check that must test
something).
"""

from __future__ import annotations

import re

REPOSITORY = "your-org/your-repo"
ACCOUNT = "000000000000"  # not an account AWS issues
TEST_COMMAND = 'echo "replace with your test command" && exit 1'


def cluster(environment: str) -> str:
    """The placeholder EKS cluster name of `environment` (a valid cluster name)."""
    return f"your-{environment}-cluster"


WHAT: dict[str, str] = {
    REPOSITORY: "your GitHub repository as owner/name",
    ACCOUNT: "a 12-digit AWS account ID",
    TEST_COMMAND: "the command that tests your code",
}

CLUSTER = re.compile(r"^your-[a-z0-9-]+-cluster$")
CLUSTER_WHAT = "the name of this environment's EKS cluster (aws eks list-clusters)"

# Owners that documentation and starter files write in a repository URL for the reader to fill
# in: a generated job would clone from them and fail, or install someone else's code.
OWNERS = frozenset({"owner", "your-org", "your-name", "your-user", "username", "org", "user"})
GIT_URL_WHAT = "the https URL of the git repository that holds the pipelinegen you run"


def placeholder_owner(url: str) -> str | None:
    """The owner segment of an https git URL when it is a placeholder (case-insensitive)."""
    parts = url.removeprefix("https://").split("/")
    if len(parts) >= 3 and parts[1].casefold() in OWNERS:
        return parts[1]
    return None
