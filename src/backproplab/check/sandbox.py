"""A sandbox for one learner's package: a folder holding a read-only copy of the package
and of the grader's harness, a zygote started in it at the chosen isolation level, and
the pipes that carry tasks in and results out (``protocol``). ``Sandbox.run`` runs one
part within its time limit; a part that overruns it, or leaves the zygote unable to go
on, ends the whole sandbox, and the next part starts a new one.

Everything read from the sandbox is bounded; what the part's own process sent is parsed
only here, into a ``Result``, or the reason it cannot be is kept (``Outcome.malformed``).
"""

from __future__ import annotations

import os
import queue
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import confine, isolation, protocol
from .harness import REFERENCE_LIBRARIES
from .judge import Result
from .zygote import BOOT, remove_tree

CHECK_DIR = Path(__file__).resolve().parent
#: the grader's own modules the sandbox needs (numpy and the standard library only; tests keep it so)
SHIPPED = ("protocol.py", "harness.py", "confine.py", "zygote.py", "kind.py", "judge.py",
           "causes.py", "terms.py", "kinds")
#: a package is a few files of source: more than this is not copied
MAX_PACKAGE_FILES, MAX_PACKAGE_BYTES = 2000, 64 * 2**20
#: what the part's process may print that is kept
MAX_OUTPUT = 16 * 1024
START_TIMEOUT = 60.0


class SandboxError(Exception):
    """The sandbox could not be started (the reason says why)."""


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # wall-clock seconds per part
    memory_mb: int = 2048  # address space of a part's process
    file_mb: int = 64  # the largest file a part may write
    processes: int = 64  # processes of the sandbox's user (user, namespaces levels)
    open_files: int = 256
    tmp_mb: int = 64  # /tmp and /dev/shm (namespaces level)
    work_mb: int = 256  # the working folder (namespaces level)

    @property
    def tmp_bytes(self) -> int:
        return self.tmp_mb * 2**20

    @property
    def work_bytes(self) -> int:
        return self.work_mb * 2**20

    def for_zygote(self, level: str) -> dict:
        return {"memory_bytes": self.memory_mb * 2**20, "file_bytes": self.file_mb * 2**20, "core": 0,
                "open_files": self.open_files, "processes": self.processes if level != "process" else None}


@dataclass
class Outcome:
    """How one part went, as far as the sandbox can tell."""

    status: str  # "done", "timeout" or "crashed" (the part's process ended without a result)
    seconds: float
    result: Result = field(default_factory=Result)
    flags: list[dict] = field(default_factory=list)
    malformed: str = ""  # why what the part's process sent could not be read
    output: str = ""
    output_bytes: int = 0
    exit: int | None = None
    signal: int | None = None


class Sandbox:
    def __init__(self, package_dir: Path, level: isolation.Isolation, limits: Limits, slot: int = 0) -> None:
        self.package_dir, self.level, self.limits, self.slot = Path(package_dir), level, limits, slot
        self.root: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.token = os.urandom(8).hex()  # in the environment of every process of this sandbox
        self.ready: dict = {}

    # -- the folder ------------------------------------------------------------------------------------

    def __enter__(self) -> "Sandbox":
        confine.not_dumpable()
        confine.subreaper()
        self.root = Path(tempfile.mkdtemp(prefix="backproplab-sandbox-"))
        try:
            self._lay_out(self.root / "code")
        except BaseException:  # a package too large to copy, a full disk: nothing left behind
            remove_tree(str(self.root))
            raise
        return self

    def _lay_out(self, code: Path) -> None:
        code.mkdir()
        shutil.copytree(CHECK_DIR, code / "backproplab_check", ignore=_only_shipped)
        (code / "backproplab_check" / "__init__.py").write_text("")  # ours loads the notebook's check_part
        self.package_copy = code / "submission" / self.package_dir.name
        copy_package(self.package_dir, self.package_copy)
        self.site_dirs = tuple(_site_dirs())
        self.site_view = code / "site"
        denied = _link_site_view(self.site_view, self.site_dirs)
        self.denied = tuple(denied + [str(CHECK_DIR.parent)])
        self.work = self.root / "work"
        self.work.mkdir()
        _protect(self.root, code, self.work, self.level, self.slot)

    def __exit__(self, *exc) -> None:
        self.stop()
        if self.level.level == "user":
            isolation.remove_files_of(isolation.SANDBOX_UID + self.slot)
        if self.root:
            remove_tree(str(self.root))  # at any depth (what the sandbox's user made in its working folder)

    # -- the zygote ------------------------------------------------------------------------------------

    def start(self) -> None:
        layout = isolation.Layout(self.root, self.root / "code", self.work, self.site_dirs, self.denied)
        if self.level.level == "user":
            isolation.kill_user(isolation.SANDBOX_UID + self.slot)  # a sandbox left by a grader that was killed
        control_r, self.control_w = os.pipe()
        self.results_r, results_w = os.pipe()
        argv = [sys.executable, "-I", "-S", "-B", "-c", BOOT, str(self.root / "code"), str(self.site_view), "--",
                str(control_r), str(results_w)]
        env = {"PATH": "/usr/bin:/bin", isolation.TOKEN: self.token, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "HOME": str(self.work), "TMPDIR": str(self.work), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(self.work)}
        try:
            self.proc = subprocess.Popen(isolation.command(self.level, layout, self.limits, argv), env=env,
                                         cwd=self.work if self.level.level != "namespaces" else "/",
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         pass_fds=(control_r, results_w), start_new_session=True,
                                         **isolation.spawn_options(self.level, self.slot))
        except OSError as err:
            raise SandboxError(f"the sandbox could not be started: {err}") from None
        finally:
            os.close(control_r)
            os.close(results_w)
        self.messages: queue.Queue = queue.Queue()
        self.diagnostics = bytearray()
        threading.Thread(target=self._read, args=(self.results_r, self.messages), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stdout, self.diagnostics), daemon=True).start()
        readable, writable = isolation.file_rules(layout, self.site_view)
        setup = {"package_dir": str(self.package_copy), "denied": list(self.denied), "work": str(self.work),
                 "limits": self.limits.for_zygote(self.level.level), "sweep_all": self.level.strong,
                 "max_output": MAX_OUTPUT, "readable": readable, "writable": writable}
        deadline = time.monotonic() + START_TIMEOUT
        self._send(protocol.encode(protocol.TASK, setup), deadline)
        kind, header, _ = self._next(deadline)
        if kind != protocol.READY:
            said = self.diagnostics.decode(errors="replace").strip()[-2000:]
            self.stop()
            raise SandboxError(f"the sandbox did not start ({kind or 'no answer'}){': ' + said if said else ''}")
        self.ready = header

    def stop(self) -> None:
        """End the zygote and everything in the sandbox."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        killed = isolation.kill_tree(proc.pid)
        proc.kill()
        proc.wait()
        if self.level.level == "user":
            killed |= isolation.kill_user(isolation.SANDBOX_UID + self.slot)
        isolation.reap(killed - {proc.pid})  # orphans came to us (a subreaper): no zombie stays
        isolation.reap_strays(self.token)
        for fd in (self.control_w, self.results_r):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- one part --------------------------------------------------------------------------------------

    def run(self, task: dict, inputs: dict, timeout: float, allowed: set[str]) -> Outcome:
        """Run one part (``allowed``: the labels its process may send)."""
        if self.proc is None:
            self.start()
        start = time.monotonic()
        deadline = start + timeout
        task = {**task, "cpu_seconds": int(2 * timeout) + 5}
        part, output, status = bytearray(), bytearray(), {}
        try:
            self._send(protocol.encode(protocol.TASK, task, inputs), deadline)
            while True:
                kind, header, arrays = self._next(deadline)
                if kind == protocol.PART:
                    part += arrays["bytes"].astype("uint8").tobytes()
                elif kind == protocol.OUTPUT:
                    output += arrays["bytes"].astype("uint8").tobytes()
                elif kind == protocol.END and header.get("part") == task.get("part"):
                    status = header
                    break
                else:  # the zygote is gone, or out of step
                    self.stop()
                    return Outcome("crashed", time.monotonic() - start, output=_text(output),
                                   malformed="" if kind is None else f"an unexpected {kind} message")
        except TimeoutError:
            self.stop()
            return Outcome("timeout", time.monotonic() - start, output=_text(output), output_bytes=len(output))
        outcome = Outcome("done", float(status.get("seconds", 0.0)), output=_text(output),
                          output_bytes=int(status.get("output_bytes", len(output))),
                          exit=status.get("exit"), signal=status.get("signal"))
        _parse_part(bytes(part), outcome, allowed)
        return outcome

    # -- the pipes -------------------------------------------------------------------------------------

    def _send(self, data: bytes, deadline: float) -> None:
        """Write all of ``data`` to the zygote, or TimeoutError (a stopped zygote reads nothing)."""
        view = memoryview(data)
        os.set_blocking(self.control_w, False)
        while view:
            _, ready, _ = select.select([], [self.control_w], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError
            try:
                view = view[os.write(self.control_w, view):]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                return  # the zygote is gone: _next says so

    def _next(self, deadline: float):
        try:
            return self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError from None

    @staticmethod
    def _read(fd: int, messages: queue.Queue) -> None:
        """The zygote's messages, one by one, until the pipe closes (then ``(None, …)``)."""
        stream = protocol.Stream(fd)
        try:
            while True:
                header, arrays = protocol.read_message(stream)
                messages.put((header.pop("type"), header, arrays))
        except Exception:  # the end of the pipe, or a message that is not one: the zygote is gone or out of step
            messages.put((None, {}, {}))

    @staticmethod
    def _drain(stream, kept: bytearray) -> None:
        for chunk in iter(lambda: stream.read(65536), b""):
            kept += chunk[: max(0, MAX_OUTPUT - len(kept))]


def _parse_part(data: bytes, outcome: Outcome, allowed: set[str]) -> None:
    """The part's own messages: at most one result, and flags."""
    stream = protocol.Stream(data=data)
    results = 0
    try:
        for _ in range(protocol.MAX_PART_MESSAGES + 1):
            try:
                header, arrays = protocol.read_message(stream)
            except EOFError:
                break
            kind = header.get("type")
            if kind == protocol.FLAG and not arrays:
                outcome.flags.append({"flag": str(header.get("flag"))[:100], "what": str(header.get("what"))[:300]})
            elif kind == protocol.RESULT and not results:
                results += 1
                outcome.result = Result(protocol.check_result(header, arrays, allowed), arrays)
            else:
                raise protocol.ProtocolError(f"a {str(kind)[:20]!r} message where a result or flag was expected")
        else:
            raise protocol.ProtocolError(f"more than {protocol.MAX_PART_MESSAGES} messages")
    except protocol.ProtocolError as err:
        outcome.malformed = str(err)
        outcome.result = Result()
        return
    if not results:
        outcome.status = "crashed"


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _only_shipped(folder: str, names: list[str]) -> list[str]:
    if Path(folder) == CHECK_DIR:
        return [n for n in names if n not in SHIPPED]
    return [n for n in names if not n.endswith(".py")]


def copy_package(source: Path, target: Path) -> None:
    """A copy of the learner's package: regular files and folders only (no link is followed or
    copied), no caches, bounded in files and bytes."""
    files = size = 0
    for folder, dirs, names in os.walk(source, followlinks=False):
        rel = Path(folder).relative_to(source)
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".git") and not os.path.islink(Path(folder, d)))
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in names:
            path = Path(folder, name)
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or name.endswith(".pyc"):
                continue
            files, size = files + 1, size + info.st_size
            if files > MAX_PACKAGE_FILES or size > MAX_PACKAGE_BYTES:
                raise SandboxError(f"{source}: more than {MAX_PACKAGE_FILES:,} files or "
                                   f"{MAX_PACKAGE_BYTES // 2**20} MB: not a homework package")
            shutil.copyfile(path, target / rel / name, follow_symlinks=False)


def _site_dirs() -> list[str]:
    """The folders of installed packages the grader imports from: its site-packages, and those
    on its path (PYTHONPATH's); never another folder of its path (a source tree, the tests)."""
    import site

    found = []
    for path in [*site.getsitepackages(), *sys.path]:
        real = os.path.realpath(path) if path else ""
        if os.path.basename(real) in ("site-packages", "dist-packages") and os.path.isdir(real) and real not in found:
            found.append(real)
    return found


def _link_site_view(view: Path, site_dirs) -> list[str]:
    """A folder of links to what the site-packages folders hold, less the reference
    libraries (and the links' targets that are theirs, returned to be hidden)."""
    view.mkdir()
    denied = []
    for site_dir in site_dirs:
        for entry in sorted(os.listdir(site_dir)):
            path = os.path.join(site_dir, entry)
            top = entry.split("-")[0].split(".")[0].lstrip("_").lower()
            if top in REFERENCE_LIBRARIES or top in ("editable", "nvidia", "triton") or entry.endswith(".pth"):
                denied.append(path)
            elif not (view / entry).exists():
                (view / entry).symlink_to(path)
    return denied


def _protect(root: Path, code: Path, work: Path, level: isolation.Isolation, slot: int) -> None:
    """The code read-only for everyone; at the user level, the folder open only to the
    sandbox's own user (its group) and the working folder its own."""
    for folder, dirs, names in os.walk(code):
        os.chmod(folder, 0o755)
        for name in names:
            if not os.path.islink(os.path.join(folder, name)):
                os.chmod(os.path.join(folder, name), 0o644)
    if level.level == "user":
        uid = isolation.SANDBOX_UID + slot
        os.chown(root, 0, uid)
        os.chmod(root, 0o750)
        os.chown(work, uid, uid)
        os.chmod(work, 0o700)
