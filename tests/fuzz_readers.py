"""Property-based fuzzing of every reader of untrusted files, run by test_fuzz.py in a
process whose address space is capped (``RLIMIT_AS``): random and mutated bytes go to the
IDX, CIFAR-batch, CSV and .npy readers, and the only exception allowed to escape is the
project's own (a DataError). Whole run folders — random JSON values in the fields the
report reads, random and mutated metrics tables and pictures, random folder names, a
random all.json — go to ``report`` and ``runs``, which must always end with a report and a
table (a folder they cannot use is listed, never an exception). A reader that tried to
allocate what the bytes do not back would hit the cap with MemoryError.

    python tests/fuzz_readers.py WORKDIR [EXAMPLES]
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from backproplab.data import cifar10, safe_pickle
from backproplab.data.errors import DataError
from backproplab.data.idx import read_idx
from backproplab.data.npy import read_npy
from backproplab.data.tabular import read_csv
from backproplab.pipelines import PIPELINES
from backproplab.report import build_report
from backproplab.report.terminal import runs_listing
from backproplab.runs import plots
from backproplab.runs.folder import MARKER

WORK = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
EXAMPLES = int(sys.argv[2]) if len(sys.argv) > 2 else 150
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


VALID_IDX = idx_bytes(np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28))
VALID_BATCH = pickle.dumps({b"data": np.arange(4 * 3072, dtype=np.uint8).reshape(4, 3072) % 251,
                            b"labels": [1, 2, 3, 4], b"batch_label": b"x"}, protocol=2)
buf = io.BytesIO()
np.save(buf, np.zeros((3, 3072), dtype=np.uint8))
VALID_NPY = buf.getvalue()
VALID_CSV = b"a,b,label\n" + b"".join(f"{i},{i * 2},{i % 3}\n".encode() for i in range(40))


@st.composite
def mutated(draw, seed: bytes):
    """The seed file with bytes flipped, cut, inserted or its length fields inflated."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "big"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[i] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[i: i + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[i: i + 4] = b"\x7f\xff\xff\xff"
    return bytes(data)


def any_file(seed: bytes):
    return st.one_of(st.binary(max_size=512), mutated(seed))


def only_our_error(read, data: bytes, name: str, errors=(DataError,)) -> None:
    path = WORK / name
    path.write_bytes(data)
    try:
        read(path)
    except errors:
        pass


@SETTINGS
@given(any_file(VALID_IDX), st.booleans())
def fuzz_idx(data, compress):
    only_our_error(read_idx, gzip.compress(data) if compress else data, "f.idx")


@SETTINGS
@given(any_file(VALID_BATCH))
def fuzz_cifar_batch(data):
    only_our_error(cifar10.read_batch, data, "data_batch_1")
    only_our_error(safe_pickle.load, data, "batches.meta")


@SETTINGS
@given(any_file(VALID_NPY))
def fuzz_npy(data):
    only_our_error(cifar10.read_image_array, data, "x.npy")
    only_our_error(lambda p: read_npy(p, "--predict-on"), data, "y.npy")


@SETTINGS
@given(any_file(VALID_CSV))
def fuzz_csv(data):
    only_our_error(read_csv, data, "t.csv")


#: a valid summary.json of each kind of run, for the fuzzer to spoil
BASES = {
    "fashion-mlp": {"pipeline": "fashion", "engine": "torch", "model": "mlp", "test_accuracy": 0.9, "epochs": 3,
                    "train_seconds": 9.0, "wall_seconds": 10.0, "parameters": 100, "device": "cpu"},
    "fashion-cnn": {"pipeline": "fashion", "engine": "numpy", "model": "cnn", "test_accuracy": 0.9, "epochs": 3,
                    "architecture": "Conv2D 3x3"},
    "cifar": {"pipeline": "cifar", "profile": "cpu", "test_accuracy": 0.8, "epochs": 9, "train_seconds": 1.0,
              "eval_seconds": 1.0, "predict_seconds": 1.0},
    "iris": {"pipeline": "iris", "test_accuracy": 0.9, "epochs": 5},
    "iris-sweep": {"pipeline": "iris-sweep", "chosen": {"lr": 0.1, "hidden": 4, "test_error": 0.1, "run": "x"},
                   "rows": [{}], "splits": [0.9]},
    "gradcheck": {"pipeline": "gradcheck", "passed_count": 1, "count": 1, "worst_error": 1e-9,
                  "rows": [{"component": "relu", "wrt": "x", "shape": [2], "error": 1e-9, "passed": True}]},
}
#: the fields the report and the runs table read
FIELDS = ["engine", "model", "profile", "test_accuracy", "final_val_accuracy", "epochs", "wall_seconds",
          "train_seconds", "eval_seconds", "predict_seconds", "parameters", "device", "architecture", "chosen",
          "rows", "splits", "splits_mean", "splits_std", "cv_rows", "passed_count", "count", "worst_error", "hidden",
          "lr", "dropout", "batch_size", "optimizer", "tta", "csv", "mixup", "clean_tail", "batch_norm",
          "activation", "momentum", "schedule", "seed", "folds", "repeats"]
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(10**300, 10**400) | st.floats(allow_nan=False)
           | st.text(max_size=40) | st.sampled_from(["fashion", "cifar", "iris", "mlp", "cnn", "torch", "$\\foo$",
                                                   "${{{}}}$", "\x1b[31m", "=cmd()", "<b>x</b>", "\r<p>"]))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(FIELDS + ["run", "component", "wrt", "shape", "error",
                                                                        "passed"]) | st.text(max_size=6),
                                             inner, max_size=4), max_leaves=12)
RUN_NAMES = st.binary(min_size=1, max_size=24).filter(lambda b: b"/" not in b and b"\0" not in b
                                                      and b not in (b".", b".."))
METRICS = b"epoch,train_loss,val_loss,train_accuracy,val_accuracy,lr\n1,0.5,0.6,0.8,0.7,0.1\n2,0.4,0.5,0.85,0.8,0.1\n"
SWEEP = (b"lr,hidden,cv_error,cv_error_std,cv_loss,best_epoch,test_error,chosen,run\n"
         b"0.1,4,0.1,0.01,0.3,5,0.1,True,x\n")


def _png() -> bytes:
    buf = io.BytesIO()
    plots.curves_figure([{"epoch": 1, "train_loss": 1.0, "val_loss": 1.1}], "loss", "loss").savefig(buf, format="png")
    return buf.getvalue()


VALID_PNG = _png()


def folder_files(kind: str) -> st.SearchStrategy:
    """summary.json, config.json, metrics.csv, sweep.csv and loss.png of a run of ``kind``, spoilt."""
    spoilt = st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=6)
    return st.fixed_dictionaries({
        "summary.json": spoilt.map(lambda d: json.dumps({**BASES[kind], **d}).encode()),
        "config.json": spoilt.map(lambda d: json.dumps({"pipeline": BASES[kind]["pipeline"], **d}).encode()),
        "metrics.csv": st.one_of(st.just(METRICS), mutated(METRICS), st.binary(max_size=256)),
        "sweep.csv": st.one_of(st.just(SWEEP), mutated(SWEEP)),
        "loss.png": st.one_of(st.just(VALID_PNG), mutated(VALID_PNG)),
    })


@SETTINGS
@given(st.sampled_from(sorted(BASES)).flatmap(lambda kind: st.tuples(st.just(kind), folder_files(kind))),
       RUN_NAMES, st.one_of(st.none(), JSON_VALUES.map(lambda v: json.dumps({"stages": v}).encode())))
def fuzz_run_folders(kind_files, name, all_json):
    kind, files = kind_files
    root = WORK / "runs"
    shutil.rmtree(root, ignore_errors=True)
    good = root / "good"
    good.mkdir(parents=True)
    (good / "summary.json").write_text(json.dumps(BASES["cifar"]))
    folder = root / os.fsdecode(name)
    folder.mkdir(exist_ok=True)
    (folder / MARKER).write_text("{}")
    for file, data in files.items():
        (folder / file).write_bytes(data)
    if all_json is not None:
        (root / "all.json").write_bytes(all_json)
    page = build_report([root], PIPELINES, WORK / "report")  # a broken folder is a listed problem, never an exception
    assert page.is_file() and (WORK / "report" / "report.md").is_file()
    assert runs_listing([root], PIPELINES, 80)[0] and runs_listing([root], PIPELINES, 120, wide=True)[0]
    json.loads(runs_listing([root], PIPELINES, 80, json_out=True)[0])
    assert runs_listing([root], PIPELINES, 80, csv_path="-")[0]


class Call:
    """Pickles as a call of ``fn(*args)``: how a hostile pickle asks for an allocation."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


class Lying:
    """Pickles as numpy does an array, but claims a shape 1,500 times larger than its bytes."""

    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct

        return _reconstruct, (np.ndarray, (0,), b"b"), (1, (20000, 3072), np.dtype("u1"), False, b"x" * 40000)


def refused(read, data: bytes, name: str, message: str) -> None:
    path = WORK / name
    path.write_bytes(data)
    try:
        read(path)
    except DataError as err:
        assert message in str(err), (name, str(err))
    else:
        raise AssertionError(f"{name} was read")


def bombs() -> None:
    """Hand-made hostile files that once cost gigabytes: each is refused before allocating."""
    header = bytes([0, 0, 8, 3]) + (100000).to_bytes(4, "big") + (100).to_bytes(4, "big") + (300).to_bytes(4, "big")
    refused(read_idx, gzip.compress(header + bytes(1 << 20)), "bomb.gz", "(3,000,000,000 bytes of data), more than")
    wrap = bytes([0, 0, 8, 3]) + (2**32 - 1).to_bytes(4, "big") * 3  # 2^96 bytes: wraps to 0 in int64
    refused(read_idx, wrap, "wrap.idx", "more than the")
    big = pickle.dumps(Call(np.ndarray, (1024000, 3072), np.dtype("u1")), protocol=2)  # 3 GB uninitialised
    refused(safe_pickle.load, big, "reconstruct", "calls numpy.ndarray(...) directly")
    import codecs

    inflate = pickle.dumps(Call(codecs.encode, "a" * 100, "zlib_codec"), protocol=2)
    refused(safe_pickle.load, inflate, "codec", "the codec 'zlib_codec'")
    lying = pickle.dumps(Lying(), protocol=2)  # 20,000 "images" backed by 40 kB
    refused(safe_pickle.load, lying, "lying", "is backed by 40000 bytes, not the size it claims")
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, {"descr": "|u1", "fortran_order": False, "shape": (10**9, 3072)})
    refused(cifar10.read_image_array, npy.getvalue(), "huge.npy", "more than the")


if __name__ == "__main__":
    WORK.mkdir(parents=True, exist_ok=True)
    bombs()
    for fuzz in (fuzz_idx, fuzz_cifar_batch, fuzz_npy, fuzz_csv, fuzz_run_folders):
        fuzz()
        print(f"{fuzz.__name__}: {EXAMPLES} inputs, only the project's own errors", flush=True)
