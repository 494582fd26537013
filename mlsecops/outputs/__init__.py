"""Everything that turns a ScanOutcome into something people or machines read."""
