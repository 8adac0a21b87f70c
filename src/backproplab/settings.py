"""Every setting is declared once, as a dataclass field made by ``setting``: its type
(the annotation), its default (or "from the profile"), the range it must lie in, its
help text and its value in a ``--quick`` run. Everything else derives from that one
declaration:

- the command-line flags and their ``--help`` text, defaults included (``add_flags``);
- the checks, run before any data is read (``check``): every number finite and in
  range, every word one of its choices;
- profile defaults (``resolve``) and the quick settings (``quick``);
- config.json, which is ``dataclasses.asdict`` of the resolved config.

A field whose default is ``None`` and whose declaration says ``profile=True`` takes
its value from the config class's ``PROFILES`` table, keyed by the field named in
``PROFILE_KEY``; a value given on the command line wins.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError


@dataclass(frozen=True)
class Range:
    """low ≤ value ≤ high (either end open with ``low_open``/``high_open``; None: unbounded)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def holds(self, v: float) -> bool:
        if isinstance(v, float) and not math.isfinite(v):  # an int is exact, however large: never converted
            return False
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        return self.high is None or (v < self.high if self.high_open else v <= self.high)

    def __str__(self) -> str:
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        def end(x: float) -> str:  # a whole number exactly (2**32 - 1 as 4294967295), others short
            return str(int(x)) if float(x).is_integer() else f"{x:g}"

        if self.high is None:
            return f"{'>' if self.low_open else '>='} {end(self.low)}"
        if self.low is None:
            return f"{'<' if self.high_open else '<='} {end(self.high)}"
        return f"in {lo}{end(self.low)}, {end(self.high)}{hi}"


#: every seed a setting accepts (NumPy's and PyTorch's generators take any of them)
SEED = Range(0, 2**32 - 1)


def setting(default: Any = None, help: str = "", *, range: Range | None = None, choices: tuple | None = None,
            profile: bool = False, quick: Any = None, resumable: bool = False, flag: bool = True,
            min_items: int = 1, items: int | None = None, unset: str = "not set") -> Any:
    """A dataclass field that declares one setting (see the module docstring).

    ``resumable``: the setting may differ when a run is resumed (it does not change
    what is computed, e.g. where the data are read from). ``flag=False``: no
    command-line flag (set by the program, e.g. from the environment).
    ``items``/``min_items``: the length of a list setting. ``unset``: what a default of
    None means, for ``--help`` (e.g. "every image").
    """
    meta = {"help": help, "range": range, "choices": choices, "profile": profile, "quick": quick,
            "resumable": resumable, "flag": flag, "min_items": min_items, "items": items, "unset": unset}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


# -- reading the declarations ----------------------------------------------------------


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def base_type(f: dataclasses.Field, hints: dict) -> tuple[type, bool]:
    """(scalar type, is a list) of a field from its annotation, e.g. ``list[int] | None`` → (int, True)."""
    hint = hints[f.name]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is list:
        return typing.get_args(hint)[0], True
    return hint, False


def declared(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


def result_settings(cls) -> list[dataclasses.Field]:
    """The declared settings that change a run's result: all but the resumable ones (the
    device, the threads, where the data are read from). They name a run (its hash), make two
    runs comparable, and may not change when a run is resumed."""
    return [f for f in declared(cls) if not f.metadata["resumable"]]


def result_values(config) -> dict:
    """Name → value of the config's settings that change a run's result (``result_settings``)."""
    return {f.name: getattr(config, f.name) for f in result_settings(type(config))}


def default_text(cls, f: dataclasses.Field) -> str:
    """What ``--help`` says the default is (a value every profile shares is given once; one
    that differs points to the table of profiles below the flags)."""
    if f.metadata["profile"]:
        values = {fmt(v[f.name]) for v in cls.PROFILES.values() if f.name in v}
        if len(values) == 1:
            return f"{values.pop()} (in every {cls.PROFILE_KEY})"
        return f"set by --{cls.PROFILE_KEY.replace('_', '-')}: see the table below"
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return fmt(f.default_factory())  # type: ignore[misc]
    if f.default is None:
        return f.metadata["unset"]
    if isinstance(f.default, bool):
        return "on" if f.default else "off"
    return fmt(f.default)


def fmt(value) -> str:
    """A value as a person reads it: lists comma-separated, numbers to 4 significant digits."""
    if isinstance(value, list):
        return ",".join(fmt(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"{str(value)[:6]}… ({len(str(abs(value)))} digits)"
    return str(value)


def profile_table(cls) -> str | None:
    """The settings that differ between the profiles of ``cls``, one row each (for --help)."""
    if not getattr(cls, "PROFILES", None):
        return None
    names = list(cls.PROFILES)
    rows = [[flag_name(f.name), *(fmt(cls.PROFILES[p].get(f.name, "")) for p in names)]
            for f in declared(cls) if f.metadata["profile"]
            and len({fmt(cls.PROFILES[p].get(f.name, "")) for p in names}) > 1]
    header = [f"--{cls.PROFILE_KEY.replace('_', '-')}", *names]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    return (f"defaults set by --{cls.PROFILE_KEY.replace('_', '-')} (a flag given on the command line wins):\n  "
            + "\n  ".join(lines))


# -- the command line --------------------------------------------------------------------


def _parser_for(kind: type, is_list: bool, name: str):
    def one(text: str):
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}; "
                                             f"got {text!r}") from None

    if not is_list:
        return one

    def many(text: str):
        values = [one(v.strip()) for v in text.split(",") if v.strip()]
        if not values:
            raise argparse.ArgumentTypeError("expected at least one value")
        return values

    return many


def add_flags(parser: argparse.ArgumentParser, cls) -> None:
    """One flag per declared field of ``cls``; every default is None, so that a flag the
    user did not give leaves the declaration's (or the profile's) value in place."""
    hints = typing.get_type_hints(cls)
    for f in declared(cls):
        if not f.metadata["flag"]:
            continue
        kind, is_list = base_type(f, hints)
        text = f"{f.metadata['help']} (default: {default_text(cls, f)})"
        if kind is bool and f.metadata["profile"]:  # the profile decides; --x and --no-x override it
            parser.add_argument(flag_name(f.name), dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                                help=text)
            continue
        if kind is bool:  # a switch that turns the setting away from its default
            default_on = f.default is True
            name = ("--no-" if default_on else "--") + f.name.replace("_", "-")
            parser.add_argument(name, dest=f.name, action="store_const", const=not default_on, default=None,
                                help=("turn off: " if default_on else "") + text)
            continue
        parser.add_argument(flag_name(f.name), dest=f.name, default=None, help=text,
                            type=str if kind is str else _parser_for(kind, is_list, f.name),
                            metavar=f.name.upper() if not f.metadata["choices"] else "{" + ",".join(
                                map(str, f.metadata["choices"])) + "}")


def from_args(cls, args: argparse.Namespace):
    """The config the command line asked for: the flags that were given, the rest declared."""
    given = {f.name: getattr(args, f.name) for f in declared(cls)
             if f.metadata["flag"] and getattr(args, f.name, None) is not None}
    return cls(**given)


# -- profiles, quick runs and checks ------------------------------------------------------


def resolve(config, **extra):
    """The config with every profile-filled field that is still None taken from its profile."""
    cls = type(config)
    key = getattr(cls, "PROFILE_KEY", None)
    if key is None:
        return dataclasses.replace(config, **extra)
    config = dataclasses.replace(config, **extra)
    name = getattr(config, key)
    if name not in cls.PROFILES:
        raise UsageError(f"{flag_name(key)} must be one of {', '.join(cls.PROFILES)}; got {name!r}")
    profile = cls.PROFILES[name]
    filled = {f.name: profile[f.name] for f in declared(cls)
              if f.metadata["profile"] and getattr(config, f.name) is None and f.name in profile}
    return dataclasses.replace(config, **filled)


def quick(config):
    """The config with every setting that declares a ``quick`` value set to it (``all --quick``)."""
    return dataclasses.replace(config, **{f.name: f.metadata["quick"] for f in declared(type(config))
                                          if f.metadata["quick"] is not None})


def check(config) -> None:
    """Raise UsageError naming the first setting that is not of its type, range or choices."""
    cls = type(config)
    hints = typing.get_type_hints(cls)
    for f in declared(cls):
        value = getattr(config, f.name)
        if value is None:
            if f.default is None and not f.metadata["profile"]:
                continue  # an optional setting left unset
            raise UsageError(f"{flag_name(f.name)} has no value (its profile does not set it)")
        kind, is_list = base_type(f, hints)
        values = value if is_list else [value]
        if is_list:
            _check_length(f, value)
        for v in values:
            _check_one(f, kind, v)


def _check_length(f: dataclasses.Field, value) -> None:
    meta = f.metadata
    if not isinstance(value, list) or len(value) < meta["min_items"] or (
            meta["items"] is not None and len(value) != meta["items"]):
        want = f"exactly {meta['items']}" if meta["items"] is not None else f"at least {meta['min_items']}"
        raise UsageError(f"{flag_name(f.name)} needs {want} comma-separated values; got {fmt(value)}")


def _check_one(f: dataclasses.Field, kind: type, v) -> None:
    meta, name = f.metadata, flag_name(f.name)
    if kind is bool:
        if not isinstance(v, bool):
            raise UsageError(f"{name} must be true or false; got {v!r}")
        return
    if kind in (int, float):
        ok_type = isinstance(v, int) if kind is int else isinstance(v, (int, float))
        if not ok_type or isinstance(v, bool):
            raise UsageError(f"{name} must be {'an integer' if kind is int else 'a number'}; got {v!r}")
        if isinstance(v, float) and not math.isfinite(v):
            raise UsageError(f"{name} must be a finite number; got {v}")
        if meta["range"] is not None and not meta["range"].holds(v):
            raise UsageError(f"{name} must be {meta['range']}; got {fmt(v)}")
    if meta["choices"] is not None and v not in meta["choices"]:
        raise UsageError(f"{name} must be one of {', '.join(map(str, meta['choices']))}; got {v!r}")


def changed_settings(saved: dict, config) -> list[str]:
    """The settings (not marked resumable) whose value differs from a saved config.json."""
    out = []
    for f in result_settings(type(config)):
        if saved.get(f.name, None) != _jsonable(getattr(config, f.name)):
            out.append(f.name)
    return out


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value
