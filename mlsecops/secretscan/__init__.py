"""Secrets: one set of rules for Trivy's secret scanner and for the strings in model files.

core/secret_rules  the rules (data): ML credentials and cloud keys, RE2 and Python alike
trivy_config       those rules as the Trivy secret config shipped in the package
matching           the same rules in Python, for strings the model scanner reads
redact             the only form a secret ever takes in output: 4 characters and a length
findings           secret findings, from Trivy's results or from model strings
"""
