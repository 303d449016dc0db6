"""What every analysis raises when it cannot be computed as asked."""


class SpecError(ValueError):
    """The analysis cannot be computed as asked; the message names the field."""
