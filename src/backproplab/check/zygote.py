"""The process inside the sandbox that starts each part: it never runs the learner's code
itself. It confines itself first (no core dumps or /proc/<pid>/mem, a child subreaper, the
seccomp filter, hard limits, the files it may read and write), loads numpy and the part
kinds once, says it is ready, and then, for each task the grader sends, forks the part's
process and waits for it.

A part's process sets its own limits, changes to a fresh working folder, installs the
audit hook (``harness.guard``), imports the learner's package, calls the part kind's
``run`` and sends its ``result``; what it prints goes through a pipe of its own, which the
zygote relays as ``output`` messages. When the part's process has ended, the zygote kills
every process the part left (its subreaper catches a ``setsid`` daemon; inside a PID
namespace or as the sandbox's own user, ``kill(-1)`` reaches everything else), empties
the sandbox's working folder (the part's own folder, under a name no part can take before,
and whatever the part left beside it) and sends ``end``. The grader enforces the time
limit by ending the whole sandbox.

Started as ``python -I -S -B -c BOOT HARNESS_ROOT SITE_DIR… -- CONTROL_FD RESULTS_FD``.
"""

from __future__ import annotations

import importlib
import os
import select
import signal
import stat
import sys
import tempfile
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
    clear(setup["work"])  # what a part left when the zygote before this one was ended (the user level's is on disk)
    files = confine.restrict_files(setup["readable"], setup["writable"]) if "readable" in setup else "not asked"
    protocol.send(results_fd, protocol.encode(protocol.READY, {"confined": confined, "seccomp": refused,
                                                               "landlock": files, "limits": limits,
                                                               "pid": os.getpid()}))
    for n in range(10**9):
        try:
            task, inputs = protocol.read_message(stream)
        except EOFError:
            os._exit(0)
        _run_part(n, task, inputs, setup, control_fd, results_fd)


def _run_part(n: int, task: dict, inputs: dict, setup: dict, control_fd: int, results_fd: int) -> None:
    work = tempfile.mkdtemp(prefix=f"part-{n}-", dir=setup["work"])  # not a name a part could take before
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
    clear(setup["work"])
    if setup["sweep_all"]:  # the sandbox's own user (or namespace): what the part left in /dev/shm is its own
        clear("/dev/shm", owner=os.getuid())
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
            if _exited(pid):
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


def clear(folder: str, owner: int | None = None) -> None:
    """Remove everything in ``folder`` (of ``owner`` alone, if given): the part's own folder and
    whatever it left beside it, so that nothing of one part is there for the next."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        try:
            if owner is None or os.lstat(path).st_uid == owner:
                remove_tree(path)
        except OSError:
            pass


def remove_tree(path: str) -> None:
    """Remove ``path`` (a file, a link, or a folder and everything under it), never following a
    link, whatever its depth: shutil.rmtree recurses once per level, and a tree some thousands of
    folders deep, which a part makes in a second, raises RecursionError (ignore_errors or not).
    Each folder's files are removed and its folders moved up into ``path``, so that at most two
    folders are open at once; a pass that removes nothing ends it (what it may not remove stays)."""
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        _unlink(path)
        return
    try:
        progress, spare = True, 0
        while progress:
            progress = False
            for name in os.listdir(top):
                if not _is_folder(name, top):
                    progress |= _unlink(name, top)
                    continue
                done, spare = _empty_into(top, name, spare)
                progress |= done
    finally:
        os.close(top)
    try:
        os.rmdir(path)
    except OSError:
        pass


def _empty_into(top: int, name: str, spare: int) -> tuple[bool, int]:
    """Remove the files of folder ``name`` (in ``top``), move its folders into ``top`` and remove it."""
    try:
        os.chmod(name, 0o700, dir_fd=top)  # a folder its owner closed (mode 000) is opened again
        folder = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=top)
    except OSError:
        return False, spare
    progress = False
    try:
        for inner in os.listdir(folder):
            if not _is_folder(inner, folder):
                progress |= _unlink(inner, folder)
                continue
            while _exists(f"~{spare}", top):  # a free name: a rename would replace an empty folder
                spare += 1
            try:
                os.rename(inner, f"~{spare}", src_dir_fd=folder, dst_dir_fd=top)
                progress = True
            except OSError:
                pass
    finally:
        os.close(folder)
    try:
        os.rmdir(name, dir_fd=top)
        progress = True
    except OSError:
        pass
    return progress, spare


def _exists(name: str, folder: int) -> bool:
    try:
        os.stat(name, dir_fd=folder, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False
    except OSError:
        return True


def _is_folder(name: str, folder: int) -> bool:
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _unlink(name: str, folder: int | None = None) -> bool:
    try:
        os.unlink(name, dir_fd=folder)
        return True
    except OSError:
        return False


#: the status of a part's process reaped while polling (where there is no waitid to look without reaping)
_reaped: dict[int, int] = {}


def _exited(pid: int) -> bool:
    """Whether the part's process has ended (it is reaped later, by ``_wait``)."""
    if hasattr(os, "waitid"):
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    done, status = os.waitpid(pid, os.WNOHANG)  # macOS: no waitid
    if done:
        _reaped[pid] = status
    return bool(done)


def _wait(pid: int) -> dict:
    status = _reaped.pop(pid) if pid in _reaped else os.waitpid(pid, 0)[1]
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
              and not name.startswith("_")
              and callable(getattr(value, "forward", None)) and callable(getattr(value, "backward", None))
              and not getattr(value, "__abstractmethods__", None)]
    calls.note("classes", found=found, others=sorted(others)[:50])
