"""Model file scanning: find code that runs when a model is loaded, without loading it.

source     the model Source: findings plus the coverage ledger of every file met
scanner    walk the paths, sniff each piece of data, dispatch through the format table
walk       directories, never leaving them through a symlink
data       data to scan: a file, bytes, or a stream (archive member, decompressed)
formats/   one handler per format, and THE table (formats/__init__.py)
zipread    the one zip reader every archive format uses
keras_config, templates, protobuf   what more than one format reads
pickle_reader, pickle_ops, pickle_values, pickle_stream   the pickle reader (bounded: budget)
pickle_findings, pickle_notes, joblib_arrays, encoded, signatures, streams   and its judgement
rules      the pickle allow/deny lists (data/modelscan-rules.yml)
notes      the one constructor of model findings, and the "not checked" notes
"""

from mlsecops.modelscan.scanner import check_model_paths, scan_files, scan_models

__all__ = ["check_model_paths", "scan_files", "scan_models"]
