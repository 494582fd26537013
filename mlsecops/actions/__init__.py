"""The two GitHub Actions' Python sides: inputs from the environment -> core -> outputs."""
