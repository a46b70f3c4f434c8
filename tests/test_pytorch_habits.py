"""PyTorch code ports by changing the import: each habit of a PyTorch user, checked against torch.

Where PyTorch and NumPy both have a concept, the Tensor does what PyTorch does; NumPy arrays stay
accepted wherever a tensor is.
"""

import numpy as np
import pytest

import tinygrad_seq as tg

torch = pytest.importorskip("torch")


def both(array, requires_grad=False):
    """The same values as (ours, theirs)."""
    array = np.asarray(array)
    ours = tg.Tensor(array.copy(), requires_grad=requires_grad)
    theirs = torch.tensor(array.copy(), requires_grad=requires_grad)
    return ours, theirs


def same(ours, theirs, **tol):
    """Equal values, shape and dtype (of tensors, or of lists/tuples of them)."""
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            same(o, t, **tol)
        return
    assert isinstance(ours, tg.Tensor), type(ours)
    expected = theirs.detach().numpy()
    assert ours.shape == expected.shape and ours.dtype == expected.dtype, (ours, theirs)
    np.testing.assert_allclose(ours.numpy(), expected, **tol)


# --- 1. .grad is a Tensor -------------------------------------------------------------------------


def test_grad_is_a_tensor_after_backward():
    values = np.array([[1.0, -2.0], [0.5, 3.0]])
    x, tx = both(values, requires_grad=True)
    (x * x).sum().backward()
    (tx * tx).sum().backward()
    assert isinstance(x.grad, tg.Tensor) and not x.grad.requires_grad
    same(x.grad, tx.grad)
    assert x.grad.shape == tuple(tx.grad.shape)
    assert isinstance(x.grad.numpy(), np.ndarray)
    assert np.allclose(x.grad, tx.grad.numpy())  # NumPy takes it through __array__
    same(x.grad + 1, tx.grad + 1)
    same(x.grad[1], tx.grad[1])


def test_grad_accumulates_over_backwards_as_a_tensor():
    x, tx = both(np.array([1.0, 2.0]), requires_grad=True)
    for _ in range(2):
        (x * 3).sum().backward()
        (tx * 3).sum().backward()
    same(x.grad, tx.grad)


def test_assigning_an_array_to_grad_wraps_it():
    w = tg.nn.Parameter(np.zeros(2))
    array = np.array([3.0, 4.0])
    w.grad = array
    assert isinstance(w.grad, tg.Tensor) and w.grad.numpy() is array  # shared, not copied
    w.grad = tg.Tensor(np.ones(2))
    assert w.grad.tolist() == [1.0, 1.0]
    w.grad = None
    assert w.grad is None


def test_assigning_a_grad_of_another_shape_is_refused():
    w, tw = both(np.zeros(2), requires_grad=True)
    with pytest.raises(RuntimeError):
        tw.grad = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(RuntimeError, match=r"grad has shape \(3,\).*shape \(2,\)"):
        w.grad = np.zeros(3)


def test_optimizers_and_clipping_take_tensor_grads():
    w = tg.nn.Parameter(np.array([1.0, 2.0]))
    tw = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
    opt, topt = tg.optim.Adam([w], lr=0.1), torch.optim.Adam([tw], lr=0.1)
    for _ in range(3):
        for p, o in ((w, opt), (tw, topt)):
            o.zero_grad()
            (p * p * p).sum().backward()
        tg.nn.utils.clip_grad_norm_([w], 1.0)
        torch.nn.utils.clip_grad_norm_([tw], 1.0)
        same(w.grad, tw.grad)
        opt.step()
        topt.step()
    same(w, tw)
