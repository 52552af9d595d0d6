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
