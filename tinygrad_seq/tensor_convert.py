"""The Tensor as other things: dtypes (``float()``, ``to``, ``type``), the device, Python
numbers (``item``, ``float(t)``), lists, its printed form, and new tensors like it (``new_zeros``).

>>> import tinygrad_seq as tg
>>> x = tg.tensor([1, 2])
>>> x.float().dtype, x.tolist(), x.type(), x.new_ones(2).dtype
(dtype('float32'), [1, 2], 'torch.LongTensor', dtype('int64'))
"""

import numpy as np

from . import ops
from ._promotion import DEFAULT_FLOAT, _to_array
from ._tensor_base import TensorBase, _dtype_of, _shape_args, _wrap_axis
from .devices import CPU, is_device
from .devices import check as _check_device


class TensorConvert(TensorBase):
    """Conversions: dtype, device, Python numbers, lists, printing, new tensors."""

    __slots__ = ()

    def size(self, dim=None):
        """The shape, or the length of axis ``dim``, as ``torch.Tensor.size`` (a method: NumPy's
        ``.size`` count of elements is ``numel()``).

        >>> import tinygrad_seq as tg
        >>> x = tg.zeros(2, 3); x.size(), x.size(-1), x.numel(), x.dim()
        ((2, 3), 3, 6, 2)
        """
        shape = self._data.shape
        if dim is None:
            return shape
        return shape[_wrap_axis("size", dim, len(shape), shape)]

    def dim(self):
        """The number of axes (``ndim``)."""
        return self._data.ndim

    def numel(self):
        """The number of elements."""
        return self._data.size

    def _one_number(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

    def __float__(self):
        return float(self._one_number())

    def __int__(self):
        return int(self._one_number())

    def __bool__(self):
        # as torch: `if loss > 0:` works on one element, and more is ambiguous (not "non-empty")
        n = self._data.size
        if n != 1:
            what = "no values" if n == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        return bool(self._data.reshape(()).item())

    def numpy(self):
        """The underlying array (shared, not copied)."""
        return self._data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item(): needs a tensor of one element, got shape {self.shape}")
        return self._data.item()

    def tolist(self):
        """The data as nested Python lists."""
        return self._data.tolist()

    def __repr__(self):
        body = np.array2string(self._data, precision=4, separator=", ", prefix="Tensor(")
        extra = f", dtype={self.dtype}" if self.dtype != DEFAULT_FLOAT else ""
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn}"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        if self._name:
            extra += f", name={self._name!r}"
        return f"Tensor({body}{extra})"

    def __format__(self, spec):
        # f"{loss:.4f}" formats the number of a 0-d tensor, as in PyTorch
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return object.__format__(self, spec)

    def astype(self, dtype):
        """A cast (self if the dtype is already ``dtype``). Between floating types it is
        differentiable, the gradient cast back; to an integer or bool type it leaves the graph,
        as in PyTorch."""
        dtype = _dtype_of(dtype)
        if dtype == self._data.dtype:
            return self
        if dtype.kind != "f":
            return self._new(self._data.astype(dtype))
        return self._bind(ops.astype, self, dtype=dtype)

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other)`` (other's dtype
        and device), as ``torch.Tensor.to``: self when nothing changes. The CPU is the only
        device (``"cpu"``, ``tg.device("cpu")``); CUDA is refused with what to write instead.

        >>> import tinygrad_seq as tg
        >>> x = tg.ones(2)
        >>> x.to("cpu") is x, x.to(tg.device("cpu"), tg.float64).dtype, x.to(x) is x
        (True, dtype('float64'), True)
        """
        for arg in args:
            if isinstance(arg, TensorBase):
                dtype = arg.dtype
            elif is_device(arg):
                device = arg
            else:
                dtype = arg
        _check_device(device)
        out = self if dtype is None else self.astype(dtype)
        return out.clone() if copy and out is self else out

    def cpu(self):
        """Self: tensors live in main memory (``x.detach().cpu().numpy()`` works as in torch)."""
        return self

    def cuda(self, device=None, non_blocking=False):
        """Refused: tinygrad_seq runs on the CPU only (the error says what to write instead).

        >>> import tinygrad_seq as tg
        >>> tg.ones(1).cuda()
        Traceback (most recent call last):
        RuntimeError: device 'cuda' is not available: tinygrad_seq runs on the CPU only ...
        """
        _check_device("cuda" if device is None else device)
        return self

    device = property(lambda self: CPU, doc="``tg.device('cpu')``: where every tensor lives.")

    is_cuda = property(lambda self: False, doc="False: no tensor lives on a GPU here.")

    def get_device(self):
        """-1, torch's answer for a tensor on the CPU."""
        return -1

    def float(self):
        """As float32, in the graph (self if already float32)."""
        return self.astype(np.float32)

    def double(self):
        """As float64, in the graph (self if already float64)."""
        return self.astype(np.float64)

    def half(self):
        """As float16, in the graph (self if already float16)."""
        return self.astype(np.float16)

    def long(self):
        """As int64 (an index tensor, without gradient)."""
        return self.astype(np.int64)

    def int(self):
        """As int32 (without gradient)."""
        return self.astype(np.int32)

    def bool(self):
        """As bool (a mask, without gradient)."""
        return self.astype(np.bool_)

    def type_as(self, other):
        """Self cast to ``other``'s dtype, as ``torch.Tensor.type_as``.

        >>> import tinygrad_seq as tg
        >>> tg.tensor([1, 2]).type_as(tg.zeros(1)).dtype
        dtype('float32')
        """
        return self.astype(other.dtype)

    def new_tensor(self, data, dtype=None, requires_grad=False, device=None):
        """A copy of ``data`` as a tensor of self's dtype (unless ``dtype``), as
        ``torch.Tensor.new_tensor``.

        >>> import tinygrad_seq as tg
        >>> tg.zeros(1, dtype=tg.float64).new_tensor([1, 2]).dtype
        dtype('float64')
        """
        _check_device(device)
        array = np.array(_to_array(data, self.dtype if dtype is None else dtype), copy=True)
        return self._new(array, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, requires_grad=False, device=None):
        """Zeros of ``size`` in self's dtype (unless ``dtype``), as ``torch.Tensor.new_zeros``.

        >>> import tinygrad_seq as tg
        >>> tg.tensor([1, 2]).new_zeros(2, 3).dtype, tg.ones(1).new_ones((2,)).tolist()
        (dtype('int64'), [1.0, 1.0])
        """
        return self.new_full(_shape_args(size), 0, dtype, requires_grad, device)

    def new_ones(self, *size, dtype=None, requires_grad=False, device=None):
        """Ones of ``size`` in self's dtype (see ``new_zeros``)."""
        return self.new_full(_shape_args(size), 1, dtype, requires_grad, device)

    def new_empty(self, *size, dtype=None, requires_grad=False, device=None):
        """An uninitialised tensor of ``size`` in self's dtype (see ``new_zeros``)."""
        _check_device(device)
        array = np.empty(_shape_args(size), self.dtype if dtype is None else _dtype_of(dtype))
        return self._new(array, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False, device=None):
        """``fill_value`` in ``size`` and self's dtype (unless ``dtype``), as
        ``torch.Tensor.new_full``.

        >>> import tinygrad_seq as tg
        >>> tg.zeros(1).new_full((2,), 7).tolist()
        [7.0, 7.0]
        """
        _check_device(device)
        dtype = self.dtype if dtype is None else _dtype_of(dtype)
        return self._new(
            np.full(_shape_args((size,)), fill_value, dtype), requires_grad=requires_grad
        )

    def __index__(self):
        """A one-element integer tensor used as a Python index: ``items[t]``, ``range(t)``."""
        if self._data.size != 1 or self._data.dtype.kind not in "biu":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(()).item())

    def type(self, dtype=None, non_blocking=False):
        """Without an argument, torch's name of the tensor's type (``'torch.FloatTensor'``);
        with a dtype or such a name, the tensor cast to it, as ``torch.Tensor.type``.

        >>> import tinygrad_seq as tg
        >>> x = tg.ones(2); x.type(), x.type("torch.LongTensor").dtype, x.type(tg.int32).dtype
        ('torch.FloatTensor', dtype('int64'), dtype('int32'))
        """
        if dtype is None:
            name = _TYPE_NAMES.get(self.dtype)
            if name is None:
                raise TypeError(f"type(): torch has no tensor type name for dtype {self.dtype}")
            return f"torch.{name}"
        if isinstance(dtype, str):
            found = {f"torch.{v}": k for k, v in _TYPE_NAMES.items()}.get(dtype)
            if found is None:
                if dtype.startswith("torch.cuda."):
                    _check_device("cuda")
                raise ValueError(f"type(): invalid type {dtype!r} (e.g. 'torch.LongTensor')")
            dtype = found
        elif isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), np.dtype):
            dtype = dtype.dtype  # tg.LongTensor and friends
        return self.astype(dtype)


# torch's tensor type names (``x.type()``, ``tg.LongTensor``), by dtype
_TYPE_NAMES = {
    np.dtype(np.float32): "FloatTensor",
    np.dtype(np.float64): "DoubleTensor",
    np.dtype(np.float16): "HalfTensor",
    np.dtype(np.int64): "LongTensor",
    np.dtype(np.int32): "IntTensor",
    np.dtype(np.int16): "ShortTensor",
    np.dtype(np.int8): "CharTensor",
    np.dtype(np.uint8): "ByteTensor",
    np.dtype(np.bool_): "BoolTensor",
}
