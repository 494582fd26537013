"""Write the committed benign fixtures under tests/modelscan/fixtures/benign/.

Run once, by hand, in a throwaway venv that has the heavy libraries (they are not test
dependencies: the fixtures are committed so the tests never need torch or scikit-learn):

    python -m venv /tmp/fixture-venv
    /tmp/fixture-venv/bin/pip install torch==2.13.0 scikit-learn joblib pandas \
        numpy safetensors onnx
    /tmp/fixture-venv/bin/python tests/modelscan/make_benign_fixtures.py

Every file is what the real library writes with its defaults, kept tiny; the tests require
zero HIGH or CRITICAL findings on all of them.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

OUT = Path(__file__).parent / "fixtures" / "benign"


def torch_files() -> None:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, 4)).sum().backward()
    optimizer.step()
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 1}
    torch.save(checkpoint, OUT / "torch_checkpoint.pt")
    torch.save(checkpoint, OUT / "torch_legacy.pt", _use_new_zipfile_serialization=False)
    # A whole-module pickle of stock torch.nn classes: no user code needed to load it.
    torch.save(model, OUT / "torch_sequential_model.pth")


def sklearn_files() -> None:
    import joblib
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    with (OUT / "sklearn_pipeline.pkl").open("wb") as handle:
        pickle.dump(pipeline, handle, protocol=pickle.HIGHEST_PROTOCOL)
    forest = RandomForestClassifier(n_estimators=2, max_depth=2, random_state=0).fit(x, y)
    joblib.dump(forest, OUT / "sklearn_forest.joblib")
    joblib.dump(pipeline, OUT / "sklearn_pipeline_compressed.joblib", compress=3)
    with (OUT / "sklearn_forest_protocol2.pkl").open("wb") as handle:
        pickle.dump(forest, handle, protocol=2)


def pandas_files() -> None:
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {
            "a": np.arange(5),
            "b": np.linspace(0.0, 1.0, 5),
            "c": ["x", "y", "z", "x", "y"],
            "d": pd.date_range("2026-01-01", periods=5),
            "e": pd.Categorical(["p", "q", "p", "q", "p"]),
        }
    )
    frame.to_pickle(OUT / "pandas_frame.pkl")


def numpy_files() -> None:
    import numpy as np

    np.save(OUT / "numeric.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
    np.savez(OUT / "arrays.npz", w=np.ones((2, 2)), b=np.zeros(3, dtype=np.int64))
    np.savez_compressed(OUT / "arrays_compressed.npz", w=np.eye(3))


def safetensors_files() -> None:
    import torch
    from safetensors.torch import save_file

    save_file({"w": torch.ones(2, 3), "b": torch.zeros(3)}, OUT / "model.safetensors")


def onnx_files() -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 2), dtype=np.float32), name="W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"]), helper.make_node("Relu", ["Y"], ["Z"])],
        "tiny",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [1, 2])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, OUT / "model.onnx")
    # The same model with its weights in a side file next to it: a legitimate external location.
    onnx.save(
        model,
        OUT / "model_external.onnx",
        save_as_external_data=True,
        location="model_external.onnx.data",
        size_threshold=0,
    )


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for make in (
        torch_files,
        sklearn_files,
        pandas_files,
        numpy_files,
        safetensors_files,
        onnx_files,
    ):
        make()
    (OUT / "README.md").write_text(
        "Benign model files written by tests/modelscan/make_benign_fixtures.py.\n"
        "The scanner must report no HIGH or CRITICAL finding for any of them.\n"
    )
    json.dump({"architectures": ["Tiny"]}, (OUT / "config.json").open("w"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
