"""Errors that carry a message meant for the person running Loopwise."""

from __future__ import annotations


class LoopwiseError(Exception):
    """Base class for errors with a user-facing message."""


class ConfigError(LoopwiseError):
    """A setting is missing, malformed, or points at something unusable.

    The message names the setting, what is wrong with its value and what is accepted, and fits
    on one line so that a failed start prints exactly one clear line.
    """


class NotFound(LoopwiseError):
    """The resource does not exist, or the caller may not know it exists."""


class Forbidden(LoopwiseError):
    """The caller is known but their role does not allow the action."""


class InvalidInput(LoopwiseError):
    """User input failed validation; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
