"""Model file scanning: find code that runs when a model is loaded, without loading it."""

from mlsecops.modelscan.scanner import check_model_paths, scan_models

__all__ = ["check_model_paths", "scan_models"]
