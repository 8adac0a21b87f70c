"""Fetching official data files over HTTPS, verified against published checksums,
written atomically (a temporary file renamed into place only once it verifies)."""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from pathlib import Path

from .errors import DataError


def file_digest(path: Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url: str, dest: Path, md5: str, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` unless a verified copy is there; refuse a bad checksum."""
    dest = Path(dest)
    if dest.exists() and file_digest(dest) == md5:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.download-{os.getpid()}")
    try:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as err:  # URLError, HTTPError and timeouts are OSErrors
            raise DataError(f"could not download {url}: {err}") from None
        digest = file_digest(tmp)
        if digest != md5:
            raise DataError(f"checksum mismatch for {url}: got MD5 {digest}, the published MD5 is {md5}; "
                            "the file was not kept (a corrupt or tampered download)")
        os.replace(tmp, dest)
        return dest
    finally:
        if tmp.exists():
            tmp.unlink()
