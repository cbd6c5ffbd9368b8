"""The progress bar of long loops (translating, scoring with a model): segments done, a rate and
the time left, on a terminal only (quiet in CI and pipes), on stderr."""

from __future__ import annotations

import sys


def progress_bar(label: str):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=sys.stderr)
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} seg/s"),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
