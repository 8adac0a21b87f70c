"""The CIFAR-10 reader: restricted unpickling, shape/label checks, the .npy test images."""

import os
import pickle

import numpy as np
import pytest

from backproplab.data import cifar10
from backproplab.data.errors import DataError
from fixtures import write_batch, write_cifar


def test_reads_an_official_format_folder(tmp_path):
    write_cifar(tmp_path, n_per_batch=12, n_test=7)
    data = cifar10.load(data_dir=tmp_path)
    X, y = data["train"]
    assert X.shape == (60, 32, 32, 3) and X.dtype == np.uint8 and y.shape == (60,)
    assert data["test"][0].shape == (7, 32, 32, 3)


def test_pixels_are_laid_out_channel_major_like_the_original(tmp_path):
    row = np.zeros((1, 3072), dtype=np.uint8)
    row[0, :1024] = 10  # red plane
    row[0, 1024:2048] = 20  # green
    row[0, 2048] = 30  # the first blue pixel
    write_batch(tmp_path / "b", 1, 0, labels=[3], data=row)
    X, y = cifar10.read_batch(tmp_path / "b")
    assert X[0, 0, 0].tolist() == [10, 20, 30] and X[0, 5, 5].tolist() == [10, 20, 0] and y.tolist() == [3]


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = ""


def test_a_crafted_pickle_is_refused_and_runs_nothing(tmp_path):
    global MARKER
    MARKER = str(tmp_path / "pwned")
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": [1]}, f, protocol=2)
    with pytest.raises(DataError, match=r"refused to load (posix|os)\.system.*may be crafted to run code"):
        cifar10.read_batch(path)
    assert not os.path.exists(MARKER)


@pytest.mark.parametrize("cut", [10, 1000, 5000])
def test_a_truncated_batch_is_a_clear_error(tmp_path, cut):
    path = tmp_path / "b"
    write_batch(path, 4, 0)
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(DataError, match="truncated or corrupt batch file"):
        cifar10.read_batch(path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(data=np.zeros((4, 100), dtype=np.uint8)), r"'data' must be a uint8 array of shape \(n, 3072\)"),
        (dict(data=np.zeros((4, 3072), dtype=np.float32)), "must be a uint8 array"),
        (dict(labels=[0, 1, 2, 10]), r"labels must lie in 0..9"),
        (dict(labels=[0, 1]), "4 images but 2 labels"),
        (dict(labels="abcd"), "'labels' must be a list of ints"),
    ],
)
def test_unexpected_contents_are_refused(tmp_path, kwargs, message):
    write_batch(tmp_path / "b", 4, 0, **kwargs)
    with pytest.raises(DataError, match=message):
        cifar10.read_batch(tmp_path / "b")


def test_unexpected_types_are_refused(tmp_path):
    import collections

    with open(tmp_path / "b", "wb") as f:
        pickle.dump(collections.OrderedDict(a=1), f, protocol=2)
    with pytest.raises(DataError, match="refused to load collections.OrderedDict"):
        cifar10.read_batch(tmp_path / "b")


def test_missing_batch_and_wrong_class_names(tmp_path):
    folder = write_cifar(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match="is missing data_batch_3"):
        cifar10.load(data_dir=tmp_path)
    write_cifar(tmp_path)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [b"a"] * 10}, f, protocol=2)
    with pytest.raises(DataError, match="are not CIFAR-10's"):
        cifar10.load(data_dir=tmp_path)


def test_predict_on_arrays(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    np.save(tmp_path / "nhwc.npy", X)
    np.testing.assert_array_equal(cifar10.read_image_array(tmp_path / "nhwc.npy"), X)
    rows = X.transpose(0, 3, 1, 2).reshape(5, 3072)
    np.save(tmp_path / "rows.npy", rows)
    np.testing.assert_array_equal(cifar10.read_image_array(tmp_path / "rows.npy"), X)
    np.save(tmp_path / "bad_shape.npy", X[:, :16])
    with pytest.raises(DataError, match=r"expected shape \(N, 3072\) or \(N, 32, 32, 3\); got \(5, 16, 32, 3\)"):
        cifar10.read_image_array(tmp_path / "bad_shape.npy")
    np.save(tmp_path / "bad_dtype.npy", X.astype(np.float32))
    with pytest.raises(DataError, match="expected uint8 pixels"):
        cifar10.read_image_array(tmp_path / "bad_dtype.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="holds Python objects; only plain numbers are read"):
        cifar10.read_image_array(tmp_path / "objects.npy")


def test_a_label_too_large_for_any_integer_type_is_a_clear_error(tmp_path):
    from fixtures import write_batch

    write_batch(tmp_path / "data_batch_1", 3, seed=0, labels=[1, 2**70, 3])
    with pytest.raises(DataError, match="labels must lie in 0..9; found 1180591620717411303424"):
        cifar10.read_batch(tmp_path / "data_batch_1")
