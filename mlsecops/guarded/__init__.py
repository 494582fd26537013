"""Every input file the scan reads, read and parsed under guard (issue 15).

A repository, a baseline or a manifest can be hostile: a FIFO where a lock file should be, a
symlink to /dev/zero, a 1 KB YAML file whose aliases expand to gigabytes, arrays nested
100,000 deep, a TOML key that sends the parser quadratic. Each read goes through here:

  limits      InputKind: what each kind of input file is, its size limit, how to raise it
  files       read_bytes / read_text / check_regular: regular files only, never opening a
              FIFO or device, at most the kind's size, decoding errors named
  depth       MAX_DEPTH and real-Unicode checks shared by the parsers
  json_text   parse_json / load_json: depth measured before parsing, no lone surrogates
  yaml_text   parse_yaml / load_yaml / GuardedLoader: no aliases or anchors, bounded
              depth, text-only keys
  toml_text   parse_toml / load_toml: dotted keys bounded (tomllib is super-linear in
              their length), bounded depth

Every refusal is a UsageError (exit 2) that names the file, the problem and the fix.
"""
