"""Versions of what shapes our numbers, recorded in every file we write: library versions,
and digests of our own source code (the package version is a constant, so it cannot tell
one build of evalharness from another; the code that ran can)."""

from __future__ import annotations

import hashlib
import inspect
import sys
from collections.abc import Iterable
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version

import evalharness


def library_versions(*packages: str) -> dict[str, str]:
    out = {"evalharness": evalharness.__version__}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _module_text(module_name: str) -> str:
    module = sys.modules.get(module_name)
    if module is None:
        return f"<module {module_name} not loaded>"
    try:
        return inspect.getsource(module)
    except (OSError, TypeError):  # built-in or frozen module: its name is all we know
        return f"<module {module_name} without source>"


def _function_text(obj: object) -> str:
    """Source of a function as it is now (so a patched method counts), else its bytecode."""
    for attr in ("fget", "func", "__func__"):  # property, cached_property, static/classmethod
        if hasattr(obj, attr) and callable(getattr(obj, attr)):
            obj = getattr(obj, attr)
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        return repr((code.co_code, code.co_consts)) if code is not None else repr(type(obj))


def _class_text(cls: type) -> Iterable[str]:
    yield f"class {cls.__module__}.{cls.__qualname__}"
    for name in sorted(cls.__dict__):
        attr = cls.__dict__[name]
        if inspect.isfunction(attr) or isinstance(
            attr, property | cached_property | staticmethod | classmethod
        ):
            yield f"{name}:{_function_text(attr)}"


def code_digest(*parts: type | str) -> str:
    """sha256 over the source of modules (given by name) and classes (their module's text and
    every method as it is bound now). Two runs with equal digests ran the same code."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            texts: Iterable[str] = [f"module {part}", _module_text(part)]
        else:
            texts = [f"module {part.__module__}", _module_text(part.__module__), *_class_text(part)]
        for text in texts:
            digest.update(text.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
    return digest.hexdigest()
