"""Errors that the command line turns into a one-line message and exit code 2."""
import re

#: Longest unbroken run of characters an error message repeats (a label pasted from a slide, a whole
#: line of a broken file); longer runs are cut, saying how long they were.
MAX_RUN = 200


def shorten(text: str, max_run: int = MAX_RUN) -> str:
    """``text`` on one line, with every run of more than ``max_run`` non-space characters cut to its first
    60 characters and its length, so that a message never repeats a 2 MB label."""
    one = " ".join(str(text).split())
    return re.sub(r"\S{%d,}" % (max_run + 1), lambda m: f"{m.group(0)[:60]}... ({len(m.group(0))} characters)", one)


class AdpharmInputError(ValueError):
    """Bad user input or a bad data file: the message names the file, field or value at fault.

    The message is kept to one line and long values in it are cut (:func:`shorten`)."""

    def __init__(self, message: object = "", *args):
        super().__init__(shorten(message), *args)


class UnknownNameError(AdpharmInputError):
    """A drug or class name that is not in the knowledge base; carries close matches."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown drug or class {name!r}{hint}")

    def __reduce__(self):
        # rebuilt from its parts when it crosses a process boundary (the web app's worker pool)
        return type(self), (self.name, self.suggestions)


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
