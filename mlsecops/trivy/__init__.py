"""Everything that knows Trivy: finding the binary, running it, reading its JSON."""
