"""Errors that are the user's to fix: the CLI prints them without a traceback and exits with 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, files or options; the message says what to change."""


class ImageError(UserError):
    """An image file that cannot be used (corrupt, empty, unreadable, too large)."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DamagedCheckpoint(UserError):
    """A checkpoint or run file that cannot be used as it is (truncated, malformed metadata,
    weights that do not fit the architecture it declares)."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"damaged checkpoint: {self.path} ({reason})")
