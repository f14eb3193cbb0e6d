"""The stacks of the CD half: handoff (bucket, OIDC, upload role), pipeline, and targets."""
