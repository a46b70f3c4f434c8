"""tinygrad_seq.utils.data against torch.utils.data: with the same index order the batches are
torch's (values, dtypes, structure); shuffling is reproducible under tg.manual_seed; samplers,
splits and the loader's argument errors match PyTorch's. And the tinygrad_seq.onnx stub."""

import collections

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq.utils import data

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def _plain(batch):
    """A batch as nested Python values with dtypes, so both libraries' batches compare."""
    if isinstance(batch, (tg.Tensor, torch.Tensor)):
        array = batch.numpy() if isinstance(batch, tg.Tensor) else batch.detach().numpy()
        return ("tensor", str(array.dtype), array.tolist())
    if isinstance(batch, dict):
        return {k: _plain(v) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return (type(batch).__name__, [_plain(v) for v in batch])
    if isinstance(batch, (list, tuple)):
        return (type(batch).__name__, [_plain(v) for v in batch])
    return batch


Point = collections.namedtuple("Point", "x y")
RNG = np.random.default_rng(0)
SAMPLES = {
    "arrays": [RNG.standard_normal((2, 3)).astype(np.float32) for _ in range(7)],
    "floats": [float(v) for v in RNG.standard_normal(7)],
    "ints": list(range(7)),
    "bools": [bool(i % 2) for i in range(7)],
    "numpy scalars": [np.float32(v) for v in RNG.standard_normal(7)],
    "strings": [f"s{i}" for i in range(7)],
    "tuples": [(RNG.standard_normal(2), i, f"s{i}") for i in range(7)],
    "lists": [[i, float(i)] for i in range(7)],
    "dicts": [{"x": RNG.standard_normal(3), "y": i, "name": "n"} for i in range(7)],
    "namedtuples": [Point(np.ones(2) * i, i) for i in range(7)],
    "nested": [{"pair": (i, [float(i), 2.0])} for i in range(7)],
}


@pytest.mark.parametrize("kind", list(SAMPLES))
@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (7, False), (1, False)])
def test_batches_equal_torchs_in_the_same_order(kind, batch_size, drop_last):
    samples = SAMPLES[kind]
    order = [5, 0, 3, 6, 1, 2, 4]  # any fixed order: a sampler is any iterable of indices
    ours = data.DataLoader(samples, batch_size, sampler=order, drop_last=drop_last)
    theirs = tdata.DataLoader(samples, batch_size, sampler=order, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]


def test_tensor_dataset_batches_equal_torchs():
    x, y = RNG.standard_normal((10, 4)), np.arange(10)
    ours = data.DataLoader(data.TensorDataset(tg.tensor(x), y), batch_size=4)
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=4)
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]
    assert len(ours) == len(theirs) == 3


def test_no_batching_converts_each_sample_as_torch():
    samples = SAMPLES["tuples"][:3] + SAMPLES["dicts"][:2]
    ours = data.DataLoader(samples, batch_size=None)
    theirs = tdata.DataLoader(samples, batch_size=None)
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs] and len(ours) == 5


def test_batch_sampler_and_collate_fn():
    batches = [[3, 1], [0], [2, 4, 5]]
    ours = data.DataLoader(list("abcdef"), batch_sampler=batches, collate_fn="".join)
    theirs = tdata.DataLoader(list("abcdef"), batch_sampler=batches, collate_fn="".join)
    assert list(ours) == list(theirs) == ["db", "a", "cef"]
    assert len(ours) == 3


def test_shuffle_is_reproducible_under_manual_seed_and_new_every_epoch():
    def epochs():
        tg.manual_seed(123)
        loader = data.DataLoader(range(20), batch_size=6, shuffle=True)
        return [[b.tolist() for b in loader] for _ in range(2)]

    first, second = epochs(), epochs()
    assert first == second  # the same seed, the same orders
    assert first[0] != first[1]  # each epoch draws a new permutation
    for epoch in first:
        assert sorted(sum(epoch, [])) == list(range(20)) and [len(b) for b in epoch] == [6] * 3 + [
            2
        ]


def test_shuffle_with_a_generator_does_not_touch_the_global_one():
    tg.manual_seed(0)
    expected = tg.rand(3).tolist()
    tg.manual_seed(0)
    loader = data.DataLoader(
        range(10), batch_size=5, shuffle=True, generator=np.random.default_rng(7)
    )
    a = [b.tolist() for b in loader]
    assert tg.rand(3).tolist() == expected
    loader = data.DataLoader(
        range(10), batch_size=5, shuffle=True, generator=np.random.default_rng(7)
    )
    assert [b.tolist() for b in loader] == a


def test_random_sampler_replacement_and_num_samples():
    rng = np.random.default_rng(0)
    draws = list(data.RandomSampler(range(5), replacement=True, num_samples=50, generator=rng))
    assert len(draws) == 50 and set(draws) <= set(range(5))
    longer = list(data.RandomSampler(range(4), num_samples=10, generator=1))
    assert sorted(longer[:4]) == sorted(longer[4:8]) == [0, 1, 2, 3] and len(longer) == 10
    assert len(data.RandomSampler(range(4), num_samples=10)) == len(
        tdata.RandomSampler(range(4), num_samples=10)
    )


def test_weighted_and_subset_random_samplers():
    drawn = list(data.WeightedRandomSampler([0.0, 3.0, 1.0], 400, generator=0))
    assert set(drawn) == {1, 2} and 0.65 < drawn.count(1) / 400 < 0.85
    unique = list(data.WeightedRandomSampler([1, 1, 1, 0], 3, replacement=False, generator=0))
    assert sorted(unique) == [0, 1, 2]
    assert sorted(data.SubsetRandomSampler([9, 4, 6], generator=0)) == [4, 6, 9]
    assert len(data.SubsetRandomSampler([9, 4, 6])) == 3


@pytest.mark.parametrize(
    "sampler_len, batch_size, drop_last",
    [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)],
)
def test_batch_sampler_matches_torch(sampler_len, batch_size, drop_last):
    ours = data.BatchSampler(data.SequentialSampler(range(sampler_len)), batch_size, drop_last)
    theirs = tdata.BatchSampler(tdata.SequentialSampler(range(sampler_len)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_subset_concat_and_dataset_add_match_torch():
    for m in (data, tdata):
        sub = m.Subset(list("abcdef"), [5, 1, 3])
        assert (len(sub), sub[0]) == (3, "f")
        assert m.Subset(np.arange(10, 16), [5, 1, 3])[[0, 2]].tolist() == [15, 13]
        both = m.ConcatDataset([list("ab"), list("cde")])
        assert (len(both), both[2], both[-1], both.cumulative_sizes) == (5, "c", "e", [2, 5])

    class Squares(data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return i * i

    joined = Squares() + Squares()
    assert isinstance(joined, data.ConcatDataset) and [joined[i] for i in range(6)] == [0, 1, 4] * 2


@pytest.mark.parametrize(
    "lengths, n", [([3, 7], 10), ([0.5, 0.5], 10), ([0.3, 0.3, 0.4], 11), ([0.1, 0.9], 1)]
)
def test_random_split_sizes_match_torch_and_cover_the_dataset(lengths, n):
    with pytest.warns(UserWarning) if n == 1 else _nothing():
        ours = data.random_split(range(n), lengths, generator=0)
    with pytest.warns(UserWarning) if n == 1 else _nothing():
        theirs = tdata.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s) == list(range(n))


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_random_split_is_reproducible_under_manual_seed():
    tg.manual_seed(5)
    a = [list(s) for s in data.random_split(range(12), [4, 8])]
    tg.manual_seed(5)
    assert [list(s) for s in data.random_split(range(12), [4, 8])] == a


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.random_split(range(10), [3, 3]),
        lambda m: m.TensorDataset(*(_zeros(m, n) for n in (3, 4))),
        lambda m: m.BatchSampler(range(3), 0, False),
        lambda m: m.BatchSampler(range(3), 2, 1),
        lambda m: m.RandomSampler(range(3), replacement=1),
        lambda m: m.RandomSampler(range(3), num_samples=0),
        lambda m: m.WeightedRandomSampler([1.0, 2.0], 0),
        lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 2),
        lambda m: m.DataLoader(range(3), sampler=[0, 1], shuffle=True),
        lambda m: m.DataLoader(range(3), batch_sampler=[[0]], batch_size=2),
        lambda m: m.DataLoader(range(3), batch_size=None, drop_last=True),
        lambda m: m.DataLoader(range(3), num_workers=-1),
        lambda m: m.DataLoader(range(3), timeout=-1),
        lambda m: m.DataLoader(range(3), persistent_workers=True),
        lambda m: m.DataLoader(range(3), prefetch_factor=2),
        lambda m: m.DataLoader(_Stream(m), shuffle=True),
        lambda m: m.DataLoader(_Stream(m), sampler=[0]),
        lambda m: list(m.DataLoader([object(), object()], batch_size=2)),
        lambda m: list(m.DataLoader([[1, 2], [3]], batch_size=2)),
        lambda m: list(m.DataLoader([np.array(["a"]), np.array(["b"])], batch_size=2)),
        lambda m: list(m.DataLoader([np.zeros(2), np.zeros(3)], batch_size=2)),
        lambda m: m.Dataset()[0],
    ],
)
def test_errors_match_torchs_types_and_words(call):
    with pytest.raises(Exception) as theirs:
        call(tdata)
    with pytest.raises(type(theirs.value)) as ours:
        call(data)
    squeeze = str.maketrans("", "", " '\"")
    assert str(theirs.value).translate(squeeze)[:25] in str(ours.value).translate(squeeze)


def _zeros(m, n):
    return torch.zeros(n) if m is tdata else tg.zeros(n)


def _Stream(m):
    class Stream(m.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    return Stream()


@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (None, False)])
def test_iterable_dataset_batches_and_length_match_torch(batch_size, drop_last):
    ours = data.DataLoader(_Stream(data), batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(_Stream(tdata), batch_size=batch_size, drop_last=drop_last)
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]
    assert len(ours) == len(theirs)


def test_workers_are_refused_clearly_and_pin_memory_is_accepted():
    with pytest.raises(NotImplementedError, match="num_workers=4.*pass num_workers=0"):
        data.DataLoader(range(3), num_workers=4)
    with pytest.warns(UserWarning, match="no accelerator is found"):  # as torch on a CPU
        loader = data.DataLoader(range(3), batch_size=2, pin_memory=True)
    assert [b.tolist() for b in loader] == [[0, 1], [2]] and loader.pin_memory


def test_a_getitems_dataset_is_fetched_a_batch_at_a_time():
    class Batched(data.Dataset):
        calls = []

        def __len__(self):
            return 5

        def __getitems__(self, indices):
            self.calls.append(list(indices))
            return [float(i) for i in indices]

    loader = data.DataLoader(Batched(), batch_size=2)
    assert [b.tolist() for b in loader] == [[0.0, 1.0], [2.0, 3.0], [4.0]]
    assert Batched.calls == [[0, 1], [2, 3], [4]]


def test_a_training_loop_over_a_loader_runs_as_in_torch():
    tg.manual_seed(0)
    x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(-1, 1)
    y = 3 * x + 1
    train, val = data.random_split(data.TensorDataset(x, y), [0.75, 0.25])
    model = tg.nn.Linear(1, 1)
    opt = tg.optim.SGD(model.parameters(), lr=0.3)
    for _ in range(30):
        for xb, yb in data.DataLoader(train, batch_size=8, shuffle=True):
            opt.zero_grad()
            loss = tg.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
    xb, yb = next(iter(data.DataLoader(val, batch_size=len(val))))
    assert xb.shape == (8, 1) and tg.nn.functional.mse_loss(model(xb), yb).item() < 1e-3


# --- onnx ------------------------------------------------------------------------------------


def test_onnx_imports_and_export_says_what_to_do_instead():
    import tinygrad_seq.onnx

    assert tg.onnx is tinygrad_seq.onnx and not tg.onnx.is_in_onnx_export()
    with pytest.raises(NotImplementedError, match=r"cannot export ONNX.*tg\.save"):
        tg.onnx.export(tg.nn.Linear(2, 1, seed=0), tg.zeros(1, 2), "model.onnx")


def test_datasets_and_samplers_are_generic_as_torchs():
    class Pairs(data.Dataset[tuple]):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return (i, float(i))

    class Stream(data.IterableDataset[int]):
        def __iter__(self):
            return iter(range(3))

    class Evens(data.Sampler[int]):
        def __iter__(self):
            return iter([0])

    assert [_plain(b) for b in data.DataLoader(Pairs(), batch_size=2, sampler=Evens())] == [
        ("list", [("tensor", "int64", [0]), ("tensor", "float64", [0.0])])
    ]
    assert [b.tolist() for b in data.DataLoader(Stream(), batch_size=2)] == [[0, 1], [2]]
