"""tg.save / tg.load: exact round trips of arrays and nested state, and hostile files rejected
without executing anything."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_seq as tg
from tinygrad_seq import nn, optim

DTYPES = [
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.complex64, np.complex128,
]  # fmt: skip

NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


def assert_exactly_equal(a, b):
    """Same type, dtype, shape and bytes (NaN payloads and -0.0 included), recursively."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_exactly_equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_exactly_equal(x, y)
    elif isinstance(a, float):
        assert repr(a) == repr(b)
    else:
        assert a == b


def round_trip(obj, tmp_path, name="ckpt.npz"):
    path = tmp_path / name
    tg.save(obj, path)
    return tg.load(path)


# --- round trips ----------------------------------------------------------------------------------


@given(
    state=st.dictionaries(
        NAMES,
        st.sampled_from(DTYPES).flatmap(
            lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0))
        ),
        max_size=5,
    )
)
def test_state_dicts_of_any_dtype_and_shape_round_trip_exactly(state, tmp_path_factory):
    back = round_trip(state, tmp_path_factory.mktemp("ckpt"))
    assert_exactly_equal(state, back)


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(DTYPES).flatmap(lambda dt: hnp.from_dtype(np.dtype(dt))),  # NumPy scalars
    hnp.arrays(np.float32, hnp.array_shapes(max_dims=2, max_side=3)),
    hnp.arrays(hnp.unicode_string_dtypes(), hnp.array_shapes(max_dims=1, max_side=3)),
)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(NAMES, st.integers(-5, 5)), inner, max_size=3),
    ),
    max_leaves=10,
)


@given(obj=TREES)
def test_nested_state_round_trips_exactly(obj, tmp_path_factory):
    back = round_trip({"root": obj}, tmp_path_factory.mktemp("ckpt"))
    assert_exactly_equal({"root": obj}, back)


def test_model_optimizer_and_metadata_checkpoint(tmp_path):
    model = nn.Sequential(nn.Embedding(7, 3, seed=0), nn.Linear(3, 7, seed=1))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(np.array([[1, 2, 3]])).sum().backward()
    opt.step()
    ckpt = {
        "model": model.state_dict(),
        "optim": opt.state_dict(),
        "vocab": ["<pad>", "a", "é", "\n"],
        "meta": {"epoch": 3, "loss": 1.25, "name": "char-lm", "note": None},
    }
    back = round_trip(ckpt, tmp_path)
    assert_exactly_equal(ckpt, back)
    fresh = nn.Sequential(nn.Embedding(7, 3, seed=5), nn.Linear(3, 7, seed=6))
    fresh.load_state_dict(back["model"])
    idx = np.array([[4, 0, 6]])
    np.testing.assert_array_equal(fresh(idx).numpy(), model(idx).numpy())
    optim.Adam(fresh.parameters()).load_state_dict(back["optim"])


def test_arrays_are_npz_members_named_by_key(tmp_path):
    tg.save({"fc.weight": np.eye(2), "sub": {"x": np.arange(3)}}, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["fc.weight"], np.eye(2))
        np.testing.assert_array_equal(npz["sub/x"], np.arange(3))


def test_a_plain_savez_file_loads_as_a_dict(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.ones(2), b=np.arange(3))
    back = tg.load(tmp_path / "plain.npz")
    assert sorted(back) == ["a", "b"]
    np.testing.assert_array_equal(back["b"], np.arange(3))


def test_save_writes_exactly_at_the_path_and_replaces(tmp_path):
    path = tmp_path / "model.ckpt"
    tg.save({"a": np.zeros(1)}, path)
    tg.save({"a": np.ones(1)}, str(path))  # overwrite, str path
    assert sorted(os.listdir(tmp_path)) == ["model.ckpt"]  # no ".npz" added, no temp file left
    np.testing.assert_array_equal(tg.load(path)["a"], np.ones(1))


def test_tensors_are_saved_as_their_arrays(tmp_path):
    p = nn.Parameter(np.arange(3.0))
    np.testing.assert_array_equal(round_trip({"p": p}, tmp_path)["p"], np.arange(3.0))


def test_key_collisions_and_the_reserved_name(tmp_path):
    obj = {"a/b": np.zeros(1), "a": {"b": np.ones(1)}, "__tinygrad_seq__": np.full(1, 2.0)}
    assert_exactly_equal(obj, round_trip(obj, tmp_path))


def test_keys_that_zip_would_mangle_round_trip(tmp_path):
    names = ["\x00", "a\x00b", "/", "/abs", "a/../b", ".", "..", "", " ", "a//b", "a/", "\\x"]
    names += ["x.npy", "tab\t", "é", "array", "array~1"]
    obj = {name: np.full(1, i) for i, name in enumerate(names)}
    assert_exactly_equal(obj, round_trip(obj, tmp_path))


@pytest.mark.parametrize(
    "obj, message",
    [
        ({"x": np.array([object()], dtype=object)}, "dtype object"),
        ({"x": {1, 2}}, "cannot store set"),
        ({1.5: np.zeros(1)}, "keys must be str or int"),
        ({"x": lambda: 0}, "cannot store function"),
    ],
)
def test_unsupported_objects_are_refused_at_save(obj, message, tmp_path):
    with pytest.raises(TypeError, match=message):
        tg.save(obj, tmp_path / "x.npz")
    assert not os.listdir(tmp_path)  # nothing half-written


# --- hostile and damaged files --------------------------------------------------------------------

MARKER = "pwned.txt"


def _side_effect(path):
    with open(path, "w") as f:
        f.write("code ran")
    return 0


class Payload:
    """Unpickling this would call _side_effect: loading must never do that."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (_side_effect, (self.path,))


def _assert_rejected(path):
    with pytest.raises(ValueError, match="load: .*" + os.path.basename(path)):
        tg.load(path)


def test_object_arrays_in_an_npz_are_rejected_without_running_code(tmp_path):
    marker = tmp_path / MARKER
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.array([Payload(str(marker))], dtype=object))  # pickled inside the zip
    _assert_rejected(path)
    assert not marker.exists()


def test_a_pickle_file_is_rejected_without_running_code(tmp_path):
    marker = tmp_path / MARKER
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"w": Payload(str(marker))}))
    _assert_rejected(path)
    assert not marker.exists()


def test_a_manifest_of_a_hostile_shape_is_rejected(tmp_path):
    cases = {
        "not_json": "{not json",
        "bad_format": json.dumps({"format": 99, "tree": {"value": 1}}),
        "missing_array": json.dumps({"format": 1, "tree": {"array": "nope"}}),
        "unknown_node": json.dumps({"format": 1, "tree": {"exec": "print(1)"}}),
        "bad_value": json.dumps({"format": 1, "tree": {"value": [1, 2]}}),
        "bad_key": json.dumps({"format": 1, "tree": {"dict": [[[1], {"value": 1}]]}}),
        "deep": '{"format": 1, "tree": ' + '{"list": [' * 100000 + "]}" * 100000 + "}",
    }
    for name, manifest in cases.items():
        path = tmp_path / f"{name}.npz"
        with zipfile.ZipFile(path, "w") as zf:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.array(manifest), allow_pickle=False)
            zf.writestr("__tinygrad_seq__.npy", buf.getvalue())
        _assert_rejected(path)


def test_random_bytes_empty_and_npy_files_are_rejected(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "random.npz").write_bytes(rng.bytes(1000))
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "zipish.npz").write_bytes(b"PK\x03\x04" + rng.bytes(200))
    np.save(tmp_path / "array.npy", np.ones(3))
    for name in ("random.npz", "empty.npz", "zipish.npz", "array.npy"):
        _assert_rejected(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "missing.npz")


@given(cut=st.floats(0.0, 0.999))
def test_every_truncation_is_rejected_cleanly(cut, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trunc")
    good = tmp / "good.npz"
    tg.save({"w": np.arange(100.0), "meta": {"step": 3}}, good)
    data = good.read_bytes()
    bad = tmp / "truncated.npz"
    bad.write_bytes(data[: int(len(data) * cut)])
    _assert_rejected(bad)


def test_a_flipped_byte_is_detected(tmp_path):
    good = tmp_path / "good.npz"
    tg.save({"w": np.arange(100.0)}, good)
    data = bytearray(good.read_bytes())
    offset = data.index(np.arange(100.0).tobytes()[8:16])  # inside the array's payload
    data[offset] ^= 0xFF
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(data))
    _assert_rejected(bad)  # the zip's CRC catches it


# --- atomic writes and concurrent use -------------------------------------------------------------


def test_concurrent_saves_and_loads_never_see_a_torn_archive(tmp_path):
    import threading

    path = tmp_path / "shared.npz"
    states = [{"w": np.full(2000, float(i)), "id": i} for i in range(4)]
    tg.save(states[0], path)
    errors, seen = [], set()

    def writer(first):
        try:
            for n in range(30):
                tg.save(states[(first + n) % len(states)], path)
        except Exception as e:  # noqa: BLE001 - every failure is collected and reported
            errors.append(f"save: {type(e).__name__}: {e}")

    def reader():
        for _ in range(60):
            try:
                back = tg.load(path)
            except Exception as e:  # noqa: BLE001
                errors.append(f"load: {type(e).__name__}: {e}")
                continue
            expected = states[back["id"]]
            if not np.array_equal(back["w"], expected["w"]):
                errors.append(f"load: archive {back['id']} with the content of another")
            seen.add(back["id"])

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(seen) > 1  # the readers did see the writers' files change
    assert sorted(os.listdir(tmp_path)) == ["shared.npz"]  # no temp file left behind


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    tg.save({"a": np.zeros(3)}, path)

    def no_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(OSError, match="disk full"):
        tg.save({"a": np.ones(3)}, path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]
    np.testing.assert_array_equal(tg.load(path)["a"], np.zeros(3))


def test_saving_onto_a_directory_or_into_a_missing_one_names_the_path(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(IsADirectoryError, match="taken"):
        tg.save({"a": np.zeros(1)}, tmp_path / "taken")
    with pytest.raises(FileNotFoundError, match="nodir"):
        tg.save({"a": np.zeros(1)}, tmp_path / "nodir" / "m.npz")
    assert sorted(os.listdir(tmp_path)) == ["taken"] and not os.listdir(tmp_path / "taken")


def test_a_saved_file_gets_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        tg.save({"a": np.zeros(1)}, tmp_path / "m.npz")
    finally:
        os.umask(mask)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644  # as open() would make it


def test_atomic_write_replaces_only_on_success(tmp_path):
    from tinygrad_seq.serialization import atomic_write

    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(path, "w") as f:
        f.write("half")
        raise RuntimeError("crash while writing")
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["out.txt"]
    with atomic_write(path, "w") as f:
        f.write("new")
    assert path.read_text() == "new"


def test_check_writable_names_what_stops_a_write(tmp_path):
    # one rule for every writer (save, atomic_write, viz.explore, the CLI), checked before work
    from tinygrad_seq.serialization import atomic_write, check_writable

    check_writable(tmp_path / "new.npz")  # a new file in an existing folder: fine
    with pytest.raises(IsADirectoryError, match=r"save: cannot write .*: it is a folder"):
        check_writable(tmp_path, "save")
    with pytest.raises(FileNotFoundError, match=r"cannot write .*: no folder .*missing"):
        check_writable(tmp_path / "missing" / "m.npz")
    with pytest.raises(IsADirectoryError, match="it is a folder"), atomic_write(tmp_path):
        pass
    if os.name == "posix" and os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(PermissionError, match="cannot write into the folder"):
            check_writable(locked / "m.npz")


# --- declared sizes -------------------------------------------------------------------------------


def _npy_header(shape, dtype="<f8"):
    buf = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_header_that_claims_more_than_the_file_holds_is_rejected(tmp_path, compression):
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr("fine.npy", _npy_header((2,)) + np.ones(2).tobytes())
        zf.writestr("big.npy", _npy_header((2**40,)))  # 8 TiB declared, 0 bytes of data
    assert path.stat().st_size < 1000
    with pytest.raises(ValueError, match=r"huge\.npz.*'big'.*8796093022208 bytes"):
        tg.load(path)


def test_a_header_that_claims_less_than_the_member_holds_is_rejected(tmp_path):
    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", _npy_header((2,)) + np.ones(3).tobytes())
    with pytest.raises(ValueError, match=r"short\.npz.*'w'"):
        tg.load(path)


# --- file objects ---------------------------------------------------------------------------------


def test_a_file_object_round_trips_like_a_path(tmp_path):
    state = {"w": np.arange(6.0).reshape(2, 3), "step": 3}
    path = tmp_path / "f.npz"
    with open(path, "wb") as f:  # torch.save(obj, open(path, "wb")), the pattern of real scripts
        tg.save(state, f)
        assert not f.closed  # as torch.save: the caller's file stays open
    with open(path, "rb") as f:
        assert_exactly_equal(tg.load(f), state)
    assert_exactly_equal(tg.load(path), state)
    buffer = io.BytesIO()
    tg.save(state, buffer)
    assert buffer.getvalue() == path.read_bytes()
    buffer.seek(0)
    assert_exactly_equal(tg.load(buffer), state)


def test_a_file_object_not_at_its_start_or_not_seekable_loads(tmp_path):
    buffer = io.BytesIO(b"header")
    buffer.seek(0, io.SEEK_END)
    tg.save({"w": np.ones(2)}, buffer)
    buffer.seek(6)
    np.testing.assert_array_equal(tg.load(buffer)["w"], np.ones(2))

    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self._data.readinto(b)

    out = io.BytesIO()
    tg.save({"w": np.ones(2)}, out)
    np.testing.assert_array_equal(tg.load(Pipe(out.getvalue()))["w"], np.ones(2))


def test_text_files_and_other_objects_are_refused_with_the_mode_to_use(tmp_path):
    with open(tmp_path / "t.npz", "w") as f, pytest.raises(TypeError, match="'wb'"):
        tg.save({"w": np.ones(2)}, f)
    with pytest.raises(TypeError, match="path or a binary file object"):
        tg.save({"w": np.ones(2)}, 3)
    with open(tmp_path / "t.npz") as f, pytest.raises(TypeError, match="'rb'"):
        tg.load(f)


def test_a_damaged_file_object_is_named_in_the_error(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with open(path, "rb") as f, pytest.raises(ValueError, match="load: .*bad.npz"):
        tg.load(f)
    with pytest.raises(ValueError, match="load: '<BytesIO>' is not an .npz archive"):
        tg.load(io.BytesIO(b"nope"))


def test_load_accepts_torchs_arguments(tmp_path):
    path = tmp_path / "w.npz"
    tg.save({"w": np.ones(2)}, path)
    for map_location in (None, "cpu", {"cuda:0": "cpu"}, lambda storage, loc: storage):
        tg.load(path, map_location=map_location, weights_only=True, mmap=False)
    with pytest.raises(RuntimeError, match="'cuda' is not available"):
        tg.load(path, map_location="cuda")
    tg.load(path, pickle_module=pickle, encoding="latin1")  # for pickle, which is never used


def test_load_and_the_safe_list_have_torchs_signatures():
    torch = pytest.importorskip("torch")
    import inspect

    for name in ("load", "add_safe_globals", "get_safe_globals", "clear_safe_globals"):
        ours = inspect.signature(getattr(tg.serialization, name))
        theirs = inspect.signature(getattr(torch.serialization, name))
        assert list(ours.parameters) == list(theirs.parameters), name
    assert tg.serialization.load is tg.load and tg.serialization.save is tg.save
    tg.load(io.BytesIO(_saved({"w": np.ones(1)})), map_location=torch.device("cpu"))


def _saved(obj):
    buffer = io.BytesIO()
    tg.save(obj, buffer)
    return buffer.getvalue()


def _edited(data, old, new):
    """The archive ``data`` with ``old`` replaced by ``new`` in its JSON manifest."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            member = zin.read(info)
            if info.filename == "__tinygrad_seq__.npy":
                manifest = str(np.load(io.BytesIO(member))[()])
                assert old in manifest
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.array(manifest.replace(old, new)))
                member = buf.getvalue()
            zout.writestr(info.filename, member)
    return out.getvalue()


# --- whole modules --------------------------------------------------------------------------------


class RNNModel(nn.Module):
    """PyTorch's word-language-model example: embedding, LSTM, linear decoder."""

    def __init__(self, ntoken, ninp, nhid, nlayers, dropout=0.5, dtype=np.float32):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp, dtype=dtype)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout, dtype=dtype)
        self.decoder = nn.Linear(nhid, ntoken, dtype=dtype)
        self.nlayers = nlayers

    def forward(self, x, hidden=None):
        out, hidden = self.rnn(self.drop(self.encoder(x)), hidden)
        return self.decoder(self.drop(out)), hidden


class Wider(RNNModel):
    """A subclass that calls its parent's constructor with other arguments."""

    def __init__(self, ntoken):
        super().__init__(ntoken, 6, 7, 1, dropout=0.0)


TOKENS = np.array([[1, 2], [3, 4], [5, 6]])


def _trained_model():
    model = RNNModel(10, 4, 5, 2, dropout=0.2, dtype=tg.float64)
    for p in model.parameters():  # not the initial values: the state must really be loaded
        p.numpy()[...] += 0.1
    return model.eval()


def test_a_module_round_trips_and_computes_the_same(tmp_path):
    model = _trained_model()
    expected, _ = model(TOKENS)
    tg.save(model, tmp_path / "model.pt")
    with tg.serialization.safe_globals([RNNModel]):
        back = tg.load(tmp_path / "model.pt")
    assert type(back) is RNNModel and back is not model
    assert back.training is False and back.rnn.training is False  # eval() survives
    assert back.nlayers == 2 and back.rnn.dropout == 0.2
    assert back.decoder.weight.dtype == np.float64
    np.testing.assert_array_equal(back(TOKENS)[0].numpy(), expected.numpy())
    for (name, p), (_, q) in zip(model.named_parameters(), back.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
    assert tg.serialization.get_safe_globals() == []  # the with block restored the list


def test_a_module_inside_a_checkpoint_dict_and_add_safe_globals(tmp_path):
    model = _trained_model()
    opt = optim.Adam(model.parameters())
    tg.save({"model": model, "optimizer": opt.state_dict(), "epoch": 3}, tmp_path / "c.npz")
    tg.serialization.add_safe_globals([RNNModel])
    try:
        back = tg.load(tmp_path / "c.npz")
    finally:
        tg.serialization.clear_safe_globals()
    assert back["epoch"] == 3 and isinstance(back["model"], RNNModel)
    np.testing.assert_array_equal(back["model"](TOKENS)[0].numpy(), model(TOKENS)[0].numpy())
    with np.load(tmp_path / "c.npz") as npz:  # arrays stay readable by NumPy alone
        assert "model/rnn.weight_ih_l0.npy" in npz.zip.namelist()


def test_a_subclass_keeps_its_own_constructor_arguments(tmp_path):
    model = Wider(12)
    assert model._init_args == ((12,), {})
    with tg.serialization.safe_globals([Wider]):
        back = tg.load(io.BytesIO(_saved(model)))
    assert type(back) is Wider and back.rnn.hidden_size == 7


def test_library_modules_need_no_allowing_and_modules_as_arguments_work():
    seq = nn.Sequential(nn.Linear(3, 4, seed=0), nn.Tanh(), nn.Linear(4, 2, seed=1))
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    back_seq, back_lstm = tg.load(io.BytesIO(_saved([seq, lstm])))
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(back_seq(x).numpy(), seq(x).numpy())
    assert back_lstm.batch_first and back_lstm.num_layers == 2


def test_a_class_not_allowed_is_refused_naming_it_and_how_to_allow_it(tmp_path):
    tg.save(_trained_model(), tmp_path / "m.pt")
    with pytest.raises(pickle.UnpicklingError, match="RNNModel.*add_safe_globals.*safe_globals"):
        tg.load(tmp_path / "m.pt")
    with pytest.raises(pickle.UnpicklingError, match="m.pt"):
        tg.load(tmp_path / "m.pt", weights_only=True)
    back = tg.load(tmp_path / "m.pt", weights_only=False)  # any Module subclass defined here
    assert type(back) is RNNModel


def test_a_file_naming_a_module_never_imported_is_refused_without_importing(tmp_path):
    import sys

    data = _saved(nn.Linear(2, 2))
    forged = _edited(data, "tinygrad_seq.nn.layers.Linear", "evil_mod_xyz.nn.layers.Linear")
    for weights_only in (True, False):
        with pytest.raises(pickle.UnpicklingError, match="evil_mod_xyz"):
            tg.load(io.BytesIO(forged), weights_only=weights_only)
    assert "evil_mod_xyz" not in sys.modules


def test_a_constructor_argument_that_is_not_data_is_refused_at_save(tmp_path):
    class Activated(nn.Module):
        def __init__(self, width, activation):
            super().__init__()
            self.fc, self.activation = nn.Linear(width, width), activation

    with pytest.raises(TypeError, match="Activated was built with activation=<ufunc 'tanh'>"):
        tg.save(Activated(2, np.tanh), tmp_path / "a.pt")
    with pytest.raises(
        TypeError, match=r"Activated2 was built with options\['f'\]=<built-in function len>"
    ):
        tg.save(nn.Sequential(Activated2(options={"f": len})), tmp_path / "a.pt")
    assert not os.listdir(tmp_path)  # nothing half-written


class Activated2(nn.Module):
    def __init__(self, options):
        super().__init__()


def test_plain_data_arguments_of_every_kind_round_trip():
    class Spec(nn.Module):
        def __init__(self, *sizes, dtype=np.float32, names=(), table=None, scale=None):
            super().__init__()
            self.seen = (sizes, dtype, names, table, scale)

    spec = Spec(
        1, 2.5, True, None, dtype=np.dtype("float64"), names=("a", "b"), table={"k": [1, 2]},
        scale=np.float32(0.5),
    )  # fmt: skip
    with tg.serialization.safe_globals([Spec]):
        back = tg.load(io.BytesIO(_saved(spec)))
    assert_exactly_equal(back.seen, spec.seen)
    assert tg.load(io.BytesIO(_saved(nn.Linear(2, 3, dtype=tg.float64)))).weight.dtype == np.float64


def test_loading_a_module_draws_no_random_numbers():
    data = _saved(nn.LSTM(3, 4))
    tg.manual_seed(0)
    expected = tg.randn(3).numpy()
    tg.manual_seed(0)
    tg.load(io.BytesIO(data))
    np.testing.assert_array_equal(tg.randn(3).numpy(), expected)


def test_a_state_that_no_longer_fits_the_class_names_the_file_and_class(tmp_path):
    class Grows(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.fc = nn.Linear(width, 2)

    model = Grows(3)
    tg.save(model, tmp_path / "g.pt")
    data = (tmp_path / "g.pt").read_bytes()
    (tmp_path / "g.pt").write_bytes(
        _edited(data, '"args": [{"value": 3}]', '"args": [{"value": 4}]')
    )
    with (
        tg.serialization.safe_globals([Grows]),
        pytest.raises(ValueError, match="g.pt.*does not fit Grows.*shape"),
    ):
        tg.load(tmp_path / "g.pt")
    (tmp_path / "g.pt").write_bytes(
        _edited(data, '"args": [{"value": 3}]', '"args": [{"value": "x"}]')
    )
    with (
        tg.serialization.safe_globals([Grows]),
        pytest.raises(ValueError, match="g.pt.*building Grows again.*in_features"),
    ):
        tg.load(tmp_path / "g.pt")


def test_safe_globals_api():
    class A(nn.Module):
        pass

    ser = tg.serialization
    ser.add_safe_globals([A, (A, "__main__.A")])
    ser.add_safe_globals([A])  # no duplicates
    assert ser.get_safe_globals() == [A, (A, "__main__.A")]
    with ser.safe_globals([nn.Linear]):
        assert ser.get_safe_globals() == [A, (A, "__main__.A"), nn.Linear]
    assert ser.get_safe_globals() == [A, (A, "__main__.A")]
    ser.clear_safe_globals()
    assert ser.get_safe_globals() == []
    with pytest.raises(TypeError, match="expected a class"):
        ser.add_safe_globals([3])


def test_a_model_built_with_random_generators_round_trips():
    rngs = [np.random.default_rng(1), np.random.Generator(np.random.MT19937(2))]
    model = nn.Sequential(nn.Embedding(5, 3, seed=rngs[0]), nn.Dropout(0.5, seed=rngs[1]))
    back = tg.load(io.BytesIO(_saved(model)))
    np.testing.assert_array_equal(back[0].weight.numpy(), model[0].weight.numpy())
    kept = back._init_args[0][1]._init_args[1]["seed"]
    assert kept.random() == rngs[1].random()  # rebuilt at the state it had when saved


def test_the_recorded_constructor_keeps_its_signature_and_docstring():
    import inspect

    assert str(inspect.signature(RNNModel)) == (
        "(ntoken, ninp, nhid, nlayers, dropout=0.5, dtype=<class 'numpy.float32'>)"
    )
    assert RNNModel.__init__.__name__ == "__init__" and RNNModel.__init__.__wrapped__


def test_the_word_language_model_pattern_runs_unchanged(tmp_path):
    """torch.save(model, f) with an open file, then torch.load inside safe_globals with a device,
    as PyTorch's word_language_model example's main.py and generate.py do."""
    device = "cpu"
    save_path = tmp_path / "model.pt"
    model = RNNModel(10, 4, 5, 2, dropout=0.2).to(device)
    with open(save_path, "wb") as f:
        tg.save(model, f)
    with open(save_path, "rb") as f, tg.serialization.safe_globals([RNNModel]):
        model2 = tg.load(f, map_location=device)
    model.eval()
    model2.eval()
    with tg.no_grad():
        out, hidden = model2(TOKENS)
    np.testing.assert_array_equal(out.numpy(), model(TOKENS)[0].numpy())
