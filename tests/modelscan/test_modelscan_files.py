"""Walking model paths: symlinks, unknown files, usage errors, HDF5 with and without h5py."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import zipfile
from pathlib import Path

import pytest
from modelscan_corpus import (
    DENSE,
    LAMBDA,
    glob,
    h5_lambda_bytes,
    h5_model,
    keras_zip,
    onnx_model,
    proto,
    reduce_pickle,
    zip_bytes,
)

from mlsecops.core.findings import Severity
from mlsecops.errors import UsageError
from mlsecops.modelscan import check_model_paths, scan_models
from mlsecops.modelscan.formats.hdf5 import h5_findings, load_h5py
from mlsecops.modelscan.rules import default_rules


def ids(findings) -> list[tuple[str, str]]:
    return sorted((f.id, f.target) for f in findings)


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        scan_models([tmp_path / "nope.pt"])
    assert caught.value.exit_code == 2
    assert "nope.pt" in caught.value.one_line()
    with pytest.raises(UsageError):
        check_model_paths([tmp_path, tmp_path / "missing"])


def test_symlinks_out_of_the_directory_are_reported_not_followed(
    tmp_path: Path, monkeypatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.pkl").write_bytes(reduce_pickle("os", "system"))
    models = tmp_path / "models"
    models.mkdir()
    (models / "link.pkl").symlink_to(outside / "evil.pkl")
    (models / "linkdir").symlink_to(outside)
    (models / "broken").symlink_to(tmp_path / "gone")
    monkeypatch.chdir(tmp_path)
    findings = scan_models([Path("models")])
    assert ids(findings) == [
        ("MLS-MODEL-SYMLINK-OUTSIDE", "models/broken"),
        ("MLS-MODEL-SYMLINK-OUTSIDE", "models/link.pkl"),
        ("MLS-MODEL-SYMLINK-OUTSIDE", "models/linkdir"),
    ]
    assert all(f.severity is Severity.LOW for f in findings)


def test_symlinks_inside_the_directory_are_scanned_once(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "real.bin").write_bytes(reduce_pickle("os", "system"))
    (tmp_path / "alias.pt").symlink_to("real.bin")
    monkeypatch.chdir(tmp_path)
    findings = scan_models([Path()])
    assert [f.id for f in findings] == ["MLS-PICKLE-DENY"]


def test_unknown_binary_is_informational_and_text_is_silent(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "blob.dat").write_bytes(bytes(range(256)))
    (tmp_path / "README.md").write_text("# model card\n")
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    (tmp_path / "empty.bin").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    (finding,) = scan_models([Path()])
    assert (finding.id, finding.target, finding.severity) == (
        "MLS-MODEL-UNKNOWN-FORMAT",
        "blob.dat",
        Severity.UNKNOWN,
    )


def test_version_control_directories_are_skipped(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "objects").write_bytes(bytes(range(256)))
    monkeypatch.chdir(tmp_path)
    assert scan_models([Path()]) == []


def test_unreadable_file_is_informational(tmp_path: Path, monkeypatch) -> None:
    # chmod 0 does not stop root, so the open itself is made to fail as it would.
    (tmp_path / "secret.pt").write_bytes(b"x")
    real_open = Path.open

    def refuse(self: Path, *args, **kwargs):
        if self.name == "secret.pt":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    monkeypatch.chdir(tmp_path)
    (finding,) = scan_models([Path()])
    assert (finding.id, finding.target) == ("MLS-MODEL-UNREADABLE", "secret.pt")
    assert "Permission denied" in finding.description


def test_archives_nested_too_deep_are_reported_not_followed(tmp_path: Path, monkeypatch) -> None:
    data = reduce_pickle("os", "system")
    name = "evil.pkl"
    for level in range(6):
        data, name = zip_bytes({name: data}), f"level{level}.zip"
    (tmp_path / "deep.zip").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    (finding,) = scan_models([Path("deep.zip")])
    assert (finding.id, finding.severity) == ("MLS-MODEL-TOO-DEEP", Severity.MEDIUM)
    assert finding.target == "deep.zip"
    assert finding.member[:2] == ("level4.zip", "level3.zip")


def test_a_colon_in_a_file_or_member_name_stays_in_that_name(tmp_path: Path, monkeypatch) -> None:
    # The archive member is kept apart from the file (Finding.member), so neither name is
    # ever split on a ':' it happens to hold.
    payload = reduce_pickle("os", "system")
    (tmp_path / "v1:final.pkl").write_bytes(payload)
    (tmp_path / "v2:a.zip").write_bytes(zip_bytes({"x:y.zip": zip_bytes({"a:b.pkl": payload})}))
    monkeypatch.chdir(tmp_path)
    found = sorted((f.target, f.member) for f in scan_models([Path()]))
    assert found == [("v1:final.pkl", ()), ("v2:a.zip", ("x:y.zip", "a:b.pkl"))]


def test_torch_storage_members_are_raw_bytes_not_pickles(tmp_path: Path, monkeypatch) -> None:
    # torch reads archive/data/<key> as tensor bytes; ones that happen to start like a
    # pickle (here fp16 values 0x0280...) must not be parsed as one, nor read whole.
    with zipfile.ZipFile(tmp_path / "model.pt", "w") as archive:
        archive.writestr("archive/data.pkl", proto(2) + glob("collections", "OrderedDict") + b")R.")
        archive.writestr("archive/data/0", b"\x80\x02K\x01R" + bytes(64))
        archive.writestr("archive/data/1", b"cos\nsystem\n(S'true'\ntR")
    monkeypatch.chdir(tmp_path)
    assert scan_models([Path("model.pt")]) == []


def test_onnx_tensors_sharing_an_escaping_location_are_one_finding(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "model.onnx").write_bytes(onnx_model(["../secrets", "../secrets", "/etc/passwd"]))
    monkeypatch.chdir(tmp_path)
    found = sorted(
        (f.package, f.location, f.properties.get("occurrences"))
        for f in scan_models([Path("model.onnx")])
    )
    assert found == [("../secrets", "initializer W0", "2"), ("/etc/passwd", "initializer W2", "1")]


def test_a_fifo_is_reported_not_opened(tmp_path: Path, monkeypatch) -> None:
    # Opening a FIFO would block the scan forever.
    os.mkfifo(tmp_path / "pipe.bin")
    monkeypatch.chdir(tmp_path)
    (finding,) = scan_models([Path()])
    assert (finding.id, finding.target) == ("MLS-MODEL-UNREADABLE", "pipe.bin")
    assert "not a regular file" in finding.description


def test_h5_without_h5py_says_skipped_and_still_finds_a_lambda() -> None:
    findings = h5_findings(io.BytesIO(h5_lambda_bytes()), "model.h5", default_rules(), None)
    assert [(f.id, f.severity) for f in findings] == [
        ("MLS-H5-SKIPPED", Severity.UNKNOWN),
        ("MLS-KERAS-LAMBDA", Severity.HIGH),
    ]
    assert "install mlsecops[h5]" in findings[0].title


@pytest.mark.skipif(load_h5py() is None, reason="h5py (mlsecops[h5]) is not installed")
def test_h5_with_h5py_reads_the_model_config(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert h5_model(tmp_path / "lambda.h5", [DENSE, LAMBDA])
    assert h5_model(tmp_path / "dense.h5", [DENSE])
    (finding,) = scan_models([Path("lambda.h5")])
    assert (finding.id, finding.package, finding.location) == (
        "MLS-KERAS-LAMBDA",
        "Lambda layer backdoor",
        "HDF5 attribute model_config",
    )
    assert scan_models([Path("dense.h5")]) == []


def test_compressed_text_is_quiet_and_compressed_binary_is_unknown(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "metrics.csv.gz").write_bytes(gzip.compress(b"path,loss\n1,0.5\n"))
    (tmp_path / "blob.xz").write_bytes(lzma.compress(bytes(range(256)) * 4))
    (tmp_path / "model.pkl.bz2").write_bytes(bz2.compress(reduce_pickle("os", "system")))
    monkeypatch.chdir(tmp_path)
    assert ids(scan_models([Path()])) == [
        ("MLS-MODEL-UNKNOWN-FORMAT", "blob.xz"),
        ("MLS-PICKLE-DENY", "model.pkl.bz2"),
    ]


def test_old_protocol_pickle_without_magic_is_told_from_text(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "weights").write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    (tmp_path / "junk_after_call").write_bytes(b"cbuiltins\nprint\n(S'RAN'\ntR hello")
    (tmp_path / "notes").write_bytes(b"(this is a note, not a pickle)\n")
    (tmp_path / "list.txt").write_bytes(b"Some text\nMore text\n")
    # Binary data that reads as a NEWOBJ of two constants, then stops: names no global.
    (tmp_path / "tensor.bin").write_bytes(b"K\x07]\x81\x07\x00\xfe\x01\x02")
    monkeypatch.chdir(tmp_path)
    assert ids(scan_models([Path()])) == [
        ("MLS-MODEL-UNKNOWN-FORMAT", "tensor.bin"),
        ("MLS-PICKLE-CALL", "junk_after_call"),
        ("MLS-PICKLE-DENY", "weights"),
        ("MLS-PICKLE-MALFORMED", "junk_after_call"),
    ]


def test_a_magic_less_pickle_is_parsed_once(tmp_path: Path, monkeypatch) -> None:
    # The parse that tells it from text is the scan's parse: the data is not read again.
    from mlsecops.modelscan import data
    from mlsecops.modelscan.formats import pickles

    calls = []
    real, real_bytes = data.read_stream, data.read_bytes
    monkeypatch.setattr(data, "read_stream", lambda *a: calls.append(a) or real(*a))
    monkeypatch.setattr(data, "read_bytes", lambda *a: calls.append(a) or real_bytes(*a))
    monkeypatch.setattr(pickles, "read_stream", lambda *a: calls.append(a) or real(*a))
    (tmp_path / "weights").write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    monkeypatch.chdir(tmp_path)
    assert ids(scan_models([Path("weights")])) == [("MLS-PICKLE-DENY", "weights")]
    assert len(calls) == 1


def test_a_large_old_protocol_pickle_is_parsed_to_its_end(tmp_path: Path, monkeypatch) -> None:
    # 65 MiB of one protocol-0 string, then the payload: the first KiB say nothing.
    with (tmp_path / "big.pkl").open("wb") as handle:
        handle.write(b"S'")
        handle.write(b"a" * (65 << 20))
        handle.write(b"'\np0\n0cos\nsystem\n(S'true'\ntR.")
    monkeypatch.chdir(tmp_path)
    assert ids(scan_models([Path("big.pkl")])) == [("MLS-PICKLE-DENY", "big.pkl")]


def test_keras_configs_judge_module_references(tmp_path: Path, monkeypatch) -> None:
    download = {"module": "keras.utils", "class_name": "function", "config": "get_file"}
    custom = {"module": "acme.layers", "class_name": "Gate", "config": {"name": "gate"}}
    (tmp_path / "a.keras").write_bytes(
        keras_zip([DENSE, {**DENSE, "config": {"activation": download}}])
    )
    (tmp_path / "b.keras").write_bytes(keras_zip([DENSE, custom]))
    monkeypatch.chdir(tmp_path)
    found = sorted(
        (f.id, f.severity.name, f.package, f.target, f.member) for f in scan_models([Path()])
    )
    assert found == [
        ("MLS-KERAS-CUSTOM-OBJECT", "HIGH", "acme.layers.Gate", "b.keras", ("config.json",)),
        ("MLS-KERAS-DENY", "CRITICAL", "keras.utils.get_file", "a.keras", ("config.json",)),
    ]


def test_hugging_face_chat_templates_are_checked(tmp_path: Path, monkeypatch) -> None:
    safe = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] }}{% endfor %}"
    evil = "{{ cycler.__init__.__globals__.os.popen('true').read() }}"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": evil}))
    (tmp_path / "chat_template.jinja").write_text(evil)
    (tmp_path / "named").mkdir()
    (tmp_path / "named" / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "chat_template": [
                    {"name": "default", "template": safe},
                    {"name": "tool_use", "template": evil},
                ]
            }
        )
    )
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "tokenizer_config.json").write_text(json.dumps({"chat_template": safe}))
    monkeypatch.chdir(tmp_path)
    found = sorted((f.id, f.target, f.package, f.severity.name) for f in scan_models([Path()]))
    assert found == [
        ("MLS-CHAT-TEMPLATE", "chat_template.jinja", "chat_template.jinja", "HIGH"),
        ("MLS-CHAT-TEMPLATE", "named/tokenizer_config.json", "chat_template tool_use", "HIGH"),
        ("MLS-CHAT-TEMPLATE", "tokenizer_config.json", "chat_template", "HIGH"),
    ]
