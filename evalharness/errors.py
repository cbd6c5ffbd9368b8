"""User-facing errors: one line, naming the file and the problem, exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user; the CLI prints it on one line and exits with 2."""

    exit_code = 2

    def __init__(self, message: str, path: object | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)


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
