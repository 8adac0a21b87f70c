"""The Fashion-MNIST pipeline on small slices: run folders for both engines and the CNN,
the same records from both engines, bad input; real data where this machine has it
(CI installs it). Kill-and-resume with real signals is in test_faults.py."""

import csv
import json
import os

import pytest

from backproplab.cli import main
from backproplab.data import discovery, fashion_mnist
from backproplab.pipelines.fashion import FashionConfig, run
from backproplab.runs.log import COLUMNS
from backproplab.runs.options import RunOptions
from fixtures import write_fashion

PICTURES = {"loss.png", "accuracy.png", "confusion.png", "misclassified.png", "weights.png"}


def real_data_or_skip():
    try:
        return discovery.find_data(fashion_mnist.SPEC)
    except discovery.DataNotFoundError:
        pytest.skip("Fashion-MNIST is not on this machine (CI installs dataset-fashion-mnist): "
                    "sudo apt-get install dataset-fashion-mnist")


def options(out, name=None, **kw):
    return RunOptions(out=str(out), name=name, progress=False, **kw)


@pytest.fixture
def small_data(tmp_path):
    return str(write_fashion(tmp_path / "fm", n_train=5300, n_test=200))


@pytest.mark.parametrize("engine, model", [("torch", "mlp"), ("numpy", "mlp"), ("numpy", "cnn")])
def test_end_to_end_on_real_data_slice(tmp_path, engine, model):
    real_data_or_skip()
    c = FashionConfig(engine=engine, model=model, epochs=2, train_limit=2000, test_limit=500, device="cpu")
    s = run(c, options(tmp_path))
    files = set(os.listdir(s["path"]))
    assert {"config.json", "metrics.csv", "summary.json", "confusion.csv"} | PICTURES <= files
    assert ("checkpoint.pt" if engine == "torch" else "checkpoint.npz") in files
    rows = list(csv.DictReader(open(os.path.join(s["path"], "metrics.csv"))))
    assert list(rows[0]) == COLUMNS  # the same columns from every engine
    assert len(rows) == 2 and float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    assert s["test_accuracy"] > 0.6  # 2,000 real images, 2 epochs: far above chance (10%)
    summary = json.load(open(os.path.join(s["path"], "summary.json")))
    assert summary["engine"] == engine and summary["epochs"] == 2 and "architecture" in summary
    assert ("hidden" in summary) == (model == "mlp")  # only the settings the model has
    config = json.load(open(os.path.join(s["path"], "config.json")))
    assert config["machine"]["cores"] >= 1 and config["started"] and config["precision_reason"]
    assert config["precision"] == "fp32" if engine == "numpy" else config["precision"] in ("fp32", "bf16")
    confusion = list(csv.reader(open(os.path.join(s["path"], "confusion.csv"))))
    assert confusion[0][1:] == fashion_mnist.CLASSES and sum(int(v) for r in confusion[1:] for v in r[1:]) == 500


def test_numpy_engine_matches_torch_engine_on_the_same_recipe(tmp_path, small_data):
    kw = dict(epochs=2, train_limit=1000, test_limit=200, data_dir=small_data, device="cpu", hidden=[64])
    a = run(FashionConfig(engine="torch", **kw), options(tmp_path))
    b = run(FashionConfig(engine="numpy", **kw), options(tmp_path))
    ra = list(csv.DictReader(open(os.path.join(a["path"], "metrics.csv"))))
    rb = list(csv.DictReader(open(os.path.join(b["path"], "metrics.csv"))))
    assert [r["lr"] for r in ra] == [r["lr"] for r in rb]  # one schedule, stepped the same way
    assert list(ra[0]) == list(rb[0])


def test_a_batch_remainder_of_one_is_merged_not_a_crash(tmp_path, small_data):
    # 300 training images in batches of 299: the last "batch" would hold one image, which
    # batch normalisation cannot train on; it joins the batch before it
    for engine in ("torch", "numpy"):
        s = run(FashionConfig(engine=engine, epochs=1, batch_size=299, train_limit=300, test_limit=50,
                              data_dir=small_data, device="cpu", hidden=[16]), options(tmp_path))
        assert s["epochs"] == 1


def test_without_batch_norm_the_network_has_none(tmp_path, small_data):
    s = run(FashionConfig(epochs=1, train_limit=300, test_limit=50, data_dir=small_data, device="cpu", hidden=[16],
                          batch_norm=False), options(tmp_path))
    assert "BatchNorm" not in s["architecture"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--epochs", "0"], "--epochs must be in [1, 10000]"),
        (["--engine", "jax"], "--engine must be one of torch, numpy; got 'jax'"),
        (["--model", "cnn"], "use --engine numpy --model cnn"),
        (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
        (["--momentum", "nan"], "--momentum must be a finite number"),
        (["--weight-decay", "nan"], "--weight-decay must be a finite number"),
        (["--lr", "1e30"], "--lr must be in (0, 10]"),
        (["--resume"], "nothing to resume"),
        (["--engine", "numpy", "--device", "cuda"], "--device cuda applies to the PyTorch engine"),
    ],
)
def test_cli_bad_flags(tmp_path, capsys, small_data, flags, message):
    code = None
    try:
        code = main(["fashion", "--data-dir", small_data, "--out", str(tmp_path / "runs"), "--no-progress", *flags])
    except SystemExit as exit:  # argparse's own refusal of an unknown choice
        code = exit.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() or not any(p.name != ".gitkeep" for p in (tmp_path / "runs").iterdir())


def test_cli_corrupt_data_names_the_file_and_leaves_no_folder(tmp_path, capsys, small_data):
    path = os.path.join(small_data, "t10k-images-idx3-ubyte.gz")
    with open(path, "r+b") as f:
        f.truncate(1000)
    assert main(["fashion", "--data-dir", small_data, "--out", str(tmp_path / "runs"), "--no-progress"]) == 2
    assert "t10k-images-idx3-ubyte.gz: corrupt or truncated gzip file" in capsys.readouterr().err
    assert list((tmp_path / "runs").iterdir()) == []


def test_cli_missing_file_names_it(tmp_path, capsys, small_data):
    os.remove(os.path.join(small_data, "train-labels-idx1-ubyte.gz"))
    assert main(["fashion", "--data-dir", small_data, "--out", str(tmp_path / "runs"), "--no-progress"]) == 2
    assert "is missing train-labels-idx1-ubyte.gz" in capsys.readouterr().err


def test_mirror_flips_every_image_left_right_in_both_engines():
    import numpy as np
    import torch

    from backproplab.pipelines.fashion import flip_half, mirror
    from backproplab.pipelines.fashion_torch import mirror as torch_mirror

    X = np.arange(3 * 784, dtype=np.float32).reshape(3, 784)
    M = mirror(X).reshape(3, 28, 28)
    assert np.array_equal(M, X.reshape(3, 28, 28)[:, :, ::-1])
    assert np.array_equal(mirror(X[..., None].reshape(3, 28, 28, 1)), M[..., None])  # the CNN's NHWC layout
    assert np.array_equal(torch_mirror(torch.from_numpy(X)).numpy().reshape(3, 28, 28), M)
    flipped = flip_half(X, np.random.default_rng(0))
    assert all(np.array_equal(f, x) or np.array_equal(f, mirror(x[None])[0]) for f, x in zip(flipped, X))


def test_flips_and_test_time_mirroring_run_in_both_engines(tmp_path, small_data):
    kw = dict(epochs=1, train_limit=400, test_limit=100, data_dir=small_data, device="cpu", hidden=[16], flip=True,
              tta=1)
    for engine in ("torch", "numpy"):
        s = run(FashionConfig(engine=engine, **kw), options(tmp_path))
        assert json.load(open(os.path.join(s["path"], "config.json")))["flip"] is True


def test_mixup_trains_in_both_engines(tmp_path, small_data):
    kw = dict(epochs=1, train_limit=400, test_limit=100, data_dir=small_data, device="cpu", hidden=[16], mixup=0.3)
    for engine in ("torch", "numpy"):
        s = run(FashionConfig(engine=engine, **kw), options(tmp_path))
        assert 0 <= s["test_accuracy"] <= 1


def test_clean_tail_trains_the_last_epochs_without_mixup():
    """An epoch at or after ``mixup_epochs`` steps exactly as training without mixup, in
    both engines; an epoch before it mixes (and so steps differently)."""
    import numpy as np
    import torch

    from backproplab import settings
    from backproplab.pipelines.fashion import numpy_trainer, schedule
    from backproplab.pipelines.fashion_torch import torch_trainer

    rng = np.random.default_rng(0)
    data = {s: (rng.standard_normal((n, 784)).astype(np.float32), rng.integers(0, 10, n))
            for s, n in (("train", 64), ("validate", 16))}
    c = settings.resolve(FashionConfig(epochs=4, hidden=[8], batch_size=16, device="cpu", threads=1, mixup=0.3,
                                       clean_tail=0.5))
    assert c.mixup_epochs() == 2 and settings.resolve(FashionConfig()).mixup_epochs() == 34  # the mlp recipe

    def first_weights(mixup_epochs, mixup=0.3):
        torch.manual_seed(0)
        c2 = settings.resolve(FashionConfig(**{**c.__dict__, "mixup": mixup}))
        n, _ = numpy_trainer(c2, data)
        n.mixup_epochs = mixup_epochs
        t, _ = torch_trainer(c2, data, schedule(c2))
        t.mixup_epochs = mixup_epochs
        for trainer in (n, t):
            trainer.train_epoch(0, lambda f: None)
        return n.first_layer_weights().copy(), t.first_layer_weights().copy()

    plain = first_weights(mixup_epochs=2, mixup=0.0)
    clean = first_weights(mixup_epochs=0)
    mixed = first_weights(mixup_epochs=1)
    for engine in (0, 1):
        assert np.array_equal(clean[engine], plain[engine])
        assert not np.allclose(mixed[engine], plain[engine])
