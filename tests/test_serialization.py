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
