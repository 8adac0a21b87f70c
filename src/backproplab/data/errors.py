"""The one error type of the data readers: the message names the file and the problem."""

from ..errors import BackproplabError


class DataError(BackproplabError, ValueError):
    """Data that cannot be found or read as the expected format."""
