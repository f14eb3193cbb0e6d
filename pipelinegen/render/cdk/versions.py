"""Versions the generated CDK app pins: its libraries, the CDK CLI its pipeline runs, and Helm."""

AWS_CDK_LIB = "2.275.0"
CONSTRUCTS = "10.8.1"
CDK_CLI = "2.1148.1"  # npm aws-cdk, installed by the Synth and SelfMutate projects

# The Helm the deploy projects install; the tarball's sha256 is checked before it is used.
HELM = {"version": "v3.21.4", "sha256": "PENDING"}
