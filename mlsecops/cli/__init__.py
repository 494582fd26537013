"""The `mlsecops` command line."""
