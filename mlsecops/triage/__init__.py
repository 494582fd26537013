"""Judging findings before the gate: the policy file's ignores, and the baseline."""
