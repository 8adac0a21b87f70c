"""The command to type next, for a message that gives advice: the command that started
this process, with flags dropped and added (``--resume`` in place of ``--overwrite``).

The command line records its arguments here (``invocation``); a run started from Python
(a notebook) has none, and the advice names the option to set instead.
"""

from __future__ import annotations

import shlex

from ..launch import local_world_size, world_size

#: the arguments ``backproplab`` was given (set by the command line; None from Python)
invocation: list[str] | None = None
#: flags that choose what to do with an existing run: at most one is given
RUN_MODES = ("--overwrite", "--new-version", "--resume")


def command_with(flag: str) -> str:
    """This process's command with ``flag`` in place of any of ``RUN_MODES``."""
    if invocation is None:
        return f"the same call with RunOptions({flag[2:].replace('-', '_')}=True)"
    args = [a for a in invocation if a not in RUN_MODES] + [flag]
    prefix = ["backproplab"] if world_size() == 1 else \
        ["torchrun", "--nproc-per-node", str(local_world_size()), "-m", "backproplab"]
    return shlex.join(prefix + args)
