"""Stage 4: scores and flags -> immutable, self-describing run reports."""
