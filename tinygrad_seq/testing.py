"""Checking gradients: ``gradcheck`` against central differences, and hypothesis strategies.

Public so that users test their own ops and models exactly the way the project tests its own::

    >>> import numpy as np, tinygrad_seq as tg
    >>> from tinygrad_seq.testing import gradcheck
    >>> gradcheck(lambda x, y: (x * y).tanh(), np.random.randn(3, 1), np.random.randn(4))
    True
"""

import numpy as np

from . import autograd
from ._tensor import Tensor, concat
from .modes import enable_grad, no_grad

__all__ = [
    "GradcheckError",
    "arrays",
    "broadcastable_shapes",
    "first_gradient",
    "gradcheck",
    "gradgradcheck",
    "shapes",
    "tensors",
]


class GradcheckError(AssertionError):
    """The engine's gradient and the numerical one disagree."""


def _as_leaf(x):
    array = np.array(x._data if isinstance(x, Tensor) else x, dtype=np.float64, copy=True)
    return Tensor(array, requires_grad=True)


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0):
    """Compare the engine's gradients of ``fn(*inputs)`` with central differences, in float64.

    A non-scalar output is contracted with a fixed random cotangent ``v``, so every input element
    is checked through the vector-Jacobian product ``v^T J``. Inputs may be arrays or Tensors; all
    are treated as float64 leaves. Raises ``GradcheckError`` naming the function, the argument, the
    worst element and both values; returns True when all agree within ``atol + rtol * |numeric|``.
    """
    leaves = [_as_leaf(x) for x in inputs]
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: {_name(fn)} must return a Tensor, got {type(out).__name__}")
    v = np.random.default_rng(seed).standard_normal(out.shape)
    if out.requires_grad:
        out.backward(v)

    def objective():
        with no_grad():
            return float(np.sum(fn(*leaves)._data * v))

    for argnum, leaf in enumerate(leaves):
        analytic = leaf.grad._data if leaf.grad is not None else np.zeros_like(leaf._data)
        numeric = np.zeros_like(leaf._data)
        flat = leaf._data.reshape(-1)  # a view: perturbing it perturbs the leaf
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + eps
            up = objective()
            flat[i] = original - eps
            down = objective()
            flat[i] = original
            numeric.reshape(-1)[i] = (up - down) / (2 * eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > 0:
            worst = np.unravel_index(np.argmax(error), error.shape)
            raise GradcheckError(
                f"gradcheck of {_name(fn)}: argument {argnum} (shape {leaf.shape}), element "
                f"{tuple(int(i) for i in worst)}: engine gradient {float(analytic[worst])!r} vs "
                f"central difference {float(numeric[worst])!r} "
                f"(atol={atol}, rtol={rtol}, eps={eps})"
            )
    return True


def gradgradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check second derivatives: ``gradcheck`` of the recorded first-order gradient of ``fn``.

    The first-order gradients ``v^T J`` (``v`` a fixed random cotangent of fn's output) are taken
    with ``create_graph=True`` and joined into one vector; ``gradcheck`` then compares the engine's
    gradient of that vector with central differences of it (float64). Nest it for third order:
    ``gradgradcheck(first_gradient(fn, v), ...)``.

    >>> import numpy as np
    >>> from tinygrad_seq.testing import gradgradcheck
    >>> gradgradcheck(lambda x, y: (x * y).tanh(), np.random.randn(3, 1), np.random.randn(4))
    True
    """
    with no_grad():
        shape = fn(*[_as_leaf(x) for x in inputs]).shape
    v = np.random.default_rng(seed + 1).standard_normal(shape)
    grad_fn = first_gradient(fn, v)
    return gradcheck(grad_fn, *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)


def first_gradient(fn, v):
    """The function ``(*xs) -> concat(flattened d<v, fn(*xs)>/dx for each x)``, recorded
    (``create_graph=True``) so it can be differentiated again.

    >>> import numpy as np, tinygrad_seq as tg
    >>> from tinygrad_seq.testing import first_gradient
    >>> first_gradient(lambda x: x**3, np.ones(2))(tg.Tensor([1.0, 2.0], requires_grad=True))
    Tensor([ 3., 12.], grad_fn=concat)
    """
    v = np.asarray(v)

    def gradient(*xs):
        with enable_grad():  # gradcheck's differences run under no_grad: the backward records
            out = fn(*xs)
            if not out.requires_grad:
                return Tensor(np.zeros(sum(x._data.size for x in xs)))
            grads = autograd.grad(
                out, xs, grad_outputs=v.astype(out.dtype), create_graph=True, allow_unused=True
            )
            flat = [
                Tensor(np.zeros(x._data.size, x.dtype)) if g is None else g.reshape(-1)
                for x, g in zip(xs, grads)
            ]
            return concat(flat)

    gradient.__qualname__ = f"first_gradient({_name(fn)})"
    return gradient


def _name(fn):
    return getattr(fn, "__qualname__", None) or repr(fn)


# --- hypothesis strategies (hypothesis is a test dependency, so import it only here) ------------


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Small array shapes, including size-1 axes.

    >>> from tinygrad_seq.testing import shapes
    >>> shapes().example() is not None
    True
    """
    from hypothesis.extra import numpy as hnp

    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4):
    """Tuples of ``num_shapes`` shapes that broadcast together (size-1 axes, missing axes).

    >>> from tinygrad_seq.testing import broadcastable_shapes
    >>> len(broadcastable_shapes(3).example())
    3
    """
    from hypothesis.extra import numpy as hnp

    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda bs: bs.input_shapes)


def arrays(shape=None, low=-2.0, high=2.0, dtype=np.float64, away_from=None):
    """float arrays with values in [low, high], of ``shape`` (a shape, or a strategy of shapes).

    ``away_from`` keeps values at least 0.05 from the given points, where an op's derivative
    jumps (0 for abs and relu), so central differences stay valid.

    >>> from tinygrad_seq.testing import arrays
    >>> arrays((2, 3)).example().shape
    (2, 3)
    """
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    if away_from is not None:
        points = [away_from] if np.isscalar(away_from) else list(away_from)
        elements = elements.filter(lambda v: all(abs(v - p) > 0.05 for p in points))
    return hnp.arrays(dtype, shape if shape is not None else shapes(), elements=elements)


def tensors(shape=None, low=-2.0, high=2.0, dtype=np.float64, requires_grad=True):
    """Tensors over ``arrays(...)``, requiring grad by default.

    >>> from tinygrad_seq.testing import tensors
    >>> tensors((2,)).example().requires_grad
    True
    """
    return arrays(shape, low, high, dtype).map(lambda a: Tensor(a, requires_grad=requires_grad))
