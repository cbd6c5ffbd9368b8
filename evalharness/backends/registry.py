"""Backends by name. Built-ins register with a decorator; third parties add theirs through
the `evalharness.backends` entry-point group, e.g. in their pyproject.toml:

    [project.entry-points."evalharness.backends"]
    mybackend = "mypackage.module:MyBackend"

A spec is one string: `NAME` or `NAME:ARGUMENT` (`marian:Helsinki-NLP/opus-mt-sv-en`,
`file:hyps.txt`, `pivot:SPEC+SPEC`). The factory is called as `factory(argument, **options)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.metadata import entry_points

from evalharness.backends.base import Backend
from evalharness.errors import UserError

ENTRY_POINT_GROUP = "evalharness.backends"
_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_BUILTIN: dict[str, Callable[..., Backend]] = {}


def register_backend(name: str) -> Callable:
    def decorator(factory: Callable[..., Backend]) -> Callable[..., Backend]:
        if name in _BUILTIN:
            raise ValueError(f"backend {name!r} registered twice")
        _BUILTIN[name] = factory
        return factory

    return decorator


def _load_builtins() -> None:
    # Importing the modules runs their @register_backend decorators.
    from evalharness.backends import (  # noqa: F401
        ct2,
        file,
        hf_causal,
        hf_seq2seq,
        marian,
        openai_api,
        passthrough,
        pivot,
        tiny_marian,
        vllm_engine,
    )


def available_backends() -> dict[str, Callable[..., Backend]]:
    _load_builtins()
    found = dict(_BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in found:
            found[ep.name] = ep  # loaded only when asked for
    return found


def parse_spec(spec: str) -> tuple[str, str | None]:
    name, sep, argument = spec.strip().partition(":")
    if not _NAME.fullmatch(name):
        raise UserError(f"malformed backend spec {spec!r}: expected NAME or NAME:ARGUMENT")
    if sep and not argument:
        raise UserError(f"malformed backend spec {spec!r}: nothing after ':'")
    return name, (argument if sep else None)


def check_spec(spec: str) -> str:
    """Fail before any work on a spec that names no known backend (also inside
    `pivot:A+B`): a typo must be an error at once, not a failed system after a long build."""
    name, argument = parse_spec(spec)
    backends = available_backends()
    if name not in backends:
        raise UserError(f"unknown backend {name!r} (available: {', '.join(sorted(backends))})")
    if name == "pivot" and argument:
        for part in argument.split("+"):
            check_spec(part)
    return spec


def create_backend(spec: str, **options) -> Backend:
    name, argument = parse_spec(check_spec(spec))
    factory = available_backends()[name]
    if hasattr(factory, "load"):  # an entry point
        try:
            factory = factory.load()
        except Exception as exc:  # a broken plug-in must not look like our bug
            raise UserError(f"backend plug-in {name!r} failed to load: {exc}") from exc
    backend = factory(argument, **options)
    if not isinstance(backend, Backend):
        raise UserError(f"backend plug-in {name!r} did not return an evalharness Backend")
    return backend
