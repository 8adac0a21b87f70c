"""The process inside the sandbox that starts each part: it never runs the learner's code
itself. It confines itself first (no core dumps or /proc/<pid>/mem, a child subreaper, the
seccomp filter, hard limits), loads numpy and the part kinds once, says it is ready, and
then, for each task the grader sends, forks the part's process and waits for it.

A part's process sets its own limits, changes to a fresh working folder, installs the
audit hook (``harness.guard``), imports the learner's package, calls the part kind's
``run`` and sends its ``result``; what it prints goes through a pipe of its own, which the
zygote relays as ``output`` messages. When the part's process has ended, the zygote kills
every process the part left (its subreaper catches a ``setsid`` daemon; inside a PID
namespace or as the sandbox's own user, ``kill(-1)`` reaches everything else), removes
the working folder and sends ``end``. The grader enforces the time limit by ending the
whole sandbox.

Started as ``python -I -S -B -c BOOT HARNESS_ROOT SITE_DIR… -- CONTROL_FD RESULTS_FD``.
"""

from __future__ import annotations

import importlib
import os
import select
import shutil
import signal
import sys
import time

import numpy as np

from . import confine, harness, protocol
from .kinds import BY_NAME

BOOT = ("import sys; i = sys.argv.index('--'); sys.path[:0] = sys.argv[1:i]; "
        "from backproplab_check.zygote import main; main(int(sys.argv[i + 1]), int(sys.argv[i + 2]))")


def main(control_fd: int, results_fd: int) -> None:
    stream = protocol.Stream(control_fd)
    setup, _ = protocol.read_message(stream)
    confined = {"dumpable": confine.not_dumpable(), "subreaper": confine.subreaper(),
                "parent_death": confine.die_with_parent()}
    refused = confine.install_filter() if setup.get("seccomp", True) else "not asked"
    limits = _hard_limits(setup["limits"], ("file_bytes", "processes", "open_files", "core"))
    protocol.send(results_fd, protocol.encode(protocol.READY, {"confined": confined, "seccomp": refused,
                                                               "limits": limits, "pid": os.getpid()}))
    for n in range(10**9):
        try:
            task, inputs = protocol.read_message(stream)
        except EOFError:
            os._exit(0)
        _run_part(n, task, inputs, setup, control_fd, results_fd)


def _run_part(n: int, task: dict, inputs: dict, setup: dict, control_fd: int, results_fd: int) -> None:
    work = os.path.join(setup["work"], f"part-{n}")
    os.mkdir(work, 0o700)
    out_r, out_w = os.pipe()
    part_r, part_w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        for fd in (control_fd, results_fd, out_r, part_r):
            os.close(fd)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        os.close(out_w)
        _part(task, inputs, setup, work, part_w)
        os._exit(0)
    os.close(out_w)
    os.close(part_w)
    relay = Relay(results_fd, {out_r: protocol.OUTPUT, part_r: protocol.PART},
                  {protocol.OUTPUT: setup["max_output"], protocol.PART: protocol.MAX_PART_BYTES})
    relay.run_until_exit(pid)
    status = _wait(pid)
    sweep(setup["sweep_all"])
    relay.drain()
    shutil.rmtree(work, ignore_errors=True)
    end = {"part": task.get("part"), "seconds": time.monotonic() - start,
           "output_bytes": relay.total[protocol.OUTPUT], "part_bytes": relay.total[protocol.PART], **status}
    protocol.send(results_fd, protocol.encode(protocol.END, end))


class Relay:
    """Relays a part's two pipes (what it prints, its own results) to the grader, each in
    messages of the zygote's, each kept up to its budget and counted beyond it."""

    def __init__(self, results_fd: int, pipes: dict[int, str], budgets: dict[str, int]) -> None:
        self.results_fd, self.pipes, self.budgets = results_fd, dict(pipes), budgets
        self.relayed = {kind: 0 for kind in budgets}
        self.total = {kind: 0 for kind in budgets}

    def run_until_exit(self, pid: int) -> None:
        while self.pipes:
            ready, _, _ = select.select(list(self.pipes), [], [], 0.05)
            for fd in ready:
                self._read(fd)
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return

    def drain(self) -> None:
        """What is left once every writer is gone (after the sweep)."""
        for fd in list(self.pipes):
            os.set_blocking(fd, False)
            try:
                while fd in self.pipes:
                    self._read(fd)
            except BlockingIOError:
                self.pipes.pop(fd)
                os.close(fd)

    def _read(self, fd: int) -> None:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            self.pipes.pop(fd)
            os.close(fd)
            return
        kind = self.pipes[fd]
        keep = chunk[: max(0, self.budgets[kind] - self.relayed[kind])]
        self.relayed[kind] += len(keep)
        self.total[kind] += len(chunk)
        if keep:
            protocol.send(self.results_fd, protocol.encode(kind, {}, {"bytes": np.frombuffer(keep, np.uint8)}))


def _wait(pid: int) -> dict:
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    return {"exit": os.WEXITSTATUS(status)}


def sweep(everything: bool) -> None:
    """Kill every process the part left and reap them: the zygote's children (orphans come
    to it, the subreaper), and with ``everything`` every process it may signal (all of the
    sandbox's: a PID namespace, or the sandbox's own user)."""
    for _ in range(10_000):
        children = _children()
        if everything:
            try:
                os.kill(-1, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reaped = 0
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if not pid:
                break
            reaped += 1
        if not children and not reaped:
            return


def _children() -> list[int]:
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _hard_limits(limits: dict, names) -> dict:
    """Soft and hard limits set equal (so the learner's code cannot raise them back); what was set."""
    if os.name != "posix":
        return {}
    import resource

    which = {"memory_bytes": resource.RLIMIT_AS, "cpu_seconds": resource.RLIMIT_CPU,
             "file_bytes": resource.RLIMIT_FSIZE, "processes": resource.RLIMIT_NPROC,
             "open_files": resource.RLIMIT_NOFILE, "core": resource.RLIMIT_CORE}
    applied = {}
    for name in names:
        value = limits.get(name)
        if value is None:
            continue
        try:
            _, hard = resource.getrlimit(which[name])
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which[name], (value, value))
            applied[name] = value
        except (ValueError, OSError):  # a limit this system does not allow: said in the ready message
            pass
    return applied


# -- the part's process ----------------------------------------------------------------------------------


def _part(task: dict, inputs: dict, setup: dict, work: str, results_fd: int) -> None:
    limits = {**setup["limits"], "cpu_seconds": task.get("cpu_seconds")}
    _hard_limits(limits, ("memory_bytes", "cpu_seconds"))
    os.chdir(work)
    os.environ["HOME"] = os.environ["TMPDIR"] = work
    np.random.seed(task.get("seed", 0) % 2**32)  # the homework's code draws from numpy's global generator
    harness.guard(results_fd, setup["denied"])
    calls = harness.Calls(setup["package_dir"])
    try:
        harness.import_package(setup["package_dir"])
    except BaseException as err:
        calls.meta["import"] = harness.describe_exception(err, calls.package_dir)
    else:
        try:
            (probe if task["kind"] == "probe" else _run_kind)(task, inputs, calls)
        except BaseException as err:  # the grader's code failed on what the learner's code did
            calls.meta["harness"] = harness.describe_exception(err, calls.package_dir)
    sys.stdout.flush()
    protocol.send(results_fd, calls.message())


def _run_kind(task: dict, inputs: dict, calls: harness.Calls) -> None:
    spec = task["class"]
    module = calls.run("import", importlib.import_module, f"neural_networks.{spec['module']}")
    if module is harness.FAILED:
        return
    cls = harness.find_class(module, [spec["name"], *spec["aliases"]], spec["factory"], spec["build"])
    if cls is None:
        calls.note("absent", absent=True)
        return
    BY_NAME[task["kind"]].run(task, inputs, calls, cls)


def probe(task: dict, inputs: dict, calls: harness.Calls) -> None:
    """Import one module; say which of the homework's classes it has, under which name, and
    which other layer-like classes (with forward and backward) it defines."""
    module = calls.run("import", importlib.import_module, f"neural_networks.{task['module']}")
    if module is harness.FAILED:
        return
    found = {}
    for spec in task["classes"]:
        cls = harness.find_class(module, [spec["name"], *spec["aliases"]], spec["factory"], spec["build"])
        found[spec["name"]] = None if cls is None else cls.__name__
    known = {name for spec in task["classes"] for name in (spec["name"], *spec["aliases"])}
    others = [name for name, value in vars(module).items()
              if isinstance(value, type) and value.__module__ == module.__name__ and name not in known
              and callable(getattr(value, "forward", None)) and callable(getattr(value, "backward", None))
              and not getattr(value, "__abstractmethods__", None)]
    calls.note("classes", found=found, others=sorted(others)[:50])
