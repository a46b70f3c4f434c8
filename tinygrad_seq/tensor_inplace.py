"""The Tensor's in-place methods: ``add_``, ``zero_``, ``t[i] = v``, ``uniform_``, ...

Each writes into the tensor's array through the core's ``_in_place`` or ``_rebase`` (which count
the write in ``_version``, and record it when a gradient is involved).

>>> import tinygrad_seq as tg
>>> w = tg.ones(3); w[0] = 5.0; w.mul_(2).tolist(), w._version
([10.0, 2.0, 2.0], 2)
"""

import functools

import numpy as np

from . import ops
from ._tensor_base import TensorBase, _alpha_form, _array_of, _index_of, _rng
from .modes import STATE


class TensorInPlace(TensorBase):
    """Methods that write into the tensor (each counted in ``_version``)."""

    __slots__ = ()

    def __iadd__(self, other):
        return self._in_place("+=", np.add, other, self.__add__)

    def __isub__(self, other):
        return self._in_place("-=", np.subtract, other, self.__sub__)

    def __imul__(self, other):
        return self._in_place("*=", np.multiply, other, self.__mul__)

    def __itruediv__(self, other):
        return self._in_place("/=", np.true_divide, other, self.__truediv__)

    def add_(self, other, *args, alpha=1):
        """``self += alpha * other`` in place; returns self (see ``zero_``). The old form
        ``add_(alpha, other)`` (a number, then a tensor) is accepted too, as torch still does.

        >>> import tinygrad_seq as tg
        >>> p, g = tg.ones(2), tg.tensor([1.0, 2.0])
        >>> p.add_(g, alpha=-0.5)
        Tensor([0.5, 0. ])
        >>> p.add_(-0.5, g)
        Tensor([ 0., -1.])
        """
        other, alpha = _alpha_form("add_", other, args, alpha)
        return self._in_place("add_", np.add, _scaled(other, alpha))

    def sub_(self, other, *args, alpha=1):
        """``self -= alpha * other`` in place; returns self (see ``add_``)."""
        other, alpha = _alpha_form("sub_", other, args, alpha)
        return self._in_place("sub_", np.subtract, _scaled(other, alpha))

    def mul_(self, other):
        """``self *= other`` in place; returns self (see ``zero_``)."""
        return self._in_place("mul_", np.multiply, other)

    def div_(self, other):
        """``self /= other`` in place; returns self (see ``zero_``)."""
        return self._in_place("div_", np.true_divide, other)

    def copy_(self, src):
        """Write ``src`` (broadcast, cast to self's dtype) into self; returns self."""
        return self._in_place("copy_", None, src)

    def fill_(self, value):
        """Set every element to ``value``; returns self."""
        return self._in_place("fill_", None, value)

    def clamp_(self, min=None, max=None):  # noqa: A002 -- torch's argument names
        """Limit the values to [min, max] in place; returns self (weight clipping:
        ``p.data.clamp_(-0.01, 0.01)``).

        >>> import tinygrad_seq as tg
        >>> tg.tensor([-2.0, 0.5, 3.0]).clamp_(-1, 1)
        Tensor([-1. ,  0.5,  1. ])
        """
        if min is None and max is None:
            raise RuntimeError("clamp_: at least one of 'min' or 'max' must not be None")
        recorded = functools.partial(_clipped, min=min, max=max)
        return self._in_place("clamp_", None, np.clip(self._data, min, max), recorded=recorded)

    clip_ = clamp_

    def uniform_(self, from_=0.0, to=1.0, *, generator=None):
        """Fill in place with samples from U(from_, to), drawn from the global Generator that
        ``tg.manual_seed`` seeds (or ``generator``, a ``np.random.Generator``); returns self.

        >>> import tinygrad_seq as tg
        >>> w = tg.zeros(1000); _ = w.data.uniform_(-0.1, 0.1)
        >>> bool(w.abs().max() <= 0.1), bool(w.abs().max() > 0.09)
        (True, True)
        """
        shape = self._data.shape
        return self._in_place("uniform_", None, _rng(generator).uniform(from_, to, shape))

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill in place with samples from N(mean, std**2) (see ``uniform_``); returns self.

        >>> import tinygrad_seq as tg
        >>> _ = tg.manual_seed(0); w = tg.zeros(1000); _ = w.data.normal_(0, 0.1)
        >>> 0.07 < float(w.abs().mean()) < 0.09  # 0.1 * sqrt(2 / pi) on average
        True
        """
        if std < 0:
            raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
        shape = self._data.shape
        return self._in_place("normal_", None, _rng(generator).normal(mean, std, shape))

    def zero_(self):
        """Set every element to 0 in place and return self, as ``torch.Tensor.zero_``:
        ``x.grad.zero_()``. In-place updates are allowed on tensors that need no gradient, and
        on any tensor under ``no_grad``; each counts in ``_version`` (a graph that saved the
        old values then refuses backward).

        >>> import tinygrad_seq as tg
        >>> w = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> with tg.no_grad():
        ...     w -= 0.5 * w.grad
        >>> w, w.grad.zero_()
        (Tensor([0., 0.], requires_grad=True), Tensor([0., 0.]))
        """
        return self._in_place("zero_", None, 0)

    def __setitem__(self, index, value):
        """``t[index] = value``, as in PyTorch: ``value`` (a number, array or Tensor) broadcast
        into the slot; any index ``t[...]`` takes (ints, slices, None, Ellipsis, bool masks,
        integer tensors or arrays). The tensor stays the same object and counts the write in
        ``_version`` (a graph that saved its old values then refuses backward).

        Outside the graph (no gradient involved, or under ``no_grad``) it writes into the array,
        so ``t[i][j] = 1`` writes through the view ``t[i]`` as in NumPy and torch. When ``t`` or
        ``value`` requires grad, the write is recorded (the primitive ``setitem``) and ``t`` takes
        its node: gradients flow into ``value`` (its slot's gradient) and into what ``t`` kept.
        A recorded write into a view (``t[i][j] = v``, a reshape's result) is refused, as the
        viewed tensor's graph would not know of it: write ``t[i, j] = v``.

        >>> import tinygrad_seq as tg
        >>> h = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> outs = tg.zeros(3, 2)
        >>> for i in range(3):
        ...     outs[i] = h * i
        >>> (outs * outs).sum().backward(); h.grad  # d/dh of sum_i (i h)^2 = 2 h (0 + 1 + 4)
        Tensor([10., 20.])
        """
        index = _index_of(index)
        array = _array_of(value)
        if not (
            STATE.grad_enabled
            and (self._requires_grad or (isinstance(value, TensorBase) and value._requires_grad))
        ):
            try:
                self._data[index] = array
            except ValueError as e:
                raise _setitem_error(self, index, array, e) from None
            self._bump_version()
            return
        if self._requires_grad and self.is_leaf:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. "
                "(t[index] = value on a tensor that requires grad: write it under "
                "`with tg.no_grad():`, or into a copy: t = t.clone())"
            )
        try:
            recorded = functools.partial(_setitem_recorded, value=value, index=index)
            self._rebase("setitem", recorded, snapshot=False)  # setitem saves nothing
        except ValueError as e:
            raise _setitem_error(self, index, array, e) from None

    def masked_fill_(self, mask, value):
        """``value`` where ``mask`` (broadcast to self's shape) is True, in place; returns self,
        as ``torch.Tensor.masked_fill_`` (recorded in the graph, see ``__setitem__``).

        >>> import tinygrad_seq as tg
        >>> scores = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> scores.masked_fill_(tg.tensor([True, False]), 0.0)
        Tensor([[0., 2.],
                [0., 4.]])
        """
        mask = np.asarray(_array_of(mask))
        if mask.dtype != np.bool_:
            raise RuntimeError(
                f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}"
            )
        self[np.broadcast_to(mask, self.shape)] = value
        return self

    # in-place shape changes: self takes the new shape (and, in the graph, the new node)
    def unsqueeze_(self, dim):
        """``unsqueeze`` in place; returns self."""
        return self._reshaped_in_place("unsqueeze_", self.unsqueeze(dim=dim))

    def squeeze_(self, dim=None):
        """``squeeze`` in place; returns self."""
        return self._reshaped_in_place("squeeze_", self.squeeze(dim=dim))

    def t_(self):
        """``t`` in place; returns self."""
        return self._reshaped_in_place("t_", self.t())

    def transpose_(self, dim0, dim1):
        """``transpose`` in place; returns self.

        >>> import tinygrad_seq as tg
        >>> x = tg.zeros(2, 3); x.transpose_(0, 1) is x, x.shape
        (True, (3, 2))
        """
        return self._reshaped_in_place("transpose_", self.transpose(dim0, dim1))


def _scaled(other, alpha):
    """``alpha * other``: recorded if ``other`` requires grad, a plain array otherwise."""
    if alpha == 1:
        return other
    if isinstance(other, TensorBase) and other._requires_grad and STATE.grad_enabled:
        return other * alpha
    return _array_of(other) * alpha


def _setitem_recorded(x, *, value, index):
    return x._bind(ops.setitem, x, value, index=index)


def _setitem_error(tensor, index, value, error):
    """torch's RuntimeError for a value that does not fit the slot it is written into."""
    try:
        slot = np.empty(tensor.shape, bool)[index].shape
    except (IndexError, ValueError, TypeError):
        slot = "?"
    return RuntimeError(
        f"setitem: shape mismatch: a value of shape {np.shape(value)} cannot be broadcast to "
        f"the indexed slot of shape {slot} (tensor shape {tensor.shape}): {error}"
    )


def _clipped(x, *, min, max):  # noqa: A002 -- torch's argument names
    return x.clip(min, max)
