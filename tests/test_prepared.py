"""The prepared-data cache (decoded arrays kept as .npy), the exact uint8 statistics and the
table lookup that standardises images: each gives what the slow way gives, to the bit."""

import os
import time

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from backproplab.data import cifar10, fashion_mnist, prepared
from backproplab.data.dataset import Standardizer, uint8_moments
from backproplab.data.discovery import cache_dir
from fixtures import write_batch, write_cifar, write_fashion


def entries(dataset):
    root = cache_dir() / "prepared"
    return sorted(p.name for p in root.glob(f"{dataset}-*")) if root.is_dir() else []


def same(a, b):
    return all(np.array_equal(a[k][i], b[k][i]) and a[k][i].dtype == b[k][i].dtype for k in a for i in (0, 1))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def test_the_second_read_comes_from_the_cache_and_equals_the_first(cache, monkeypatch):
    write_cifar(cache / "c", n_per_batch=6, n_test=5)
    first = cifar10.load(data_dir=cache / "c")
    assert len(entries("cifar10")) == 1
    monkeypatch.setattr(cifar10, "read_batch", lambda path: pytest.fail("decoded again"))
    second = cifar10.load(data_dir=cache / "c")
    assert same(first, second) and second["train"][0].flags.writeable


def test_a_changed_source_is_read_again_and_the_old_entry_removed(cache):
    folder = write_cifar(cache / "c", n_per_batch=6, n_test=5)
    cifar10.load(data_dir=folder)
    old = entries("cifar10")
    write_batch(folder / "test_batch", 9, seed=5)  # another size and time
    data = cifar10.load(data_dir=folder)
    assert len(data["test"][1]) == 9 and len(entries("cifar10")) == 1 and entries("cifar10") != old
    # the same size, a new modification time: read again too
    write_batch(folder / "test_batch", 9, seed=6)
    os.utime(folder / "test_batch", ns=(time.time_ns(), time.time_ns() + 10**9))
    assert same(cifar10.load(data_dir=folder), cifar10.read_folder(folder))


@pytest.mark.parametrize("damage", ["truncate", "shape", "labels", "delete"])
def test_a_damaged_entry_is_rebuilt(cache, damage):
    folder = write_fashion(cache / "f", n_train=12, n_test=4)
    truth = fashion_mnist.load(data_dir=folder)
    entry = cache_dir() / "prepared" / entries("fashion-mnist")[0]
    if damage == "truncate":
        path = entry / "train.X.npy"
        path.write_bytes(path.read_bytes()[:-5])
    elif damage == "shape":
        np.save(entry / "train.X.npy", np.zeros((12, 28, 27), np.uint8))
    elif damage == "labels":
        np.save(entry / "test.y.npy", np.array([0, 1, 2, 99]))
    else:
        (entry / "test.y.npy").unlink()
    assert same(fashion_mnist.load(data_dir=folder), truth)
    assert same(fashion_mnist.load(data_dir=folder), truth) and len(entries("fashion-mnist")) == 1


def test_a_cache_that_cannot_be_written_costs_only_time(cache, monkeypatch):
    folder = write_fashion(cache / "f", n_train=12, n_test=4)
    (cache / "cache").mkdir()
    (cache / "cache" / "backproplab").write_text("a file where the cache folder would be")
    assert same(fashion_mnist.load(data_dir=folder), fashion_mnist.read_folder(folder))


def test_only_our_entries_are_removed(cache):
    folder = write_cifar(cache / "c", n_per_batch=6, n_test=5)
    root = cache_dir() / "prepared"
    root.mkdir(parents=True)
    mine = root / "cifar10-notes"  # not a name we give an entry
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    lookalike = root / "cifar10-0123456789abcdef"  # our name, a file we never write
    lookalike.mkdir()
    (lookalike / "thesis.tex").write_text("mine")
    cifar10.load(data_dir=folder)
    assert (mine / "keep.txt").read_text() == "mine" and (lookalike / "thesis.tex").read_text() == "mine"
    # a damaged entry holding a file we never write is read again but not deleted
    entry = root / f"cifar10-{prepared.key([folder / f for f in cifar10.FILES])}"
    (entry / "test.y.npy").unlink()
    (entry / "notes.txt").write_text("mine")
    assert same(cifar10.load(data_dir=folder), cifar10.read_folder(folder))
    assert (entry / "notes.txt").read_text() == "mine"


def test_concurrent_builders_leave_one_whole_entry(cache):
    import concurrent.futures

    folder = write_cifar(cache / "c", n_per_batch=30, n_test=10)
    with concurrent.futures.ProcessPoolExecutor(4) as pool:
        results = list(pool.map(cifar10.load, [folder] * 4))
    assert all(same(r, results[0]) for r in results)
    assert len(entries("cifar10")) == 1 and not list((cache_dir() / "prepared").glob(".*"))
    assert same(cifar10.load(data_dir=folder), results[0])


@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 300), st.integers(1, 5))), st.booleans())
def test_uint8_statistics_and_lookup_equal_the_float_formulas(X, per_feature):
    s = Standardizer.fit(X, per_feature)
    mean = X.mean(axis=0) if per_feature else X.mean()
    std = X.std(axis=0) if per_feature else X.std()
    np.testing.assert_allclose(s.mean, mean, rtol=1e-14)
    np.testing.assert_allclose(s.std, np.where(std > 0, std, 1.0), rtol=1e-9, atol=1e-12)
    assert np.array_equal(s(X), ((X - s.mean) / s.std).astype(np.float32))


def test_uint8_moments_are_exact_where_float_sums_drift():
    X = np.full((3_000_000, 1), 255, np.uint8)
    X[::2] = 0  # mean 127.5, std 127.5 exactly
    mean, std = uint8_moments(X)
    assert mean[0] == 127.5 and std[0] == 127.5
