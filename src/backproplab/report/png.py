"""What the report needs to know of a PNG before it embeds one: that it is a PNG, its size
in pixels, and the text fields the plots write (the smallest text, ``runs.plots.TEXT_KEY``).
Only the chunks before the image data are read; a file that is not a well-formed PNG, too
large, or of more pixels than a plot has, is refused with the reason."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: the largest picture file embedded (the plots are tens of kilobytes)
MAX_PNG_BYTES = 4 * 2**20
#: the largest width or height embedded (the widest plot is about 900 pixels)
MAX_SIDE = 4000


class NotAPlot(ValueError):
    """A file that is not a PNG the report embeds; the message says why."""


@dataclass
class PngInfo:
    width: int
    height: int
    text: dict[str, str] = field(default_factory=dict)


def png_info(data: bytes) -> PngInfo:
    if len(data) > MAX_PNG_BYTES:
        raise NotAPlot(f"{len(data):,} bytes, more than the {MAX_PNG_BYTES:,} a plot may have")
    if not data.startswith(SIGNATURE):
        raise NotAPlot("not a PNG file")
    at, width, height, text = len(SIGNATURE), None, None, {}
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if len(body) != length:
            raise NotAPlot("a damaged PNG (a chunk runs past the end of the file)")
        if kind == b"IHDR" and length >= 8:
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"tEXt" and b"\0" in body:
            key, value = body.split(b"\0", 1)
            text[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"IDAT":
            break
        at += 12 + length
    if width is None:
        raise NotAPlot("a damaged PNG (no image header)")
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise NotAPlot(f"{width} × {height} pixels, larger than a plot (at most {MAX_SIDE} on a side)")
    return PngInfo(width, height, text)
