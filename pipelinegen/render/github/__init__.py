"""GitHub Actions rendering: workflows and the vetted table of actions they use."""
