"""Versions of the libraries that shape our numbers, recorded in every file we write."""

from __future__ import annotations

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
