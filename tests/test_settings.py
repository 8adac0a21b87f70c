"""Each setting is declared once, and everything about it derives from that declaration:
the flag, its --help text and default, the checks, the quick value, config.json."""

import ast
import contextlib
import dataclasses
import math
import pathlib
import subprocess
import sys

import pytest
from hypothesis import given, strategies as st

from backproplab import __version__, settings
from backproplab.pipelines.cifar import CifarConfig
from backproplab.cli import build_parser, main
from backproplab.errors import UsageError
from backproplab.pipelines.fashion import FashionConfig
from backproplab.pipelines.homework import AllOptions
from backproplab.pipelines.iris import IrisConfig
from backproplab.runs.options import RunOptions

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "backproplab"
CONFIGS = {"iris": IrisConfig, "fashion": FashionConfig, "cifar": CifarConfig}


def subparser(command):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[command]


@pytest.mark.parametrize("command", CONFIGS)
def test_every_declared_setting_is_one_flag_with_its_help_and_default(command):
    cls, p = CONFIGS[command], subparser(command)
    actions = {a.dest: a for a in p._actions if a.dest not in ("help", "debug")}  # --debug: a global flag
    declared = {f.name: f for f in settings.declared(cls) + settings.declared(RunOptions)}
    assert set(actions) == set(declared), "flags and declarations differ"
    for name, f in declared.items():
        assert f.metadata["help"] and f.metadata["help"] in actions[name].help
        assert f"(default: {settings.default_text(cls if name in cls.__dataclass_fields__ else RunOptions, f)})" \
            in actions[name].help
        assert actions[name].default is None  # the declaration, not argparse, holds the default


@pytest.mark.parametrize("command", CONFIGS)
def test_help_shows_the_defaults(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = "".join(capsys.readouterr().out.split())  # argparse wraps lines, also at hyphens
    for f in settings.declared(CONFIGS[command]):
        assert "(default:" + "".join(settings.default_text(CONFIGS[command], f).split()) in text, f.name


def test_each_setting_is_declared_once_in_the_source():
    """Walk every ``setting(...)`` call in src/: each help text (so each setting) appears once,
    and every declared setting of every pipeline is one of them."""
    helps = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setting":
                help_arg = node.args[1] if len(node.args) > 1 else next(k.value for k in node.keywords if k.arg == "help")
                helps.append(ast.literal_eval(help_arg))
    assert len(helps) == len(set(helps)), [h for h in helps if helps.count(h) > 1]
    for cls in (*CONFIGS.values(), RunOptions, AllOptions):
        for f in settings.declared(cls):
            assert f.metadata["help"] in helps


def test_the_profiles_fill_every_profile_setting():
    for cls in (FashionConfig, CifarConfig):
        for name, profile in cls.PROFILES.items():
            config = settings.resolve(cls(**{cls.PROFILE_KEY: name}))
            settings.check(config)
            assert all(getattr(config, f.name) is not None for f in settings.declared(cls) if f.metadata["profile"])


def test_quick_values_come_from_the_declarations():
    q = settings.quick(FashionConfig())
    assert (q.epochs, q.train_limit, q.test_limit) == (2, 2000, 500)
    assert settings.quick(IrisConfig()).epochs == 30


@pytest.mark.parametrize("cls", [IrisConfig, FashionConfig, CifarConfig])
def test_every_numeric_setting_refuses_nan_inf_and_out_of_range(cls):
    hints = {f.name: settings.base_type(f, __import__("typing").get_type_hints(cls)) for f in settings.declared(cls)}
    for f in settings.declared(cls):
        kind, is_list = hints[f.name]
        if kind not in (int, float):
            continue
        for bad in [math.nan, math.inf, -math.inf, -1e30, 1e30]:
            value = [bad] if is_list else bad
            base = cls(profile="cpu") if cls is CifarConfig else cls()
            config = settings.resolve(dataclasses.replace(base, **{f.name: value}))
            with pytest.raises(UsageError, match=settings.flag_name(f.name)):
                settings.check(config)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_lr_is_checked_for_any_float(lr):
    config = settings.resolve(FashionConfig(lr=lr))
    if math.isfinite(lr) and 0 < lr <= 10:
        settings.check(config)
    else:
        with pytest.raises(UsageError, match="--lr must be"):
            settings.check(config)


@pytest.mark.parametrize("flags, message", [
    (["fashion", "--momentum", "nan"], "--momentum must be a finite number"),
    (["fashion", "--weight-decay", "nan"], "--weight-decay must be a finite number"),
    (["fashion", "--lr", "1e30"], "--lr must be in (0, 10]"),
    (["cifar", "--lr", "inf"], "--lr must be a finite number"),
    (["cifar", "--widths", "8,-8"], "--widths must be in [1, 4096]"),
    (["iris", "--momentum", "1"], "--momentum must be in [0, 1)"),
    (["fashion", "--epochs", "abc"], "argument --epochs: expected an integer; got 'abc'"),
])
def test_cli_refuses_bad_numbers_before_anything_is_read(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) if "argument" in message else contextlib.nullcontext():
        code = main([*flags, "--out", str(tmp_path / "runs"), "--no-progress", "--data-dir", str(tmp_path)]
                    if flags[0] != "iris" else [*flags, "--out", str(tmp_path / "runs"), "--no-progress"])
        assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_version():
    out = subprocess.run([sys.executable, "-m", "backproplab", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"backproplab {__version__}"


def test_config_json_is_the_declarations(tmp_path):
    from backproplab.pipelines.iris import run

    run(IrisConfig(hidden=[4], lr=[0.1], epochs=3), RunOptions(out=str(tmp_path), name="r", progress=False))
    saved = __import__("json").loads((tmp_path / "r" / "config.json").read_text())
    for f in settings.declared(IrisConfig):
        assert f.name in saved
