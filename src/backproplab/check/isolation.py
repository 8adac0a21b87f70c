"""How strongly the learner's code is shut away from everything else, and how a sandbox is
started and ended at each level. The grader uses the strongest level the machine offers
(``--isolation auto``) and names it in every output.

- **namespaces** (bubblewrap): new PID, network, IPC, UTS, user and mount namespaces. The
  sandbox sees the system's programs and libraries read-only, the Python that runs the
  grader (with PyTorch, backproplab and the other reference libraries hidden), the grader's
  harness and the learner's package read-only, and writable only a private working
  folder, /tmp and /dev/shm, each a bounded tmpfs that vanishes with the sandbox. It
  cannot see or signal any process outside, reach any network, or read anyone's home,
  other submissions or the grader's files. Ending it ends everything in it.
- **user** (root without namespaces, as in Gradescope's containers): the sandbox runs as
  an unprivileged user of its own (one per concurrent sandbox, ``SANDBOX_UID`` + slot), so
  it cannot write the grader, the Python installation, other submissions or the results
  file, nor signal or trace the grader; the seccomp filter refuses every socket but a Unix
  one. Files that every user may read stay readable to it. Ending it kills every process
  of its user; its files in /tmp, /var/tmp and /dev/shm are removed.
- **process** (no privileges, no namespaces: a student's laptop): limits, the seccomp
  filter where the system has one, and the zygote's sweep; the learner's code runs as the
  user running the grader, with that user's files. It isolates faults, not malice.

At every level: hard limits equal to soft ones, no core dumps, a minimal environment, the
audit hook against reference libraries and ctypes, the zygote as child subreaper killing
all a part left, and the sandbox's folder removed at the end.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

LEVELS = ("namespaces", "user", "process")
CHOICES = ("auto", "strict", *LEVELS)
#: the first uid (and gid) of the sandboxes' own users in the "user" level
SANDBOX_UID = 2**31 - 2**16
#: the writable places every user has, cleaned of a sandbox user's files at the end ("user" level)
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")
#: the environment variable that marks every process of a sandbox (unless it clears its environment)
TOKEN = "BACKPROPLAB_SANDBOX"


@dataclass(frozen=True)
class Isolation:
    level: str  # one of LEVELS
    detail: str  # what it gives, in a sentence (printed with every result)

    @property
    def strong(self) -> bool:
        return self.level != "process"


def choose(requested: str = "auto") -> Isolation:
    """The isolation to grade with: the strongest available (``auto``), the strongest but
    never process-level (``strict``, else a UsageError saying what to install), or a level
    by name (refused where this machine does not offer it)."""
    offered = {level: why for level, why in ((level, _unavailable(level)) for level in LEVELS)}
    if requested in LEVELS:
        if offered[requested]:
            raise UsageError(f"--isolation {requested} is not available here: {offered[requested]}")
        return Isolation(requested, DETAIL[requested])
    for level in LEVELS:
        if not offered[level] and (requested == "auto" or level != "process"):
            return Isolation(level, DETAIL[level])
    raise UsageError("--isolation strict: only process-level isolation is available here (the learner's code would "
                     f"run as you, with your files): {offered['namespaces']}; install bubblewrap (Debian/Ubuntu: "
                     "apt install bubblewrap) and allow unprivileged user namespaces, or grade as root "
                     "(as Gradescope's containers do)")


DETAIL = {
    "namespaces": "namespaces (bubblewrap): no network, no other process, read-only system, private /tmp",
    "user": "user: an unprivileged user of its own, no network (seccomp), its processes and files removed after",
    "process": "process: limits and no network (seccomp) only; it runs as you, with your files",
}


def _unavailable(level: str) -> str:
    """Why the level cannot be used here ('' when it can)."""
    if level == "process":
        return ""
    if not sys.platform.startswith("linux"):
        return f"{level} isolation needs Linux"
    if level == "user":
        if os.geteuid() != 0:
            return "the user level needs root (to run the learner's code as a user of its own)"
        blocked = _private_ancestor(Path(sys.executable).resolve()) or _private_ancestor(Path(sys.prefix))
        if blocked:
            return (f"the Python that runs the grader ({sys.executable}) lies inside {blocked}, which other users "
                    "cannot enter; install backproplab with a Python outside a private home folder")
        return ""
    return _bwrap_unavailable()


def _private_ancestor(path: Path) -> str:
    for parent in [*reversed(path.parents)][1:] + [path]:
        try:
            if parent.is_dir() and not parent.stat().st_mode & 0o001:
                return str(parent)
        except OSError:
            return str(parent)
    return ""


@functools.cache
def _bwrap_unavailable() -> str:
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "bubblewrap (bwrap) is not installed"
    try:
        done = subprocess.run([bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                              capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap does not run ({err})"
    if done.returncode != 0:
        return f"bwrap cannot create namespaces here ({done.stderr.decode(errors='replace').strip()[:200]})"
    return ""


# -- starting a sandbox ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """The sandbox's folders: ``code`` (read-only: the harness, the package, the site view)
    and ``work`` (writable), as the grader sees them and as the sandbox does."""

    root: Path
    code: Path
    work: Path  # on disk (user, process) or the tmpfs's path inside (namespaces)
    site_dirs: tuple[str, ...]  # the real site-packages folders the view links into
    denied: tuple[str, ...]  # the reference libraries' folders, hidden or refused


def command(isolation: Isolation, layout: Layout, limits, argv: list[str]) -> list[str]:
    if isolation.level != "namespaces":
        return argv
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "65534", "--gid", "65534", "--ro-bind", "/usr", "/usr"]
    for path in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/fonts",
                 "/etc/alternatives", "/usr/share/zoneinfo"):
        args += ["--ro-bind-try", path, path]
    for path in _python_dirs(layout):
        args += ["--ro-bind", path, path]
    for path in layout.denied:
        args += ["--tmpfs", path] if os.path.isdir(path) else ["--ro-bind", "/dev/null", path]
    args += ["--dev", "/dev", "--proc", "/proc",
             "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp",
             "--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm",
             "--ro-bind", str(layout.code), str(layout.code),
             "--size", str(limits.work_bytes), "--tmpfs", str(layout.work),
             "--chdir", str(layout.work)]
    return [*args, "--", *argv]


def _python_dirs(layout: Layout) -> list[str]:
    """The folders the sandbox needs of the Python installation (outside /usr), outermost first."""
    wanted = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(
        sys.executable)), *layout.site_dirs)}
    wanted = {p for p in wanted if not p.startswith("/usr/") and os.path.isdir(p)}
    return sorted(p for p in wanted if not any(p != q and p.startswith(q + os.sep) for q in wanted))


def spawn_options(isolation: Isolation, slot: int) -> dict:
    """Popen's options: at the user level, a sandbox user of its own (no groups, private files)."""
    if isolation.level == "user":
        uid = SANDBOX_UID + slot
        return {"user": uid, "group": uid, "extra_groups": [], "umask": 0o077}
    return {}


# -- ending a sandbox --------------------------------------------------------------------------------------


def kill_user(uid: int) -> None:
    """Kill every process of ``uid`` (repeatedly: one may fork while we look)."""
    for _ in range(1000):
        found = [pid for pid in _pids() if _uid_of(pid) == uid]
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)


def kill_tree(pid: int) -> None:
    """Kill ``pid`` and every descendant it has (repeatedly: one may fork while we look)."""
    for _ in range(100):
        parents = _parents()
        tree, grew = {pid}, True
        while grew:
            more = {child for child, parent in parents.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        alive = [p for p in tree if p in parents]
        for p in alive:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if len(alive) <= 1:
            return


def reap_strays(token: str) -> None:
    """Kill and reap the children this process adopted (as a subreaper) from a sandbox whose
    zygote died: they carry the sandbox's token in their environment."""
    me = os.getpid()
    for pid, parent in _parents().items():
        if parent != me:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                marked = f"{TOKEN}={token}".encode() in f.read().split(b"\0")
        except OSError:
            marked = False
        if marked:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError, PermissionError):
                pass


def _parents() -> dict[int, int]:
    """pid → parent pid of every process."""
    out = {}
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                out[pid] = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return out


def remove_files_of(uid: int) -> None:
    """Remove what ``uid`` left in the places every user may write."""
    for top in SHARED_TMP:
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _uid_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None
