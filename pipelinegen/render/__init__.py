"""The render stage: pure functions from a validated spec to generated text."""
