"""Process-level confinement on Linux, from the kernel's own interfaces: ``prctl`` (no
core dumps or /proc/<pid>/mem for a process, a child subreaper, death with the parent),
a seccomp filter that the sandbox installs before any of the learner's code runs, and a
Landlock ruleset (``restrict_files``) that limits which files it may read and write.

The filter (classic BPF, checked by the kernel on every system call of the process and
of everything it starts; it cannot be removed) refuses:

- every ``socket`` (no network, whatever the machine's namespaces; a Unix socket too: an
  abstract one has no permissions and reaches any process of the machine's network
  namespace), and io_uring, which can open sockets without ``socket``; ``socketpair``
  stays (multiprocessing's pipes);
- running a program (execve, execveat): another Python started by the learner's code
  would run without the audit hook, and import what the hook refuses;
- what reaches other processes or the kernel: ptrace, process_vm_readv/writev,
  perf_event_open, bpf, userfaultfd, the key ring, mount/umount/pivot_root/chroot,
  open_by_handle_at, kexec and module loading, reboot, swap, acct, settimeofday;
- new namespaces (unshare, setns, clone with a CLONE_NEW* flag; clone3, whose flags it
  cannot read, answers ENOSYS so that the C library falls back to clone);
- TIOCSTI, which types into a terminal;
- any other architecture's or x32's system calls (the process is killed).

Everything here is shipped into the sandbox: the standard library only (ctypes). It is
used before the audit hook (``harness.guard``) forbids ctypes to the learner's code.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import stat
import struct

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 22, 36, 38
SECCOMP_MODE_FILTER = 2
RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
#: offsets in struct seccomp_data: nr, arch, then six 64-bit arguments (low half first)
NR, ARCH, ARG0, ARG1 = 0, 4, 16, 24
TIOCSTI, X32_BIT = 0x5412, 0x40000000
CLONE_NEW_ANY = 0x7E020000  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET

#: the system calls by name, per architecture (the kernel's audit arch, then numbers)
SYSCALLS = {
    "x86_64": (0xC000003E, {
        "socket": 41, "execve": 59, "execveat": 322, "clone": 56, "ioctl": 16, "clone3": 435, "ptrace": 101,
        "process_vm_readv": 310, "process_vm_writev": 311, "perf_event_open": 298, "bpf": 321, "userfaultfd": 323,
        "keyctl": 250, "add_key": 248, "request_key": 249, "unshare": 272, "setns": 308, "mount": 165,
        "umount2": 166, "pivot_root": 155, "chroot": 161, "open_by_handle_at": 304, "kexec_load": 246,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "reboot": 169, "swapon": 167, "swapoff": 168,
        "acct": 163, "settimeofday": 164, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427}),
    "aarch64": (0xC00000B7, {
        "socket": 198, "execve": 221, "execveat": 281, "clone": 220, "ioctl": 29, "clone3": 435, "ptrace": 117,
        "process_vm_readv": 270, "process_vm_writev": 271, "perf_event_open": 241, "bpf": 280, "userfaultfd": 282,
        "keyctl": 219, "add_key": 217, "request_key": 218, "unshare": 97, "setns": 268, "mount": 40, "umount2": 39,
        "pivot_root": 41, "chroot": 51, "open_by_handle_at": 265, "kexec_load": 104, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "reboot": 142, "swapon": 224, "swapoff": 225, "acct": 89,
        "settimeofday": 170, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427}),
}
SPECIAL = ("clone", "ioctl", "clone3")


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> bool:
    """prctl(option, value); False where it is not available (not Linux) or refused."""
    if not platform.system() == "Linux":
        return False
    return _libc().prctl(option, ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0),
                         ctypes.c_ulong(0)) == 0


def not_dumpable() -> bool:
    """No core dump, no ptrace and no /proc/<pid>/mem of this process for its own user."""
    return prctl(PR_SET_DUMPABLE, 0)


def subreaper() -> bool:
    """Orphaned descendants of this process (a ``setsid`` daemon among them) become its children."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent() -> bool:
    return prctl(PR_SET_PDEATHSIG, 9)


def program(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions, jumps resolved (see the module's docstring)."""
    audit_arch, numbers = SYSCALLS[machine]
    code: list = []  # (code, then-label, else-label, k); a label None is the next instruction

    def at(label):
        code.append(("label", label))

    code += [(LD_W_ABS, None, None, ARCH), (JEQ_K, None, "kill", audit_arch), (LD_W_ABS, None, None, NR)]
    if machine == "x86_64":
        code.append((JGE_K, "kill", None, X32_BIT))
    for name, number in numbers.items():
        if name not in SPECIAL:
            code.append((JEQ_K, "eperm", None, number))
    code += [(JEQ_K, "enosys", None, numbers["clone3"]), (JEQ_K, "clone", None, numbers["clone"]),
             (JEQ_K, "ioctl", None, numbers["ioctl"]), (RET_K, None, None, RET_ALLOW)]
    at("clone")
    code += [(LD_W_ABS, None, None, ARG0), (JSET_K, "eperm", "allow", CLONE_NEW_ANY)]
    at("ioctl")
    code += [(LD_W_ABS, None, None, ARG1), (JEQ_K, "eperm", "allow", TIOCSTI)]
    for label, value in (("allow", RET_ALLOW), ("eperm", RET_ERRNO | errno.EPERM), ("enosys", RET_ERRNO | errno.ENOSYS),
                         ("kill", RET_KILL_PROCESS)):
        at(label)
        code.append((RET_K, None, None, value))
    return _resolve(code)


def _resolve(code: list) -> list[tuple[int, int, int, int]]:
    where, n = {}, 0
    for item in code:
        if item[0] == "label":
            where[item[1]] = n
        else:
            n += 1
    out = []
    for item in code:
        if item[0] == "label":
            continue
        op, then, orelse, k = item
        here = len(out) + 1  # jumps count from the next instruction
        jt = where[then] - here if then else 0
        jf = where[orelse] - here if orelse else 0
        assert 0 <= jt < 256 and 0 <= jf < 256
        out.append((op, jt, jf, k))
    return out


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_filter() -> str | None:
    """Install the filter on this process (and all it starts). None when installed, else why not."""
    machine = platform.machine()
    if platform.system() != "Linux" or machine not in SYSCALLS:
        return f"no seccomp filter for {platform.system()} {machine}"
    instructions = program(machine)
    raw = b"".join(struct.pack("HBBI", *i) for i in instructions)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    fprog = _SockFprog(len(instructions), ctypes.cast(buffer, ctypes.c_void_p))
    libc = _libc()
    if not prctl(PR_SET_NO_NEW_PRIVS, 1):
        return f"prctl(PR_SET_NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}"
    if libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog),
                  ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        return f"prctl(PR_SET_SECCOMP) failed: {os.strerror(ctypes.get_errno())}"
    return None


# -- Landlock: the files a process may read and write -----------------------------------------------------

#: the Landlock system calls (the same numbers on every architecture)
LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_RULE_PATH_BENEATH, LANDLOCK_CREATE_RULESET_VERSION = 1, 1
#: file-system rights: execute, write, read a file; read a folder (ABI 1 has bits 0–12; 2 adds
#: "refer", moving a file between folders; 3 truncating; 5 device ioctls)
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
READ = EXECUTE | READ_FILE | READ_DIR
HANDLED = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
#: the rights a rule on a file (not a folder) may grant
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)


def restrict_files(readable: list[str], writable: list[str]) -> str | None:
    """Landlock (Linux 5.13 and later, no privilege needed): from now on this process and all it
    starts may read only beneath ``readable`` and read and write only beneath ``writable``; a
    file anywhere else cannot be opened, whatever its permissions (other submissions and the
    reference libraries that every user may read, at the user level). None when in force, else
    why not (the kernel has no Landlock: the sandbox's other walls still stand)."""
    if platform.system() != "Linux":
        return f"no Landlock on {platform.system()}"
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(ctypes.c_long(LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0),
                       ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    if abi < 1:
        return f"no Landlock in this kernel ({os.strerror(ctypes.get_errno())})"
    handled = HANDLED[min(abi, 5)]
    attr = ctypes.create_string_buffer(struct.pack("=Q", handled))  # handled_access_fs: every ABI takes 8 bytes
    ruleset = libc.syscall(ctypes.c_long(LANDLOCK_CREATE_RULESET), attr, ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}"
    try:
        for paths, rights in ((readable, READ), (writable, handled)):
            for path in paths:
                refused = _allow(libc, ruleset, path, rights)
                if refused:
                    return refused
        if not prctl(PR_SET_NO_NEW_PRIVS, 1):
            return f"prctl(PR_SET_NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}"
        if libc.syscall(ctypes.c_long(LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(ruleset)
    return None


def _allow(libc, ruleset: int, path: str, rights: int) -> str | None:
    """A rule: ``rights`` beneath ``path`` (a file takes its file rights alone). A path that does not
    exist is left out."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= FILE_RIGHTS
        rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd))  # landlock_path_beneath_attr, packed
        if libc.syscall(ctypes.c_long(LANDLOCK_ADD_RULE), ctypes.c_int(ruleset),
                        ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), rule, ctypes.c_uint32(0)) != 0:
            return f"landlock_add_rule({path}) failed: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(fd)
    return None
