"""`backproplab check` against a hostile student, as root, at both isolation levels that a
grader runs with: ``namespaces`` (bubblewrap) and ``user`` (root without namespaces, as in
Gradescope's containers; run from a virtual environment of Debian's Python in a folder every
user can enter, since the project's own Python lies under /root, which the sandbox's user
cannot enter, and the grader rightly refuses it).

Each attack (``attacks.py``) is planted in a copy of the correct package whose ``ReLU.forward``
is left blank, and graded through the CLI with a Gradescope results.json, as an autograder
runs it. Whatever the attack does, it must earn nothing (the part is not a pass, the exit
status is 1, the score is the honest blank package's) and leave nothing: no process of the
sandbox, no file in the places every user may write, no change to the grader's files, the
Python installation, a classmate's package, the results or the grader's redirected output,
no connection to a listener of the test, no secret in what is shown. Last, the result
format the learner's process writes is fuzzed: the grader's readers raise ``ProtocolError``
or return a clean result, nothing else."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import attacks
from backproplab.check import confine, isolation, protocol, sandbox
from backproplab.check.zygote import remove_tree

LEVELS = ("namespaces", "user")
SRC = Path(__file__).resolve().parents[1] / "src" / "backproplab"
#: the places every user may write, and the uids of the sandboxes' own users
SHARED = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
SANDBOX_UIDS = range(isolation.SANDBOX_UID, isolation.SANDBOX_UID + 64)


# -- the two graders -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def user_venv():
    """A virtual environment of /usr/bin/python3 with numpy (the project's version) and backproplab
    installed (not editable), in a folder every user can enter: the user level's grader."""
    python = Path("/usr/bin/python3")
    if not python.exists():
        pytest.skip("the user level needs /usr/bin/python3 (a Python outside /root), which this machine lacks")
    if subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        pytest.skip("the user level needs pip for /usr/bin/python3, which this machine lacks")
    start = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="backproplab-user-venv-"))
    root.chmod(0o755)
    source = root / "source"  # a copy: pip's build must not write into the working tree others edit
    shutil.copytree(SRC.parents[1], source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache", "tests",
        "benchmarks", "examples"))
    venv = root / "venv"
    subprocess.run([python, "-m", "venv", venv], check=True, capture_output=True)
    done = subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           f"numpy=={np.__version__}", str(source)], capture_output=True, text=True)
    shutil.rmtree(source)
    if done.returncode != 0:
        shutil.rmtree(root)
        pytest.skip(f"pip could not install numpy {np.__version__} and backproplab for /usr/bin/python3: "
                    f"{done.stderr.strip()[-300:]}")
    print(f"\nthe user level's virtual environment took {time.monotonic() - start:.1f} s to build")
    yield venv / "bin" / "python"
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=LEVELS)
def level(request):
    if request.param == "namespaces" and isolation._unavailable("namespaces"):
        pytest.skip(f"namespaces: {isolation._unavailable('namespaces')}")
    if request.param == "user" and os.geteuid() != 0:
        pytest.skip("the user level needs root")
    python = request.getfixturevalue("user_venv") if request.param == "user" else Path(sys.executable)
    return Level(request.param, python)


@dataclass(frozen=True)
class Level:
    name: str
    python: Path  # the Python that runs the grader

    @property
    def grader_files(self) -> Path:
        """The grader's own installed source."""
        if self.name == "user":
            return next(self.python.parents[1].glob("lib/python3*/site-packages/backproplab"))
        return SRC

    @property
    def site_packages(self) -> Path:
        return next(self.python.parents[1].glob("lib/python3*/site-packages"))


# -- a scene: a classroom, a results folder, a listener, a secret -------------------------------------------


@dataclass
class Graded:
    returncode: int
    stdout: str
    stderr: str
    results: dict  # the Gradescope results.json
    report: dict | None  # --json's object

    def verdict(self, part: str) -> str:
        return next(p["verdict"] for p in self.report["parts"] if p["part"] == part)

    def finding(self, part: str) -> dict:
        return next(p for p in self.report["parts"] if p["part"] == part)


class Scene:
    """Everything an attack aims at, made for one test, and the checks that nothing was reached."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="backproplab-attack-scene-"))
        self.root.chmod(0o755)  # as /autograder: every user can enter, only root writes
        self.marker = f"backproplab-attack-{os.urandom(6).hex()}"
        self.secret = f"secret-{os.urandom(8).hex()}"
        for name in ("class", "results", "out"):
            (self.root / name).mkdir(mode=0o755)
        self.tmp = self.root / "tmpdir"  # the grader's TMPDIR: its sandboxes' folders go there
        self.tmp.mkdir(mode=0o711)
        self.shared = self.root / "shared"  # a folder every user may write (as /tmp/.X11-unix)
        self.shared.mkdir()
        self.shared.chmod(0o1777)
        self.secret_file = self.root / "secret.txt"
        self.secret_file.write_text(self.secret)
        self.secret_file.chmod(0o600)
        self.classmate = shutil.copytree(attacks.CORRECT, self.root / "class" / "alice")
        self.results = self.root / "results" / "results.json"
        self.stdout = self.root / "out" / "stdout.txt"
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.abstract = self.marker
        self.unix.bind("\0" + self.abstract)
        self.unix.listen()
        for s in (self.tcp, self.unix):
            s.setblocking(False)
        confine.subreaper()  # what the grader leaves behind comes to this process
        self.before = sandbox_processes()
        self.attacked: list[str] = []

    def targets(self, level: Level) -> dict:
        grader = sorted(str(p) for p in level.grader_files.rglob("*.py"))[:40]
        numpy_init = level.site_packages / "numpy" / "__init__.py"
        self.attacked = [*map(str, self.classmate.rglob("*.py")), *grader, str(numpy_init)]
        return {"marker": self.marker, "port": self.tcp.getsockname()[1], "abstract": self.abstract,
                "paths": [str(self.results), str(self.stdout), *self.attacked, str(level.python)],
                "shared": [str(self.shared)], "secrets": [str(self.secret_file)], "classmate": str(self.classmate),
                "grader_src": [str(level.grader_files), str(SRC)]}

    def hashes(self, level: Level) -> dict[str, str]:
        """The classmate's package, numpy's __init__.py and (at the user level: the working tree's src is
        edited by others as we run) the grader's installed files."""
        files = [*self.classmate.rglob("*"), level.site_packages / "numpy" / "__init__.py"]
        if level.name == "user":
            files += level.grader_files.rglob("*")
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)
                if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts}

    def grade(self, level: Level, package: Path, parts: str, *, as_json: bool = True, timeout: float = 5,
              memory: int | None = None, term: str | None = "sp24") -> Graded:
        """The CLI as an autograder runs it (stdout to a file, results.json), then the checks that
        the attack reached nothing."""
        hashes = self.hashes(level)
        for path in (self.results, self.stdout):
            path.unlink(missing_ok=True)
        args = [level.python, "-m", "backproplab", "check", package, "--isolation", level.name, "--parts", parts,
                "--timeout", str(timeout), "--gradescope", self.results]
        args += ["--json"] if as_json else []
        args += ["--memory", str(memory)] if memory else []
        args += ["--term", term] if term else []
        env = {**os.environ, "TMPDIR": str(self.tmp), "GRADER_SECRET": self.secret, "COLUMNS": "160"}
        with open(self.stdout, "w") as out:
            done = subprocess.run(list(map(str, args)), stdout=out, stderr=subprocess.PIPE, text=True, env=env,
                                  timeout=300, cwd=self.root)
        stdout, results = self.stdout.read_bytes(), self.results.read_bytes() if self.results.exists() else b""
        time.sleep(0.5)  # anything that outlived the grader has had time to act (it tries every 50 ms)
        graded = Graded(done.returncode, stdout.decode(), done.stderr,
                        json.loads(results) if results else {}, None)
        if as_json and stdout.strip():
            graded.report = json.loads(stdout)
        self.check_nothing_reached(level, graded, hashes, stdout, results)
        return graded

    def check_nothing_reached(self, level: Level, graded: Graded, hashes, stdout: bytes, results: bytes) -> None:
        assert graded.returncode in (0, 1), graded.stderr
        assert "Traceback" not in graded.stderr, graded.stderr
        assert results, f"no results.json: {graded.stderr}"
        assert self.results.read_bytes() == results and self.stdout.read_bytes() == stdout, "rewritten after the end"
        for text in (graded.stdout, graded.stderr, results.decode()):
            assert self.secret not in text
        left = [p for p in sandbox_processes() - self.before if alive(p)]
        assert not left, f"processes of the sandbox outlived it: {left}"
        assert not list(self.tmp.iterdir()), "the sandbox's folder was not removed"
        assert not leftovers(self.marker, [*SHARED, str(self.shared)], level.name == "user")
        assert self.hashes(level) == hashes, "a classmate's package, numpy or the grader changed"
        for folder in (SRC, level.grader_files, level.site_packages):
            assert not list(folder.glob(f"{self.marker}*")), f"a file planted in {folder}"
        for path in self.attacked:
            assert self.marker.encode() not in Path(path).read_bytes(), f"{path} was rewritten"
        for s in (self.tcp, self.unix):
            with pytest.raises(BlockingIOError):
                s.accept()[0].close()

    def close(self) -> None:
        self.tcp.close()
        self.unix.close()
        remove_tree(str(self.root))


@pytest.fixture
def scene():
    s = Scene()
    yield s
    s.close()


def sandbox_processes() -> set[int]:
    """Live processes a grader may have left: this process's descendants (it is a subreaper, so the
    orphans of the grader it started come to it), processes that carry a sandbox's token in their
    environment and were orphaned to init, and every process of a sandbox's user. (The sandboxes
    of other sessions' graders, which may run beside this one, are none of these.)"""
    me, parents, marked, users = os.getpid(), {}, set(), set()
    for name in filter(str.isdigit, os.listdir("/proc")):
        pid = int(name)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                state, parent = f.read().rsplit(b")", 1)[1].split()[:2]
            uid = os.stat(f"/proc/{pid}").st_uid
        except (OSError, ValueError):
            continue
        if state == b"Z":
            if int(parent) == me:
                try:
                    os.waitpid(pid, os.WNOHANG)  # a leftover, dead: reaped
                except ChildProcessError:
                    pass
            continue
        parents[pid] = int(parent)
        users |= {pid} if uid in SANDBOX_UIDS else set()
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if any(v.startswith(isolation.TOKEN.encode() + b"=") for v in f.read().split(b"\0")):
                    marked.add(pid)
        except OSError:
            pass
    mine, grew = {me}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in mine} - mine
        mine |= more
        grew = bool(more)
    return (mine - {me}) | users | {pid for pid in marked if parents.get(pid) == 1}


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def leftovers(marker: str, tops: list[str], by_uid: bool) -> list[str]:
    """Files named with the attack's marker (or, at the user level, owned by a sandbox's user) under
    ``tops`` (walked with a stack, not os.walk's recursion: a tree left behind may be thousands deep)."""
    found, todo = [], list(tops)
    while todo:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if marker in entry.name or (by_uid and info.st_uid in SANDBOX_UIDS):
                found.append(entry.path)
            elif stat.S_ISDIR(info.st_mode) and not entry.name.startswith(("backproplab-user-venv-", "pytest-of-")):
                todo.append(entry.path)
    return found


_baselines: dict = {}


def blank_score(scene: Scene, level: Level, parts: str) -> float:
    """What the honest package (ReLU.forward blank) scores on these parts at this level."""
    key = (level.name, parts)
    if key not in _baselines:
        honest = scene.grade(level, attacks.blank(scene.root / "class"), parts)
        assert honest.returncode == 1
        _baselines[key] = honest.results["score"]
    return _baselines[key]


def graded_attack(scene: Scene, level: Level, name: str, where: str, parts: str = "ReLU.forward", **kwargs):
    package = attacks.package(scene.root / "class", name, where, scene.targets(level), kwargs.pop("relu", "return ..."),
                              folder="mallory")
    graded = scene.grade(level, package, parts, **kwargs)
    assert graded.returncode == 1, graded.stdout
    assert graded.results["score"] == blank_score(scene, level, parts)
    for part in parts.split(","):
        assert graded.verdict(part) != "pass"
    return graded


# -- the attacks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, where", [("forge_messages", "init"), ("forge_messages", "method"),
                                         ("patch_recorder", "init")])
def test_messages_and_result_files_written_by_the_learner_earn_nothing(scene, level, name, where):
    graded = graded_attack(scene, level, name, where, relu="return np.zeros_like(Z)")
    assert graded.verdict("ReLU.forward") in ("error", "wrong")


@pytest.mark.parametrize("how, flagged", [("import", True), ("importlib", True), ("__import__", True),
                                          ("sys.modules", True), ("torch", True), ("program", False),
                                          ("source", False)])
def test_a_reference_implementation_is_flagged(scene, level, how, flagged):
    """Re-exporting backproplab.nn's ReLU (through import, importlib, __import__, sys.modules, PyTorch,
    another Python it starts, or its source read past the audit hook): the part is an error, never a pass."""
    graded = graded_attack(scene, level, f"reference-{how}", "method", relu="return attack(Z)")
    finding = graded.finding("ReLU.forward")
    assert finding["verdict"] == "error"
    if flagged:
        assert "reference-implementation" in finding["rules"], finding


def test_a_layer_judged_with_the_right_activation_not_the_learners(scene, level):
    """FullyConnected returns zeros and so does its own activation: both parts fail."""
    graded = scene.grade(level, attacks.zeros_everywhere(scene.root / "class"),
                         "FullyConnected.forward,FullyConnected.backward")
    assert graded.returncode == 1
    assert graded.verdict("FullyConnected.forward") == graded.verdict("FullyConnected.backward") == "wrong"
    assert graded.results["score"] == 0


def test_a_convolution_returning_sigma_of_an_input_it_was_handed_fails(scene, level):
    graded = scene.grade(level, attacks.conv_handed_pre_activation(scene.root / "class"), "Conv2D.forward")
    assert graded.returncode == 1 and graded.verdict("Conv2D.forward") != "pass"


def test_training_cannot_find_the_test_labels(scene, level):
    graded = scene.grade(level, attacks.train_finds_labels_in_frames(scene.root / "class"), "NeuralNetwork.train",
                         timeout=10)
    assert graded.returncode == 1 and graded.verdict("NeuralNetwork.train") != "pass"


def test_training_cannot_be_passed_by_a_package_that_carries_iris(scene, level):
    """Its forward looks each test flower up in the public table; the grader scores the weights train() left."""
    from backproplab.data.tabular import iris_path, read_csv

    X, y, _, _ = read_csv(iris_path())
    table = [([float(v) for v in row], int(label)) for row, label in zip(X, y)]
    graded = scene.grade(level, attacks.train_memorises_iris(scene.root / "class", table), "NeuralNetwork.train",
                         timeout=10)
    assert graded.verdict("NeuralNetwork.train") != "pass"


def test_every_process_of_the_part_ends_with_it(scene, level):
    """80 setsid daemons (a new session escapes a process group; RLIMIT_NPROC caps how many start)."""
    graded_attack(scene, level, "many_daemons", "method")


def test_a_grandchild_cannot_rewrite_the_results_or_the_output_after_the_grader(scene, level):
    """A setsid grandchild reads the grader's argv and rewrites --gradescope's file and the grader's
    redirected stdout; the grader's exit must not give it the chance (checked one second later)."""
    graded = graded_attack(scene, level, "grandchild", "method")
    assert "REWROTE" not in graded.stdout


def test_the_grader_cannot_be_stopped_or_killed(scene, level):
    """SIGSTOP and SIGKILL to every process that looks like the grader, from every part's process
    (the sandbox's own zygote among them: the grader starts a new one)."""
    graded_attack(scene, level, "stop_the_grader", "init")


def test_the_graders_memory_cannot_be_written(scene, level):
    """/proc/<pid>/mem of the grader (and of the part's own process) opened for writing: refused,
    and the part is an error for tampering."""
    graded = graded_attack(scene, level, "grader_memory", "method")
    assert "WROTE MEMORY" not in graded.stdout
    assert "tampering" in graded.finding("ReLU.forward")["rules"]


def test_limits_cannot_be_raised_back(scene, level):
    """Soft limits are the hard ones: raising them fails, and 1 GB under --memory 256 is refused."""
    graded = graded_attack(scene, level, "raise_limits", "method", relu="return np.where(Z > 0, Z, 0.0)",
                           memory=256)
    assert "ALLOCATED" not in graded.stdout
    assert graded.finding("ReLU.forward")["rule"] == "out-of-memory"


def test_files_left_anywhere_are_removed(scene, level):
    """Hundreds of MB in the scratch folder, beside it, in /tmp, /var/tmp, /dev/shm, /run/lock and a
    folder of root's that everyone may write, and trees thousands of folders deep."""
    graded = graded_attack(scene, level, "fill_disks", "method", timeout=10)
    printed = graded.finding("ReLU.forward")["detail"]
    filled = {line.split("FILLED ", 1)[1].strip() for line in printed.splitlines() if "FILLED " in line}
    allowed = {".", "..", "/tmp", "/dev/shm"}  # namespaces: the scratch and private bounded tmpfs
    if level.name == "user":  # removed after, checked by the scene
        allowed |= {"/var/tmp", "/run/lock", str(scene.shared)}
    assert filled <= allowed, filled


def test_nothing_of_one_part_is_there_for_the_next(scene, level):
    """Every part's process leaves files in its folder, beside it, in /dev/shm, /tmp and /var/tmp;
    the next part's process (the probes run first) finds none of them."""
    graded = graded_attack(scene, level, "carry", "init")
    assert "CARRIED" not in graded.finding("ReLU.forward")["detail"]


def test_a_classmates_package_the_grader_and_the_python_installation_cannot_be_rewritten(scene, level):
    graded = graded_attack(scene, level, "rewrite_files", "method")
    assert "REWROTE" not in graded.stdout


def test_a_classmates_package_cannot_be_used(scene, level):
    """The classmate's package lies next to the learner's, in a folder every user may enter (as a
    class's submissions unpacked for `backproplab grade`): its ReLU must not be reachable."""
    graded_attack(scene, level, "classmate", "method", relu="return attack(Z)")


def test_the_network_is_unreachable(scene, level):
    """A TCP connection to a listener on 127.0.0.1, and an abstract Unix socket (which has no
    permissions), each sending the grader's argv: nothing arrives (checked by the scene)."""
    graded = graded_attack(scene, level, "network", "method")
    assert "CONNECTED" not in graded.stdout


def test_secrets_of_the_grader_are_not_shown(scene, level):
    """The grader's environment (GRADER_SECRET), its /proc/<pid>/environ and a file only root may
    read never reach the output (checked by the scene); the sandbox's environment is minimal."""
    graded = graded_attack(scene, level, "leak", "method")
    shown = graded.finding("ReLU.forward")["detail"]
    assert "ENVIRONMENT" in shown and "GRADER_SECRET" not in shown


def test_terminal_control_sequences_are_shown_escaped(scene, level):
    package = attacks.package(scene.root / "class", "inject", "method", scene.targets(level), folder="mallory")
    graded = scene.grade(level, package, "ReLU.forward", as_json=False)
    assert graded.returncode == 1
    assert "\x1b" not in graded.stdout and "\r" not in graded.stdout and "\x07" not in graded.stdout
    assert "\\x1b[2J" in graded.stdout
    assert "\x1b" not in json.dumps(graded.results, ensure_ascii=False)
    assert "\\x1b[2J" in graded.results["tests"][0]["output"]


@pytest.mark.parametrize("how", ["huge", "strings", "shape", "types", "bignum", "unhashable", "garbage"])
def test_a_malformed_result_is_an_error_never_a_crash(scene, level, how):
    graded = graded_attack(scene, level, f"malformed-{how}", "method")
    finding = graded.finding("ReLU.forward")
    assert finding["verdict"] == "error" and finding["rule"] in ("malformed-result", "exit"), finding


def test_a_result_left_out_is_an_error(scene, level):
    package = attacks.package(scene.root / "class", "drop-c0.Y", "init", scene.targets(level),
                              attacks.RELU_FORWARD.strip(), folder="mallory")
    graded = scene.grade(level, package, "ReLU.forward")
    assert graded.returncode == 1 and graded.verdict("ReLU.forward") == "error"


def test_a_model_loss_left_out_is_an_error(scene, level):
    package = attacks.package(scene.root / "class", "drop-J", "init", scene.targets(level),
                              attacks.RELU_FORWARD.strip(), folder="mallory")
    graded = scene.grade(level, package, "NeuralNetwork.backward")
    assert graded.returncode == 1 and graded.verdict("NeuralNetwork.backward") == "error"


def test_precreated_part_folders_change_nothing(scene, level):
    """The names of the next parts' folders taken, closed (mode 000), and a link to / among them: the
    parts after it still run and pass."""
    package = attacks.package(scene.root / "class", "precreate", "method", scene.targets(level),
                              "return np.where(Z > 0, Z, 0.0)", folder="mallory")
    graded = scene.grade(level, package, "ReLU.*,Linear.*")
    assert [graded.verdict(p) for p in ("Linear.forward", "Linear.backward", "ReLU.forward", "ReLU.backward")] == \
        ["pass"] * 4


def test_deleting_an_unfinished_class_does_not_give_exit_0(scene, level):
    graded = scene.grade(level, attacks.deleted_class(scene.root / "class"), "Conv2D.*,Linear.forward")
    assert graded.returncode == 1 and graded.verdict("Conv2D.forward") == "not implemented"
    graded = scene.grade(level, attacks.term_of_fewer_classes(scene.root / "class"), "Conv2D.*,Linear.forward",
                         term="sp24")
    assert graded.returncode == 1 and graded.verdict("Conv2D.forward") == "not implemented"


def test_renaming_a_class_to_look_like_another_term_does_not_give_exit_0(scene, level):
    """Conv2D deleted and Linear renamed Identity make the package look like Fall 2023's: a grade
    (--gradescope) refuses to let the package's classes decide its term, and with the term given
    the missing class counts."""
    package = attacks.term_of_fewer_classes(scene.root / "class")
    refused = subprocess.run([level.python, "-m", "backproplab", "check", package, "--isolation", level.name,
                              "--gradescope", scene.results], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "--term" in refused.stderr, refused.stderr
    graded = scene.grade(level, package, "Conv2D.*,Linear.forward", term="sp24")
    assert graded.returncode == 1 and graded.verdict("Conv2D.forward") == "not implemented"


# -- the result format, fuzzed -------------------------------------------------------------------------------

ALLOWED = {"c0.Y", "c0.dZ", "construct", "import"}
DTYPES = st.sampled_from(sorted(protocol.DTYPES) + ["<U5", "|O", "<c16", "V8", ">f8", 5, None, ["<f8"]])
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
                    | st.text(max_size=20), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
SHAPES = st.one_of(st.lists(st.integers(-2, 2**41), max_size=10), JSON)


@st.composite
def messages(draw) -> bytes:
    """A result message whose header is well-formed JSON and whose content is hostile."""
    arrays, payload = [], b""
    for label in draw(st.lists(st.sampled_from(sorted(ALLOWED) + ["c9.Q", ""]), max_size=3)):
        dtype, shape = draw(DTYPES), draw(SHAPES)
        nbytes = draw(st.one_of(st.integers(0, 2**45), st.just(8 * 6 * 5), JSON))
        arrays.append(draw(st.sampled_from([[label, dtype, shape, nbytes], [label, dtype], label])))
        payload += draw(st.binary(max_size=300))
    record = draw(st.dictionaries(st.sampled_from(["kind", "shape", "type", "message", "file", "line", "outer",
                                                   "text", "module", "modified", "x"]),
                                  st.one_of(JSON, st.sampled_from(sorted(k for k in protocol.RECORD_KINDS if k))),
                                  max_size=6))
    records = draw(st.one_of(st.dictionaries(st.sampled_from(sorted(ALLOWED) + ["zz"]), st.just(record),
                                             max_size=3), JSON))
    header = {"type": draw(st.sampled_from(["result", "flag", "end", "part", 7])), "records": records,
              "arrays": draw(st.one_of(st.just(arrays), JSON))}
    return json.dumps(header).encode() + b"\n" + payload


def parsed(data: bytes) -> sandbox.Outcome:
    """What the grader makes of a part's stream: a clean result or a reason it is malformed."""
    outcome = sandbox.Outcome("done", 0.0)
    sandbox._parse_part(data, outcome, ALLOWED)
    assert outcome.malformed or outcome.status in ("done", "crashed")
    for label, array in outcome.result.arrays.items():
        assert label in ALLOWED and array.dtype == np.float64 and array.size <= protocol.MAX_ELEMENTS
    for record in outcome.result.records.values():
        assert isinstance(record, dict) and isinstance(record.get("kind"), (str, type(None)))
    return outcome


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000))
@example(data=b'{"type":"result","records":{},"n":' + b"1" * 5000 + b"}\n")  # more digits than int() takes
@example(data=b'{"type":"result","records":{"c0.Y":{"kind":"none","n":' + b"9" * 400 + b"}}}\n")  # no float
@example(data=b'{"type":"result","records":{"c0.Y":{"kind":"none","n":NaN}}}\n')
@example(data=b'{"type":"result","records":{},"arrays":[["c0.Y",["<f8"],[1],8]]}\n' + bytes(8))  # unhashable
@example(data=b'{"type":"result","records":{"c0.Y":{"kind":["array"]}}}\n')
@example(data=b'{"type":"result","records":{"c0.Y":{"kind":"too large","shape":5}}}\n')
@example(data=b'{"type":"result","records":{"c0.Y":{"kind":"error","outer":[1],"message":[]}}}\n')
def test_arbitrary_bytes_are_read_as_malformed_or_clean(data):
    parsed(data)


@settings(max_examples=500, deadline=None)
@given(data=messages())
def test_hostile_messages_are_read_as_malformed_or_clean(data):
    parsed(data)


@settings(max_examples=200, deadline=None)
@given(first=messages(), second=st.binary(max_size=200))
def test_a_stream_of_messages_never_reads_past_its_bounds(first, second):
    """read_message alone: a ProtocolError, EOFError or a message; arrays never past the budget."""
    stream = protocol.Stream(data=first + second)
    for _ in range(3):
        try:
            header, arrays = protocol.read_message(stream, byte_budget=4096)
        except (protocol.ProtocolError, EOFError):
            return
        assert isinstance(header, dict) and sum(a.size * 8 for a in arrays.values()) <= 8 * 4096
        try:
            protocol.check_result(header, arrays, ALLOWED)
        except protocol.ProtocolError:
            pass


def test_declared_sizes_are_refused_before_anything_is_read():
    """An array of 2**40 entries is refused from its header alone (the bytes are never awaited)."""
    header = {"type": "result", "records": {}, "arrays": [["c0.Y", "<f8", [2**16, 2**16, 2**8], 8 * 2**40]]}
    stream = protocol.Stream(data=json.dumps(header).encode() + b"\n")
    with pytest.raises(protocol.ProtocolError, match="entries"):
        protocol.read_message(stream)


def test_the_work_folder_is_removed_at_any_depth(tmp_path):
    """shutil.rmtree raises RecursionError on a tree a few thousand folders deep; remove_tree does not."""
    top = tmp_path / "deep"
    top.mkdir()
    here = os.getcwd()
    os.chdir(top)
    try:
        for _ in range(3000):
            os.mkdir("d")
            os.chdir("d")
        os.mkdir("closed")
        os.chmod("closed", 0)
    finally:
        os.chdir(here)
    (top / "link").symlink_to(tmp_path)
    remove_tree(str(top))
    assert not top.exists() and tmp_path.exists()


def test_the_namespaces_sandbox_cannot_write_outside_its_scratch():
    """Run by root, bwrap maps the sandbox's user to root outside: every mount but /tmp, /dev/shm
    and the working folder must be read-only (/proc/sys/kernel/core_pattern would run a program as root)."""
    if isolation._unavailable("namespaces"):
        pytest.skip(isolation._unavailable("namespaces"))
    probe = ("import os\nfor p in ['/proc/sys/kernel/core_pattern', '/proc/sysrq-trigger', '/probe', '/dev/probe', "
             "'/etc/probe']:\n    try:\n        os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)); print('W', p)\n"
             "    except OSError:\n        pass\n")
    root = Path(tempfile.mkdtemp())
    try:
        for name in ("code", "work"):
            (root / name).mkdir()
        layout = isolation.Layout(root, root / "code", root / "work", (), ())
        argv = isolation.command(isolation.Isolation("namespaces", ""), layout, sandbox.Limits(),
                                 [sys.executable, "-I", "-c", probe])
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    finally:
        remove_tree(str(root))
    assert done.returncode == 0, done.stderr
    assert "W " not in done.stdout, done.stdout


# -- the judges, fed what passes the protocol's checks ------------------------------------------------------

_prepared: dict = {}


def prepared_part(index: int):
    from backproplab.check import reference, terms
    from backproplab.check.kinds import PARTS

    part = PARTS[index % len(PARTS)]
    if part.name not in _prepared:
        _prepared[part.name] = part.kind.draw(part, 0, reference, terms.BY_NAME["sp24"])
    return _prepared[part.name]


NUMBERS = st.one_of(st.floats(-1e3, 1e3), st.sampled_from([0.0, np.nan, np.inf, -np.inf, 1e308]))
NOTES = {"modified": JSON, "order": JSON, "shapes": JSON, "missing_parameters": JSON, "found": JSON,
         "others": JSON, "seconds": JSON, "absent": JSON, "no_layers": JSON, "weight_init": JSON}


@st.composite
def clean_results(draw, prepared):
    """Records and arrays for the labels a part may send, each as the protocol allows and otherwise
    anything: arrays of the inputs' shapes or others, NaN, descriptions of every kind, odd notes."""
    from backproplab.check.kind import COMMON_LABELS

    labels = sorted(set(COMMON_LABELS) | set(prepared.part.kind.labels(prepared)))
    shapes = sorted({tuple(a.shape) for a in prepared.inputs.values()}) + [(), (0,), (2, 3)]
    records, arrays = {}, {}
    for label in draw(st.lists(st.sampled_from(labels), unique=True, max_size=len(labels))):
        kind = draw(st.sampled_from(["array", "array", "ellipsis", "none", "other", "too large", "error", None]))
        record = {"kind": kind, **draw(st.fixed_dictionaries({}, optional=NOTES))}
        if kind in ("array", "too large"):
            shape = list(draw(st.sampled_from(shapes)))
            record["shape"] = shape
            if kind == "array":
                arrays[label] = np.array(draw(st.lists(NUMBERS, min_size=int(np.prod(shape)),
                                                       max_size=int(np.prod(shape)))), dtype=np.float64).reshape(shape)
        elif kind == "error":
            record.update(draw(st.fixed_dictionaries({}, optional={
                "type": st.sampled_from(["ValueError", "SyntaxError", "ModuleNotFoundError", "SystemExit", "NameError",
                                         "NotImplementedError", "TypeError", "AttributeError", "ImportError"]),
                "message": st.text(max_size=40) | st.just("module 'numpy' has no attribute 'product'"),
                "file": st.none() | st.text(max_size=20) | st.just("/x/neural_networks/layers.py"),
                "line": st.none() | st.integers(-3, 10**6), "text": st.text(max_size=30),
                "module": st.text(max_size=20),
                "exit_code": st.text(max_size=5), "memory": st.booleans(), "blank": st.booleans(),
                "function": st.text(max_size=10),
                "outer": st.lists(st.fixed_dictionaries({}, optional={"file": st.text(max_size=10),
                                                                      "line": st.integers(), "function": st.text()}),
                                  max_size=3)})))
        records[label] = record
    return records, arrays


@settings(max_examples=200, deadline=None)
@given(data=st.data(), index=st.integers(0, 10**6))
def test_every_judge_gives_a_verdict_for_whatever_passes_the_protocol(data, index):
    """A result the protocol lets through (every label allowed, every field of the type the grader
    reads) gives a verdict from every part kind's judge, never an exception in the grader."""
    from backproplab.check import reference
    from backproplab.check.judge import VERDICTS, Context, Result

    prepared = prepared_part(index)
    records, arrays = data.draw(clean_results(prepared))
    allowed = set(records)
    try:
        records = protocol.check_result({"records": records}, arrays, allowed)
    except protocol.ProtocolError:
        return
    finding = prepared.part.kind.judge(prepared, Result(records, arrays), Context("/x", 10.0, reference))
    assert finding.verdict in VERDICTS
    assert finding.verdict != "pass" or not any(np.isnan(a).any() for a in arrays.values())


def zombie_children() -> set[int]:
    me, found = os.getpid(), set()
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                state, parent = f.read().rsplit(b")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if state == b"Z" and int(parent) == me:
            found.add(int(name))
    return found


def test_the_grader_leaves_no_zombie(tmp_path):
    """The grader is a subreaper: what it kills of a sandbox (bwrap's second process, orphans of a
    zygote that was ended) becomes its child, and must be reaped, or a grader that goes through a
    class keeps a zombie per sandbox until the process table is full."""
    from backproplab.check.grader import check_package

    if isolation._unavailable("namespaces"):
        pytest.skip(isolation._unavailable("namespaces"))
    before = zombie_children()
    hangs = attacks.edited(tmp_path, "hangs", ("activations.py", attacks.RELU_FORWARD, "        while True:\n"
                                                                                       "            pass"))
    report = check_package(hangs, parts=["ReLU.forward", "Linear.forward"], timeout=1, isolation="namespaces")
    assert [f.verdict for f in report.findings] == ["pass", "timeout"]
    time.sleep(0.2)
    assert not zombie_children() - before
