"""The NumPy model: training, saving/loading, seeds, and its guards."""

import numpy as np
import pytest

from backproplab.data.dataset import Dataset
from backproplab.nn.models import NeuralNetwork
from backproplab.nn.optimizers import SGD, Adam


def blobs(seed=0, n=300, k=3, d=5):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d)) * 3
    y = rng.integers(0, k, size=n)
    X = centers[y] + rng.standard_normal((n, d))
    parts = {"train": slice(0, 200), "validate": slice(200, 250), "test": slice(250, 300)}
    return Dataset({s: (X[i], y[i]) for s, i in parts.items()}, n_classes=k, batch_size=32)


SPECS = [{"name": "fully_connected", "n_out": 8, "activation": "relu"},
         {"name": "dropout", "p": 0.1},
         {"name": "fully_connected", "activation": "softmax"}]


def test_training_lowers_the_loss_and_learns():
    data = blobs()
    model = NeuralNetwork(SPECS, optimizer=SGD(0.1, momentum=0.9), seed=0)
    history = model.train(data, 15)
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert model.test(data)["test_accuracy"] > 0.9
    assert model.layers[-1].n_out == 3  # taken from the data's classes


def test_the_seed_fixes_everything():
    runs = []
    for _ in range(2):
        model = NeuralNetwork(SPECS, optimizer=Adam(0.01), seed=42)
        runs.append([{k: v for k, v in r.items() if k != "seconds"} for r in model.train(blobs(), 3)])
    assert runs[0] == runs[1]
    other = NeuralNetwork(SPECS, optimizer=Adam(0.01), seed=43).train(blobs(), 3)
    assert other[-1]["train_loss"] != runs[0][-1]["train_loss"]


def test_save_and_load_predict_exactly_the_same(tmp_path):
    data = blobs()
    model = NeuralNetwork(SPECS, optimizer=SGD(0.1), seed=1)
    model.train(data, 2)
    model.save(tmp_path / "m.npz", extra={"data.mean": data.standardizer.mean})
    loaded = NeuralNetwork.load(tmp_path / "m.npz")
    X, _ = data.split("test")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:  # readable without pickle
        assert "data.mean" in f.files


def test_load_refuses_a_foreign_npz(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not a backproplab model file"):
        NeuralNetwork.load(tmp_path / "x.npz")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_stops_before_the_update_is_applied():
    data = blobs()
    model = NeuralNetwork(SPECS[:1] + SPECS[2:], optimizer=SGD(1e36), seed=0)
    with pytest.raises((FloatingPointError, ValueError), match="diverged|lower the learning rate"):
        model.train(data, 3)
    assert all(np.all(np.isfinite(p)) for layer in model.layers for p in layer.parameters.values())


def test_the_array_api_trains_in_a_few_lines():
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 4)) * 3
    y = rng.integers(0, 3, 300)
    X = (centers[y] + rng.standard_normal((300, 4))).astype(np.float32)
    model = NeuralNetwork(SPECS, optimizer=SGD(0.1, momentum=0.9), seed=0)
    history = model.fit(X[:200], y[:200], epochs=10, batch_size=32, validation_data=(X[200:], y[200:]))
    assert len(history) == 10 and history["val_loss"][-1] < history["val_loss"][0]
    assert {"train_loss", "train_accuracy", "train_error", "val_loss", "val_accuracy", "val_error", "lr"} <= \
        set(history[0])
    result = model.evaluate(X[200:], y[200:])
    assert result["accuracy"] > 0.9 and result["error"] == pytest.approx(1 - result["accuracy"])
    assert model.predict(X[:5]).shape == (5, 3)
    assert model.layers[-1].n_out == 3  # taken from the labels


def test_keep_best_ends_with_the_best_validation_epoch():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((120, 4)).astype(np.float32), rng.integers(0, 3, 120)  # noise: validation wanders
    model = NeuralNetwork(SPECS, optimizer=SGD(0.5, momentum=0.9), seed=0)
    history = model.fit(X[:80], y[:80], epochs=15, batch_size=16, validation_data=(X[80:], y[80:]), keep_best=True)
    best = min(history, key=lambda r: (r["val_error"], r["val_loss"]))
    assert model.evaluate(X[80:], y[80:])["loss"] == pytest.approx(best["val_loss"])


def test_summary_and_repr_describe_the_model_without_moving_its_seed():
    model = NeuralNetwork([{"name": "conv2d", "n_out": 4, "kernel_shape": (3, 3), "activation": "relu"},
                           {"name": "pool2d", "kernel_shape": (2, 2)}, {"name": "flatten"},
                           {"name": "fully_connected", "activation": "softmax"}], seed=3, n_classes=10)
    text = model.summary(input_shape=(8, 8, 1))
    assert "(n, 8, 8, 4)" in text and "(n, 4, 4, 4)" in text and "(n, 64)" in text and "(n, 10)" in text
    assert "40" in text and "650" in text and "690 parameters" in text  # 3·3·1·4 + 4, 64·10 + 10
    assert repr(model).startswith("NeuralNetwork([Conv2D(4 filters 3x3") and "seed=3" in repr(model)
    same = NeuralNetwork(model.layer_specs, seed=3, n_classes=10)
    X = np.random.default_rng(0).standard_normal((2, 8, 8, 1))
    np.testing.assert_array_equal(model.predict(X), same.predict(X))  # summary() drew nothing


def test_state_dict_round_trip_uses_pytorch_style_keys():
    data = blobs()
    model = NeuralNetwork(SPECS, optimizer=SGD(0.1), seed=1)
    model.train(data, 1)
    state = model.state_dict()
    assert set(state) == {"0.W", "0.b", "2.W", "2.b"}
    other = NeuralNetwork(SPECS, seed=9, n_classes=3)
    other.load_state_dict(state)
    X, _ = data.split("test")
    np.testing.assert_array_equal(other.predict(X), model.predict(X))


def test_predict_before_training_is_a_clear_error():
    with pytest.raises(RuntimeError, match="not built yet"):
        NeuralNetwork(SPECS).predict(np.zeros((2, 5)))


def test_a_non_finite_output_stops_training_naming_the_step():
    from backproplab.nn.training import train_epoch

    X = np.ones((40, 5), dtype=np.float32)
    X[17] = np.nan  # one bad example: the batch that holds it fails
    model = NeuralNetwork(SPECS, optimizer=SGD(0.1), seed=0, n_classes=3)
    with pytest.raises(FloatingPointError, match=r"epoch 3, step \d+: the network's output is not finite"):
        train_epoch(model, X, np.arange(40) % 3, 8, np.random.default_rng(0), epoch=2)


def test_the_torch_trainer_stops_at_a_non_finite_loss():
    import torch

    from backproplab.errors import TrainingError
    from backproplab.engines.torch_engine import Split, TorchTrainer

    X = torch.ones(32, 4)
    X[5] = float("inf")
    model = torch.nn.Linear(4, 3)
    trainer = TorchTrainer(model, torch.optim.SGD(model.parameters(), lr=0.1), lambda t: 0.1,
                           {"train": Split(X, torch.arange(32) % 3)}, 8, np.random.default_rng(0))
    with pytest.raises(TrainingError, match=r"the training loss is nan at epoch 1, step \d+"):
        trainer.train_epoch(0, lambda f: None)


def test_mixup_blends_inputs_and_targets_with_one_weight():
    from backproplab.nn.losses import one_hot
    from backproplab.nn.training import mix

    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 5)).astype(np.float32)
    Y = one_hot(rng.integers(0, 3, 16), 3, dtype=np.float32)
    Xm, Ym = mix(X, Y, 0.3, np.random.default_rng(7))
    again = np.random.default_rng(7)
    lam, perm = again.beta(0.3, 0.3), again.permutation(16)
    np.testing.assert_allclose(Xm, lam * X + (1 - lam) * X[perm], rtol=1e-6)
    np.testing.assert_allclose(Ym, lam * Y + (1 - lam) * Y[perm], rtol=1e-6)
    np.testing.assert_allclose(Ym.sum(axis=1), 1, rtol=1e-6)  # still a distribution: the loss accepts it
    model = NeuralNetwork(SPECS, optimizer=SGD(0.1), seed=0, n_classes=3)
    from backproplab.nn.training import train_epoch

    r = train_epoch(model, X, rng.integers(0, 3, 16), 8, np.random.default_rng(0), 0, mixup=0.3)
    assert np.isfinite(r["train_loss"])
