"""Everything that turns a ScanOutcome into something people or machines read."""

# Here, not in sarif.py, so the CLI's parser can name the default without importing reports.
DEFAULT_SARIF_CATEGORY = "mlsecops"
