"""What every analysis raises when it cannot be computed as asked."""


class SpecError(ValueError):
    """The analysis cannot be computed as asked: ``field`` says what (a specification's field,
    ``steps[1].event``; a report's parameter; empty when the whole is wrong) and ``message``
    why. Its text is ``field: message``."""

    def __init__(self, field: str, message: str | None = None) -> None:
        if message is None:  # a message naming no single field (a document's, a file's)
            field, message = "", field
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
