"""Test-only helpers that drive a real language server (see client.py)."""
