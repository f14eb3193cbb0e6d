#!/usr/bin/env bash
# install-helm.sh: install one pinned Helm release (the linux-amd64 build) into INSTALL_DIR,
# refusing it unless the downloaded tarball's sha256 is the pinned one.
#
# Environment:
#   HELM_VERSION  the release, e.g. v4.1.4
#   HELM_SHA256   sha256 of https://get.helm.sh/helm-<HELM_VERSION>-linux-amd64.tar.gz; for
#                 v4.1.4 it is 70b2c30a19da4db264dfd68c8a3664e05093a361cefd89572ffb36f8abfa3d09
#                 (as published in helm-v4.1.4-linux-amd64.tar.gz.sha256sum)
#   INSTALL_DIR   optional: where the helm binary goes, default /usr/local/bin
#
# Needs curl, sha256sum and tar. Run it locally (as root, or with a writable INSTALL_DIR):
#   HELM_VERSION=v4.1.4 \
#     HELM_SHA256=70b2c30a19da4db264dfd68c8a3664e05093a361cefd89572ffb36f8abfa3d09 \
#     INSTALL_DIR="$HOME/.local/bin" bash install-helm.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

require_env HELM_VERSION HELM_SHA256
INSTALL_DIR="${INSTALL_DIR:-/usr/local/bin}"
require_match HELM_VERSION '^v4\.[0-9]+\.[0-9]+$' "a Helm 4 release such as v4.1.4 (deploy.sh uses Helm 4's flags)"
require_match HELM_SHA256 "$SHA256_RE" "a sha256 (64 lowercase hex digits)"
require_cmd curl sha256sum tar
if [[ "$(uname -m)" != x86_64 ]]; then
  die "this machine is $(uname -m); install-helm.sh installs the linux-amd64 build"
fi
[[ -d "$INSTALL_DIR" && -w "$INSTALL_DIR" ]] || die "INSTALL_DIR '$INSTALL_DIR' is not a writable folder"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tarball="helm-$HELM_VERSION-linux-amd64.tar.gz"
note "downloading $tarball"
curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 3 \
  --output "$work/$tarball" "https://get.helm.sh/$tarball" ||
  die "could not download https://get.helm.sh/$tarball"
if ! (cd "$work" && printf '%s  %s\n' "$HELM_SHA256" "$tarball" | sha256sum --check --strict --quiet); then
  die "$tarball has sha256 $(sha256sum "$work/$tarball" | cut -d' ' -f1), not the pinned $HELM_SHA256: not installed"
fi
tar -xzf "$work/$tarball" -C "$work" linux-amd64/helm || die "$tarball holds no linux-amd64/helm"
install -m 0755 "$work/linux-amd64/helm" "$INSTALL_DIR/helm"
installed="$("$INSTALL_DIR/helm" version --template '{{.Version}}')" ||
  die "the installed $INSTALL_DIR/helm does not run"
if [[ "$installed" != "$HELM_VERSION" ]]; then
  die "$INSTALL_DIR/helm says it is $installed, not $HELM_VERSION"
fi
note "helm $installed installed in $INSTALL_DIR"
