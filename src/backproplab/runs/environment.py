"""What a run records about the machine and software it ran on."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata


def versions() -> dict:
    out = {"python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count()}
    for package in ("backproplab", "numpy", "torch", "matplotlib"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return out
