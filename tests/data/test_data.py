"""ember.data: datasets, samplers, collation, the DataLoader (with workers) and the bundled datasets."""

import gzip
from collections import namedtuple

import numpy as np
import pytest

import ember as em
from ember.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    datasets,
    default_collate,
    get_worker_info,
    random_split,
)


def _ds(n=10):
    return TensorDataset(em.arange(n * 2.0).reshape(n, 2), em.arange(n))


def test_tensor_dataset_rows_and_shape_error():
    ds = _ds()
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3 and len(ds) == 10
    with pytest.raises(em.ShapeError, match=r"shapes \(3, 2\), \(4,\)"):
        TensorDataset(em.zeros(3, 2), em.zeros(4))


def test_subset_concat_and_random_split():
    ds = _ds()
    sub = Subset(ds, [9, 0])
    assert sub[0][1].item() == 9 and len(sub) == 2
    cat = ConcatDataset([ds, _ds(3)])
    assert len(cat) == 13 and cat[11][1].item() == 1 and cat[-1][1].item() == 2
    with pytest.raises(IndexError, match="13 is out of range for length 13"):
        cat[13]
    em.manual_seed(0)
    a, b = random_split(ds, [7, 3])
    assert len(a) == 7 and len(b) == 3 and sorted(a.indices + b.indices) == list(range(10))
    c, d, e = random_split(range(10), [0.5, 0.3, 0.2])
    assert [len(c), len(d), len(e)] == [5, 3, 2]
    with pytest.raises(ValueError, match="sum of input lengths \\(9\\)"):
        random_split(ds, [5, 4])


def test_samplers():
    ds = _ds()
    assert list(SequentialSampler(ds)) == list(range(10))
    em.manual_seed(1)
    perm = list(RandomSampler(ds))
    assert sorted(perm) == list(range(10)) and perm != list(range(10))
    assert len(list(RandomSampler(ds, replacement=True, num_samples=25))) == 25
    assert sorted(SubsetRandomSampler([2, 5, 7])) == [2, 5, 7]
    draws = list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000))
    assert 0 not in draws and abs(draws.count(2) / 4000 - 0.75) < 0.03
    assert list(BatchSampler(SequentialSampler(range(5)), 2, False)) == [[0, 1], [2, 3], [4]]
    assert list(BatchSampler(SequentialSampler(range(5)), 2, True)) == [[0, 1], [2, 3]]
    assert len(BatchSampler(range(5), 2, False)) == 3
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(5), 0, False)


def test_default_collate_nests_like_torch():
    Point = namedtuple("Point", "x y")
    batch = [
        {"a": em.tensor([1.0, 2.0]), "b": (np.array([1, 2]), 3), "c": 1.5, "s": "u", "p": Point(1, True)},
        {"a": em.tensor([3.0, 4.0]), "b": (np.array([3, 4]), 5), "c": 2.5, "s": "v", "p": Point(2, False)},
    ]
    out = default_collate(batch)
    assert out["a"].shape == (2, 2) and out["a"].dtype == em.float32
    assert out["b"][0].tolist() == [[1, 2], [3, 4]] and out["b"][1].tolist() == [3, 5]
    assert out["c"].dtype == em.float64 and out["s"] == ["u", "v"]
    assert out["p"].x.tolist() == [1, 2] and out["p"].y.tolist() == [True, False]
    with pytest.raises(em.ShapeError, match=r"sample 0 has shape \(2,\) and sample 1 has shape \(3,\)"):
        default_collate([em.zeros(2), em.zeros(3)])


def test_dataloader_batches_shuffle_and_drop_last():
    ds = _ds()
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    em.manual_seed(3)
    first = [b[1].tolist() for b in DataLoader(ds, batch_size=4, shuffle=True)]
    em.manual_seed(3)
    again = [b[1].tolist() for b in DataLoader(ds, batch_size=4, shuffle=True)]
    assert first == again and sorted(sum(first, [])) == list(range(10))
    unbatched = list(DataLoader(ds, batch_size=None))
    assert len(unbatched) == 10 and unbatched[0][0].shape == (2,)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)


class _ListDataset(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full(3, i, np.float32), "y": i}


def test_workers_give_the_same_batches_in_the_same_order():
    for ds in (_ds(37), _ListDataset(37)):
        em.manual_seed(5)
        plain = list(DataLoader(ds, batch_size=4, shuffle=True))
        em.manual_seed(5)
        parallel = list(DataLoader(ds, batch_size=4, shuffle=True, num_workers=2))
        assert len(plain) == len(parallel) == 10
        for a, b in zip(plain, parallel):
            pa, pb = (a["x"], b["x"]) if isinstance(a, dict) else (a[0], b[0])
            np.testing.assert_array_equal(pa.numpy(), pb.numpy())


class _Failing(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise KeyError("bad sample 2")
        return i


def test_worker_errors_surface_with_traceback():
    with pytest.raises(RuntimeError, match="(?s)worker.*KeyError: 'bad sample 2'"):
        list(DataLoader(_Failing(), batch_size=1, num_workers=2))


class _Stream(IterableDataset):
    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, 10, step))


def test_iterable_dataset_with_and_without_workers():
    assert [b.tolist() for b in DataLoader(_Stream(), batch_size=4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    got = sorted(sum((b.tolist() for b in DataLoader(_Stream(), batch_size=2, num_workers=2)), []))
    assert got == list(range(10))


def test_loader_state_dict_resumes_mid_epoch():
    ds = _ds(20)
    em.manual_seed(11)
    loader = DataLoader(ds, batch_size=3, shuffle=True)
    it = iter(loader)
    seen = [next(it)[1].tolist() for _ in range(3)]
    state = loader.state_dict()
    rest = [b[1].tolist() for b in it]
    resumed = DataLoader(ds, batch_size=3, shuffle=True)
    resumed.load_state_dict(state)
    assert [b[1].tolist() for b in resumed] == rest
    assert state["batches_yielded"] == 3 and len(seen) == 3


def test_digits_dataset():
    train, test = datasets.digits(), datasets.digits(train=False)
    assert len(train) + len(test) == 1797 and len(test) == 359
    x, y = train[0]
    assert x.shape == (1, 8, 8) and x.dtype == em.float32 and 0 <= x.numpy().min() and x.numpy().max() <= 1
    assert set(train.tensors[1].tolist()) == set(range(10))
    flat = datasets.digits(flatten=True)
    assert flat[0][0].shape == (64,)
    np.testing.assert_array_equal(datasets.digits().tensors[1].numpy(), train.tensors[1].numpy())


def _write_idx(path, array, gz):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.tobytes()
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST])
def test_mnist_reads_idx_files(tmp_path, gz, cls):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    raw = tmp_path / cls.__name__ / "raw"
    raw.mkdir(parents=True)
    suffix = ".gz" if gz else ""
    _write_idx(raw / f"t10k-images-idx3-ubyte{suffix}", images, gz)
    _write_idx(raw / f"t10k-labels-idx1-ubyte{suffix}", labels, gz)
    ds = cls(tmp_path, train=False)
    assert len(ds) == 5
    x, y = ds[2]
    assert x.shape == (1, 28, 28) and y == 4
    np.testing.assert_allclose(x.numpy()[0], images[2] / 255.0, rtol=1e-6)
    xb, yb = next(iter(DataLoader(ds, batch_size=5)))
    assert xb.shape == (5, 1, 28, 28) and yb.tolist() == [3, 1, 4, 1, 5]


def test_missing_files_say_where_to_put_what(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)train-images-idx3-ubyte.*Put the files in"):
        datasets.MNIST(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"data_batch_1\.bin.*binary version"):
        datasets.CIFAR10(tmp_path)


def test_cifar10_binary(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rng = np.random.default_rng(0)
    records = rng.integers(0, 256, (4, 3073)).astype(np.uint8)
    records[:, 0] = [0, 9, 2, 3]
    records.tofile(folder / "test_batch.bin")
    ds = datasets.CIFAR10(tmp_path, train=False)
    x, y = ds[1]
    assert len(ds) == 4 and y == 9 and x.shape == (3, 32, 32)
    np.testing.assert_allclose(x.numpy().ravel(), records[1, 1:] / 255.0, rtol=1e-6)
