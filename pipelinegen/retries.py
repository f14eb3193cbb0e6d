"""How every AWS call the generated pipeline makes is retried: defined once, for the release
workflow's jobs, the CodeBuild buildspecs (through pipeline.json) and the scripts both run.

The AWS CLI and SDKs read `AWS_RETRY_MODE` and `AWS_MAX_ATTEMPTS` from the environment (AWS CLI
User Guide, "AWS CLI retries"; AWS SDKs and Tools Reference Guide, "Retry behavior"). `standard`
mode retries throttling errors (Throttling, TooManyRequestsException, ...), transient errors and
HTTP 500/502/503/504 with exponential backoff (base 2, at most 20 s), but gives up after 3
attempts in all by default: too few for the account-wide throttling of STS, ECR, EKS and the
Marketplace Catalog API that a pipeline meets when other automation shares the account. 10
attempts ride out about two minutes of throttling. (`adaptive` also rate-limits the client,
which helps a long-lived client, not short CLI calls.)
"""

from __future__ import annotations

RETRY_MODE = "standard"
MAX_ATTEMPTS = 10
# The environment every job, buildspec and script sets (scripts keep a caller's own values).
ENVIRONMENT = {"AWS_RETRY_MODE": RETRY_MODE, "AWS_MAX_ATTEMPTS": str(MAX_ATTEMPTS)}
