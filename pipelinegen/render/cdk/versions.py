"""Versions the generated CDK app pins: its libraries, the CDK CLI its pipeline runs, and Helm."""

AWS_CDK_LIB = "2.275.0"
CONSTRUCTS = "10.8.1"
CDK_CLI = "2.1148.1"  # npm aws-cdk, installed by the Synth and SelfMutate projects

# The Helm the deploy projects install; the linux-amd64 tarball's sha256 (published beside it at
# get.helm.sh as .sha256sum) is checked before it is used. v3.21.4 is commit 813176c5 of
# helm/helm; Helm 4 changes the upgrade flags (--rollback-on-failure), so stay on 3 until the
# deploy script moves.
HELM = {
    "version": "v3.21.4",
    "sha256": "61f88ab166748cb19604d7884cb100ae9ccb13804ddeb98e08af167eacbb6a14",
}
