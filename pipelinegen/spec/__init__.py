"""The spec stage: models, YAML loading with positions, diagnostics and cross-field rules."""

from pipelinegen.spec import no_plugins as no_plugins  # first: before pydantic builds a validator
