"""The project's own files, for secrets and misconfigurations (Trivy; no vulnerability DB).

source   FilesScan: one `trivy fs --scanners secret,misconfig` run over the project
"""
