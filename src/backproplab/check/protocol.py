"""The boundary between the grader and the learner's code: what crosses it, in which
direction, and how the grader reads what comes back without believing it.

Two pipes, both owned by the grader, and written only by the grader and the sandbox's own
process (the *zygote*), never by the learner's code:

- **tasks** (grader → zygote): one message per part: what to call (the part, its cases'
  settings) and the arrays the learner's code takes as *input*. Never an expected result.
- **results** (zygote → grader): per part, ``part`` messages relaying the bytes of the part
  process's own results pipe, ``output`` messages relaying what it printed, then ``end``
  (how the part's process ended).

The part's process writes to a pipe of its own: at most one ``result`` message (what each
call into the learner's code returned or raised, and the arrays it returned) and any
number of ``flag`` messages (the learner's code imported a reference library or reached
for the grader). The zygote relays those bytes unread; the grader parses them alone.

A message is one line of JSON (its *header*, at most ``MAX_HEADER`` bytes) followed by the
raw bytes of the arrays it declares, in order. The learner's code runs in the process that
writes results, so everything on the results pipe is the learner's *claim*: the grader
(``read_message``) accepts an array only with a declared label, a numeric dtype of
``DTYPES``, a shape of at most ``MAX_DIMS`` whole numbers whose product matches the declared
size, and within ``MAX_ELEMENTS`` and the part's byte budget — checked before a byte of it is
read. Anything else is a ``ProtocolError``: the part is an *error*, never a pass, never a
crash. An array is judged only against what the grader computes itself.

This module is shipped into the sandbox: it imports numpy and the standard library only.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

#: the longest header line (the calls' descriptions are short; error messages are cut to 2,000 characters)
MAX_HEADER = 2**20
#: the most entries an array of the learner's may have (our inputs are tiny; larger is described, not sent)
MAX_ELEMENTS = 100_000
#: the most array bytes one message may carry, and the most bytes a part's own stream may have
MAX_MESSAGE_BYTES = 32 * 2**20
MAX_PART_BYTES = 40 * 2**20
#: the most messages a part's own stream may have (a result, and flags)
MAX_PART_MESSAGES = 100
MAX_DIMS = 8
#: the dtypes an array may cross in (little-endian); the grader converts them to float64
DTYPES = {"<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1"}
#: the message types, by direction
TASK, RESULT, FLAG, OUTPUT, PART, END, READY = "task", "result", "flag", "output", "part", "end", "ready"


class ProtocolError(Exception):
    """A message that is not what the protocol allows (the reason names what is wrong)."""


def case_label(case: int, name: str) -> str:
    """The label of one array or call of case ``case``, e.g. ``c0.dW``."""
    return f"c{case}.{name}"


# -- writing (both sides) ---------------------------------------------------------------------------


def encode(kind: str, header: dict, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """One message: the header (with the arrays' labels, dtypes, shapes and sizes) and the arrays."""
    arrays = arrays or {}
    listed, payloads = [], []
    for label, array in arrays.items():
        array = np.asarray(array)
        array = array if array.flags.c_contiguous else array.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        array = array.astype(dtype, copy=False)
        listed.append([label, dtype.str, list(array.shape), array.nbytes])
        payloads.append(array.tobytes())
    line = json.dumps({"type": kind, **header, "arrays": listed}, separators=(",", ":"), default=str,
                      allow_nan=False) + "\n"
    return line.encode() + b"".join(payloads)


def send(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the descriptor (a pipe may take it in pieces)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# -- reading (the grader's side) --------------------------------------------------------------------


class Stream:
    """Bounded reads from a pipe's descriptor (or from bytes already received): a line of at
    most ``MAX_HEADER`` bytes, or an exact number of bytes; ``EOFError`` at the end."""

    def __init__(self, fd: int | None = None, data: bytes = b"") -> None:
        self.fd = fd
        self.buffer = bytearray(data)

    def _fill(self) -> None:
        chunk = os.read(self.fd, 1 << 16) if self.fd is not None else b""
        if not chunk:
            raise EOFError
        self.buffer += chunk

    def line(self) -> bytes:
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) > MAX_HEADER:
                raise ProtocolError(f"a header longer than {MAX_HEADER:,} bytes")
            self._fill()

    def exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data


def read_message(stream: Stream, byte_budget: int = MAX_MESSAGE_BYTES) -> tuple[dict, dict[str, np.ndarray]]:
    """The next message: its header (a dict with a ``type``) and its arrays, converted to
    float64. Raises ``ProtocolError`` for anything the protocol does not allow (before
    reading a declared array whose size is not allowed), ``EOFError`` at the end."""
    line = stream.line()
    try:  # ValueError: also an integer of more than 4,300 digits, and NaN or Infinity (_no_constant)
        header = json.loads(line, parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        raise ProtocolError(f"a header that is not JSON ({type(err).__name__})") from None
    if not isinstance(header, dict) or header.get("type") not in (TASK, RESULT, FLAG, OUTPUT, PART, END, READY):
        raise ProtocolError("a header without a known message type")
    listed = header.pop("arrays", [])
    if not isinstance(listed, list):
        raise ProtocolError("the list of arrays is not a list")
    declared = [_declared(entry) for entry in listed]
    labels = [label for label, *_ in declared]
    if len(set(labels)) != len(labels):
        raise ProtocolError("an array label sent twice")
    if sum(nbytes for *_, nbytes in declared) > byte_budget:
        raise ProtocolError(f"arrays of more than {byte_budget:,} bytes in all")
    arrays = {}
    for label, dtype, shape, nbytes in declared:
        data = stream.exactly(nbytes)
        arrays[label] = np.frombuffer(data, dtype=dtype).reshape(shape).astype(np.float64)
    return header, arrays


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _declared(entry) -> tuple[str, np.dtype, tuple[int, ...], int]:
    """(label, dtype, shape, nbytes) of one declared array, each checked."""
    if not (isinstance(entry, list) and len(entry) == 4):
        raise ProtocolError("an array entry that is not [label, dtype, shape, bytes]")
    label, dtype, shape, nbytes = entry
    if not isinstance(label, str) or not 0 < len(label) <= 200:
        raise ProtocolError("an array label that is not a short string")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ProtocolError(f"array {label!r}: dtype {str(dtype)[:20]!r} is not a numeric dtype the grader reads")
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(type(d) is int and 0 <= d <= MAX_ELEMENTS for d in shape)):
        raise ProtocolError(f"array {label!r}: its shape is not a list of at most {MAX_DIMS} sizes")
    elements = math.prod(shape)
    if elements > MAX_ELEMENTS:
        raise ProtocolError(f"array {label!r}: {elements:,} entries, more than {MAX_ELEMENTS:,}")
    dt = np.dtype(dtype)
    if type(nbytes) is not int or nbytes != elements * dt.itemsize:
        raise ProtocolError(f"array {label!r}: its size does not match its shape and dtype")
    return label, dt, tuple(shape), nbytes


# -- the result of a part (read by the grader) --------------------------------------------------------

#: what a record's ``kind`` may be (``harness.describe_value`` and ``describe_exception``); a record
#: without a kind is a note (e.g. which inputs a call changed)
RECORD_KINDS = {"array", "ellipsis", "none", "other", "too large", "error", None}
MAX_RECORDS = 2000
MAX_STRING = 4000
#: the fields of a description that the grader reads as they come (into sentences, paths, patterns), and
#: the types they must have; a note's other fields are read through ``judge.Result.note``, which checks
#: the type of each where it reads it
FIELDS = {"kind": (str, type(None)), "type": str, "dtype": str, "message": str, "exit_code": str, "module": str,
          "function": str, "text": str, "file": (str, type(None)), "line": (int, type(None)), "memory": bool,
          "blank": bool}


def check_result(header: dict, arrays: dict[str, np.ndarray], allowed: set[str]) -> dict[str, dict]:
    """The records of a ``result`` message, bounded and checked against its arrays: every
    label one the part may send, every array declared by its record and every record of
    kind "array" sent with its array. Raises ``ProtocolError`` naming the problem."""
    records = header.get("records")
    if not isinstance(records, dict) or len(records) > MAX_RECORDS:
        raise ProtocolError("the records are not a dict of at most a few thousand entries")
    clean = {}
    for label, record in records.items():
        if label not in allowed:
            raise ProtocolError(f"a result labelled {label[:80]!r}, which this part does not produce")
        record = bounded(record)
        if not isinstance(record, dict) or not isinstance(record.get("kind"), FIELDS["kind"]) \
                or record.get("kind") not in RECORD_KINDS:
            raise ProtocolError(f"the record of {label!r} is not a description of a value")
        _check_fields(label, record)
        for caller in record.get("outer", []):
            _check_fields(label, caller)
        if (record.get("kind") == "array") != (label in arrays):
            raise ProtocolError(f"{label!r}: a record and its array do not come together")
        if label in arrays and list(arrays[label].shape) != record.get("shape"):
            raise ProtocolError(f"{label!r}: the array's shape is not the one its record states")
        clean[label] = record
    extra = set(arrays) - set(clean)
    if extra:
        raise ProtocolError(f"an array without a record: {sorted(extra)[0][:80]!r}")
    return clean


def _check_fields(label: str, record) -> None:
    """The fields the grader reads as they come have the types it reads them as."""
    if not isinstance(record, dict):
        raise ProtocolError(f"{label!r}: a caller that is not a description")
    for key, types in FIELDS.items():
        if key in record and not isinstance(record[key], types):
            raise ProtocolError(f"{label!r}: its {key!r} is not of the type the grader reads")
    shape = record.get("shape", [])
    if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
        raise ProtocolError(f"{label!r}: its shape is not a list of sizes")
    if not isinstance(record.get("outer", []), list):
        raise ProtocolError(f"{label!r}: its callers are not a list")


def bounded(value, depth: int = 0):
    """A JSON value cut to size: strings of at most ``MAX_STRING`` characters, lists of at most
    200 items, dicts of at most 100 string keys, 5 levels deep, finite numbers."""
    if depth > 5:
        raise ProtocolError("a record nested too deep")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) >= 2**63:
            raise ProtocolError("a record holds a whole number of more than 64 bits")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProtocolError("a record holds a number that is not finite")
        return value
    if isinstance(value, str):
        return value[:MAX_STRING]
    if isinstance(value, list):
        if len(value) > 200:
            raise ProtocolError("a record holds a list longer than 200 items")
        return [bounded(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if len(value) > 100 or not all(isinstance(k, str) for k in value):
            raise ProtocolError("a record holds a dict of more than 100 keys, or keys that are not text")
        return {k[:100]: bounded(v, depth + 1) for k, v in value.items()}
    raise ProtocolError("a record holds a value that is not JSON")
