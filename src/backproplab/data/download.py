"""Fetching official data files over HTTPS: verified against their published size and
checksum, bounded in time and size, written atomically, with a progress bar.

- **Size**: a body longer than the file's known size is refused as soon as it passes
  that size (an endless or wrong response cannot fill the disk).
- **Time**: each read times out after ``READ_TIMEOUT`` seconds, and the whole file
  must arrive within ``deadline`` seconds (a server trickling a byte a second cannot
  hold a run forever).
- **Files**: the body goes to ``.<name>.download-<pid>`` beside the target and is renamed
  into place only once its size and MD5 match. A temporary file left by a killed
  process (its pid no longer running) is removed by the next download.
- ``BACKPROPLAB_MIRROR`` replaces the official hosts with another base URL (a local
  mirror, or the tests' loopback server); the checksums are checked all the same.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.request
from pathlib import Path

from .errors import DataError

READ_TIMEOUT = 30.0  # seconds without a byte before a download fails
CHUNK = 1 << 16


class DownloadError(DataError):
    """A download that failed; nothing was kept."""


def file_digest(path: Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def mirrored(url: str) -> str:
    """``url`` on ``$BACKPROPLAB_MIRROR`` (its file name kept) when that is set."""
    mirror = os.environ.get("BACKPROPLAB_MIRROR")
    return f"{mirror.rstrip('/')}/{url.rsplit('/', 1)[1]}" if mirror else url


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours
        return True
    return True


def remove_stale_temporaries(dest: Path) -> None:
    """Delete ``.<name>.download-<pid>`` files of processes that are no longer running."""
    for tmp in dest.parent.glob(f".{dest.name}.download-*"):
        pid = tmp.name.rsplit("-", 1)[1]
        if pid.isdigit() and not _pid_running(int(pid)) and tmp.is_file() and not tmp.is_symlink():
            tmp.unlink()


def fetch(url: str, dest: Path, md5: str, size: int, deadline: float = 1800.0, show_progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` unless a verified copy is there; refuse a bad size or checksum."""
    dest = Path(dest)
    if dest.is_file() and dest.stat().st_size == size and file_digest(dest) == md5:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest)
    url = mirrored(url)
    tmp = dest.with_name(f".{dest.name}.download-{os.getpid()}")
    try:
        _receive(url, tmp, size, deadline, show_progress)
        digest = file_digest(tmp)
        if digest != md5:
            raise DownloadError(f"checksum mismatch for {url}: got MD5 {digest}, the published MD5 is {md5}; "
                                "the file was not kept (a corrupt or tampered download)")
        os.replace(tmp, dest)
        return dest
    finally:
        if tmp.exists():
            tmp.unlink()


def _receive(url: str, tmp: Path, size: int, deadline: float, show_progress: bool) -> None:
    """Write the body of ``url`` to ``tmp``: at most ``size`` bytes, within ``deadline`` seconds."""
    from ..progress import progress

    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=READ_TIMEOUT) as response, open(tmp, "wb") as out:
            announced = response.headers.get("Content-Length")
            if announced is not None and announced.isdigit() and int(announced) > size:
                raise DownloadError(f"{url} announces {int(announced):,} bytes; the file is {size:,} bytes: refused")
            bar = progress(size, f"download {tmp.name.split('.download')[0].lstrip('.')}", unit="B",
                           enabled=show_progress, scale=True)
            received = 0
            while chunk := response.read1(CHUNK):  # what has arrived: a trickle cannot block the deadline
                received += len(chunk)
                if received > size:
                    raise DownloadError(f"{url} sent more than the file's {size:,} bytes: refused, nothing kept")
                if time.monotonic() - start > deadline:
                    raise DownloadError(f"{url} took longer than {deadline:.0f} s: stopped, nothing kept")
                out.write(chunk)
                bar.update(len(chunk))
            bar.close()
    except DownloadError:
        raise
    except OSError as err:  # URLError, HTTPError and timeouts are OSErrors
        raise DownloadError(f"could not download {url}: {err}") from None
    if received != size:
        raise DownloadError(f"{url} ended after {received:,} of {size:,} bytes: nothing kept; try again")
