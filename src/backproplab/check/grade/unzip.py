"""A submitted .zip, read without trusting it.

A zip is a list of names and sizes its author wrote, so nothing in it is believed:

- **names**: a member whose name is absolute (``/etc/x``, ``C:x``), climbs out (``..``,
  with either slash), or appears twice is refused, and the whole zip with it;
- **kinds**: a link, device or FIFO member (a Unix mode in its external attributes) is
  refused; an encrypted member too;
- **sizes**: the zip file at most ``MAX_ZIP_BYTES``; at most ``MAX_MEMBERS`` members; the
  sizes they *declare* at most ``MAX_DECLARED`` together, and no member compressed more
  than ``MAX_RATIO`` : 1 beyond a megabyte (a zip bomb declares gigabytes, or a few
  kilobytes that inflate without end); then only the package's own members are extracted,
  at most ``MAX_FILES`` files and ``MAX_BYTES`` bytes *actually read*, each member no more
  than it declared.

Extraction writes only regular files and folders it made itself, below the target, with
``O_EXCL | O_NOFOLLOW``: nothing in the zip can make it write anywhere else.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

#: the largest .zip read at all, and the most members it may list
MAX_ZIP_BYTES, MAX_MEMBERS = 1 << 30, 20_000
#: what all members may declare together, and the largest declared compression ratio (beyond 1 MB)
MAX_DECLARED, MAX_RATIO = 4 << 30, 200
#: what is extracted of the package: files and bytes (as the grader's sandbox copies at most)
MAX_FILES, MAX_BYTES = 2000, 64 << 20
#: members that are never a learner's files: macOS's resource forks
IGNORED = ("__MACOSX",)


class ZipRefused(Exception):
    """Why a zip is not extracted (a sentence for the instructor and the student)."""


class Archive:
    """A zip's regular-file members (name → info), every member checked; ``extract`` writes
    those below one folder of it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ZipRefused("is not a regular file")
        if info.st_size > MAX_ZIP_BYTES:
            raise ZipRefused(f"is {info.st_size / 2**20:,.0f} MB, more than the {MAX_ZIP_BYTES >> 20:,} MB a "
                             "submission may have")
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
            raise ZipRefused(f"is not a readable zip ({_said(err)})") from None
        try:
            self.files = _checked_members(self.zf.infolist())
        except ZipRefused:
            self.zf.close()
            raise

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self.zf.close()

    def extract(self, under: PurePosixPath, target: Path) -> Path:
        """Write the members below ``under`` (a folder of the zip) into ``target`` (which must
        not exist); returns the folder ``under`` became."""
        chosen = [(name, info) for name, info in sorted(self.files.items())
                  if under == PurePosixPath(".") or under in name.parents]
        if len(chosen) > MAX_FILES or sum(info.file_size for _, info in chosen) > MAX_BYTES:
            raise ZipRefused(f"its package has more than {MAX_FILES:,} files or {MAX_BYTES >> 20} MB: not a "
                             "homework package")
        target.mkdir(mode=0o700, parents=True)
        read = 0
        for name, info in chosen:
            read += _write_member(self.zf, info, target, name.relative_to(under), MAX_BYTES - read)
        return target


def _said(err: BaseException) -> str:
    return str(err)[:200] or type(err).__name__


def _member_name(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The member's path, or None for a folder entry or a file that is never the learner's;
    ZipRefused for a name that leaves the zip's own folder."""
    raw = info.filename.replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":") or "\x00" in raw:
        raise ZipRefused(f"holds a member with an absolute path ({raw[:100]!r}); nothing was extracted")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ZipRefused(f"holds a member that climbs out of its folder ({raw[:100]!r}); nothing was extracted")
    if not parts or info.is_dir() or parts[0] in IGNORED or parts[-1].startswith("._"):
        return None
    return PurePosixPath(*parts)


def _checked_members(infos: list[zipfile.ZipInfo]) -> dict[PurePosixPath, zipfile.ZipInfo]:
    if len(infos) > MAX_MEMBERS:
        raise ZipRefused(f"lists {len(infos):,} members, more than the {MAX_MEMBERS:,} a submission may have")
    declared = sum(info.file_size for info in infos)
    if declared > MAX_DECLARED:
        raise ZipRefused(f"declares {declared / 2**30:,.1f} GB uncompressed (a zip bomb?); at most "
                         f"{MAX_DECLARED >> 30} GB is read")
    files: dict[PurePosixPath, zipfile.ZipInfo] = {}
    for info in infos:
        mode = info.external_attr >> 16 if info.create_system == 3 else 0
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
            raise ZipRefused(f"holds {info.filename[:100]!r}, which is {kind}; nothing was extracted")
        name = _member_name(info)
        if name is None:
            continue
        if info.flag_bits & 0x1:
            raise ZipRefused(f"is encrypted ({info.filename[:100]!r}); submit it without a password")
        if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ZipRefused(f"holds {info.filename[:100]!r}, which inflates {info.compress_size:,} bytes to "
                             f"{info.file_size:,} (a zip bomb?); nothing was extracted")
        if name in files:
            raise ZipRefused(f"holds {str(name)[:100]!r} twice; nothing was extracted")
        files[name] = info
    return files


def _write_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, name: PurePosixPath, room: int) -> int:
    """Copy one member to ``target / name``, never more than it declares or than ``room``;
    the bytes written."""
    for parent in reversed(name.parents[:-1]):  # the folders below target, outermost first
        folder = target / parent
        if not os.path.lexists(folder):
            folder.mkdir(mode=0o700)
        elif folder.is_symlink() or not folder.is_dir():
            raise ZipRefused(f"holds {info.filename[:100]!r} below a file of the same name; nothing was extracted")
    path, written = target / name, 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as out, zf.open(info) as member:
            while chunk := member.read(1 << 16):
                written += len(chunk)
                if written > info.file_size or written > room:
                    raise ZipRefused(f"{info.filename[:100]!r} inflates to more than it declares (a zip bomb?); "
                                     "nothing was kept")
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as err:
        raise ZipRefused(f"{info.filename[:100]!r} cannot be extracted ({_said(err)})") from None
    except FileExistsError:
        raise ZipRefused(f"holds {info.filename[:100]!r} twice; nothing was extracted") from None
    return written
