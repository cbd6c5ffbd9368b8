"""Language codes for `terms check`, without loading the language identifier each time.

`corpus.language.check_language` accepts the codes the offline language identifier knows,
and learns them by loading its model: half a second, more than the whole check of a short
file once the lexicon index is on disk. The identifier's label list is remembered next to
the lexicon indexes (one JSON list per py3langid version). A code on that list is accepted
as `check_language` would; any other code goes to `check_language` itself, so an unknown
code is refused with its usual message, and a missing or damaged list only costs the load."""

from __future__ import annotations

import json
from pathlib import Path

from evalharness.terminology.lexicon import cache_dir


def _labels_path() -> Path | None:
    import py3langid

    directory = cache_dir()
    version = getattr(py3langid, "__version__", "unknown")
    return None if directory is None else directory / f"langid-labels-py3langid{version}.json"


def _remembered() -> frozenset[str]:
    path = _labels_path()
    if path is None:
        return frozenset()
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        return frozenset()  # damaged: ignored, and written again below
    return frozenset(labels)


def _remember(labels: frozenset[str]) -> None:
    from evalharness.fileio import write_text_atomic

    path = _labels_path()
    if path is None:
        return
    try:
        write_text_atomic(path, json.dumps(sorted(labels)) + "\n")
    except OSError:
        pass  # a list we cannot keep only costs the identifier's load next time


def check_term_language(code: str, where: object | None = None) -> str:
    """`check_language(code, where)`, answered from the remembered label list when it can be."""
    normal = code.strip().lower()
    if normal in _remembered():
        return normal
    from evalharness.corpus.language import check_language, known_languages

    checked = check_language(code, where)  # loads the identifier; refuses an unknown code
    _remember(known_languages())
    return checked
