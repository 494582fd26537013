"""Write the committed benign fixtures under tests/modelscan/fixtures/benign/.

Run once, by hand, in a throwaway venv that has the heavy libraries (they are not test
dependencies: the fixtures are committed so the tests never need torch or scikit-learn):

    python -m venv /tmp/fixture-venv
    /tmp/fixture-venv/bin/pip install torch==2.13.0 scikit-learn joblib pandas \
        numpy safetensors onnx
    /tmp/fixture-venv/bin/python tests/modelscan/make_benign_fixtures.py [MAKER ...]

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


def more_sklearn_files() -> None:
    """Estimators whose pickles use Cython reconstructors, RNG state and function references."""
    import joblib
    import numpy as np
    from sklearn import (
        calibration,
        cluster,
        compose,
        ensemble,
        feature_extraction,
        feature_selection,
        linear_model,
        neighbors,
        preprocessing,
        svm,
    )

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4))
    y = (x[:, 0] > 0).astype(int)
    models = {
        "knn_kd_tree": neighbors.KNeighborsClassifier(3, algorithm="kd_tree").fit(x, y),
        "knn_ball_tree": neighbors.KNeighborsClassifier(
            3, algorithm="ball_tree", metric="manhattan"
        ).fit(x, y),
        "sgd": linear_model.SGDClassifier(random_state=0).fit(x, y),
        "hist_gradient_boosting": ensemble.HistGradientBoostingClassifier(
            max_iter=2, random_state=0
        ).fit(x, y),
        "calibrated": calibration.CalibratedClassifierCV(
            linear_model.LogisticRegression(), cv=2
        ).fit(x, y),
        "select_k_best": feature_selection.SelectKBest(k=2).fit(x, y),
        "function_transformer": preprocessing.FunctionTransformer(np.log1p),
        "svc": svm.SVC().fit(x, y),
        "kmeans": cluster.KMeans(2, n_init=1, random_state=0).fit(x),
        "tfidf": feature_extraction.text.TfidfVectorizer().fit(["alpha beta", "beta gamma"]),
        "column_transformer": compose.ColumnTransformer(
            [("scale", preprocessing.StandardScaler(), [0, 1])]
        ).fit(x),
    }
    for name, model in models.items():
        joblib.dump(model, OUT / f"sklearn_{name}.joblib")


def more_pandas_and_numpy_files() -> None:
    import numpy as np
    import pandas as pd

    series = pd.Series([1, 2, 3], index=pd.date_range("2026-01-01", periods=3, tz="UTC"))
    series.to_pickle(OUT / "pandas_series_tz.pkl")
    frame = pd.DataFrame(
        {
            "period": pd.period_range("2026-01", periods=2, freq="M"),
            "nullable": pd.array([1, None], dtype="Int64"),
            "delta": pd.to_timedelta([1, 2], unit="s"),
            "interval": pd.interval_range(0, 2),
        },
        index=pd.MultiIndex.from_tuples([("x", 1), ("y", 2)]),
    )
    frame.to_pickle(OUT / "pandas_extension_types.pkl")
    values = {
        "rng": np.random.default_rng(0),
        "masked": np.ma.masked_array([1, 2], mask=[0, 1]),
        "structured": np.zeros(2, dtype=[("a", "f4"), ("b", "i8")]),
        "datetimes": np.array(["2026-01-01"], dtype="datetime64[D]"),
        "objects": np.array([{"a": 1}, "s"], dtype=object),
    }
    with (OUT / "numpy_values.pkl").open("wb") as handle:
        pickle.dump(values, handle, protocol=pickle.HIGHEST_PROTOCOL)
    np.save(OUT / "object_array_of_plain_data.npy", values["objects"], allow_pickle=True)


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


MAKERS = {
    make.__name__: make
    for make in (
        torch_files,
        sklearn_files,
        more_sklearn_files,
        pandas_files,
        more_pandas_and_numpy_files,
        numpy_files,
        safetensors_files,
        onnx_files,
    )
}


def main(names: list[str]) -> int:
    """Write every fixture, or only those of the named makers (so others keep their bytes)."""
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names or list(MAKERS):
        MAKERS[name]()
    (OUT / "README.md").write_text(
        "Benign model files written by tests/modelscan/make_benign_fixtures.py.\n"
        "The scanner must report no HIGH or CRITICAL finding for any of them.\n"
    )
    json.dump({"architectures": ["Tiny"]}, (OUT / "config.json").open("w"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
