"""Finding a data set on this machine, in one documented order:

1. ``--data-dir`` (the folder itself, or its subfolder named like the data set);
2. ``$BACKPROPLAB_DATA/<data set>``;
3. a system copy (Debian's ``/usr/share/datasets/fashion-mnist``);
4. the user's cache: ``<platform cache>/backproplab/<data set>`` (platformdirs: on Linux
   ``$XDG_CACHE_HOME`` or ``~/.cache``; on macOS ``~/Library/Caches``; on Windows
   ``%LOCALAPPDATA%``).

The first of these folders that exists is used and must be complete: a missing file is
an error that names it. If none exists, ``--download`` fetches the official files into
the cache; otherwise the error lists where we looked and how to get the data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import platformdirs

from .errors import DataError


class DataNotFoundError(DataError):
    """No folder holds the data set: ``summary`` says so in a sentence, ``looked_in`` lists
    where we looked, and ``how_to_get(where)`` what to do from the command at hand (a
    pipeline's command, or ``all``, which has no --data-dir); the message holds all three."""

    def __init__(self, summary: str, looked_in: list[str], spec: "DataSpec", download_failed: bool = False) -> None:
        self.summary, self.looked_in, self.spec = summary, list(looked_in), spec
        self.download_failed = download_failed
        where = "".join(f"\n  - {p}" for p in self.looked_in)
        how = "".join(f"\n  - {h}" for h in self.how_to_get())
        super().__init__(f"{summary}. Looked in:{where}\nTo get it:{how}")

    def how_to_get(self, where: str = "command") -> list[str]:
        """The ways to get the data, as commands that work from ``where`` ("command" or "all")."""
        spec = self.spec
        if self.download_failed:
            first = ("the download failed: check the network and try again, or fetch the same files from a mirror "
                     "of your own with BACKPROPLAB_MIRROR=URL (the checksums are still checked)")
        else:
            first = f"{spec.fetch}, or rerun with --download"
        folder = "pass --data-dir FOLDER (or set BACKPROPLAB_DATA=FOLDER)" if where == "command" else \
            "set BACKPROPLAB_DATA=FOLDER"
        return [first, *spec.system_advice, f"or {spec.local} and {folder}"]


@dataclass
class DataSpec:
    folder: str  # e.g. "fashion-mnist"
    files: list[str]  # the files a complete folder holds
    fetch: str  # the command that downloads it, e.g. "backproplab download fashion (30 MB, checksums verified)"
    local: str  # a copy of one's own, e.g. "put the four .gz files in a folder FOLDER"
    system_dirs: list[str] = field(default_factory=list)
    system_advice: list[str] = field(default_factory=list)  # how to install a system copy
    download: Callable[[Path], None] | None = None  # fills a folder with the official files


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("backproplab", appauthor=False))


def candidates(spec: DataSpec, data_dir: str | os.PathLike | None) -> list[Path]:
    out = []
    if data_dir is not None:
        d = Path(data_dir)
        out += [d / spec.folder, d] if (d / spec.folder).is_dir() else [d]
    env = os.environ.get("BACKPROPLAB_DATA")
    if env:
        out.append(Path(env) / spec.folder)
    out += [Path(p) for p in spec.system_dirs]
    out.append(cache_dir() / spec.folder)
    return out


def find_data(spec: DataSpec, data_dir=None, download: bool = False) -> Path:
    """The folder holding every file of ``spec`` (downloaded into the cache if asked and needed)."""
    if data_dir is not None and not Path(data_dir).is_dir():
        raise DataNotFoundError(f"--data-dir {data_dir} is not a folder", [str(data_dir)], spec)
    looked = candidates(spec, data_dir)
    cache = cache_dir() / spec.folder
    for folder in looked:
        if not folder.is_dir():
            continue
        missing = [f for f in spec.files if not (folder / f).is_file()]
        if missing and download and folder == cache and spec.download is not None:
            spec.download(folder)  # complete an interrupted download
        elif missing:
            raise DataError(f"{folder} is missing {', '.join(missing)} (a complete {spec.folder} folder holds "
                            f"{', '.join(spec.files)})")
        return folder
    if download and spec.download is not None:
        from .download import DownloadError

        try:
            spec.download(cache)
        except DownloadError as err:
            raise DataNotFoundError(f"{spec.folder} not found here, and the download failed ({err})",
                                    [str(p) for p in looked], spec, download_failed=True) from None
        return cache
    raise DataNotFoundError(f"{spec.folder} not found", [str(p) for p in looked], spec)
