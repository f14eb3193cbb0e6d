"""The release rehearsed end to end with real parts (buildah, docker-registry + skopeo, moto,
Helm 4, botocore's Marketplace Catalog model): see docs/rehearsal.md."""
