"""Stage 3b: hypotheses and references -> terminology flags (wrong, untranslated, misspelt,
missing, inconsistent or drifting renditions of glossary concepts)."""
