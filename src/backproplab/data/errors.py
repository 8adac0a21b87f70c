"""The one error type of the data readers: the message names the file and the problem."""


class DataError(ValueError):
    """Data that cannot be found or read as the expected format."""
