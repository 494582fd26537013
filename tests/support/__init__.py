"""Test helpers: a real Trivy DB, hand-built images and wheels, the CLI run as users run it."""
