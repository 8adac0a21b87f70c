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


def test_predict_before_training_is_a_clear_error():
    with pytest.raises(RuntimeError, match="not built yet"):
        NeuralNetwork(SPECS).predict(np.zeros((2, 5)))
