"""How long the AWS sessions of `delivery: github` jobs last: at least as long as their waits.

A job assumes its role by GitHub's OIDC token (AssumeRoleWithWebIdentity), and the session ends
when its `DurationSeconds` pass, one hour unless asked (configure-aws-credentials'
`role-duration-seconds`). A job that then waits longer (the Marketplace step waits up to five
hours for the change set) fails mid-wait with ExpiredToken while AWS keeps working
(aws-actions/configure-aws-credentials#354). So each job asks for its longest wait plus a
margin, and the role allows it (`MaxSessionDuration`): web-identity sessions may last up to
12 hours (IAM User Guide, "Use IAM roles": maximum session duration 1 to 12 hours; STS API
reference, AssumeRoleWithWebIdentity `DurationSeconds`: 900 to the role's maximum). A chained
session (a role assumed with another role's credentials, as deploy.sh does in CodeBuild) is
capped at one hour whatever the role allows; deploy.sh renews it instead.

Both halves read these numbers: the release workflow asks for them, the CDK app's roles allow
them (pipeline.json's `sessions`).
"""

from __future__ import annotations

MINIMUM_SECONDS = 900  # STS: DurationSeconds is at least 15 minutes
WEB_IDENTITY_MAXIMUM_SECONDS = 12 * 3600  # IAM: a role's MaxSessionDuration is at most 12 hours
DEFAULT_SECONDS = 3600  # what STS gives when not asked, and a role's default maximum
MARGIN_SECONDS = 30 * 60  # what a job does around its wait: copying images, starting, reporting

# The Marketplace step waits this long for its change set at most (publish-marketplace.sh's
# MARKETPLACE_TIMEOUT under `delivery: github`; GitHub ends a hosted job after 6 hours).
MARKETPLACE_WAIT_SECONDS = 5 * 3600
# A deploy job's Helm waits: recovering a pending release, then the upgrade (deploy.sh's
# HELM_TIMEOUT, 10 minutes each).
DEPLOY_WAIT_SECONDS = 2 * 10 * 60


class SessionTooLong(ValueError):
    """A wait no web-identity session can outlast."""


def session_seconds(wait_seconds: int) -> int:
    """The session a job asks for, in seconds: its longest wait (seconds) plus the margin,
    at least STS's default hour. Raises SessionTooLong past the 12-hour maximum."""
    seconds = max(DEFAULT_SECONDS, wait_seconds + MARGIN_SECONDS)
    if seconds > WEB_IDENTITY_MAXIMUM_SECONDS:
        raise SessionTooLong(
            f"a wait of {wait_seconds} s needs a {seconds} s session; AWS allows at most "
            f"{WEB_IDENTITY_MAXIMUM_SECONDS} s (12 hours)"
        )
    return seconds


def sessions() -> dict[str, int]:
    """Each role's session, in seconds, as pipeline.json carries it to the CDK app."""
    return {
        "deploy": session_seconds(DEPLOY_WAIT_SECONDS),
        "marketplace": session_seconds(MARKETPLACE_WAIT_SECONDS),
    }
