"""The findings model and the gate: pure data and decisions, no I/O."""
