"""Shared test helpers: torch twins in float64, relative errors that print ours vs theirs."""

from __future__ import annotations

import functools
import http.server
import os
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

os.environ["BACKPROPLAB_PROGRESS"] = "0"  # no progress bars in test output


def pytest_configure(config):
    """The suite's cache folder (prepared data, downloads) is a temporary one, so tests never
    write into the user's; data already in the user's cache is still found, through
    BACKPROPLAB_DATA (set here when unset). Subprocesses inherit both."""
    import tempfile

    import platformdirs

    user_cache = platformdirs.user_cache_dir("backproplab", appauthor=False)
    os.environ.setdefault("BACKPROPLAB_DATA", user_cache)
    os.environ["XDG_CACHE_HOME"] = config._backproplab_cache = tempfile.mkdtemp(prefix="backproplab-test-cache-")


def pytest_unconfigure(config):
    import shutil

    if hasattr(config, "_backproplab_cache"):
        shutil.rmtree(config._backproplab_cache, ignore_errors=True)

# Derandomised: the same examples on every run, so CI never flakes on a lucky draw.
settings.register_profile(
    "default", derandomize=True, deadline=None, max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("default")


def rel_err(ours: np.ndarray, theirs: np.ndarray) -> float:
    """‖ours − theirs‖ / ‖theirs‖ (0 when both are 0)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"shape: ours {ours.shape} vs theirs {theirs.shape}"
    diff, ref = np.linalg.norm(ours - theirs), np.linalg.norm(theirs)
    if ref == 0:
        return float(diff)
    return float(diff / ref)


def assert_close(ours, theirs, tol: float = 1e-10, what: str = "") -> None:
    err = rel_err(ours, theirs)
    assert err <= tol, (
        f"{what}: relative error {err:.3e} > {tol:g}\nours:\n{np.asarray(ours)}\ntheirs:\n{np.asarray(theirs)}"
    )


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """A machine without the data sets: an empty cache, no system copy (Fashion-MNIST's
    Debian folder points into tmp_path / "system") and no BACKPROPLAB_DATA."""
    from backproplab.data import fashion_mnist

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BACKPROPLAB_DATA", raising=False)
    monkeypatch.setattr(fashion_mnist.SPEC, "system_dirs", [str(tmp_path / "system")])
    return tmp_path


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files from the served folder, and four hostile answers: /endless (a body that never
    ends), /slow (a byte every half second), /liar (a Content-Length of 1 TB) and
    /slow-headers (headers that never end, a byte every half second)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/slow-headers":
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                while True:
                    for byte in b"X-Padding: abcdefghij\r\n":
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.5)
            except (BrokenPipeError, ConnectionResetError):
                return
        if self.path in ("/endless", "/slow", "/liar"):
            self.send_response(200)
            if self.path == "/liar":
                self.send_header("Content-Length", str(10**12))
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"x" * (1 << 16) if self.path != "/slow" else b"x")
                    if self.path == "/slow":
                        self.wfile.flush()
                        time.sleep(0.5)
            except (BrokenPipeError, ConnectionResetError):
                return
        return super().do_GET()


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server: (folder it serves, its base URL ending in /)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_Handler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
