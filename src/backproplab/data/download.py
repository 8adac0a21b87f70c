"""Fetching official data files over HTTPS: verified against their published size and
checksum, bounded in time and size, written atomically, with a progress bar.

- **Size**: a body longer than the file's known size is refused as soon as it passes
  that size (an endless or wrong response cannot fill the disk).
- **Time**: each read times out after ``READ_TIMEOUT`` seconds, and the whole exchange,
  headers included, must end within ``deadline`` seconds: a watchdog shuts the
  connection's socket down when the deadline passes, wherever the download waits (a
  server trickling a header byte a second cannot hold a run forever).
- **Files**: the body goes to ``.<name>.download-<pid>`` beside the target and is renamed
  into place only once its size and MD5 match. A temporary file left by a killed
  process (its pid no longer running) is removed by the next download; a failed download
  removes the folders it created (left empty).
- ``BACKPROPLAB_MIRROR`` replaces the official hosts with another base URL (a local
  mirror, or the tests' loopback server); the checksums are checked all the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import socket
import threading
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
    created = [p for p in [dest.parent, *dest.parent.parents] if not p.exists()]  # deepest first
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
        if not dest.exists():
            for folder in created:  # ours, and only while empty
                with contextlib.suppress(OSError):
                    folder.rmdir()


class _Watchdog:
    """Shuts down every socket the download opens once ``deadline`` seconds have passed:
    a read blocked anywhere (status line, headers, body) returns at once."""

    def __init__(self, deadline: float) -> None:
        self.sockets: list[socket.socket] = []
        self.expired = False
        self.lock = threading.Lock()
        self.timer = threading.Timer(deadline, self._expire)
        self.timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                _shut(sock)

    def opener(self) -> urllib.request.OpenerDirector:
        """urllib's opener (proxies, redirects, HTTPS as usual) whose connections report their sockets."""
        watchdog = self

        def watched(base):
            class Connection(base):
                def connect(self):
                    super().connect()
                    watchdog.watch(self.sock)
            return Connection

        class HTTP(urllib.request.HTTPHandler):
            def http_open(self, req):
                return self.do_open(watched(http.client.HTTPConnection), req)

        class HTTPS(urllib.request.HTTPSHandler):
            def https_open(self, req):
                return self.do_open(watched(http.client.HTTPSConnection), req, context=getattr(self, "_context", None))

        return urllib.request.build_opener(HTTP, HTTPS)


def _create(tmp: Path):
    """``tmp`` (this process's own temporary name) created new for writing: a link planted at
    the name is removed, never followed."""
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    return os.fdopen(os.open(tmp, flags, 0o644), "wb")


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _receive(url: str, tmp: Path, size: int, deadline: float, show_progress: bool) -> None:
    """Write the body of ``url`` to ``tmp``: at most ``size`` bytes, within ``deadline`` seconds."""
    from ..progress import progress

    watchdog = _Watchdog(deadline)
    late = DownloadError(f"{url} took longer than {deadline:.0f} s: stopped, nothing kept")
    watchdog.timer.start()
    try:
        with watchdog.opener().open(url, timeout=READ_TIMEOUT) as response, _create(tmp) as out:
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
                if watchdog.expired:
                    raise late
                out.write(chunk)
                bar.update(len(chunk))
            bar.close()
    except DownloadError:
        raise
    except (OSError, http.client.HTTPException) as err:  # URLError, HTTPError, timeouts; a cut connection
        if watchdog.expired:
            raise late from None
        raise DownloadError(f"could not download {url}: {err}") from None
    finally:
        watchdog.timer.cancel()
    if watchdog.expired:
        raise late
    if received != size:
        raise DownloadError(f"{url} ended after {received:,} of {size:,} bytes: nothing kept; try again")
