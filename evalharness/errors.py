"""User-facing errors: one line, naming the file and the problem, exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user; the CLI prints it on one line and exits with 2. `details`
    are further lines shown above it (every problem of a config file, one line each)."""

    exit_code = 2

    def __init__(self, message: str, path: object | None = None, details: tuple[str, ...] = ()) -> None:
        self.path = None if path is None else str(path)
        self.details = details
        super().__init__(f"{self.path}: {message}" if self.path else message)


class Problems:
    """Every problem found in one file, so that it can be fixed in one go: one line per
    problem, then the one `error:` line (the exit-code contract) counting them."""

    def __init__(self, path: object) -> None:
        self.path, self.found = path, []

    def add(self, message: str) -> None:
        """One line per problem, whatever names from the file it quotes (a system or gate
        named "a\\nb" would otherwise split its problem over two lines)."""
        from evalharness.fileio import one_line

        self.found.append(one_line(message))

    def catch(self, prefix: str = ""):
        """A context in which a UserError is recorded (with `prefix`) instead of raised."""
        from contextlib import contextmanager

        @contextmanager
        def recording():
            try:
                yield
            except UserError as exc:
                message = str(exc)
                if exc.path and message.startswith(f"{exc.path}: "):
                    message = message[len(exc.path) + 2 :]
                self.add(f"{prefix}{message}")

        return recording()

    def raise_any(self) -> None:
        if len(self.found) == 1:
            raise UserError(self.found[0], self.path)
        if self.found:
            shown = tuple(f"{self.path}: {m}" for m in self.found)
            raise UserError(
                f"{len(self.found)} problems (each on a line above; the first: {self.found[0]})",
                self.path,
                shown,
            )


class SystemFault(UserError):
    """The operating system refused (disk full, permission denied, a read-only folder, an
    I/O error): exit 1 as the README promises, with the OS error and the path. The message
    never advises deleting anything: a full disk is no reason to throw away a cache."""

    exit_code = 1


def env_positive_int(name: str, default: int, unit: str = "bytes") -> int:
    """A positive whole number from environment variable `name` (default when unset). A bad
    value is blamed on the variable, never on the file it would have bounded."""
    import os

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise UserError(f"environment variable {name}={raw!r} is not a positive number of {unit}")
    return int(raw)


class ModelUnavailable(UserError):
    """A model that is neither cached nor downloadable here. `eval` lists the system as
    skipped (with the command that fetches it) instead of failing the suite."""


def optional_module(name: str, install_hint: str):
    """Import an optional extra (ctranslate2, ray), or fail with one line saying how to
    install it."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise UserError(install_hint) from exc
