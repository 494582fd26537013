"""Model integrity between jobs: hash a model into a manifest, verify a copy against it.

The pipeline, one module each:

    tree      the model on disk, read without following symlinks or leaving the root
    hashing   SHA-256 of many files in parallel, streamed through a reused buffer
    manifest  the manifest: data, canonical serialization, digest, JSON Schema check
    create    model path -> manifest (what `mlsecops hash` does)
    verify    model path + manifest -> every difference, grouped (what `mlsecops verify` does)

and around it: `relpath` (which entry names are safe), `provenance` (the Actions run a
manifest came from), `signing` (HMAC), `sha256sum` (the coreutils file), `report` (text and
Markdown). The two subcommands live in `mlsecops.cli.integrity`, the integrity action in
`mlsecops.actions.integrity_action`.
"""
