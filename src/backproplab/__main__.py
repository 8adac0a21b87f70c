import os
import sys

from .launch import world_size

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while Python loads the program: nothing has started, nothing to say
    print("backproplab: interrupted", file=sys.stderr)
    sys.stderr.flush()
    # Leave without the interpreter's finalisation: after an interrupt among half-imported
    # modules, finishing the interpreter sometimes ended as a death by SIGINT (status -2,
    # seen in 2 of 31 tries) instead of 130 (0 of 120 tries this way). Nothing is written yet.
    os._exit(130)

status = main()
if world_size() > 1:
    # Under torchrun, end without the interpreter's finalisation: PyTorch's gloo threads can
    # abort a process at exit ("terminate called without an active exception", seen about once
    # in 15 resumed runs), and torchrun would then stop the other ranks mid-write. Every file
    # the run wrote is complete (written atomically) before this point.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
sys.exit(status)
