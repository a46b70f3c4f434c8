"""Checkpoints without pickle: ``save(obj, path)`` writes an ``.npz`` archive, ``load(path)`` reads
it back exactly.

``obj`` is a state_dict ({name: ndarray}) or any nesting of dicts (str or int keys), lists and
tuples whose leaves are ndarrays, NumPy scalars, Tensors (stored as their arrays), or Python
bool/int/float/str/None: a model's and an optimizer's state, a vocabulary, metadata. Each array is
one ``.npy`` member named by its key path (``model/fc.weight``), so ``np.load`` reads the file
too; the structure and the Python leaves are kept in a JSON member, ``__tinygrad_seq__.npy``.

Loading never unpickles (``allow_pickle=False``) and never executes anything from the file. A
file that is not such an archive (random bytes, a pickle, a truncated or corrupt zip, object
arrays, a malformed manifest, an array header that declares more bytes than the file holds,
checked before anything is allocated) raises ``ValueError`` naming the path and the entry. A
plain ``np.savez`` file of numeric arrays loads as a dict of arrays.

Saving writes a temporary file beside ``path`` and renames it (``atomic_write``): a crash, a
full disk or Ctrl-C leave the old file, and threads or processes saving and loading one path at
once each see a whole archive.

>>> import os, tempfile, numpy as np, tinygrad_seq as tg
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
>>> state = {"model": {"w": np.eye(2, dtype=np.float32)}, "step": 7, "vocab": ["a", "b"]}
>>> tg.save(state, path)
>>> back = tg.load(path)
>>> back["step"], back["vocab"], back["model"]["w"].dtype
(7, ['a', 'b'], dtype('float32'))
"""

import contextlib
import json
import math
import os
import tempfile
import zipfile

import numpy as np

from ._tensor import Tensor

__all__ = ["atomic_write", "load", "save"]

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


def save(obj, path):
    """Write ``obj`` (a state_dict or a nesting of dicts/lists/tuples, see the module docstring)
    to ``path`` as an ``.npz`` archive, exactly at ``path`` (no suffix is added). The file is
    written next to ``path`` first and then renamed (``atomic_write``), so a crash never leaves
    half a checkpoint and concurrent saves and loads of one path never see a torn file.

    >>> import os, tempfile, numpy as np, tinygrad_seq as tg
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> tg.save({"weight": np.ones(3)}, path)
    >>> np.load(path)["weight"]
    array([1., 1., 1.])
    """
    arrays = {}
    tree = _encode(obj, (), arrays)
    manifest = json.dumps({"format": _FORMAT, "tree": tree}, allow_nan=True)
    with (
        atomic_write(path) as f,
        zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf,
    ):
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
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot write {path!r}: it is a directory")
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
    raise TypeError(
        f"save: cannot store {type(obj).__name__} at {where} without pickle; use arrays, numbers, "
        "strings, None, and dicts/lists/tuples of them"
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


def load(path):
    """Read a file written by ``save`` and return the object, with the same keys, types, dtypes
    and values. Raises ``ValueError`` naming ``path`` if the file is not a valid archive.

    >>> import os, tempfile, numpy as np, tinygrad_seq as tg
    >>> path = os.path.join(tempfile.mkdtemp(), "opt.npz")
    >>> tg.save({"state": {0: {"step": 3}}, "betas": (0.9, 0.999)}, path)
    >>> tg.load(path)
    {'state': {0: {'step': 3}}, 'betas': (0.9, 0.999)}
    """
    with open(path, "rb") as f:  # a missing file raises FileNotFoundError, as open does
        if f.read(4) != b"PK\x03\x04":
            raise ValueError(f"load: {os.fspath(path)!r} is not an .npz archive (no zip header)")
        try:
            f.seek(0)
            _check_declared_sizes(f)
            f.seek(0)  # one open file throughout: a concurrent save's rename cannot mix two files
            with np.load(f, allow_pickle=False) as npz:
                members = {name: npz[name] for name in npz.files}
            if _MANIFEST not in members:  # a plain np.savez file
                return members
            manifest = json.loads(str(members.pop(_MANIFEST)[()]))
            if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
                raise ValueError(f"unsupported manifest {str(manifest)[:80]!r}")
            return _decode(manifest["tree"], members)
        except _BAD_FILE as e:
            raise ValueError(
                f"load: {os.fspath(path)!r} is not a valid tinygrad_seq checkpoint: "
                f"{type(e).__name__}: {e}"
            ) from None


# deflate never expands data more than 1032-fold; a member claiming more is lying
_DEFLATE_MAX_RATIO = 1032


def _check_declared_sizes(f):
    """Before NumPy allocates anything, check each ``.npy`` member's header against the bytes the
    archive really holds: shape x itemsize must be what follows the header, and the member's own
    uncompressed size must be possible for its compressed size (a 262-byte file must not be able
    to ask for 8 TiB)."""
    archive_size = os.fstat(f.fileno()).st_size
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


def _decode(node, arrays):
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
            out[key] = _decode(value, arrays)
        return out
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, arrays) for v in node["tuple"])
    raise ValueError(f"malformed manifest node {str(node)[:80]!r}")
