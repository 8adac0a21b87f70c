"""The project's own errors: each is an expected failure whose message names the problem
and the fix. The command line prints it as one line and exits with its ``exit_status``
(2; 1 for a check that failed); any other exception is a bug (``--debug`` shows its
traceback)."""


class BackproplabError(Exception):
    """An expected failure with a message for the user."""

    exit_status = 2


class UsageError(BackproplabError, ValueError):
    """A setting or flag that is not of its type, range or choices."""


class RunError(BackproplabError):
    """A run folder that cannot be written, resumed or replaced as asked."""


class TrainingError(BackproplabError):
    """Training that cannot go on (a non-finite loss)."""


class CheckFailed(BackproplabError):
    """A check that ran to its end and found a fault (a gradient that disagrees)."""

    exit_status = 1
