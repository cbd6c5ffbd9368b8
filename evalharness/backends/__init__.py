"""Stage 2: test-set segments -> hypotheses, through backends found by name."""
