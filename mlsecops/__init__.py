"""mlsecops: security checkpoints for ML pipelines."""

__version__ = "0.1.0"
