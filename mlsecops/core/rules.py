"""The one registry of mlsecops's own rules (`MLS-*`): id, kind, severity, title, help, help URL.

Trivy's findings carry their advisory's id; every finding mlsecops makes itself carries one
of these ids, and only these. SARIF rules, the rule table in docs/rules.md and the summary
read this table, and tests fail when an id is used in the code but not registered here, or
registered here but never produced. Adding a rule is one `Rule(...)` line below.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlsecops.core.findings import Kind, Severity
from mlsecops.core.secret_rules import SECRET_RULES

# Where a rule's `help_uri` points: its section of docs/rules.md in the action's repository.
DOCS_URL = "https://github.com/mlsecops/mlsecops-action/blob/main/docs/rules.md"


@dataclass(frozen=True)
class Rule:
    """One `MLS-*` rule: what it finds, how bad that is by default, and what to do."""

    id: str
    kind: Kind
    severity: Severity
    title: str  # a short name for the rule, as a sentence fragment
    help: str  # what it means and what to do about it, for SARIF help and docs/rules.md

    @property
    def help_uri(self) -> str:
        """The rule's section of docs/rules.md (GitHub's anchor for a `### MLS-X` heading)."""
        return f"{DOCS_URL}#{self.id.lower()}"


_M, _V, _K = Kind.MODEL, Kind.VULNERABILITY, Kind.MISCONFIGURATION
_C, _H, _ME, _L, _U = (
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.UNKNOWN,
)

RULES: tuple[Rule, ...] = (
    # -- dependencies ------------------------------------------------------------------
    Rule("MLS-UNPINNED", _V, _U, "Requirement not pinned: not checked",
         "The requirement names no exact version, so its vulnerabilities cannot be looked "
         "up. Pin it (name==X.Y.Z), use a lock file, or scan with --resolve. Informational: "
         "UNKNOWN never fails a gate."),
    # -- pickles -----------------------------------------------------------------------
    Rule("MLS-PICKLE-DENY", _M, _C, "Pickle uses a deny-listed global",
         "Loading this pickle runs a known-dangerous callable (os.system, builtins.eval, "
         "importlib, ...). Do not load it; re-create the model from a trusted source and save "
         "it as safetensors or ONNX."),
    Rule("MLS-PICKLE-CALL", _M, _H, "Pickle calls a global on neither list",
         "Loading this pickle calls a function the scanner does not know to be safe: a novel "
         "gadget is still caught. Trust it only if you know that code; allow it with the "
         "policy's model-scanner.allow-globals."),
    Rule("MLS-PICKLE-DYNAMIC-CALL", _M, _H, "Pickle calls a callable built at load time",
         "The pickle calls the result of another call, so what runs is decided at load time. "
         "Do not load it."),
    Rule("MLS-PICKLE-SETATTR", _M, _H, "Pickle overwrites attributes of a module or class",
         "BUILD applied to a global itself changes module or class attributes when loaded. "
         "Do not load it."),
    Rule("MLS-PICKLE-INSTANCE", _M, _ME, "Pickle creates an instance of an unknown class",
         "An instance of a class on neither list is created and its state restored (for "
         "example a whole-model pickle of your own nn.Module): not a payload, but that "
         "class's code must be trusted. Save weights only (state_dict, safetensors)."),
    Rule("MLS-PICKLE-IMPORT", _M, _ME, "Pickle imports a global on neither list",
         "A global on neither list is imported but never called. Check that the module is "
         "yours; allow it with the policy's model-scanner.allow-globals."),
    Rule("MLS-PICKLE-MALFORMED", _M, _ME, "Pickle breaks part-way",
         "What came before the break runs on load (and was scanned); a lenient loader may "
         "read past the break. Re-create the file from a trusted source."),
    Rule("MLS-PICKLE-TRAILING", _M, _L, "Bytes after the pickle's STOP",
         "Bytes after STOP that are not a pickle: an evasion trick (pickle.load ignores "
         "them). Re-create the file from a trusted source."),
    Rule("MLS-PICKLE-DESERIALIZE", _M, _H, "Trusted reconstructor unpickles unseen data",
         "An allow-listed callable that deserializes its argument (torch.storage."
         "_load_from_bytes runs torch.load) gets data built at load time or too large to "
         "check, so what it unpickles was not scanned. Do not load it."),
    Rule("MLS-PICKLE-EXTERNAL-FILE", _M, _H, "Pickle makes joblib unpickle another file",
         "An old joblib array wrapper names a file that joblib.load reads with "
         "allow_pickle=True. HIGH when the name leaves the model's directory; MEDIUM when it "
         "is a companion file next to it, which must be scanned too."),
    Rule("MLS-PICKLE-ENCODED", _M, _H, "Dangerous pickle hidden as base64 or hex text",
         "A string decodes to a pickle with dangerous globals; code that decodes and "
         "unpickles it runs them. Loading the file alone does not, hence HIGH, not CRITICAL. "
         "Remove it; never unpickle strings from model files."),
    Rule("MLS-PICKLE-FRAME", _M, _ME, "Pickle frames disagree with their opcodes",
         "No pickler writes this: pickle.loads, pickle.load and torch.load read the pickle "
         "differently. Every reading was scanned. Re-create the file from a trusted source."),
    Rule("MLS-PICKLE-BUDGET", _M, _ME, "Pickle not fully checked: a scan budget ran out",
         "Opcodes, stack, decompressed size, nested data or frame readings went past what "
         "any model needs; the rest was not checked and a loader would still run it. Do not "
         "load the file."),
    # -- Keras, ONNX, safetensors, GGUF, chat templates ----------------------------------
    Rule("MLS-KERAS-LAMBDA", _M, _H, "Keras Lambda layer",
         "A Lambda layer's bytecode is rebuilt into a function on load. Replace it with a "
         "registered custom layer, or load with safe_mode=True."),
    Rule("MLS-KERAS-DENY", _M, _C, "Keras config names a deny-listed module or function",
         "The model config reaches a known-dangerous module or function. Do not load it."),
    Rule("MLS-KERAS-CUSTOM-OBJECT", _M, _H, "Keras config needs code outside Keras",
         "The config names a module outside Keras/TensorFlow (or a Python builtin function), "
         "which Keras imports and calls on load; Keras 3.9+ refuses such modules unless "
         "registered (CVE-2025-1550). Allow your own module in the policy's "
         "model-scanner.allow-globals; otherwise do not load the model."),
    Rule("MLS-KERAS-TORCH-MODULE", _M, _H, "Keras TorchModuleWrapper holds a pickled module",
         "A TorchModuleWrapper layer carries a torch.save blob that Keras loads with "
         "torch.load(weights_only=False) (CVE-2025-49655); the blob itself is scanned as a "
         "torch file. Rebuild the module from reviewed code and load only its weights."),
    Rule("MLS-KERAS-CONFIG-MALFORMED", _M, _U, "Keras config could not be read",
         "Informational: the Keras config is not valid JSON, so it was not checked."),
    Rule("MLS-ONNX-EXTERNAL-PATH", _M, _H, "ONNX external data outside the model directory",
         "The model reads external data from outside its own directory, so loading it reads "
         "arbitrary files. Keep external data beside the model."),
    Rule("MLS-ONNX-MALFORMED", _M, _U, "ONNX model could not be parsed",
         "Informational: a file named .onnx does not parse as an ONNX model, so it was not "
         "checked (an ONNX runtime refuses it too). Re-export it from a trusted source."),
    Rule("MLS-ONNX-CUSTOM-DOMAIN", _M, _L, "ONNX ops from a non-standard domain",
         "The ops need a custom-op native library. Check where that library comes from."),
    Rule("MLS-SAFETENSORS-HEADER", _M, _H, "safetensors header invalid or lying",
         "The header is invalid or lies about the data (offsets past the end, overlapping "
         "or leaving holes, sizes that disagree with shape and dtype). The safetensors "
         "library refuses such a file; parsers that trust the header have been exploited "
         "through it. Re-create the file with the safetensors library from a trusted source."),
    Rule("MLS-GGUF-TEMPLATE", _M, _H, "GGUF chat template reaches for Python internals",
         "The chat template in the GGUF metadata walks Python internals (template "
         "injection runs code in the loader). Remove the template or use a trusted one."),
    Rule("MLS-GGUF-MALFORMED", _M, _U, "GGUF file could not be read",
         "Informational: the GGUF metadata is malformed past this point, so the rest was not "
         "checked."),
    Rule("MLS-CHAT-TEMPLATE", _M, _H, "Chat template reaches for Python internals",
         "A Hugging Face tokenizer config or .jinja template walks Python internals. Remove "
         "the template or use a trusted one."),
    Rule("MLS-H5-SKIPPED", _M, _U, "HDF5 model not checked",
         "Informational: h5py is not installed, so the .h5 model's config was not read. "
         "Install the h5 extra (pip install mlsecops[h5])."),
    Rule("MLS-H5-UNREADABLE", _M, _U, "HDF5 model could not be read",
         "Informational: the .h5 file could not be opened, so it was not checked."),
    # -- what could not be checked ------------------------------------------------------
    Rule("MLS-MODEL-TOO-DEEP", _M, _ME, "Nested data not scanned",
         "Data nested deeper than the scanner follows (more than 4 levels of archives and "
         "pickles) was not checked. No model format nests that deep, so it is a likely "
         "evasion that a loader would still reach. Do not load it."),
    Rule("MLS-MODEL-TOO-LARGE", _M, _ME, "Data too large to check",
         "Part of a model is over one of the scanner's size limits (a config that inflates "
         "to tens of MB, a member too large to hold, a huge header) and was not checked. No "
         "real model needs that much: it is a likely decompression bomb or evasion that a "
         "loader would still read. Do not load it."),
    Rule("MLS-MODEL-SYMLINK-OUTSIDE", _M, _L, "Symlink out of the model directory",
         "A symlink leaves the scanned directory and was not followed; a loader would read "
         "the file it points to. Replace the link with the file, or scan its target."),
    Rule("MLS-MODEL-UNKNOWN-FORMAT", _M, _U, "File of unknown format",
         "Informational: the file is none of the formats the scanner reads, so it was not "
         "checked. Convert the model to a format that holds no code, or remove the file."),
    Rule("MLS-MODEL-UNREADABLE", _M, _U, "Model file could not be scanned",
         "Informational: the file could not be read (permissions, not a regular file, "
         "damaged). Make it readable and scan again."),
    Rule("MLS-ARCHIVE-UNDECODED", _M, _ME, "Archive member in a compression not decoded",
         "An archive member is compressed with a method a loader reads (Zstandard, which "
         "zipfile, so NumPy and Keras, reads from Python 3.14 on) but the Python the scan "
         "ran on cannot decode, so it was not checked. Scan with Python 3.14 or later, or "
         "do not load the file."),
    Rule("MLS-ARCHIVE-DAMAGED", _M, _U, "Archive structure is damaged",
         "Informational: the zip structure is damaged; what could be read was scanned. A "
         "strict loader refuses the file, a lenient one might read it differently."),
    Rule("MLS-NUMPY-MALFORMED", _M, _U, "NumPy header could not be read",
         "Informational: the .npy header could not be read, so the array was not checked."),
    # -- KServe (Rego checks in mlsecops/data/checks/, run by Trivy) ---------------------
    Rule("MLS-KSERVE-PRIVILEGED", _K, _H, "KServe container runs privileged",
         "A container of an InferenceService sets securityContext.privileged: a compromised "
         "model server (a malicious model file is enough) owns the node. Remove it."),
    Rule("MLS-KSERVE-RUN-AS-ROOT", _K, _ME, "KServe container may run as root",
         "Neither the container nor its pod sets runAsNonRoot (or one sets runAsUser 0). Set "
         "securityContext.runAsNonRoot: true and a non-zero runAsUser."),
    Rule("MLS-KSERVE-HOSTPATH", _K, _ME, "KServe pod mounts a host path",
         "A hostPath volume gives the model server the node's files. Load models from "
         "storageUri or a PersistentVolumeClaim."),
    Rule("MLS-KSERVE-UNPINNED-IMAGE", _K, _ME, "KServe container image is not pinned",
         "The image is tagged latest, or has no tag or digest: what runs is whatever was "
         "pushed last, not what was reviewed and scanned. Pin it by digest."),
)  # fmt: skip
# The shipped secret rules (core/secret_rules) are rules of ours too: registered from there,
# where their patterns live, so title, severity and help are written once.
RULES += tuple(Rule(r.id, Kind.SECRET, r.severity, r.title, r.help) for r in SECRET_RULES)

BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}


def rule(rule_id: str) -> Rule:
    """The registered rule; a KeyError names an id someone forgot to register (a bug)."""
    return BY_ID[rule_id]


def is_own_rule(finding_id: str) -> bool:
    """True for mlsecops's own rule ids, as opposed to advisory ids from Trivy."""
    return finding_id.startswith("MLS-")
