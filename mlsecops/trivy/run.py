"""Running the trivy binary and handing back its typed results (trivy/results.py).

Trivy's JSON report is an implementation detail: this module gets it onto disk, trivy/parse.py
reads it, and Trivy's failures become errors that say what to do.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlsecops.core.scanners import ALL_SCANNERS, Scanner, scanner_list
from mlsecops.errors import ToolError, UsageError
from mlsecops.guarded.json_text import load_tool_json
from mlsecops.guarded.limits import InputKind
from mlsecops.misconfig.checks import CHECK_NAMESPACE, checks_dir
from mlsecops.secretscan.redact import scrub
from mlsecops.secretscan.trivy_config import config_path
from mlsecops.trivy.parse import parse_metadata, parse_report
from mlsecops.trivy.results import TrivyRun

# With all four Trivy makes no network connection at all (checked against Trivy 0.76).
OFFLINE_FLAGS = (
    "--skip-db-update",
    "--skip-java-db-update",
    "--skip-version-check",
    "--disable-telemetry",
)
# `requirements*.txt` as a Trivy file pattern (a Go regexp over the path from the project).
REQUIREMENTS_FILE_PATTERN = r"pip:(^|/)requirements[^/]*\.txt$"
# Trivy's log lines look like `2026-01-01T00:00:00Z\tFATAL\tFatal error\trun error: ...`.
_LOG_LINE = re.compile(r"^\S+\s+(?P<level>DEBUG|INFO|WARN|ERROR|FATAL)\s+(?P<text>.*)$")
# go-multierror's "2 errors occurred:", ending a message whose causes follow, one a line.
_ERRORS_OCCURRED = re.compile(r"\d+ errors? occurred:\s*$")
_MAX_CAUSE = 500


@dataclass(frozen=True)
class TrivyOptions:
    """How every Trivy run is made: the binary, its cache dir, offline or not, a time limit."""

    binary: Path
    cache_dir: Path | None = None
    offline: bool = False
    timeout_seconds: int = 1800
    # Set once trivy/db.py has got the DB: the scan then never downloads it itself.
    skip_db_update: bool = False
    # Trivy reads `.trivyignore` from its working directory by itself; a YAML ignore file
    # (`.trivyignore.yaml`) only when named with --ignorefile.
    ignore_file: Path | None = None


class Trivy:
    """A configured trivy binary; one method per kind of scan."""

    def __init__(self, options: TrivyOptions) -> None:
        self.options = options

    def fs(self, project: Path, skip_files: Sequence[str] = ()) -> TrivyRun:
        """`trivy fs` on the project: every dependency file Trivy reads, dev dependencies
        included (deps/project.py marks them, and leaves them out when asked to);
        `skip_files` (relative to the project) are not read."""
        # Trivy's pip analyzer reads only files named exactly requirements.txt; this makes
        # it read every requirements*.txt (requirements-dev.txt, ...), as we promise.
        args = ["fs", "--scanners", "vuln", "--file-patterns", REQUIREMENTS_FILE_PATTERN]
        args.append("--include-dev-deps")
        for path in skip_files:
            args += ["--skip-files", path]
        return self._run(args, str(project), cwd=project)

    def files(
        self, project: Path, scanners: frozenset[Scanner], skip: Sequence[Path] = ()
    ) -> TrivyRun:
        """Secrets and misconfigurations in the project's files (no DB needed), leaving
        out `skip` (files and directories, relative to the project)."""
        chosen = scanners & {Scanner.SECRET, Scanner.MISCONFIG}
        args = ["fs", "--scanners", scanner_list(chosen), *_check_flags(chosen)]
        for path in skip:
            flag = "--skip-dirs" if (project / path).is_dir() else "--skip-files"
            args += [flag, path.as_posix()]
        return self._run(args, str(project), cwd=project, list_packages=False)

    def image_input(
        self, archive_or_layout: Path, cwd: Path, scanners: frozenset[Scanner] = ALL_SCANNERS
    ) -> TrivyRun:
        """`trivy image --input`: a docker-archive (plain or gzipped) or an OCI layout dir."""
        args = ["image", *_image_flags(scanners), "--input", str(archive_or_layout)]
        return self._run(args, None, cwd)

    def image_reference(
        self, reference: str, cwd: Path, scanners: frozenset[Scanner] = ALL_SCANNERS
    ) -> TrivyRun:
        """`trivy image REFERENCE`: pulled from a registry or the local Docker engine."""
        return self._run(["image", *_image_flags(scanners)], reference, cwd)

    def sbom(self, sbom: Path, cwd: Path) -> TrivyRun:
        """`trivy sbom` on a CycloneDX file: its components' vulnerabilities."""
        return self._run(["sbom", "--scanners", "vuln"], str(sbom), cwd)

    def _common_flags(self, output: Path, list_packages: bool) -> list[str]:
        # --list-all-pkgs: package locations (manifest line numbers) are only in Packages.
        # --show-suppressed: what an ignore file hid is reported as ignored, never dropped.
        # --config "": Trivy would otherwise read trivy.yaml from its working directory, the
        # scanned project, which could then skip files or turn scanners off.
        flags = ["--format", "json", "--output", str(output), "--config", ""]
        flags += ["--list-all-pkgs"] if list_packages else []
        flags.append("--show-suppressed")
        if self.options.ignore_file is not None:
            flags += ["--ignorefile", str(self.options.ignore_file)]
        if self.options.cache_dir is not None:
            flags += ["--cache-dir", str(self.options.cache_dir)]
        if self.options.offline:
            flags += list(OFFLINE_FLAGS)
        elif self.options.skip_db_update:
            flags.append("--skip-db-update")
        return flags

    def _run(
        self, args: Sequence[str], target: str | None, cwd: Path, list_packages: bool = True
    ) -> TrivyRun:
        """Run `trivy ARGS... FLAGS... [--] [TARGET]` and read the JSON it wrote."""
        with tempfile.TemporaryDirectory(prefix="mlsecops-trivy-") as tmp:
            output = Path(tmp) / "report.json"
            # "--" keeps a target that starts with "-" from being read as a flag.
            positional = ["--", target] if target is not None else []
            flags = self._common_flags(output, list_packages)
            command = [str(self.options.binary), *args, *flags, *positional]
            try:
                proc = subprocess.run(
                    command,
                    cwd=cwd,
                    capture_output=True,
                    text=True,
                    errors="replace",
                    timeout=self.options.timeout_seconds,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise ToolError(
                    f"trivy did not finish within {self.options.timeout_seconds}s",
                    "scan fewer targets per call or check the network to the DB mirror",
                ) from exc
            except OSError as exc:
                raise cannot_run(self.options.binary, exc) from exc
            if proc.returncode != 0:
                raise ToolError(
                    f"trivy {args[0]} failed (exit {proc.returncode}): {fatal_cause(proc.stderr)}",
                    "see trivy's message; rerun with the same flags to reproduce",
                )
            report = load_tool_json(
                output,
                InputKind.TRIVY_REPORT,
                "check that the trivy binary is Trivy (trivy --version)",
            )
        if not isinstance(report, dict):
            raise ToolError("trivy wrote a JSON report that is not an object", "upgrade Trivy")
        return TrivyRun(parse_report(report), _warnings(proc.stderr), parse_metadata(report))


def _secret_flags() -> list[str]:
    # Always our config: Trivy would otherwise read trivy-secret.yaml from the project.
    return ["--secret-config", str(config_path())]


def _check_flags(scanners: frozenset[Scanner]) -> list[str]:
    """The secret config, and the misconfiguration checks: those built into this Trivy
    (--skip-check-update: never the downloaded bundle, so no network and the same checks
    on every run of one Trivy version) plus the KServe checks shipped in the package."""
    flags = _secret_flags() if Scanner.SECRET in scanners else []
    if Scanner.MISCONFIG in scanners:
        flags += ["--skip-check-update", "--config-check", str(checks_dir())]
        flags += ["--check-namespaces", CHECK_NAMESPACE]
    return flags


def _image_flags(scanners: frozenset[Scanner]) -> list[str]:
    """An image is scanned for vulnerable packages and for secrets (in every layer, and in
    its config: ENV values and build history); misconfiguration checks are for the files
    the project deploys it with."""
    chosen = scanners & {Scanner.VULN, Scanner.SECRET}
    flags = ["--scanners", scanner_list(chosen)]
    if Scanner.SECRET in chosen:
        flags += ["--image-config-scanners", "secret", *_secret_flags()]
    return flags


def _log_entries(stderr: str) -> list[tuple[str, str]]:
    entries = []
    for line in stderr.splitlines():
        match = _LOG_LINE.match(line.strip())
        if match:
            entries.append((match["level"], " ".join(match["text"].split())))
    return entries


def cannot_run(binary: Path, error: OSError) -> ToolError:
    """The error for a trivy binary that cannot be started at all."""
    return ToolError(
        f"cannot run trivy at {binary}: {error.strerror or error}",
        "pass a working trivy binary with --trivy",
    )


def fatal_cause(stderr: str) -> str:
    """Why Trivy failed, from its FATAL log entry (else its last ERROR one).

    Trivy wraps the cause in layers ("run error: init error: DB error: ...") and lists
    several (go-multierror) on lines of their own: "N errors occurred:", then "\t* cause"
    per cause, nested lists flattened into one. When there is such a list its innermost
    causes (those that wrap no further list) are the message, joined with "; "; otherwise
    the whole entry is.
    """
    lines = stderr.splitlines()
    entries = [(i, m) for i, line in enumerate(lines) if (m := _LOG_LINE.match(line.strip()))]
    fatal = [(i, m) for i, m in entries if m["level"] == "FATAL"]
    chosen = fatal or [(i, m) for i, m in entries if m["level"] == "ERROR"]
    if not chosen:
        rest = [line.strip() for line in lines if line.strip()]
        return scrub(rest[-1])[:_MAX_CAUSE] if rest else "no message"
    start, match = chosen[-1]
    head = " ".join(match["text"].split()).removeprefix("Fatal error ")
    causes: list[str] = []
    for line in lines[start + 1 :]:
        text = line.strip()
        if _LOG_LINE.match(text):
            break
        if text.startswith("* "):
            causes.append(text[2:])
        elif text and causes:
            causes[-1] += " " + text
    leaves = [" ".join(c.split()) for c in causes if not _ERRORS_OCCURRED.search(c)]
    # Scrubbed before it is cut: a cause may quote a line of a scanned file.
    return scrub(("; ".join(leaves) or head).strip())[:_MAX_CAUSE]


def _warnings(stderr: str) -> tuple[str, ...]:
    # Scrubbed here, once: warnings become report notes, and may quote a scanned file.
    entries = _log_entries(stderr)
    return tuple(scrub(text) for level, text in entries if level in ("WARN", "ERROR"))


def raise_on_parse_failures(run: TrivyRun) -> None:
    """Trivy logs a dependency file it cannot parse and carries on; for us that is bad input."""
    for warning in run.warnings:
        if "parse error" in warning.lower() or "failed to parse" in warning.lower():
            raise UsageError(
                f"a dependency file could not be parsed: {warning}",
                "fix or regenerate the lock file, then scan again",
            )


# Trivy warnings that are noise here: license detection is not what we scan for, and
# conda environments are covered by mlsecops.deps.conda (Trivy itself cannot scan them).
_NOISE = (
    "license detection is skipped",
    # Misconfiguration checks come from the Trivy binary itself (--skip-check-update), on
    # purpose; Trivy logs that as an error every run.
    "falling back to embedded checks",
    # Trivy cuts a long line around a secret without regard to UTF-8, then complains.
    "invalid utf-8 sequences detected in file content",
    "the size of the scanned file is too large",
    "conda package is supported for sbom",
    "unable to detect the dependency versions from `environment.yml`",
)


def trivy_notes(run: TrivyRun) -> tuple[str, ...]:
    """Trivy's warnings a reader must see, as report notes (noise dropped, each once)."""
    kept = (w for w in run.warnings if not any(noise in w.lower() for noise in _NOISE))
    return tuple(dict.fromkeys(f"trivy: {warning}" for warning in kept))
