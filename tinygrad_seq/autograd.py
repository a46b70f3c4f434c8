"""``grad``: the gradients of outputs with respect to chosen inputs, as ``torch.autograd.grad``.

With ``create_graph=True`` the backward is recorded: the gradients are Tensors with a graph, and
differentiating them again gives second derivatives (Hessian-vector products, gradient
penalties), then third, and so on. There is one derivative table (``ops``): each VJP, run on
recording Tensors, is itself a composition of primitives, differentiated by the same table.

>>> import numpy as np, tinygrad_seq as tg
>>> x = tg.Tensor(np.array([0.5]), requires_grad=True)
>>> (dy,) = tg.autograd.grad((x**3).sum(), x, create_graph=True)  # 3 x^2
>>> (d2y,) = tg.autograd.grad(dy.sum(), x)  # 6 x
>>> dy.tolist(), d2y.tolist()
([0.75], [3.0])
"""

import warnings

import numpy as np

from . import engine
from ._tensor import Tensor, _array_of, seed_gradient

__all__ = ["Variable", "grad"]


def Variable(data, requires_grad=False, volatile=None):  # noqa: N802 -- torch's old class name
    """A tensor sharing ``data``'s array, outside any graph, with ``requires_grad`` as given:
    what ``torch.autograd.Variable(t, requires_grad=...)`` in older tutorials gives today (a
    Variable is a Tensor). ``volatile`` was removed from torch: it warns and does nothing.

    >>> import tinygrad_seq as tg
    >>> from tinygrad_seq.autograd import Variable
    >>> x = Variable(tg.ones(2), requires_grad=True)
    >>> (x * 3).sum().backward(); x.grad
    Tensor([3., 3.])
    """
    if volatile is not None:
        warnings.warn(
            "volatile was removed and now has no effect. Use `with tg.no_grad():` instead.",
            UserWarning,
            stacklevel=2,
        )
    if not isinstance(data, (Tensor, np.ndarray)):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    return Tensor(_array_of(data), requires_grad=requires_grad)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    allow_unused=False,
):
    """The gradients of ``outputs`` with respect to ``inputs``: a tuple of Tensors, one per input.

    As ``torch.autograd.grad``: ``outputs`` and ``inputs`` are a Tensor or a sequence of them;
    ``grad_outputs`` the gradient of each output (needed unless it has one element; arrays or
    Tensors); ``.grad`` of no tensor is touched. ``retain_graph`` keeps the saved arrays for
    another backward (default: ``create_graph``). ``create_graph=True`` records the backward, so
    the results can be differentiated again. An input the outputs do not depend on is an error,
    unless ``allow_unused=True`` (its gradient is then None).

    Through a recurrent layer's compiled loop (``tg.scan``) the recorded backward replays the
    loop op by op from the inputs it saved (see ``docs/higher_order.md``).

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> loss = (w * w).sum()
    >>> (g,) = tg.autograd.grad(loss, w, create_graph=True)
    >>> (hv,) = tg.autograd.grad(g, w, grad_outputs=np.array([1.0, 0.0]))  # Hessian-vector
    >>> g.tolist(), hv.tolist()
    ([2.0, 4.0], [2.0, 0.0])
    """
    outputs, inputs = _tensors(outputs, "outputs"), _tensors(inputs, "inputs")
    grad_outputs = _grad_outputs(outputs, grad_outputs, create_graph)
    for k, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad: inputs[{k}] does not require grad (shape {x.shape})")
    retain = create_graph if retain_graph is None else retain_graph
    roots = [y.node for y in outputs]
    found = engine.gradients(
        roots, grad_outputs, [x.node for x in inputs], retain, create_graph=create_graph
    )
    results = []
    for k, (x, g) in enumerate(zip(inputs, found)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: inputs[{k}] (shape {x.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True if that is expected (its gradient is then None)"
                )
            results.append(None)
        elif create_graph and isinstance(g, Tensor):
            results.append(g.astype(x.dtype))
        else:
            results.append(Tensor(np.array(g, dtype=x.dtype, copy=True)))
    return tuple(results)


def _tensors(items, what):
    items = [items] if isinstance(items, Tensor) else list(items)
    if not items:
        raise ValueError(f"grad: {what} is empty")
    for k, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: {what}[{k}] must be a Tensor, got {type(t).__name__}")
    return items


def _grad_outputs(outputs, grad_outputs, create_graph):
    """One gradient per output: arrays for a first-order sweep, Tensors for a recording one."""
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):  # one gradient, for one output
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs; give one each"
        )
    return [
        seed_gradient(y, g, create_graph, ("grad", f"grad_outputs[{k}]", f"outputs[{k}]"))
        for k, (y, g) in enumerate(zip(outputs, grad_outputs))
    ]
