"""Dependency files: discovery, one reader per kind, resolution, and the SBOM bridge to Trivy."""
