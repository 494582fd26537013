"""A bounded fuzz of every input parser (issue 15): no internal error, no hang, bounded memory.

A fixed seed mutates real seeds of each input kind (lock files, requirements, conda
environment, policy, baseline report, integrity manifest, an image's manifest.json) a few
hundred times: bytes flipped, structural tokens inserted (brackets, YAML anchors and
aliases, surrogate escapes, dotted keys), slices repeated, nesting deepened, cut short. Each
case must return or raise a UsageError (one line, exit 2), within a generous time bound that
only a hang or a super-linear blow-up would break, and under a memory bound.
"""

from __future__ import annotations

import io
import json
import random
import tarfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from mlsecops.deps.conda import read_environment
from mlsecops.deps.discovery import check_project
from mlsecops.deps.requirements_txt import read_requirements
from mlsecops.errors import MlsecopsError
from mlsecops.images.targets import classify_image
from mlsecops.integrity.create import hash_model
from mlsecops.integrity.manifest import parse_manifest
from mlsecops.triage.baseline import load_baseline
from mlsecops.triage.policy import load_policy

SEED = 20261207
CASES_PER_KIND = 45  # x 9 kinds: 405 cases
MAX_SECONDS = 10.0  # per case; real cases take milliseconds
MAX_PEAK_BYTES = 64 * 1024 * 1024
PROJECTS = Path(__file__).resolve().parents[1] / "fixtures" / "projects"

TOKENS = (
    "[",
    "]",
    "{",
    "}",
    "[" * 200,
    "{" * 200,
    '"',
    "'",
    "\\",
    "\\u",
    "\\udcff",
    "\\ud800",
    ":",
    ": ",
    ",",
    "\n",
    "\r",
    "\t",
    "\x00",
    "&a ",
    "*a",
    "<<: *a",
    "!!binary ",
    "!!python/name:os.system",
    "---\n",
    "...",
    "#",
    "=",
    ".",
    ".a" * 40,
    "a." * 60,
    "1e999",
    "-" * 3,
    "\ufeff",
    "\udcff",
    "true",
    "null",
    "0x",
    "==",
    "===",
    "-r ",
    "-e ",
    "@ ",
    "; python_version<'3'",
    "\u2028",
)  # fmt: skip


def seeds(tmp: Path) -> dict[str, str]:
    report = {
        "schema_version": 1,
        "passed": True,
        "fail_on": "HIGH",
        "counts": {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 0},
        "findings": [],
    }
    return {
        "poetry.lock": (PROJECTS / "poetry" / "poetry.lock").read_text(encoding="utf-8"),
        "uv.lock": (PROJECTS / "uv" / "uv.lock").read_text(encoding="utf-8"),
        "Pipfile.lock": (PROJECTS / "pipfile" / "Pipfile.lock").read_text(encoding="utf-8"),
        "requirements.txt": (PROJECTS / "requirements" / "requirements.txt").read_text(),
        "environment.yml": "name: ml\nchannels: [conda-forge]\ndependencies:\n"
        "  - python=3.11\n  - numpy=1.26.4\n  - pip:\n    - requests==2.19.1\n",
        "policy": "version: 1\nfail-on: HIGH\nignore:\n  - id: CVE-2018-18074\n"
        "    reason: no redirects\n    package: requests\n    expires: 2027-03-31\n",
        "baseline": json.dumps(report),
        "manifest": _manifest(tmp),
        "image": json.dumps([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": []}]),
    }


def _manifest(tmp: Path) -> str:
    model = tmp / "model"
    (model / "sub").mkdir(parents=True)
    (model / "a.bin").write_bytes(b"weights")
    (model / "sub" / "b.json").write_text("{}")
    return hash_model(model, None, jobs=1).to_json()


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(text))
        move = rng.randrange(6)
        if move == 0:  # insert structural tokens
            text = text[:at] + "".join(rng.choices(TOKENS, k=rng.randint(1, 5))) + text[at:]
        elif move == 1:  # replace characters with random ones
            count = rng.randint(1, 8)
            noise = "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(count))
            text = text[:at] + noise + text[at + count :]
        elif move == 2:  # repeat a slice (bounded: inputs stay under 40 KB)
            piece = text[at : at + rng.randint(1, 40)]
            text = (
                text[:at] + piece * rng.randint(2, max(2, 20_000 // max(len(piece), 1))) + text[at:]
            )
            text = text[:40_000]
        elif move == 3:  # nest deeper
            depth = rng.choice([10, 70, 1000, 5000])
            text = text[:at] + "[" * depth + "1" + "]" * depth + text[at:]
        elif move == 4:  # cut short
            text = text[:at]
        else:  # drop a slice
            text = text[:at] + text[at + rng.randint(1, 50) :]
    return text


def write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))


def _lock(name: str) -> Callable[[Path, str], object]:
    def run(tmp: Path, text: str) -> object:
        write(tmp / name, text)
        return check_project(tmp)

    return run


def _file(reader: Callable[[Path], object], name: str) -> Callable[[Path, str], object]:
    def run(tmp: Path, text: str) -> object:
        write(tmp / name, text)
        return reader(tmp / name)

    return run


def _image(tmp: Path, text: str) -> object:
    raw = text.encode("utf-8", errors="surrogateescape")
    with tarfile.open(tmp / "image.tar", "w") as archive:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(raw)
        archive.addfile(info, io.BytesIO(raw))
    return classify_image(str(tmp / "image.tar"))


PARSERS: dict[str, Callable[[Path, str], object]] = {
    "poetry.lock": _lock("poetry.lock"),
    "uv.lock": _lock("uv.lock"),
    "Pipfile.lock": _lock("Pipfile.lock"),
    "requirements.txt": _file(read_requirements, "requirements.txt"),
    "environment.yml": _file(read_environment, "environment.yml"),
    "policy": _file(load_policy, ".mlsecops.yml"),
    "baseline": _file(load_baseline, "base.json"),
    "manifest": lambda _tmp, text: parse_manifest(text),
    "image": _image,
}


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_fuzzed_inputs_end_in_a_result_or_a_usage_error(kind, tmp_path):
    rng = random.Random(f"{SEED}-{kind}")
    seed = seeds(tmp_path)[kind]
    parse = PARSERS[kind]
    outcomes = {"ok": 0, "refused": 0}
    first: list[str] = []
    for case in range(CASES_PER_KIND):
        text = seed if case == 0 else mutate(seed, rng)
        directory = tmp_path / str(case)
        directory.mkdir()
        tracemalloc.start()
        started = time.perf_counter()
        try:
            parse(directory, text)
            outcomes["ok"] += 1
        except MlsecopsError as error:
            outcomes["refused"] += 1
            first.append(error.one_line())
            assert "\n" not in error.one_line()
        except Exception as exc:  # the bug this test exists to find
            pytest.fail(f"{kind} case {case}: {type(exc).__name__}: {exc}\n{text[:300]!r}")
        finally:
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert elapsed < MAX_SECONDS, f"{kind} case {case} took {elapsed:.1f} s"
        assert peak < MAX_PEAK_BYTES, f"{kind} case {case} peaked at {peak:,} bytes"
    # The seed itself parses (case 0): a parser that refuses everything would pass otherwise.
    assert outcomes["ok"] >= 1, (outcomes, first[:1])
