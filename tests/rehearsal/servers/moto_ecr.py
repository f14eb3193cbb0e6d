"""moto's server, with ECR calls that name another account's registry served from that account.

In AWS a principal of one account calls ECR on a repository of another by naming its registry
(`registryId`), when the repository's policy and the principal's own policy allow it (ECR User
Guide, "Private repository policies"): the deploy roles of the environments' accounts mark what
they deployed in the tooling account's repositories (running.py). moto keeps one ECR per
account and serves every call from the caller's own, so this wrapper serves a call that names
a registry from that registry's account; moto checks no policy either way.

    python moto_ecr.py -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import sys
from typing import Any

from moto.ecr import responses  # type: ignore[import-not-found,import-untyped,unused-ignore]
from moto.ecr.models import ecr_backends  # type: ignore[import-not-found,import-untyped,unused-ignore]
from moto.server import main  # type: ignore[import-not-found,import-untyped,unused-ignore]


def _backend(self: Any) -> Any:
    account = self._get_param("registryId") or self.current_account
    return ecr_backends[account][self.region]


responses.ECRResponse.ecr_backend = property(_backend)

if __name__ == "__main__":
    sys.exit(main())
