"""``backproplab check``: grade a learner's own implementation of the homework, and
``check_part`` for one class from a notebook. ``README.md`` beside this file says how
the pieces fit and how to add a part.

This module imports nothing at load time: it is shipped into the sandbox, where only the
harness may load.
"""


def __getattr__(name: str):
    if name == "check_part":
        from .notebook import check_part

        return check_part
    raise AttributeError(name)
