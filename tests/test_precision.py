"""``--precision auto|fp32|bf16``: what ``auto`` picks and why, and that a bfloat16 run
keeps its weights, optimizer state, BatchNorm statistics, loss and checkpoint in float32."""

import json
import os
import subprocess
import sys

import pytest
import torch

from backproplab import settings
from backproplab.cli import main
from backproplab.engines import precision
from backproplab.pipelines import fashion, homework
from backproplab.pipelines.cifar import CifarConfig, cifar_run_name, run
from backproplab.pipelines.declaration import Stage
from backproplab.runs.options import RunOptions
from fixtures import write_cifar

CPU = torch.device("cpu")
TINY = dict(profile="cpu", widths=[4, 8, 8], epochs=1, batch_size=32, device="cpu")


def test_an_explicit_precision_is_taken_as_asked():
    assert precision.choose("fp32", CPU) == ("fp32", "asked for")
    assert precision.choose("bf16", CPU) == ("bf16", "asked for")


def test_auto_keeps_float32_on_a_cpu_without_bfloat16_and_does_not_probe(monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: [])
    monkeypatch.setattr(precision, "bf16_speedup", lambda threads: pytest.fail("probed without the flag"))
    choice, why = precision.choose("auto", CPU)
    assert choice == "fp32" and "no bfloat16 instruction" in why


@pytest.mark.parametrize("speedup, expected", [(0.01, "fp32"), (1.2, "fp32"), (1.31, "bf16"), (2.2, "bf16")])
def test_auto_takes_bfloat16_only_when_the_probe_finds_it_faster(monkeypatch, speedup, expected):
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: ["avx512_bf16"])
    monkeypatch.setattr(precision, "bf16_speedup", lambda threads: speedup)
    choice, why = precision.choose("auto", CPU)
    assert choice == expected and f"{speedup:.2f}x" in why and "avx512_bf16" in why


def test_a_no_from_the_probe_is_asked_again_unless_plainly_emulated(monkeypatch):
    answers = iter([0.4, 2.1])  # a neighbour took the cores during the first probe
    monkeypatch.setattr(precision, "_probe", lambda: next(answers))
    precision.bf16_speedup.cache_clear()
    assert precision.bf16_speedup(-1) == 2.1
    monkeypatch.setattr(precision, "_probe", iter([0.02, pytest.fail]).__next__)  # emulated: asked once
    assert precision.bf16_speedup(-2) == 0.02
    precision.bf16_speedup.cache_clear()


def test_auto_keeps_float32_when_pytorch_is_held_to_avx2():
    # the CPU's flag may say bfloat16, but oneDNN held to AVX2 emulates it: auto must see that
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
    code = ("import torch; from backproplab.engines import precision; "
            "print(precision.choose('auto', torch.device('cpu')))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("('fp32'"), out.stdout


def test_a_resumed_auto_run_keeps_the_precision_it_started_with(tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: [])  # this machine would pick fp32 now
    c = settings.resolve(CifarConfig(**TINY))
    name = cifar_run_name(settings.resolve(CifarConfig(**{**TINY, "precision": "bf16"})))
    (tmp_path / f"{name}.partial").mkdir()
    (tmp_path / f"{name}.partial" / "config.json").write_text(json.dumps({"precision": "bf16"}))
    resumed = RunOptions(out=str(tmp_path), resume=True, progress=False)
    assert precision.for_run(c, CPU, resumed, cifar_run_name) == ("bf16", "kept from the interrupted run")
    fresh = RunOptions(out=str(tmp_path), progress=False)
    assert precision.for_run(c, CPU, fresh, cifar_run_name)[0] == "fp32"


def test_auto_keeps_float32_for_a_profile_that_bfloat16_made_less_accurate(tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: ["avx512_bf16"])
    monkeypatch.setattr(precision, "bf16_speedup", lambda threads: 2.0)
    monkeypatch.setattr(CifarConfig, "AUTO_KEEPS_FP32", ("cpu",))
    options = RunOptions(out=str(tmp_path), progress=False)
    kept, why = precision.for_run(settings.resolve(CifarConfig(**TINY)), CPU, options, cifar_run_name)
    assert kept == "fp32" and "cpu profile" in why
    other = settings.resolve(CifarConfig(**{**TINY, "profile": "sprint"}))
    assert precision.for_run(other, CPU, options, cifar_run_name)[0] == "bf16"
    asked = settings.resolve(CifarConfig(**{**TINY, "precision": "bf16"}))
    assert precision.for_run(asked, CPU, options, cifar_run_name) == ("bf16", "asked for")


def test_a_bfloat16_run_keeps_everything_it_stores_in_float32(tmp_path, capsys):
    write_cifar(tmp_path / "data", n_per_batch=1100, n_test=60)
    args = ["cifar", "--profile", "cpu", "--widths", "4,8,8", "--epochs", "1", "--batch-size", "32", "--device", "cpu",
            "--precision", "bf16", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "runs"),
            "--no-progress"]
    assert main(args) == 0
    assert "bfloat16 autocast" in capsys.readouterr().out  # the result line says it
    [folder] = (tmp_path / "runs").iterdir()
    assert "-bf16-" in folder.name
    config = json.loads((folder / "config.json").read_text())
    assert config["precision"] == "bf16" and config["precision_reason"] == "asked for"
    assert json.loads((folder / "summary.json").read_text())["precision"] == "bf16"
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    floats = [t for t in tensors_in(state) if t.is_floating_point()]
    in_model = [t for t in state["model"].values() if t.is_floating_point()]
    assert len(floats) > 2 * len(in_model)  # the weights, their moving average, and the momentum
    assert all(t.dtype == torch.float32 for t in floats)  # weights, BN statistics, momentum, average


def tensors_in(obj):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from tensors_in(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from tensors_in(v)


def test_the_loss_is_float32_under_bfloat16_autocast():
    from backproplab.pipelines import cifar_net

    model = cifar_net.build_model([4, 8, 8], 2, 2, 2, "gelu", 1 / 9, 0.4).to(memory_format=torch.channels_last)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    with torch.autocast("cpu", dtype=precision.autocast_dtype("bf16")):
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
    assert logits.dtype == torch.bfloat16 and loss.dtype == torch.float32
    loss.backward()
    assert all(p.grad.dtype == torch.float32 for p in model.parameters() if p.grad is not None)


def test_the_numpy_engine_refuses_bfloat16(tmp_path, capsys):
    assert main(["fashion", "--engine", "numpy", "--precision", "bf16", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--precision bf16 applies to the PyTorch engine" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_the_homework_keeps_its_pytorch_mlp_in_float32_and_passes_the_precision_on():
    o = homework.AllOptions(precision="bf16")
    stages = {stage.folder: (p, stage) for p in (fashion.PIPELINE,) for stage in p.stages}
    mlp = homework.stage_config(*stages["fashion-torch-mlp"], o)
    assert mlp.precision == "fp32"  # the NumPy MLP's twin: the parity bar compares them
    assert homework.stage_config(*stages["fashion-numpy-mlp"], o).precision == "auto"  # NumPy: float32 always
    from backproplab.pipelines import cifar

    assert homework.stage_config(cifar.PIPELINE, Stage("CIFAR-10", "cifar"), o).precision == "bf16"
