#!/usr/bin/env bash
# install-skopeo.sh: install the pinned skopeo into INSTALL_DIR without apt: each .deb the release's
# CDK app pins (skopeo and the shared libraries it needs beyond glibc) is downloaded by URL,
# refused unless its sha256 is the pinned one, and unpacked (dpkg-deb -x, no dpkg database, no
# dependency resolution). `apt-get update` is never run, so an expired key of a third-party apt
# source on the build image cannot stop a release.
#
# It writes INSTALL_DIR/bin/skopeo, a wrapper that runs the unpacked binary with its own
# libraries (INSTALL_DIR/lib/skopeo); the folder can be moved (the pipeline passes it on to later
# actions as an artifact) and still works.
#
# Environment:
#   INSTALL_DIR    optional: default ./tools
#   PIPELINE_JSON  optional: default cdk/pipeline.json (in the release); its "skopeo_debs" lists
#                  {"path", "sha256", "sha1"}: the file's path in Debian's archive, and its sha1,
#                  by which snapshot.debian.org keeps every file Debian ever published
#   DEBIAN_MIRROR  optional: default https://deb.debian.org/debian
#
# Needs python3, curl, sha256sum and dpkg-deb. Locally, in the extracted release:
#   INSTALL_DIR="$PWD/tools" bash cdk/scripts/install-skopeo.sh && tools/bin/skopeo --version
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

INSTALL_DIR="${INSTALL_DIR:-tools}"
PIPELINE_JSON="${PIPELINE_JSON:-cdk/pipeline.json}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-https://deb.debian.org/debian}"
require_match DEBIAN_MIRROR '^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._/-]*)?$' "an https URL"
require_cmd python3 curl sha256sum dpkg-deb
[[ -f "$PIPELINE_JSON" ]] || die "no $PIPELINE_JSON: run this in the extracted release"
if [[ "$(uname -m)" != x86_64 ]]; then
  die "this machine is $(uname -m); the pinned skopeo is the amd64 build"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -c '
import json, sys
for deb in json.load(open(sys.argv[1])).get("skopeo_debs") or []:
    print(deb["path"], deb["sha256"], deb["sha1"])
' "$PIPELINE_JSON" >"$work/debs.txt" || die "$PIPELINE_JSON has no readable skopeo_debs"
[[ -s "$work/debs.txt" ]] || die "$PIPELINE_JSON pins no skopeo .deb (skopeo_debs)"

fetch() {
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 3 \
    --output "$2" "$1"
}

mkdir -p "$work/root"
while read -r path sha256 sha1; do
  [[ "$path" =~ ^pool/[a-z0-9+./_-]+\.deb$ && "$path" != *..* ]] ||
    die "skopeo_debs: '$path' is not a .deb in Debian's pool"
  [[ "$sha256" =~ $SHA256_RE ]] || die "skopeo_debs: '$sha256' is not a sha256"
  [[ "$sha1" =~ ^[0-9a-f]{40}$ ]] || die "skopeo_debs: '$sha1' is not a sha1"
  file="$work/${path##*/}"
  note "downloading ${path##*/}"
  if ! fetch "$DEBIAN_MIRROR/$path" "$file"; then
    note "not in $DEBIAN_MIRROR any more: trying snapshot.debian.org"
    fetch "https://snapshot.debian.org/file/$sha1" "$file" ||
      die "could not download ${path##*/} from $DEBIAN_MIRROR or snapshot.debian.org"
  fi
  require_sha256 "$file" "$sha256"
  dpkg-deb -x "$file" "$work/root" || die "${path##*/} is not a .deb dpkg-deb can unpack"
done <"$work/debs.txt"

[[ -x "$work/root/usr/bin/skopeo" ]] || die "the pinned .debs hold no usr/bin/skopeo"
mkdir -p "$INSTALL_DIR/bin" "$INSTALL_DIR/lib/skopeo" "$INSTALL_DIR/libexec"
install -m 0755 "$work/root/usr/bin/skopeo" "$INSTALL_DIR/libexec/skopeo"
# Every library name as a plain file: a pipeline artifact (a zip) may not keep symbolic links.
find "$work/root" -name '*.so*' \( -type f -o -type l \) -exec cp -L {} "$INSTALL_DIR/lib/skopeo/" \;
cat >"$INSTALL_DIR/bin/skopeo" <<'WRAPPER'
#!/usr/bin/env bash
# skopeo, unpacked from pinned Debian packages by install-skopeo.sh, with its own libraries.
tools="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LD_LIBRARY_PATH="$tools/lib/skopeo${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$tools/libexec/skopeo" "$@"
WRAPPER
chmod 0755 "$INSTALL_DIR/bin/skopeo"
installed="$("$INSTALL_DIR/bin/skopeo" --version)" || die "the installed skopeo does not run"
note "$installed installed in $INSTALL_DIR"
