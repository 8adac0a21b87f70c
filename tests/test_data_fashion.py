"""The IDX reader, data discovery and the checksummed download (against a loopback server)."""

import gzip


import numpy as np
import pytest

from backproplab.data import discovery, fashion_mnist
from backproplab.data.errors import DataError
from backproplab.data.idx import read_idx
from fixtures import idx_bytes, write_fashion


@pytest.mark.parametrize("gz", [True, False])
def test_reads_raw_and_gzip(tmp_path, gz):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(idx_bytes(arr)) if gz else idx_bytes(arr))
    np.testing.assert_array_equal(read_idx(path), arr)


def test_reads_wider_dtypes(tmp_path):
    arr = np.array([[1.5, -2.0]], dtype=np.float32)
    (tmp_path / "f.idx").write_bytes(idx_bytes(arr, 0x0D))
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), arr)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b[:-5], r"truncated: the header declares shape \(2, 3, 4\) \(24 bytes of data\), the file holds 19"),
        (lambda b: b + b"xx", "has trailing bytes"),
        (lambda b: b"\x01" + b[1:], "not an IDX file"),
        (lambda b: b[:2] + b"\x07" + b[3:], "unknown IDX dtype code 0x07"),
        (lambda b: b[:10], "truncated IDX header"),
        (lambda b: b[:2], "too short"),
    ],
)
def test_bad_idx_files_name_the_problem(tmp_path, mutate, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(mutate(idx_bytes(np.zeros((2, 3, 4), dtype=np.uint8))))
    with pytest.raises(DataError, match=message):
        read_idx(path)


def test_truncated_gzip_is_refused(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((50, 28, 28), dtype=np.uint8)))[:-40])
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        read_idx(path)


def test_images_and_labels_must_agree(tmp_path):
    folder = write_fashion(tmp_path / "f", labels=np.arange(7, dtype=np.uint8))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz holds 20 images but train-labels-idx1-ubyte.gz "
                                        "holds 7 labels"):
        fashion_mnist.load(data_dir=folder)


def test_labels_out_of_range(tmp_path):
    folder = write_fashion(tmp_path / "f", n_train=12, n_test=12, labels=np.full(12, 11, dtype=np.uint8))
    with pytest.raises(DataError, match="label 11 is out of range 0..9"):
        fashion_mnist.load(data_dir=folder)


def test_discovery_order(no_data, monkeypatch):
    tmp = no_data
    cache = write_fashion(tmp / "cache" / "backproplab" / "fashion-mnist")
    assert discovery.find_data(fashion_mnist.SPEC) == cache
    system = write_fashion(tmp / "system")
    assert discovery.find_data(fashion_mnist.SPEC) == system
    env = write_fashion(tmp / "env" / "fashion-mnist")
    monkeypatch.setenv("BACKPROPLAB_DATA", str(tmp / "env"))
    assert discovery.find_data(fashion_mnist.SPEC) == env
    explicit = write_fashion(tmp / "mine")
    assert discovery.find_data(fashion_mnist.SPEC, data_dir=tmp / "mine") == explicit
    write_fashion(tmp / "parent" / "fashion-mnist")
    assert discovery.find_data(fashion_mnist.SPEC, data_dir=tmp / "parent") == tmp / "parent" / "fashion-mnist"


def test_nothing_found_lists_where_and_how(no_data):
    with pytest.raises(discovery.DataNotFoundError) as err:
        discovery.find_data(fashion_mnist.SPEC)
    message = str(err.value)
    assert "fashion-mnist not found. Looked in:" in message
    assert str(no_data / "system") in message and str(no_data / "cache" / "backproplab" / "fashion-mnist") in message
    assert "apt-get install dataset-fashion-mnist" in message and "--download" in message


def test_a_folder_missing_one_file_names_it(no_data):
    folder = write_fashion(no_data / "mine")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="is missing t10k-labels-idx1-ubyte.gz"):
        discovery.find_data(fashion_mnist.SPEC, data_dir=folder)
