"""Container images: what `--image` names, checked before Trivy scans it."""
