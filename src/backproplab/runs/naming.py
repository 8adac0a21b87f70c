"""A run's default folder name: a few settings a reader scans for, then a short hash of
every setting that changes the result. Two runs of different settings never share a
name (a flag left out of the readable part still changes the hash); the same settings
always give the same name, which is what ``--resume`` and ``all --resume`` rely on.
Settings marked resumable (device, threads, the data folder) do not change it.
"""

from __future__ import annotations

import hashlib
import json
import re

from .. import settings


def settings_hash(config) -> str:
    """Six hex digits of a hash of the settings that change a run's result."""
    text = json.dumps(settings.result_values(config), sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def readable(text: str, limit: int = 40) -> str:
    """Text fit for a folder name: letters, digits, '.', '_', '-'; at most ``limit`` characters."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:limit] or "data"


def run_name(prefix: str, config, parts: list[str]) -> str:
    """``prefix-part-part-…-hash``, e.g. ``fashion-torch-mlp-e40-bs256-lr0.1-s0-3fa91c``."""
    return "-".join([prefix, *[p for p in parts if p], settings_hash(config)])
