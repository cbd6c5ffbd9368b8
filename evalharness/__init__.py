"""evalharness: trustworthy machine-translation evaluation from real documents."""

__version__ = "0.1.0"
