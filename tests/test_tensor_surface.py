"""The Tensor surface real PyTorch scripts touch, against torch 2.13: ``.data`` as a Tensor, manual
SGD through it, torch's old ``add_(alpha, other)`` form, in-place random fills."""

import numpy as np
import pytest

import tinygrad_seq as tg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:This overload of")  # torch's old add_(alpha, x)


def pair(values, requires_grad=False):
    array = np.asarray(values, dtype=np.float64)
    return (
        tg.tensor(array, requires_grad=requires_grad),
        torch.tensor(array, requires_grad=requires_grad),
    )


def close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours), theirs.detach().numpy(), rtol=1e-12, atol=1e-15)


# --- .data: a Tensor that shares the array and carries no graph ---------------------------------


@pytest.mark.parametrize("make", ["leaf", "result", "parameter"])
def test_data_is_a_graphless_tensor_sharing_storage(make):
    x, tx = pair([1.0, 2.0], requires_grad=True)
    if make == "result":
        x, tx = x * 2, tx * 2
    elif make == "parameter":
        x, tx = tg.nn.Parameter(np.array([1.0, 2.0])), torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    d, td = x.data, tx.data
    assert type(d) is tg.Tensor and type(td) is torch.Tensor  # not a Parameter
    assert (d.requires_grad, d.grad_fn, d.is_leaf) == (td.requires_grad, td.grad_fn, td.is_leaf)
    assert np.shares_memory(d.numpy(), x.numpy())
    d.add_(1.0)  # visible through the source, counted on the alias only
    td.add_(1.0)
    close(x, tx)
    assert (x._version, d._version) == (tx._version, td._version) == (0, 1)


def test_writes_through_data_do_not_stop_backward_as_in_torch():
    w, tw = pair([1.0, 2.0], requires_grad=True)
    loss, t_loss = (w * w).sum(), (tw * tw).sum()
    w.data.mul_(3.0)
    tw.data.mul_(3.0)
    loss.backward()
    t_loss.backward()  # not checked: the gradient uses the new values in both
    close(w.grad, tw.grad)


def test_manual_sgd_patterns_through_data():
    lr = 0.1
    w, tw = pair([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    for step in range(5):
        loss, t_loss = ((w @ x).tanh() ** 2).sum(), ((tw @ torch.tensor(x)).tanh() ** 2).sum()
        loss.backward()
        t_loss.backward()
        if step == 0:
            w.data.add_(w.grad, alpha=-lr)
            tw.data.add_(tw.grad, alpha=-lr)
        elif step == 1:
            w.data.add_(-lr, w.grad)  # torch's deprecated (number, tensor) form
            tw.data.add_(-lr, tw.grad)
        elif step == 2:
            w.data -= lr * w.grad.data
            tw.data -= lr * tw.grad.data
        elif step == 3:
            w.data.sub_(lr, w.grad)
            tw.data.sub_(lr, tw.grad)
        else:
            w.data.copy_(w.data - lr * w.grad)
            tw.data.copy_(tw.data - lr * tw.grad)
        w.grad.zero_()
        tw.grad.zero_()
        assert w.is_leaf and w.requires_grad and w.grad_fn is None
        close(w, tw)


def test_data_zero_fill_and_assignment():
    w, tw = pair([1.0, 2.0, 3.0], requires_grad=True)
    w.data.zero_()
    tw.data.zero_()
    close(w, tw)
    w.data.fill_(0.5)
    tw.data.fill_(0.5)
    close(w, tw)
    w.data = tg.tensor([4.0, 5.0])  # a Tensor replaces the array (and the shape)
    tw.data = torch.tensor([4.0, 5.0])
    assert w.shape == tuple(tw.shape) == (2,) and w.tolist() == tw.tolist()
    w.data = np.array([7.0])  # an array too (torch wants a tensor; we also take arrays)
    assert w.tolist() == [7.0] and w.requires_grad and w.is_leaf


def test_add_and_sub_take_the_old_alpha_form_out_of_place_too():
    x, tx = pair([1.0, 2.0])
    g, tg_ = pair([3.0, 4.0])
    close(x.add(2, g), tx.add(2, tg_))
    close(x.sub(2, g), tx.sub(2, tg_))
    with pytest.raises(TypeError):
        x.add_(g, g, g)
    with pytest.raises(TypeError):
        tx.add_(tg_, tg_, tg_)


def test_in_place_fill_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    w, tw = pair([1.0, 2.0], requires_grad=True)
    for fill in ("normal_", "uniform_", "fill_", "zero_"):
        args = (0.5,) if fill == "fill_" else ()
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            getattr(tw, fill)(*args)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            getattr(w, fill)(*args)
        with tg.no_grad():
            getattr(w, fill)(*args)


def test_normal_and_uniform_draw_from_the_seeded_global_generator():
    tg.manual_seed(3)
    a = tg.zeros(2000).normal_(1.0, 0.5)
    u = tg.zeros(2000, dtype=tg.float64).uniform_(-0.25, 0.25)
    tg.manual_seed(3)
    b = tg.zeros(2000).normal_(1.0, 0.5)
    assert a.tolist() == b.tolist() and a.dtype == np.float32 and u.dtype == np.float64
    assert abs(float(a.mean()) - 1.0) < 0.05 and 0.45 < float(((a - 1) ** 2).mean().sqrt()) < 0.55
    assert float(u.amin()) >= -0.25 and float(u.amax()) < 0.25
    with pytest.raises(RuntimeError, match="std"):
        tg.zeros(2).normal_(0.0, -1.0)
    with pytest.raises(RuntimeError, match="std"):
        torch.zeros(2).normal_(0.0, -1.0)
    rng = np.random.default_rng(0)
    assert tg.zeros(3).uniform_(generator=rng).shape == (3,)
