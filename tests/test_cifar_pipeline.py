"""The CIFAR-10 pipeline end to end on small slices (CPU): run folder, predictions.csv,
resume, augmentation, the device choice and bad input."""

import csv
import json
import os

import numpy as np
import pytest
import torch

from backproplab.pipelines.cifar import CifarConfig, run
from backproplab.pipelines.cifar_training import channel_stats, predictions_csv
from backproplab.pipelines.cifar_net import TTA, augment, flip_mask, translate
from backproplab.cli import main
from backproplab.runs.options import RunOptions
from fixtures import write_cifar

TINY = dict(profile="cpu", widths=[4, 8, 8], epochs=2, batch_size=32, device="cpu")


def options(out, name=None):
    return RunOptions(out=str(out), name=name, progress=False)


@pytest.fixture
def cifar_dir(tmp_path):
    write_cifar(tmp_path / "data", n_per_batch=1100, n_test=60)  # 5,500 train → 500 after validation
    return str(tmp_path / "data")


def test_end_to_end_writes_the_run_folder(tmp_path, cifar_dir):
    s = run(CifarConfig(data_dir=cifar_dir, **TINY), options(tmp_path / "runs"))
    files = set(os.listdir(s["path"]))
    assert {"config.json", "metrics.csv", "summary.json", "loss.png", "accuracy.png", "checkpoint.pt",
            "predictions.csv", "confusion.png", "misclassified.png", "weights.png"} <= files
    rows = list(csv.DictReader(open(os.path.join(s["path"], "metrics.csv"))))
    assert [r["epoch"] for r in rows] == ["1", "2"] and {"train_loss", "val_loss", "val_accuracy"} <= set(rows[0])
    summary = json.load(open(os.path.join(s["path"], "summary.json")))
    assert 0 <= summary["test_accuracy"] <= 1 and summary["device"] == "cpu"
    preds = list(csv.reader(open(os.path.join(s["path"], "predictions.csv"))))
    assert preds[0] == ["Id", "Category"] and len(preds) == 61
    assert [int(r[0]) for r in preds[1:]] == list(range(1, 61)) and all(0 <= int(r[1]) <= 9 for r in preds[1:])
    config = json.load(open(os.path.join(s["path"], "config.json")))
    assert config["splits"] == {"train": 500, "validate": 5000, "test": 60}
    assert config["world_size"] == 1 and config["cpu_capability"] and len(config["channel_mean"]) == 3


def test_predictions_match_the_reported_test_accuracy(tmp_path, cifar_dir):
    from backproplab.data import cifar10

    s = run(CifarConfig(data_dir=cifar_dir, **TINY), options(tmp_path))
    preds = np.array([int(r["Category"]) for r in csv.DictReader(open(os.path.join(s["path"], "predictions.csv")))])
    labels = cifar10.load(cifar_dir)["test"][1]
    assert np.mean(preds == labels) == pytest.approx(s["test_accuracy"])


def test_predictions_csv_format():
    assert predictions_csv(np.array([3, 0, 9])) == "Id,Category\n1,3\n2,0\n3,9\n"


def test_predict_on_a_homework_array(tmp_path, cifar_dir):
    images = np.random.default_rng(0).integers(0, 256, (7, 3072), dtype=np.uint8)
    np.save(tmp_path / "test_images.npy", images)
    s = run(CifarConfig(data_dir=cifar_dir, predict_on=str(tmp_path / "test_images.npy"), **TINY),
            options(tmp_path / "runs"))
    preds = list(csv.reader(open(os.path.join(s["path"], "predictions.csv"))))
    assert len(preds) == 8 and "test_accuracy" not in s


def test_a_constant_channel_is_centred_not_divided_by_zero():
    images = np.random.default_rng(0).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    images[..., 1] = 77  # a copy of the data with a constant green channel
    mean, std = channel_stats(images)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    assert np.all((images[..., 1] / 255 - mean[1]) / std[1] == 0)  # centred, finite


def test_augmentation_keeps_shapes_and_moves_pixels_only():
    torch.manual_seed(0)
    x = torch.arange(4 * 3 * 8 * 8, dtype=torch.float32).reshape(4, 3, 8, 8) + 1
    idx = torch.tensor([2, 0, 3, 1])
    out = augment(x, idx, 0, padding=2, flips=flip_mask(4, seed=0))
    assert out.shape == x.shape and out.dtype == x.dtype
    for i in range(4):  # every output pixel is an input pixel of the same image and channel (reflect padding)
        for ch in range(3):
            assert set(out[i, ch].flatten().tolist()) <= set(x[i, ch].flatten().tolist())
    assert torch.equal(augment(x, idx, 0, padding=0, flips=None), x)


def reference_augment(x, idx, epoch, padding, flips):
    """The augmentation as first written: mirror, reflect-pad, crop (the same random draws)."""
    if flips is not None:
        mirror = flips[idx] ^ bool(epoch % 2)
        x = torch.where(mirror[:, None, None, None], x.flip(3), x)
    p, (B, _, H, W) = padding, x.shape
    xp = torch.nn.functional.pad(x, (p, p, p, p), mode="reflect")
    dy, dx = torch.randint(0, 2 * p + 1, (B,)), torch.randint(0, 2 * p + 1, (B,))
    return torch.stack([xp[i, :, dy[i] : dy[i] + H, dx[i] : dx[i] + W] for i in range(B)])


@pytest.mark.parametrize("seed", range(12))
def test_augmentation_is_mirror_then_reflect_pad_then_crop(seed):
    g = torch.Generator().manual_seed(seed)
    B, H, W = (int(v) for v in torch.randint(3, 12, (3,), generator=g))
    padding = int(torch.randint(1, min(H, W), (1,), generator=g))
    x = torch.randn(B, 3, H, W, generator=g).contiguous(memory_format=torch.channels_last)
    idx, flips = torch.randperm(B, generator=g), flip_mask(B, seed) if seed % 3 else None
    torch.manual_seed(seed)
    ours = augment(x, idx, seed, padding, flips)
    torch.manual_seed(seed)
    assert torch.equal(ours, reference_augment(x, idx, seed, padding, flips))
    assert ours.is_contiguous(memory_format=torch.channels_last)


def test_the_whitening_bias_stops_asking_for_gradients_when_it_stops_training():
    from backproplab.engines.torch_engine import set_lr
    from backproplab.pipelines import cifar_net

    model = cifar_net.build_model([4, 8, 8], 2, 2, 2, "gelu", 1 / 9, 0.4)
    opt = cifar_net.optimizer(model, 0.5, 0.85, 1e-3, 64, whiten_bias_epochs=3)
    bias = model[0].bias
    set_lr(opt, 0.5, 2.99)
    assert bias.requires_grad and opt.param_groups[2]["lr"] == 0.5 * 64
    set_lr(opt, 0.5, 3.0)
    assert not bias.requires_grad and opt.param_groups[2]["lr"] == 0
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    assert bias.grad is None and all(p.grad is not None for p in opt.param_groups[0]["params"])
    set_lr(opt, 0.5, 0.0)  # back before the end (a resumed run): asks again
    assert bias.requires_grad
    set_lr(opt, 0.5, 3.5, freeze=False)  # under DDP: the rate alone
    assert bias.requires_grad and opt.param_groups[2]["lr"] == 0


def test_freezing_the_whitening_bias_changes_no_weight():
    """Frozen (no gradient) and at rate 0 (a gradient, unused) give the same weights."""
    from backproplab.engines.torch_engine import set_lr
    from backproplab.pipelines import cifar_net

    results = []
    for freeze in (True, False):
        torch.manual_seed(0)
        model = cifar_net.build_model([4, 8, 8], 2, 2, 2, "gelu", 1 / 9, 0.4)
        opt = cifar_net.Lookahead(cifar_net.optimizer(model, 0.5, 0.85, 1e-3, 64, whiten_bias_epochs=1), model,
                                  total_steps=6, start_step=0)
        x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
        for step in range(6):
            set_lr(opt, 0.1, step / 3, freeze=freeze)
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        results.append(model.state_dict())
    assert all(torch.equal(results[0][k], results[1][k]) for k in results[0])


def test_flips_alternate_every_epoch_for_every_image():
    x = torch.randn(6, 3, 5, 5)
    idx = torch.arange(6)
    mask = flip_mask(6, seed=3)
    even, odd = augment(x, idx, 4, padding=0, flips=mask), augment(x, idx, 5, padding=0, flips=mask)
    for i in range(6):
        mirrored = torch.equal(even[i], x[i].flip(2))
        assert mirrored == bool(mask[i]) and torch.equal(odd[i], x[i] if mirrored else x[i].flip(2))


def test_translate_moves_the_image_and_fills_the_border_with_zero():
    x = torch.randn(2, 3, 6, 5) + 10  # no pixel is 0
    down, up = translate(x, 1), translate(x, -1)
    assert down.shape == up.shape == x.shape
    assert torch.equal(down[:, :, 1:, 1:], x[:, :, :-1, :-1]) and torch.equal(up[:, :, :-1, :-1], x[:, :, 1:, 1:])
    assert (down[:, :, 0, :] == 0).all() and (down[:, :, :, 0] == 0).all()
    assert (up[:, :, -1, :] == 0).all() and (up[:, :, :, -1] == 0).all()


def test_tta_levels_average_the_documented_views():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 4))  # not flip-invariant
    x = torch.randn(5, 3, 6, 6)
    assert TTA[0] is None
    flips = 0.5 * (model(x) + model(x.flip(3)))
    torch.testing.assert_close(TTA[1](model, x), flips)
    shifted = [model(translate(v, d)) for v in (x, x.flip(3)) for d in (1, -1)]
    torch.testing.assert_close(TTA[2](model, x), 0.5 * flips + 0.125 * sum(shifted))
    assert not torch.allclose(TTA[2](model, x), flips)  # the shifted views count


def test_tta_level_from_the_cli_reaches_the_config(tmp_path, cifar_dir):
    assert main(["cifar", "--data-dir", cifar_dir, "--out", str(tmp_path), "--name", "r", "--no-progress",
                 "--device", "cpu", "--widths", "4,8,8", "--epochs", "1", "--batch-size", "64", "--tta", "2"]) == 0
    assert json.loads((tmp_path / "r" / "config.json").read_text())["tta"] == 2
    assert all(p["tta"] == 2 for p in CifarConfig.PROFILES.values())


def test_device_choice_falls_back_to_cpu_and_refuses_a_missing_gpu():
    from backproplab.engines.torch_setup import choose_device

    assert choose_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU; use --device cpu or auto"):
            choose_device("cuda")
    with pytest.raises(ValueError, match="--device must be cpu, cuda or auto"):
        choose_device("tpu")


@pytest.mark.parametrize(
    "flags, message",
    [(["--epochs", "0"], "--epochs must be in [1, 10000]"), (["--widths", "8,0"], "--widths must be in [1, 4096]"),
     (["--profile", "fast"], "--profile must be one of"), (["--crop-padding", "20"], "--crop-padding must be in [0, 8]"),
     (["--tta", "3"], "--tta must be one of 0, 1, 2")],
)
def test_cli_bad_flags_leave_no_folder(tmp_path, cifar_dir, capsys, flags, message):
    assert main(["cifar", "--data-dir", cifar_dir, "--out", str(tmp_path / "runs"), "--device", "cpu",
                 "--no-progress", *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_cli_bad_predict_on_leaves_no_folder(tmp_path, cifar_dir, capsys):
    np.save(tmp_path / "x.npy", np.zeros((3, 10), dtype=np.uint8))
    assert main(["cifar", "--data-dir", cifar_dir, "--predict-on", str(tmp_path / "x.npy"), "--out",
                 str(tmp_path / "runs"), "--device", "cpu", "--no-progress"]) == 2
    assert "expected shape (N, 3072)" in capsys.readouterr().err
    assert not any((tmp_path / "runs").iterdir())


def test_an_empty_predict_on_array_is_refused_before_training(tmp_path, cifar_dir, capsys):
    np.save(tmp_path / "x.npy", np.zeros((0, 3072), dtype=np.uint8))
    assert main(["cifar", "--data-dir", cifar_dir, "--predict-on", str(tmp_path / "x.npy"), "--out",
                 str(tmp_path / "runs"), "--device", "cpu", "--no-progress"]) == 2
    assert "holds no images" in capsys.readouterr().err
    assert not any((tmp_path / "runs").iterdir())


def test_cli_missing_data_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BACKPROPLAB_DATA", raising=False)
    assert main(["cifar", "--out", str(tmp_path / "runs"), "--device", "cpu", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "cifar-10-batches-py not found" in err and "backproplab download cifar" in err
    assert "../shared" not in err and ".venv" not in err  # no path of our development setup
    assert not any((tmp_path / "runs").iterdir())
