"""Errors that the command line turns into a one-line message and exit code 2.

An engine names the *parameter* at fault (``field="alpha"``), never a command-line flag: a Python
caller reads ``alpha: 1.5 must be between 0 and 1``, the command line maps the field to its flag
(``--alpha: ...``) and the web app returns it as the JSON field of the error.
"""
import re

#: Longest unbroken run of characters an error message repeats (a label pasted from a slide, a whole
#: line of a broken file); longer runs are cut, saying how long they were.
MAX_RUN = 200


def shorten(text: str, max_run: int = MAX_RUN) -> str:
    """``text`` on one line, with every run of more than ``max_run`` non-space characters cut to its first
    60 characters and its length, so that a message never repeats a 2 MB label."""
    one = " ".join(str(text).split())
    return re.sub(r"\S{%d,}" % (max_run + 1), lambda m: f"{m.group(0)[:60]}... ({len(m.group(0))} characters)", one)


def _rebuild(cls, detail, field):
    return cls(detail, field=field)


class AdpharmInputError(ValueError):
    """Bad user input or a bad data file: the message names the file, field or value at fault.

    Parameters
    ----------
    message : str
        What is wrong, on one line; long values in it are cut (:func:`shorten`).
    field : str, optional
        The parameter at fault, by its Python name (``"min_total_count"``). ``str(exc)`` is then
        ``"field: message"``; the command line shows the parameter's flag instead, the web app its
        JSON field.

    Examples
    --------
    >>> exc = AdpharmInputError("1.5 must be between 0 and 1", field="alpha")
    >>> str(exc), exc.field, exc.detail
    ('alpha: 1.5 must be between 0 and 1', 'alpha', '1.5 must be between 0 and 1')
    """

    def __init__(self, message: object = "", *args, field: str | None = None):
        self.field = field
        self.detail = shorten(message)
        super().__init__(f"{field}: {self.detail}" if field else self.detail, *args)

    def __reduce__(self):
        # rebuilt with its field when it crosses a process boundary (the web app's worker pool)
        return _rebuild, (type(self), self.detail, self.field)


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


def check_option(field: str, value, choices) -> None:
    """Raise AdpharmInputError for ``field`` unless ``value`` is one of ``choices`` (checked when given,
    not deep inside). The one validation helper of a choice, for engines and faces alike.

    Examples
    --------
    >>> check_option("method", "REML", ("REML", "DL"))
    >>> check_option("method", "ML", ("REML", "DL"))
    Traceback (most recent call last):
    ...
    adpharm.errors.AdpharmInputError: method: 'ML' is not one of REML, DL
    """
    if value not in choices:
        raise AdpharmInputError(f"{value!r} is not one of {', '.join(map(str, choices))}", field=field)


def check_level(level: float) -> None:
    if not 0 < level < 1:
        raise AdpharmInputError(f"{level} must be between 0 and 1", field="level")


def reject(mask, message) -> None:
    """Raise AdpharmInputError for the first row where ``mask`` holds; ``message(i)`` builds the text."""
    import numpy as np
    hits = np.flatnonzero(np.asarray(mask))
    if hits.size:
        raise AdpharmInputError(message(int(hits[0])))
