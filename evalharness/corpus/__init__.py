"""Stage 1: documents -> aligned, versioned test sets."""
