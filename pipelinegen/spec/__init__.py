"""The spec stage: models, YAML loading with positions, diagnostics and cross-field rules."""
