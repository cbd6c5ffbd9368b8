"""What we print for a person. Names, file names, hypotheses and messages from libraries are
user data: an escape sequence in any of them (a colour, an OSC window title, an 8-bit CSI,
a bidi override) must never reach the terminal, nor break a message into several lines."""

from __future__ import annotations

import re
import sys

# C0/C1 controls (but tab and newline), DEL, and the bidirectional overrides and isolates.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """Multi-line text safe for a terminal: lines and tabs kept, control characters, bidi
    overrides and the Unicode line separators (which would start a line of their own) not."""
    return CONTROL.sub("", text.replace("\u2028", " ").replace("\u2029", " "))


def one_line_safe(text: str) -> str:
    """A message on one line, safe for a terminal, whatever a library put in it."""
    return terminal_safe(re.sub(r"\s*\n\s*", " ", text.strip()))


def warn(message: str) -> None:
    """`warning: MESSAGE` on stderr, one line."""
    print("warning: " + one_line_safe(message), file=sys.stderr)
