"""Checkpoints without pickle: ``save(obj, f)`` writes an ``.npz`` archive, ``load(f)`` reads it
back exactly; ``f`` is a path or a binary file object (``open(path, "wb")``, ``io.BytesIO``).

``obj`` is a state_dict ({name: ndarray}) or any nesting of dicts (str or int keys), lists and
tuples whose leaves are ndarrays, NumPy scalars, Tensors (stored as their arrays), or Python
bool/int/float/str/None: a model's and an optimizer's state, a vocabulary, metadata. Each array is
one ``.npy`` member named by its key path (``model/fc.weight``), so ``np.load`` reads the file
too; the structure and the Python leaves are kept in a JSON member, ``__tinygrad_seq__.npy``.

A whole ``nn.Module`` may be saved too (``torch.save(model, f)``): it is stored as data, its
class's name, the arguments its constructor was called with and its state_dict; ``load`` calls
the constructor again and loads the state. Only classes on an allow-list are rebuilt, as with
``torch.serialization.add_safe_globals`` / ``safe_globals``: the library's own modules, and
classes you allow. ``load(f, weights_only=False)`` also allows any ``nn.Module`` subclass the
running program has defined: torch's False would unpickle anything (and so can run code); here it
only widens the allow-list, and nothing named in a file is ever imported. What is saved is the
constructor's arguments, the state_dict and train/eval modes: attributes changed after
construction are not, and a module rebuilt from them must accept the saved state.

Loading never unpickles (``allow_pickle=False``) and never executes anything from the file. A
file that is not such an archive (random bytes, a pickle, a truncated or corrupt zip, object
arrays, a malformed manifest, an array header that declares more bytes than the file holds,
checked before anything is allocated) raises ``ValueError`` naming the path and the entry. A
plain ``np.savez`` file of numeric arrays loads as a dict of arrays.

Saving to a path writes a temporary file beside it and renames it (``atomic_write``): a crash, a
full disk or Ctrl-C leave the old file, and threads or processes saving and loading one path at
once each see a whole archive. A file object is written as given: atomicity is then the caller's.

>>> import os, tempfile, numpy as np, tinygrad_seq as tg
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
>>> state = {"model": {"w": np.eye(2, dtype=np.float32)}, "step": 7, "vocab": ["a", "b"]}
>>> tg.save(state, path)
>>> back = tg.load(path)
>>> back["step"], back["vocab"], back["model"]["w"].dtype
(7, ['a', 'b'], dtype('float32'))
"""

import contextlib
import inspect
import io
import json
import math
import os
import pickle  # only for its exception type: torch.load refuses a class with UnpicklingError
import tempfile
import zipfile

import numpy as np

from ._tensor import Tensor, _check_device
from .factories import generator
from .nn.module import Module, Parameter

__all__ = [
    "add_safe_globals",
    "atomic_write",
    "check_writable",
    "clear_safe_globals",
    "get_safe_globals",
    "load",
    "safe_globals",
    "save",
]

_MANIFEST = "__tinygrad_seq__"
_FORMAT = 1
_ARRAY_KINDS = "biufcUS"  # numbers, bools and fixed-width strings: all stored without pickle
_PY_SCALARS = (bool, int, float, str, type(None))
# what NumPy, zipfile and json raise on a damaged or hostile file (RecursionError: deep JSON)
_BAD_FILE = (
    OSError,
    EOFError,
    zipfile.BadZipFile,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    RecursionError,
)


def save(obj, f):
    """Write ``obj`` (a state_dict, a nesting of dicts/lists/tuples, or a whole ``nn.Module``;
    see the module docstring) to ``f`` as an ``.npz`` archive. ``f`` is a path, written exactly
    there (no suffix is added) through ``atomic_write``, so a crash never leaves half a
    checkpoint and concurrent saves and loads of one path never see a torn file; or a binary
    file object, written from its current position as given (atomicity is then the caller's).

    >>> import io, numpy as np, tinygrad_seq as tg
    >>> buffer = io.BytesIO()
    >>> tg.save({"weight": np.ones(3)}, buffer)
    >>> _ = buffer.seek(0); tg.load(buffer)["weight"]
    array([1., 1., 1.])
    """
    arrays = {}
    tree = _encode(obj, (), arrays)
    manifest = json.dumps({"format": _FORMAT, "tree": tree}, allow_nan=True)
    if isinstance(f, (str, bytes, os.PathLike)):
        with atomic_write(f) as out:
            _write_archive(out, manifest, arrays)
        return
    if isinstance(f, io.TextIOBase) or not callable(getattr(f, "write", None)):
        raise TypeError(
            f"save: f must be a path or a binary file object (open(path, 'wb'), io.BytesIO()), "
            f"got {type(f).__name__}"
        )
    _write_archive(f, manifest, arrays)
    if callable(getattr(f, "flush", None)):
        f.flush()


def _write_archive(f, manifest, arrays):
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        _write_member(zf, _MANIFEST, np.array(manifest))
        for name, array in arrays.items():
            _write_member(zf, name, array)


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Open a new file next to ``path`` for writing (``mode`` "wb" or "w", UTF-8); when the block
    ends without an exception, flush it to disk and rename it to ``path`` in one step. Readers
    see the old file or the complete new one, never a part; on any failure the temporary file is
    removed and ``path`` is left as it was. Each call has its own temporary file, so threads and
    processes may write the same path at once (the last rename wins).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_write(path, "w") as f:
    ...     _ = f.write("all or nothing")
    >>> open(path).read()
    'all or nothing'
    """
    path = os.fspath(path)
    check_writable(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot write {path!r}: no folder {folder!r}") from None
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            with contextlib.suppress(OSError):  # mkstemp makes it private; give it open()'s mode
                os.chmod(tmp, 0o666 & ~_umask())
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # Ctrl-C too: never leave the temporary file behind
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_folder(folder)  # the rename itself survives a power cut


def check_writable(path, who=None):
    """Raise what writing ``path`` would meet, before the work that makes its contents (so that
    none is lost at the end): ``IsADirectoryError`` if it is a folder, ``FileNotFoundError`` if
    its folder does not exist, ``PermissionError`` if that folder cannot be written into. The
    message names the path and starts with ``who`` (a function, a command-line option) if given.

    >>> import os, tempfile
    >>> check_writable(os.path.join(tempfile.mkdtemp(), "new.txt"))  # fine: nothing raised
    >>> check_writable(tempfile.mkdtemp(), who="explore")
    Traceback (most recent call last):
    IsADirectoryError: explore: cannot write '...': it is a folder; give a file name
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    where = f"cannot write {path!r}" if who is None else f"{who}: cannot write {path!r}"
    if os.path.isdir(path):
        raise IsADirectoryError(f"{where}: it is a folder; give a file name")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{where}: no folder {folder!r}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"{where}: cannot write into the folder {folder!r}")


def _umask():
    """The process's umask, read without changing it where Linux allows (os.umask sets it, and
    another thread creating a file meanwhile would get the wrong mode)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder):
    """fsync a directory where the system allows it (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_member(zf, name, array):
    with zf.open(name + ".npy", "w", force_zip64=True) as f:
        np.lib.format.write_array(f, array, allow_pickle=False)


def _encode(obj, key_path, arrays):
    """The JSON description of ``obj``; its arrays go into ``arrays`` under unique names."""
    where = "/".join(map(str, key_path)) or "the object"
    if isinstance(obj, Tensor):
        obj = obj._data
    if isinstance(obj, (np.ndarray, np.generic)):
        if obj.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(
                f"save: {where} has dtype {obj.dtype}; only numeric, bool and string arrays can "
                "be saved without pickle"
            )
        name = _unique_name(_member_name(key_path), arrays)
        arrays[name] = np.asarray(obj)
        return {"array": name, "scalar": isinstance(obj, np.generic)}
    if type(obj) in _PY_SCALARS:
        return {"value": obj}
    if isinstance(obj, dict):
        for k in obj:
            if type(k) not in (str, int):
                raise TypeError(f"save: keys must be str or int, got {k!r} in {where}")
        return {"dict": [[k, _encode(v, key_path + (k,), arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, key_path + (i,), arrays) for i, v in enumerate(obj)]}
    if isinstance(obj, Module):
        return {"module": _encode_module(obj, key_path, arrays, with_state=True)}
    raise TypeError(
        f"save: cannot store {type(obj).__name__} at {where} without pickle; use arrays, numbers, "
        "strings, None, nn.Modules, and dicts/lists/tuples of them"
    )


def _member_name(key_path):
    """The key path as a zip member name, if zip keeps it as it is; else a neutral name (the
    manifest maps names back to keys, so only ``np.load`` users ever see member names)."""
    name = "/".join(map(str, key_path))
    parts = name.split("/")
    unsafe = any(part in ("", ".", "..") for part in parts) or any(
        ch == "\\" or not ch.isprintable() for ch in name
    )
    return "array" if unsafe else name


def _unique_name(name, taken):
    if name == _MANIFEST:
        name += "_"
    candidate, n = name, 1
    while candidate in taken:
        candidate, n = f"{name}~{n}", n + 1
    return candidate


def load(
    f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args
):
    """Read a file written by ``save`` and return the object, with the same keys, types, dtypes
    and values. ``f`` is a path or a binary file object. Raises ``ValueError`` naming the file
    if it is not a valid archive.

    A saved ``nn.Module`` is rebuilt only if its class is allowed (see ``add_safe_globals``):
    the library's own classes always are; with ``weights_only=False`` so is any ``nn.Module``
    subclass this program has defined (still without pickle; nothing is imported). Otherwise
    ``pickle.UnpicklingError`` names the class and how to allow it, as ``torch.load`` does.
    ``map_location`` may be None, "cpu", a CPU device, a dict of them or a function (the old
    ``lambda storage, loc: storage`` idiom, not called): everything loads on the CPU. ``mmap``,
    ``pickle_module`` and ``pickle_load_args`` (``encoding=...``) are accepted and have no effect:
    nothing is unpickled.

    >>> import os, tempfile, numpy as np, tinygrad_seq as tg
    >>> path = os.path.join(tempfile.mkdtemp(), "opt.npz")
    >>> tg.save({"state": {0: {"step": 3}}, "betas": (0.9, 0.999)}, path)
    >>> tg.load(path, map_location="cpu", weights_only=True)
    {'state': {0: {'step': 3}}, 'betas': (0.9, 0.999)}
    """
    _check_map_location(map_location)
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only must be True, False or None, got {weights_only!r}")
    with _opened(f) as (stream, where):
        if stream.read(4) != b"PK\x03\x04":
            raise ValueError(f"load: {where!r} is not an .npz archive (no zip header)")
        try:
            return _read_archive(stream, _resolver(where, any_module=weights_only is False))
        except _BAD_FILE as e:
            raise ValueError(
                f"load: {where!r} is not a valid tinygrad_seq checkpoint: {type(e).__name__}: {e}"
            ) from None
        except _RebuildError as e:
            raise ValueError(f"load: {where!r}: {e}") from e.__cause__


def _read_archive(stream, resolve):
    stream.seek(0)
    _check_declared_sizes(stream)
    stream.seek(0)  # one open file throughout: a concurrent save's rename cannot mix two files
    with np.load(stream, allow_pickle=False) as npz:
        members = {name: npz[name] for name in npz.files}
    if _MANIFEST not in members:  # a plain np.savez file
        return members
    manifest = json.loads(str(members.pop(_MANIFEST)[()]))
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ValueError(f"unsupported manifest {str(manifest)[:80]!r}")
    return _decode(manifest["tree"], members, resolve)


@contextlib.contextmanager
def _opened(f):
    """(a seekable binary stream at the archive's start, the name errors call it)."""
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as stream:  # a missing file raises FileNotFoundError, as open does
            yield stream, os.fsdecode(f)
        return
    if isinstance(f, io.TextIOBase) or not callable(getattr(f, "read", None)):
        raise TypeError(
            f"load: f must be a path or a binary file object (open(path, 'rb'), io.BytesIO), "
            f"got {type(f).__name__}"
        )
    name = getattr(f, "name", None)
    where = os.fsdecode(name) if isinstance(name, (str, bytes)) else f"<{type(f).__name__}>"
    seekable = callable(getattr(f, "seekable", None)) and f.seekable()
    if seekable and f.tell() == 0:
        yield f, where
    else:  # a pipe, or an archive that starts further in: read the rest into memory
        yield io.BytesIO(f.read()), where


def _check_map_location(map_location):
    if isinstance(map_location, dict):
        for device in map_location.values():
            _check_device(device)
    elif not callable(map_location):
        _check_device(map_location)


# deflate never expands data more than 1032-fold; a member claiming more is lying
_DEFLATE_MAX_RATIO = 1032


def _check_declared_sizes(f):
    """Before NumPy allocates anything, check each ``.npy`` member's header against the bytes the
    archive really holds: shape x itemsize must be what follows the header, and the member's own
    uncompressed size must be possible for its compressed size (a 262-byte file must not be able
    to ask for 8 TiB)."""
    archive_size = f.seek(0, io.SEEK_END)
    f.seek(0)
    with zipfile.ZipFile(f) as zf:
        for info in zf.infolist():
            entry = info.filename.removesuffix(".npy")
            if info.compress_type == zipfile.ZIP_STORED:
                possible = info.compress_size
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                possible = info.compress_size * _DEFLATE_MAX_RATIO + 1024
            else:
                raise ValueError(f"entry {entry!r} uses an unsupported compression method")
            if info.compress_size > archive_size or info.file_size > possible:
                raise ValueError(
                    f"entry {entry!r} claims {info.file_size} bytes, more than the file holds"
                )
            if info.filename.endswith(".npy"):
                with zf.open(info) as member:
                    _check_npy_size(member, info.file_size, entry)


def _check_npy_size(member, member_size, entry):
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:  # 3.0 only exists for structured dtypes with non-Latin-1 field names
        raise ValueError(f"entry {entry!r} has .npy format version {version}, not 1.0 or 2.0")
    header_size = member.tell()
    if dtype.hasobject or any(n < 0 for n in shape):
        return  # refused by np.load itself (allow_pickle=False) / a bad shape
    declared = math.prod(shape) * dtype.itemsize
    if declared != member_size - header_size:
        raise ValueError(
            f"entry {entry!r} declares shape {shape} of {dtype} ({declared} bytes) but holds "
            f"{member_size - header_size} bytes"
        )


def _decode(node, arrays, resolve):
    """Rebuild the object described by manifest ``node``; every malformed node raises."""
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise ValueError(f"malformed manifest node {str(node)[:80]!r}")
    if "array" in node:
        array = arrays[node["array"]]
        return array[()] if node.get("scalar") else array
    if "value" in node:
        if type(node["value"]) not in _PY_SCALARS:
            raise ValueError(f"malformed value {str(node['value'])[:80]!r}")
        return node["value"]
    if "dict" in node:
        out = {}
        for key, value in node["dict"]:
            if type(key) not in (str, int):
                raise ValueError(f"malformed key {key!r}")
            out[key] = _decode(value, arrays, resolve)
        return out
    if "list" in node:
        return [_decode(v, arrays, resolve) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, arrays, resolve) for v in node["tuple"])
    if "module" in node:
        return _decode_module(node["module"], arrays, resolve)
    if "dtype" in node:
        return _decode_dtype(node)
    if "generator" in node:
        return _decode_generator(_decode(node["generator"], arrays, resolve))
    if "tensor" in node:
        kind = Parameter if node.get("parameter") is True else Tensor
        return kind(np.array(_decode(node["tensor"], arrays, resolve), copy=True))
    raise ValueError(f"malformed manifest node {str(node)[:80]!r}")


# --- whole modules: class name + constructor arguments + state_dict, never pickle -----------------


class _RebuildError(Exception):
    """A module named by a valid file could not be built again (its message is complete)."""


def _full_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _encode_module(module, key_path, arrays, with_state):
    """The data that rebuilds ``module``: its class, constructor arguments and (unless it is itself
    an argument of a parent, whose state_dict covers it) its state and train/eval modes."""
    cls = type(module)
    args, kwargs = module.__dict__.get("_init_args", ((), {}))
    names = _argument_names(cls, len(args))
    here = key_path + ("__init__",)
    spec = {
        "class": _full_name(cls),
        "args": [
            _encode_argument(a, cls, names[i], here + (i,), arrays) for i, a in enumerate(args)
        ],
        "kwargs": [
            [k, _encode_argument(v, cls, k, here + (k,), arrays)] for k, v in kwargs.items()
        ],
        "state": None,
        "training": None,
    }
    if with_state:
        spec["state"] = _encode(module.state_dict(), key_path, arrays)
        spec["training"] = [[name, m.training] for name, m in module.named_modules()]
    return spec


def _argument_names(cls, count):
    """The names of the first ``count`` positional parameters of ``cls``'s constructor."""
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for i in range(count):
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        var = [p.name for p in params if p.kind == p.VAR_POSITIONAL]
        if i < len(positional):
            names.append(positional[i].name)
        else:
            names.append(f"{var[0]}[{i - len(positional)}]" if var else f"argument {i}")
    return names


def _encode_argument(value, cls, name, key_path, arrays):
    """A constructor argument as data: numbers, strings, bools, None, dtypes, arrays, Tensors,
    random Generators (their state), modules (rebuilt from their own arguments) and
    lists/tuples/dicts of them."""
    if isinstance(value, Module):
        return {"module": _encode_module(value, key_path, arrays, with_state=False)}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {"dtype": np.dtype(value).str, "type": isinstance(value, type)}
    if isinstance(value, Tensor):
        array = _encode(value._data, key_path, arrays)
        return {"tensor": array, "parameter": isinstance(value, Parameter)}
    if isinstance(value, np.random.Generator):  # a ``seed=rng``: kept as its state, plain data
        return {"generator": _encode(value.bit_generator.state, key_path, arrays)}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        items = enumerate(value)
        return {
            kind: [
                _encode_argument(v, cls, f"{name}[{i}]", key_path + (i,), arrays) for i, v in items
            ]
        }
    if isinstance(value, dict) and all(type(k) in (str, int) for k in value):
        items = value.items()
        return {
            "dict": [
                [k, _encode_argument(v, cls, f"{name}[{k!r}]", key_path + (k,), arrays)]
                for k, v in items
            ]
        }
    if type(value) in _PY_SCALARS or isinstance(value, (np.ndarray, np.generic)):
        return _encode(value, key_path, arrays)
    raise TypeError(
        f"save: {cls.__name__} was built with {name}={_short_repr(value)} (a "
        f"{type(value).__name__}), which is not plain data. A whole module is saved without "
        "pickle as its class, its constructor's arguments and its state_dict, so the arguments "
        "must be numbers, strings, bools, None, dtypes, arrays, Generators, modules, or "
        "lists/tuples/dicts of them. Save model.state_dict() instead and build the model in "
        "code before loading it."
    )


def _short_repr(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _decode_dtype(node):
    if set(node) != {"dtype", "type"} or not isinstance(node["dtype"], str):
        raise ValueError(f"malformed dtype node {str(node)[:80]!r}")
    dtype = np.dtype(node["dtype"])
    if dtype.kind not in _ARRAY_KINDS:
        raise ValueError(f"dtype {dtype} is not a plain data type")
    return dtype.type if node["type"] is True else dtype


_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")


def _decode_generator(state):
    """A np.random.Generator at a saved state (NumPy checks the state's fields)."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(f"unknown bit generator {str(name)[:40]!r}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _decode_module(spec, arrays, resolve):
    """Check the class against the allow-list first, then build it and load its state."""
    if not isinstance(spec, dict) or set(spec) != {"class", "args", "kwargs", "state", "training"}:
        raise ValueError(f"malformed module node {str(spec)[:80]!r}")
    if not isinstance(spec["class"], str):
        raise ValueError(f"malformed class name {str(spec['class'])[:80]!r}")
    cls = resolve(spec["class"])
    args = [_decode(a, arrays, resolve) for a in spec["args"]]
    kwargs = {}
    for key, value in spec["kwargs"]:
        if type(key) is not str:
            raise ValueError(f"malformed keyword argument name {key!r}")
        kwargs[key] = _decode(value, arrays, resolve)
    state = None if spec["state"] is None else _decode(spec["state"], arrays, resolve)
    module = _construct(cls, args, kwargs)
    if state is not None:
        try:
            module.load_state_dict(state)
        except (TypeError, ValueError) as e:
            raise _RebuildError(f"the saved state does not fit {cls.__name__}: {e}") from e
    if spec["training"] is not None:
        modules = dict(module.named_modules())
        for name, flag in spec["training"]:
            if name not in modules or type(flag) is not bool:
                raise ValueError(f"malformed training flag {name!r}: {flag!r}")
            object.__setattr__(modules[name], "training", flag)
    return module


def _construct(cls, args, kwargs):
    """cls(*args, **kwargs), leaving the global random generator as it was (torch.load draws no
    random numbers; the initial values drawn here are overwritten by the saved state anyway)."""
    rng = generator()
    before = rng.bit_generator.state
    try:
        return cls(*args, **kwargs)
    except Exception as e:
        raise _RebuildError(
            f"building {cls.__name__} again from its saved constructor arguments failed: "
            f"{type(e).__name__}: {e}"
        ) from e
    finally:
        rng.bit_generator.state = before


def _resolver(where, any_module):
    """name -> allowed Module subclass, or pickle.UnpicklingError saying how to allow it."""

    def resolve(name):
        cls = _find_class(name, any_module)
        if cls is not None:
            return cls
        short = name.rsplit(".", 1)[-1]
        hint = (
            "; or load with weights_only=False, which allows any nn.Module subclass this program "
            "has defined (still without pickle)"
            if not any_module
            else "; no nn.Module subclass of that name is defined in this program either"
        )
        raise pickle.UnpicklingError(
            f"load: {where!r} holds a module of class {name}, which is not an allowed class: "
            "loading would call its constructor with arguments from the file. If you trust "
            f"this class, allow it with tinygrad_seq.serialization.add_safe_globals([{short}]) "
            f"or the tinygrad_seq.serialization.safe_globals([{short}]) context manager{hint}."
        )

    return resolve


def _find_class(name, any_module):
    """The allowed class called ``name`` (module.qualname); None if there is none. The file's
    name is only compared with classes that already exist: nothing is ever imported."""
    for entry in _SAFE_GLOBALS:
        obj, full = entry if isinstance(entry, tuple) else (entry, _full_name(entry))
        if full == name:
            if not (isinstance(obj, type) and issubclass(obj, Module)):
                raise pickle.UnpicklingError(
                    f"load: {name} is on the safe list, but only nn.Module subclasses are rebuilt"
                )
            return obj
    found = None
    for cls in _module_classes():  # the last definition of a name wins, as a re-run cell's
        ours = cls.__module__ == "tinygrad_seq" or cls.__module__.startswith("tinygrad_seq.")
        if _full_name(cls) == name and (ours or any_module):
            found = cls
    return found


def _module_classes():
    """Module and every subclass defined so far (an iterative walk)."""
    seen, stack, out = set(), [Module], []
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.add(cls)
            out.append(cls)
            stack.extend(reversed(cls.__subclasses__()))
    return out


# --- the allow-list, as torch.serialization's ----------------------------------------------------

_SAFE_GLOBALS = []  # classes, or (class, "module.qualname") pairs, in the order added


def add_safe_globals(safe_globals):
    """Allow ``load`` to rebuild modules of these classes, as
    ``torch.serialization.add_safe_globals``: each entry is a class, or (class, "module.qualname")
    when the file names it differently (say a class saved from ``__main__``). Allowing a class
    means trusting its constructor with any plain-data arguments a file gives it.

    >>> import tinygrad_seq as tg
    >>> class Net(tg.nn.Module):
    ...     pass
    >>> tg.serialization.add_safe_globals([Net, (Net, "__main__.Net")])
    >>> len(tg.serialization.get_safe_globals())
    2
    >>> tg.serialization.clear_safe_globals()
    """
    for entry in safe_globals:
        obj = entry[0] if isinstance(entry, tuple) else entry
        if isinstance(entry, tuple) and (len(entry) != 2 or not isinstance(entry[1], str)):
            raise TypeError(f"add_safe_globals: expected a class or (class, name), got {entry!r}")
        if not callable(obj):
            raise TypeError(f"add_safe_globals: expected a class, got {entry!r}")
        if entry not in _SAFE_GLOBALS:
            _SAFE_GLOBALS.append(entry)


def get_safe_globals():
    """The classes added by ``add_safe_globals`` (a copy), as torch's.

    >>> import tinygrad_seq as tg
    >>> tg.serialization.get_safe_globals()
    []
    """
    return list(_SAFE_GLOBALS)


def clear_safe_globals():
    """Forget every class added by ``add_safe_globals``; the library's own stay allowed.

    >>> import tinygrad_seq as tg
    >>> tg.serialization.clear_safe_globals(); tg.serialization.get_safe_globals()
    []
    """
    _SAFE_GLOBALS.clear()


class safe_globals:
    """A ``with`` block inside which ``load`` may rebuild these classes too, as
    ``torch.serialization.safe_globals``; on leaving it the list is as it was before.

    >>> import io, tinygrad_seq as tg
    >>> class Net(tg.nn.Module):
    ...     def __init__(self, width):
    ...         super().__init__()
    ...         self.fc = tg.nn.Linear(width, 1)
    >>> buffer = io.BytesIO(); tg.save(Net(3), buffer); _ = buffer.seek(0)
    >>> with tg.serialization.safe_globals([Net]):
    ...     model = tg.load(buffer)
    >>> model.fc
    Linear(in_features=3, out_features=1, bias=True)
    """

    def __init__(self, safe_globals):
        self._entries = list(safe_globals)
        self._before = None

    def __enter__(self):
        self._before = list(_SAFE_GLOBALS)
        add_safe_globals(self._entries)
        return self

    def __exit__(self, *exc_info):
        _SAFE_GLOBALS[:] = self._before
        return False
