"""Tests for tinygrad_seq.data (corpora, vocabulary, batching and benchmark datasets)."""

from __future__ import annotations

import doctest
import importlib.util
import itertools
import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_seq import data
from tinygrad_seq.data import CharVocab, UnknownCharError

# --------------------------------------------------------------------------- docstrings


def _doctests() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(data, "data", globs=vars(data).copy()) if t.examples]


@pytest.mark.parametrize("test", _doctests(), ids=lambda t: t.name)
def test_docstring_examples_run(test: doctest.DocTest) -> None:
    if "digits_sequences" in test.name and importlib.util.find_spec("sklearn") is None:
        pytest.skip("scikit-learn not installed")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(test, out=lambda s: None)
    assert result.failed == 0, f"doctest failures in {test.name}"


@pytest.mark.parametrize("name", data.__all__)
def test_public_api_has_docstring_with_example(name: str) -> None:
    doc = getattr(data, name).__doc__
    assert doc and ">>>" in doc


# --------------------------------------------------------------------------- corpus


def test_stdlib_corpus_deterministic_nonempty_and_fast() -> None:
    start = time.perf_counter()
    text = data.stdlib_corpus()
    elapsed = time.perf_counter() - start
    assert len(text) == 2_000_000
    assert elapsed < 1.0
    assert "def " in text and "import " in text
    assert data.stdlib_corpus(max_chars=50_000) == text[:50_000]


def test_stdlib_corpus_seed_shuffles_deterministically() -> None:
    a = data.stdlib_corpus(max_chars=20_000, seed=1)
    b = data.stdlib_corpus(max_chars=20_000, seed=1)
    assert a == b and len(a) == 20_000
    assert a != data.stdlib_corpus(max_chars=20_000)


def test_stdlib_corpus_skips_tests_and_reads_sorted(tmp_path) -> None:
    (tmp_path / "b.py").write_text("B = 2\n", encoding="utf-8")
    (tmp_path / "a.py").write_text("A = 1", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not python\n", encoding="utf-8")
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "test_x.py").write_text("SKIPPED\n", encoding="utf-8")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_bytes(b"X = '\xff'\n")
    text = data.stdlib_corpus(max_chars=None, root=tmp_path)
    assert text == "A = 1\nB = 2\nX = '\ufffd'\n"
    assert data.stdlib_corpus(max_chars=3, root=tmp_path) == "A ="


def test_stdlib_corpus_errors(tmp_path) -> None:
    (tmp_path / "readme.txt").write_text("hi", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"no .py files"):
        data.stdlib_corpus(root=tmp_path)
    with pytest.raises(FileNotFoundError, match="not found"):
        data.stdlib_corpus(root=tmp_path / "missing")
    with pytest.raises(ValueError, match="max_chars"):
        data.stdlib_corpus(max_chars=0)


# --------------------------------------------------------------------------- read_text


def test_read_text_normalises_newlines_and_bom(tmp_path) -> None:
    p = tmp_path / "t.txt"
    p.write_bytes(b"\xef\xbb\xbfa\r\nb\rc\n")
    assert data.read_text(p) == "a\nb\nc\n"
    assert data.read_text(str(p)) == "a\nb\nc\n"


def test_read_text_errors_name_the_path(tmp_path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match=r"nope.txt"):
        data.read_text(missing)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.*empty.txt"):
        data.read_text(empty)
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match=r"binary.*blob.bin"):
        data.read_text(binary)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match=r"UTF-8.*latin.txt"):
        data.read_text(latin)
    with pytest.raises(IsADirectoryError, match="directory"):
        data.read_text(tmp_path)


# --------------------------------------------------------------------------- vocabulary

ALPHABET = "abc XYZ\n\t{}()_=é€😀"
VOCAB = CharVocab.from_text(ALPHABET)


@given(st.text(alphabet=ALPHABET))
def test_vocab_round_trip_over_alphabet(text: str) -> None:
    ids = VOCAB.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert ((ids >= 0) & (ids < len(VOCAB))).all()
    assert VOCAB.decode(ids) == text


@settings(max_examples=50)
@given(st.text(min_size=1))
def test_vocab_from_any_text_round_trips(text: str) -> None:
    vocab = CharVocab.from_text(text)
    assert vocab.chars == "".join(sorted(set(text)))
    assert vocab.decode(vocab.encode(text)) == text
    assert CharVocab.from_dict(json.loads(json.dumps(vocab.to_dict()))) == vocab


def test_vocab_basics() -> None:
    v = CharVocab.from_text("hello world")
    assert v.chars == " dehlorw"
    assert len(v) == 8
    assert "h" in v and "z" not in v
    assert v.encode("").shape == (0,) and v.encode("").dtype == np.int64
    assert v.decode([]) == ""
    assert v.decode(np.int64(3)) == "h"
    assert "CharVocab" in repr(v)
    assert CharVocab("abc").encode("cba").tolist() == [2, 1, 0]  # order as given


def test_vocab_unknown_char_error_names_char() -> None:
    v = CharVocab.from_text("abc")
    with pytest.raises(KeyError) as info:
        v.encode("abzc")
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, UnknownCharError)
    assert err.char == "z" and err.position == 2
    assert "'z'" in str(err) and "position 2" in str(err)


def test_vocab_unknown_fallback() -> None:
    v = CharVocab.from_text("abc", unknown="?")
    assert "?" in v and v.unknown == "?"
    assert v.decode(v.encode("axbyc")) == "a?b?c"
    with pytest.raises(ValueError, match="unknown"):
        CharVocab("abc", unknown="?")


def test_vocab_decode_errors() -> None:
    v = CharVocab("abc")
    with pytest.raises(ValueError, match="id 3"):
        v.decode([0, 3])
    with pytest.raises(ValueError, match="id -1"):
        v.decode([-1])
    with pytest.raises(TypeError, match="integer"):
        v.decode([0.5])
    with pytest.raises(ValueError, match="1-D"):
        v.decode([[0, 1]])


def test_vocab_construction_errors() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        CharVocab("aba")
    with pytest.raises(ValueError, match="single characters"):
        CharVocab(["ab"])
    with pytest.raises(ValueError, match="empty"):
        CharVocab.from_text("")
    with pytest.raises(ValueError):
        CharVocab("")
    with pytest.raises(KeyError, match="chars"):
        CharVocab.from_dict({})


def test_vocab_npz_round_trip_without_pickle(tmp_path) -> None:
    v = CharVocab.from_text("to be or not to be\n", unknown="~")
    path = tmp_path / "ckpt.npz"
    np.savez(path, **{f"vocab_{k}": val for k, val in v.to_dict().items()})
    with np.load(path, allow_pickle=False) as f:
        restored = CharVocab.from_dict({"chars": f["vocab_chars"], "unknown": f["vocab_unknown"]})
    assert restored == v
    strict = CharVocab.from_text("xyz")
    assert CharVocab.from_dict(strict.to_dict()).unknown is None


def test_vocab_encode_large_text_is_fast() -> None:
    text = data.stdlib_corpus(max_chars=500_000)
    v = CharVocab.from_text(text)
    start = time.perf_counter()
    ids = v.encode(text)
    assert time.perf_counter() - start < 0.5
    assert v.decode(ids) == text


# --------------------------------------------------------------------------- splitting


def test_train_val_split_contiguous() -> None:
    ids = np.arange(100)
    train, val = data.train_val_split(ids, val_fraction=0.1)
    assert len(train) == 90 and len(val) == 10
    np.testing.assert_array_equal(np.concatenate([train, val]), ids)
    train, val = data.train_val_split(ids, val_fraction=0.0)
    assert len(train) == 100 and len(val) == 0
    train, val = data.train_val_split(np.arange(5), val_fraction=0.01)
    assert len(val) == 1 and len(train) == 4


def test_train_val_split_errors() -> None:
    with pytest.raises(ValueError, match="val_fraction"):
        data.train_val_split(np.arange(10), val_fraction=1.0)
    with pytest.raises(ValueError, match="val_fraction"):
        data.train_val_split(np.arange(10), val_fraction=-0.1)
    with pytest.raises(ValueError, match="empty"):
        data.train_val_split(np.arange(1), val_fraction=0.5)
    with pytest.raises(ValueError, match="1-D"):
        data.train_val_split(np.zeros((2, 2), dtype=np.int64))


# --------------------------------------------------------------------------- batching


def test_char_batches_shapes_and_shift() -> None:
    ids = np.arange(1000) * 3  # values encode their positions
    batches = list(data.char_batches(ids, batch_size=8, seq_len=20, rng=0, num_batches=5))
    assert len(batches) == 5
    for x, y in batches:
        assert x.shape == y.shape == (8, 20)
        assert x.dtype == np.int64 and y.dtype == np.int64
        np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
        np.testing.assert_array_equal(y, x + 3)  # y is the next element of the stream
        np.testing.assert_array_equal(np.diff(x, axis=1), 3)  # windows are contiguous


def test_char_batches_random_offsets_and_reproducible() -> None:
    ids = np.arange(500)
    a = data.char_batches(ids, 4, 10, rng=np.random.default_rng(123))
    b = data.char_batches(ids, 4, 10, rng=np.random.default_rng(123))
    starts = []
    for _ in range(50):  # infinite iterator by default
        (xa, _), (xb, _) = next(a), next(b)
        np.testing.assert_array_equal(xa, xb)
        starts.extend(xa[:, 0].tolist())
    assert len(set(starts)) > 50
    assert min(starts) >= 0 and max(starts) <= 500 - 11


def test_char_batches_covers_both_ends() -> None:
    ids = np.arange(6)
    starts = set()
    for x, y in data.char_batches(ids, 16, 5, rng=0, num_batches=20):
        starts.update(x[:, 0].tolist())
        assert y[:, -1].max() <= 5
    assert starts == {0}
    starts = set()
    for x, _ in data.char_batches(np.arange(12), 16, 5, rng=1, num_batches=20):
        starts.update(x[:, 0].tolist())
    assert starts == set(range(7))


def test_char_batches_errors() -> None:
    with pytest.raises(ValueError, match="seq_len \\+ 1"):
        data.char_batches(np.arange(5), 2, 5, rng=0)
    with pytest.raises(ValueError, match="batch_size"):
        data.char_batches(np.arange(50), 0, 5, rng=0)
    with pytest.raises(TypeError, match="Generator"):
        data.char_batches(np.arange(50), 2, 5, rng=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="integers"):
        data.char_batches(np.linspace(0, 1, 50), 2, 5, rng=0)


def test_contiguous_batches_continue_each_stream() -> None:
    n, batch_size, seq_len = 1003, 4, 7
    ids = np.arange(n)
    batches = list(data.contiguous_batches(ids, batch_size, seq_len))
    stream_len = (n - 1) // batch_size
    assert sum(x.shape[1] for x, _ in batches) == stream_len
    for x, y in batches:
        assert x.shape[0] == batch_size and x.shape == y.shape
        assert x.dtype == np.int64
        np.testing.assert_array_equal(y, x + 1)
    for prev, nxt in itertools.pairwise(batches):
        # row b of the next batch starts right where row b of the previous one ended
        np.testing.assert_array_equal(nxt[0][:, 0], prev[0][:, -1] + 1)
        np.testing.assert_array_equal(nxt[0][:, 0], prev[1][:, -1])
    rows = np.concatenate([x for x, _ in batches], axis=1)
    for b in range(batch_size):
        np.testing.assert_array_equal(rows[b], ids[b * stream_len : (b + 1) * stream_len])
    assert all(x.shape[1] == seq_len for x, _ in batches[:-1])


def test_contiguous_batches_drop_last() -> None:
    batches = list(data.contiguous_batches(np.arange(23), 2, 5, drop_last=True))
    assert [x.shape for x, _ in batches] == [(2, 5), (2, 5)]
    batches = list(data.contiguous_batches(np.arange(23), 2, 5))
    assert [x.shape for x, _ in batches] == [(2, 5), (2, 5), (2, 1)]


def test_contiguous_batches_errors() -> None:
    with pytest.raises(ValueError, match="batch_size \\+ 1"):
        data.contiguous_batches(np.arange(4), 4, 3)
    with pytest.raises(ValueError, match="seq_len"):
        data.contiguous_batches(np.arange(40), 4, 0)


# --------------------------------------------------------------------------- adding problem


def test_adding_problem_statistics() -> None:
    n, T = 20_000, 30
    x, y = data.adding_problem(n, T, rng=np.random.default_rng(7))
    assert x.shape == (n, T, 2) and y.shape == (n, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    values, marks = x[:, :, 0], x[:, :, 1]
    assert values.min() >= 0.0 and values.max() <= 1.0
    assert set(np.unique(marks).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(marks.sum(axis=1), 2.0)
    np.testing.assert_array_equal(marks[:, : T // 2].sum(axis=1), 1.0)
    np.testing.assert_array_equal(marks[:, T // 2 :].sum(axis=1), 1.0)
    np.testing.assert_allclose(y[:, 0], (values * marks).sum(axis=1), rtol=1e-6)
    baseline_mse = float(np.mean((y - 1.0) ** 2))
    assert abs(baseline_mse - 1 / 6) < 0.01


def test_adding_problem_deterministic_and_small_T() -> None:
    a = data.adding_problem(5, 2, rng=3)
    b = data.adding_problem(5, 2, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[0][:, :, 1], 1.0)  # T=2: both positions are marked


def test_adding_problem_errors() -> None:
    with pytest.raises(ValueError, match="T must be >= 2"):
        data.adding_problem(4, 1, rng=0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        data.adding_problem(0, 10, rng=0)
    with pytest.raises(TypeError, match="int"):
        data.adding_problem(4, 10.0, rng=0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- digits


def test_digits_sequences() -> None:
    pytest.importorskip("sklearn")
    x, y = data.digits_sequences()
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.9
    assert set(np.unique(y).tolist()) == set(range(10))


def test_digits_sequences_missing_sklearn(monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        data.digits_sequences()
