"""Stage 5: comparisons -> pass/fail decisions for CI (gates.toml, pytest plugin)."""
