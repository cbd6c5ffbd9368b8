"""Stage 3: hypotheses + references -> scores, intervals and sanity checks."""
