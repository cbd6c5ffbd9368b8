"""The progress bar of long loops (translating, scoring with a model): segments done, a rate and
the time left, on a terminal only (quiet in CI and pipes), on stderr."""

from __future__ import annotations

import sys

from evalharness.terminal import one_line_safe


def progress_bar(label: str):
    """`label` is user data (a system's name, a file name): shown as text, never as rich
    markup, a format field or an escape sequence."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=sys.stderr)
    return Progress(
        TextColumn(escape(one_line_safe(label)).replace("{", "{{").replace("}", "}}")),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} seg/s"),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
