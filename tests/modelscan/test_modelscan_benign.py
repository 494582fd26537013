"""Benign models made by the real libraries (committed) and by hand: no findings at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelscan_corpus import write_generated_benign

from mlsecops.core.findings import Severity
from mlsecops.modelscan import scan_models

FIXTURES = Path(__file__).parent / "fixtures" / "benign"
REAL_FILES = sorted(p.name for p in FIXTURES.iterdir())


def test_fixture_set_is_complete() -> None:
    # torch state dict + optimizer (zip and legacy), whole stock nn.Module, scikit-learn
    # pickle/joblib (plain and compressed), pandas, numeric .npy/.npz, safetensors, ONNX.
    expected = {
        "torch_checkpoint.pt", "torch_legacy.pt", "torch_sequential_model.pth",
        "sklearn_forest.joblib", "sklearn_pipeline_compressed.joblib", "sklearn_pipeline.pkl",
        "pandas_frame.pkl", "numeric.npy", "arrays.npz", "model.safetensors", "model.onnx",
        "model_external.onnx",
    }  # fmt: skip
    assert expected <= set(REAL_FILES)


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_benign_file_has_no_findings(name: str) -> None:
    findings = scan_models([FIXTURES / name])
    assert not [f for f in findings if f.severity >= Severity.HIGH]
    assert findings == [] or name.endswith(".onnx.data"), findings


def test_real_benign_directory_has_no_findings() -> None:
    assert scan_models([FIXTURES]) == []


def test_generated_benign_files_have_no_findings(tmp_path: Path) -> None:
    names = write_generated_benign(tmp_path)
    assert len(names) >= 8
    assert scan_models([tmp_path]) == []
