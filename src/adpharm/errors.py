"""Errors that the command line turns into a one-line message and exit code 2."""


class AdpharmInputError(ValueError):
    """Bad user input or a bad data file: the message names the file, field or value at fault."""


class UnknownNameError(AdpharmInputError):
    """A drug or class name that is not in the knowledge base; carries close matches."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown drug or class {name!r}{hint}")


def check_option(option: str, value, choices) -> None:
    """Raise AdpharmInputError unless ``value`` is one of ``choices`` (checked when given, not deep inside)."""
    if value not in choices:
        raise AdpharmInputError(f"{option}: {value!r} is not one of {', '.join(map(str, choices))}")


def check_level(level: float) -> None:
    if not 0 < level < 1:
        raise AdpharmInputError(f"level: {level} must be between 0 and 1")


def reject(mask, message) -> None:
    """Raise AdpharmInputError for the first row where ``mask`` holds; ``message(i)`` builds the text."""
    import numpy as np
    hits = np.flatnonzero(np.asarray(mask))
    if hits.size:
        raise AdpharmInputError(message(int(hits[0])))
