"""Tabular data: the shipped Iris, stratified splits, standardisation, the CSV reader's errors."""

import numpy as np
import pytest

from backproplab.data.dataset import Dataset, Standardizer
from backproplab.data.errors import DataError
from backproplab.data.splits import stratified_split
from backproplab.data.tabular import iris_path, read_csv, split_tabular


def test_iris_ships_with_the_package():
    X, y, names, features = read_csv(iris_path())
    assert X.shape == (150, 4) and names == ["setosa", "versicolor", "virginica"]
    assert np.bincount(y).tolist() == [50, 50, 50]
    assert features[0] == "sepal_length_cm"


@pytest.mark.parametrize("seed", [0, 2])
def test_iris_split_is_105_15_30_stratified_and_deterministic(seed):
    X, y, _, _ = read_csv(iris_path())
    a, b = split_tabular(X, y, seed=seed), split_tabular(X, y, seed=seed)
    assert {k: len(v[1]) for k, v in a.items()} == {"validate": 15, "test": 30, "train": 105}
    for part in a:
        np.testing.assert_array_equal(a[part][0], b[part][0])
    assert np.bincount(a["test"][1]).tolist() == [10, 10, 10]
    assert np.bincount(a["validate"][1]).tolist() == [5, 5, 5]


def test_splits_are_disjoint_and_cover_everything():
    y = np.repeat(np.arange(4), [30, 20, 40, 10])
    parts = stratified_split(y, {"validate": 10, "test": 20}, seed=3)
    allidx = np.concatenate(list(parts.values()))
    assert sorted(allidx.tolist()) == list(range(100))
    assert len(parts["validate"]) == 10 and len(parts["test"]) == 20


def test_standardisation_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train = (rng.normal(5, 2, (200, 3)), rng.integers(0, 2, 200))
    shifted = (rng.normal(50, 20, (40, 3)), rng.integers(0, 2, 40))
    data = Dataset({"train": train, "validate": shifted, "test": shifted}, n_classes=2, batch_size=10)
    Xtr, _ = data.split("train")
    np.testing.assert_allclose(Xtr.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Xtr.std(axis=0), 1, atol=1e-5)
    Xv, _ = data.split("validate")
    assert Xv.mean() > 10  # validation statistics did not leak into the transform
    restored = Standardizer.from_arrays(data.standardizer.to_arrays())
    np.testing.assert_array_equal(restored(shifted[0]), Xv)


def test_mini_batches_merge_a_last_batch_of_one():
    from backproplab.nn.training import batch_slices

    assert [s.stop - s.start for s in batch_slices(50, 16)] == [16, 16, 16, 2]
    assert [s.stop - s.start for s in batch_slices(49, 16)] == [16, 16, 17]  # 1 left over: merged
    assert [s.stop - s.start for s in batch_slices(1, 16)] == [1]
    assert [s.stop - s.start for s in batch_slices(55000, 97)][-1] == 97 + 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b,label\n1,x,0\n2,3,1\n", r"line 2, column 'b': 'x' is not a number"),
        ("a,b,label\n1,,0\n2,3,1\n", r"line 2, column 'b': missing value"),
        ("a,b,label\n1,NA,0\n2,3,1\n", r"missing value"),
        ("a,b,label\n1,2,0\n2,3,0\n", r"single class"),
        ("a,b,label\n1,2\n", r"2 fields but the header has 3"),
        ("a,b,label\n", r"at least one data row"),
        ("a,b,label\n1,inf,0\n2,3,1\n", r"not finite"),
    ],
)
def test_csv_errors_name_the_problem(tmp_path, text, message):
    path = tmp_path / "mine.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_csv(path)


def test_csv_with_a_named_label_column(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("kind,x\ncat,1\ndog,2\ncat,3\n")
    X, y, names, features = read_csv(path, label_column="kind")
    assert names == ["cat", "dog"] and y.tolist() == [0, 1, 0] and features == ["x"]
    with pytest.raises(DataError, match="no column named 'label'"):
        read_csv(path, label_column="label")


def test_csv_limits_are_clear_errors(tmp_path):
    (tmp_path / "wide.csv").write_text("a,label\n" + "1" * 200_000 + ",0\n")
    with pytest.raises(DataError, match="not a readable CSV"):
        read_csv(tmp_path / "wide.csv")
    with pytest.raises(DataError, match="/dev/zero: is not a regular file"):
        read_csv("/dev/zero")  # a device that never ends: refused before anything is read
    (tmp_path / "nul.csv").write_bytes(b"a,b\n1,\x000\n")
    with pytest.raises(DataError, match="NUL"):
        read_csv(tmp_path / "nul.csv")


def test_missing_csv_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="nope.csv: file not found"):
        read_csv(tmp_path / "nope.csv")
