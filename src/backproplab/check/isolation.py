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
  file, nor signal or trace the grader; the seccomp filter refuses every socket and every
  program. Files that every user may read stay readable to it. Ending it kills every
  process of its user; its files anywhere under /tmp, /var/tmp, /dev/shm and /run/lock are
  removed.
- **process** (no privileges, no namespaces: a student's laptop): limits, the seccomp
  filter where the system has one, and the zygote's sweep; the learner's code runs as the
  user running the grader, with that user's files. It isolates faults, not malice.

At every level: hard limits equal to soft ones, no core dumps, a minimal environment, the
audit hook against reference libraries and ctypes, the zygote as child subreaper killing
all a part left, and the sandbox's folder removed at the end.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .zygote import remove_tree

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
    if not hasattr(os, "fork"):
        raise UsageError("backproplab check runs each part in a process forked from the sandbox's, which needs "
                         "Linux or macOS; on Windows run it in WSL (check_part, for one class, works in any notebook)")
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
            "--uid", "65534", "--gid", "65534", "--ro-bind", "/usr", "/usr", "--dev", "/dev", "--proc", "/proc",
            # first, so that the binds below (a Python or venv under /tmp among them) are made inside it
            "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp", "--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm"]
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
    hidden = [path for path in layout.denied if os.path.isdir(path)]
    for path in layout.denied:
        args += ["--size", "4096", "--tmpfs", path] if path in hidden else ["--ro-bind", "/dev/null", path]
    args += ["--ro-bind", str(layout.code), str(layout.code),
             "--size", str(limits.work_bytes), "--tmpfs", str(layout.work)]
    # Run by root, bwrap maps the sandbox's user to root outside: a file or kernel setting that root may write
    # is the sandbox's to write unless its mount is read-only (/proc/sys/kernel/core_pattern runs a program
    # as root). So every mount but /tmp, /dev/shm and the working folder is read-only: the folders bwrap made
    # in its own root and /dev (tmpfs without a bound), /proc, and the tmpfs that hide the reference libraries.
    for path in ("/", "/dev", "/proc", *hidden):
        args += ["--remount-ro", path]
    return [*args, "--chdir", str(layout.work), "--", *argv]


def _python_dirs(layout: Layout) -> list[str]:
    """The folders the sandbox needs of the Python installation (outside /usr), outermost first."""
    wanted = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(
        sys.executable)), *layout.site_dirs)}
    wanted = {p for p in wanted if not p.startswith("/usr/") and os.path.isdir(p)}
    return sorted(p for p in wanted if not any(p != q and p.startswith(q + os.sep) for q in wanted))


#: the system's programs and libraries, which the sandbox may read (less every folder of Python packages)
SYSTEM = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin")
#: where the packages of the system's Pythons lie (a reference library installed for them among them)
PACKAGE_FOLDERS = ("/usr/lib/python3*/*-packages", "/usr/local/lib/python3*/*-packages", "/usr/lib/python3/*-packages")


def file_rules(layout: Layout, site_view: Path) -> tuple[list[str], list[str]]:
    """(readable, writable) of the sandbox's Landlock ruleset (``confine.restrict_files``). Readable:
    the system's programs and libraries and Python's standard library, less every folder of
    packages; of the packages, those the site view links (not the reference libraries); the
    sandbox's code (the harness and the package's copy); /proc and /dev. Writable: the working
    folder, /dev/shm and /dev/null. Nothing else: not other submissions, not the grader's files,
    not /tmp, whatever their permissions."""
    prefixes = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)}
    packages = {os.path.realpath(p) for pattern in PACKAGE_FOLDERS for p in glob.glob(pattern)}
    packages |= {os.path.realpath(p) for prefix in prefixes for p in glob.glob(f"{prefix}/lib/python3*/*-packages")}
    packages |= {os.path.realpath(p) for p in layout.site_dirs}
    roots = {os.path.realpath(p) for p in (*SYSTEM, *prefixes) if os.path.exists(p)}
    readable = sorted({path for root in roots for path in _beneath(root, packages)})
    readable += [os.path.realpath(site_view / name) for name in sorted(os.listdir(site_view))]
    readable += [str(layout.code), "/proc", "/dev", "/etc/ld.so.cache", "/etc/localtime"]
    return readable, [str(layout.work), "/dev/shm", "/dev/null"]


def _beneath(root: str, excluded: set[str], depth: int = 0) -> list[str]:
    """``root``, or (where an excluded folder lies beneath it) its entries, each so, less the excluded
    (each as the path it resolves to: a rule is on what a link points at, a venv's lib64 → lib)."""
    root = os.path.realpath(root)
    if root in excluded or depth > 8:
        return []
    if not any(path.startswith(root.rstrip(os.sep) + os.sep) for path in excluded):
        return [root]
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [path for name in names for path in _beneath(os.path.join(root, name), excluded, depth + 1)]


def spawn_options(isolation: Isolation, slot: int) -> dict:
    """Popen's options: at the user level, a sandbox user of its own (no groups, private files)."""
    if isolation.level == "user":
        uid = SANDBOX_UID + slot
        return {"user": uid, "group": uid, "extra_groups": [], "umask": 0o077}
    return {}


# -- ending a sandbox --------------------------------------------------------------------------------------


def kill_user(uid: int) -> set[int]:
    """Kill every process of ``uid`` (repeatedly: one may fork while we look); the pids killed."""
    killed = set()
    for _ in range(1000):
        found = [pid for pid in _pids() if _uid_of(pid) == uid and not _zombie(pid)]
        if not found:
            return killed
        _kill(found)
        killed |= set(found)
        time.sleep(0.01)
    return killed


def _kill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):  # gone already, or not ours to signal
            pass


def kill_tree(pid: int) -> set[int]:
    """Kill ``pid`` and every descendant it has (repeatedly: one may fork while we look); the pids killed."""
    killed = set()
    for _ in range(100):
        parents = _parents()
        tree, grew = {pid}, True
        while grew:
            more = {child for child, parent in parents.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        alive = [p for p in tree if p in parents]
        _kill(alive)
        killed |= set(alive)
        if len(alive) <= 1:
            return killed
    return killed


def reap(pids: set[int], seconds: float = 2.0) -> None:
    """Wait for those of ``pids`` that are (or become, orphaned: this process is a subreaper) our
    children and were killed: bwrap's second process, for one, would otherwise stay a zombie of
    the grader's for as long as it runs (a class's worth of them fills the process table)."""
    deadline = time.monotonic() + seconds
    waiting = set(pids)
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    waiting.discard(pid)
            except ChildProcessError:  # not ours (or reaped already)
                waiting.discard(pid)
        if waiting:
            time.sleep(0.01)


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
    """Remove what ``uid`` left anywhere under the places every user may write: at their top,
    and in any folder of another's that it could write in (/tmp/.X11-unix, a folder left open
    to all), never following a link. Only folders that every user may enter are searched
    (the user could reach no other), at most ``MAX_SWEPT`` entries."""
    budget = [MAX_SWEPT]
    for top in SHARED_TMP:
        _remove_under(top, uid, budget)


#: the most entries ``remove_files_of`` looks at (a /tmp of a busy machine is searched in well under a second)
MAX_SWEPT = 200_000


def _remove_under(folder: str, uid: int, budget: list[int], depth: int = 0) -> None:
    if depth > 64:  # a tree of others' folders this deep was not made for the sandbox's user
        return
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        budget[0] -= 1
        if budget[0] < 0:
            return
        try:
            info = entry.stat(follow_symlinks=False)
            if info.st_uid == uid:
                remove_tree(entry.path)
            elif stat.S_ISDIR(info.st_mode) and info.st_mode & 0o001:  # a folder the user could enter
                _remove_under(entry.path, uid, budget, depth + 1)
        except OSError:
            pass


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _zombie(pid: int) -> bool:
    """Dead, waiting for its parent to reap it (a zombie keeps its uid: killing it again changes nothing)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def _uid_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None
