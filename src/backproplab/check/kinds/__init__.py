"""The part kinds, one module each: every module of this folder that declares ``KIND`` (a
``kind.PartKind``) is found here, and its parts are listed in the order of ``KIND.order``.
Adding a kind is adding a module (``check/README.md``)."""

from __future__ import annotations

import importlib
import os
import pkgutil

from ..kind import Part, PartKind


def _discover() -> list[PartKind]:
    package = __name__.removesuffix(".__init__")
    found = []
    for info in pkgutil.iter_modules([os.path.dirname(__file__)]):
        module = importlib.import_module(f"{package}.{info.name}")
        if isinstance(getattr(module, "KIND", None), PartKind):
            found.append(module.KIND)
    return sorted(found, key=lambda kind: kind.order)


KINDS: list[PartKind] = _discover()
PARTS: list[Part] = [part for kind in KINDS for part in kind.parts]
PART_NAMES: list[str] = [part.name for part in PARTS]
BY_NAME: dict[str, PartKind] = {kind.name: kind for kind in KINDS}
