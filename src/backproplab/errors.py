"""The project's own errors: each is an expected failure whose message names the problem
and the fix. The command line prints it as one line and exits with status 2; any other
exception is a bug (``--debug`` shows its traceback)."""


class BackproplabError(Exception):
    """An expected failure with a message for the user."""


class UsageError(BackproplabError, ValueError):
    """A setting or flag that is not of its type, range or choices."""


class RunError(BackproplabError):
    """A run folder that cannot be written, resumed or replaced as asked."""


class TrainingError(BackproplabError):
    """Training that cannot go on (a non-finite loss)."""
