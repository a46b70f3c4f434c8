"""nn.functional: losses (values, gradients, PyTorch parity, errors), softmax, activations."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F
from tinygrad_seq.testing import arrays, gradcheck

REDUCTIONS = ["mean", "sum", "none"]


@st.composite
def classification(draw, ignore=True):
    """(logits (N, C), integer targets (N,)), some targets set to ignore_index=-100."""
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    logits = draw(arrays((n, c), -3.0, 3.0))
    targets = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    if ignore:
        mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        mask[0] = False  # keep one target so the mean is defined
        targets[mask] = -100
    return logits, targets


# --- gradients ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(case=classification())
def test_cross_entropy_gradcheck(reduction, case):
    logits, targets = case
    assert gradcheck(lambda x: F.cross_entropy(x, targets, reduction=reduction), logits)


@given(case=classification(), data=st.data())
def test_cross_entropy_with_class_weights_gradcheck(case, data):
    logits, targets = case
    weight = data.draw(arrays((logits.shape[1],), 0.1, 2.0))
    assert gradcheck(lambda x: F.cross_entropy(x, targets, weight), logits)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(case=classification())
def test_nll_loss_gradcheck(reduction, case):
    logp, targets = case
    assert gradcheck(lambda x: F.nll_loss(x, targets, reduction=reduction), logp)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_mse_loss_gradcheck_in_both_arguments(reduction, data):
    shape = data.draw(st.lists(st.integers(1, 3), max_size=3).map(tuple))
    x, y = data.draw(arrays(shape)), data.draw(arrays(shape))
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), x, y)


@given(data=st.data())
def test_softmax_and_log_softmax_gradcheck(data):
    x = data.draw(arrays(st.tuples(st.integers(1, 3), st.integers(1, 4))))
    dim = data.draw(st.sampled_from([0, 1, -1]))
    assert gradcheck(lambda t: F.softmax(t, dim=dim), x)
    assert gradcheck(lambda t: F.log_softmax(t, dim), x)


# --- values and PyTorch parity --------------------------------------------------------------------


def _torch_loss(torch, fn, x, target, **kw):
    xt = torch.from_numpy(x).requires_grad_()
    loss = getattr(torch.nn.functional, fn)(xt, torch.from_numpy(target), **kw)
    loss.backward(torch.ones_like(loss))
    return loss.detach().numpy(), xt.grad.numpy()


def _our_loss(fn, x, target, **kw):
    xt = tg.Tensor(x, requires_grad=True)
    loss = getattr(F, fn)(xt, target, **kw)
    loss.backward(np.ones(loss.shape))
    return loss.numpy(), xt.grad


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("weighted", [False, True])
def test_class_losses_match_pytorch(fn, reduction, weighted):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 5)) * 3
    target = np.array([0, 4, -100, 2, 2, -100, 1])
    kw = {"reduction": reduction, "ignore_index": -100}
    w = rng.uniform(0.5, 2.0, 5)
    if fn == "nll_loss":
        x = x - np.log(np.exp(x).sum(axis=1, keepdims=True))  # log-probabilities
    ours = _our_loss(fn, x, target, weight=w if weighted else None, **kw)
    theirs = _torch_loss(torch, fn, x, target, weight=torch.tensor(w) if weighted else None, **kw)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_cross_entropy_custom_ignore_index_and_unbatched_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((4, 3))
    target = np.array([2, 1, 1, 0])
    for a, b in zip(
        _our_loss("cross_entropy", x, target, ignore_index=1),
        _torch_loss(torch, "cross_entropy", x, target, ignore_index=1),
    ):
        np.testing.assert_allclose(a, b, rtol=1e-9)
    for reduction in REDUCTIONS:
        ours = _our_loss("cross_entropy", x[0], np.array(2), reduction=reduction)
        theirs = _torch_loss(torch, "cross_entropy", x[0], np.array(2), reduction=reduction)
        assert ours[0].shape == theirs[0].shape == ()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-9)


def test_all_targets_ignored_gives_nan_and_zero_gradients_as_pytorch():
    x = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    loss = F.cross_entropy(x, np.array([-100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_matches_pytorch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for a, b in zip(
        _our_loss("mse_loss", x, y, reduction=reduction),
        _torch_loss(torch, "mse_loss", x, y, reduction=reduction),
    ):
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_softmax_log_softmax_and_activations_match_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = np.random.default_rng(0).standard_normal((3, 4)) * 5
    xt = torch.from_numpy(x)
    for dim in (0, 1, -1):
        np.testing.assert_allclose(F.softmax(x, dim).numpy(), tf.softmax(xt, dim).numpy(), 1e-12)
        np.testing.assert_allclose(
            F.log_softmax(tg.Tensor(x), axis=dim).numpy(), tf.log_softmax(xt, dim).numpy(), 1e-12
        )
    np.testing.assert_allclose(F.relu(x).numpy(), tf.relu(xt).numpy())
    np.testing.assert_allclose(F.tanh(x).numpy(), torch.tanh(xt).numpy(), 1e-12)
    np.testing.assert_allclose(F.sigmoid(x).numpy(), torch.sigmoid(xt).numpy(), 1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    x = tg.Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32))
    x.requires_grad = True
    loss = F.cross_entropy(x, np.array([0, 2]))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(loss.item(), np.log(2) / 2, atol=2e-3)  # float32 ulp at 1e4
    assert np.isfinite(x.grad.numpy()).all()


def _log_softmax_float64(x):
    x = x.astype(np.float64)
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("offset", [1e2, 1e3, 1e4])
def test_float32_log_softmax_and_cross_entropy_keep_their_digits_for_large_logits(offset):
    # x - logsumexp(x) rounds logsumexp(x) ~ offset first, losing the digits the difference keeps
    # (before: errors 3.5e-6, 2.7e-5 and 9.5e-5 here; PyTorch 1.5e-7)
    rng = np.random.default_rng(0)
    x = (offset + rng.standard_normal((64, 50))).astype(np.float32)
    target = rng.integers(0, 50, 64)
    reference = _log_softmax_float64(x)
    logp = F.log_softmax(tg.Tensor(x), dim=1)
    assert logp.dtype == np.float32
    np.testing.assert_allclose(logp.numpy(), reference, rtol=0, atol=1e-6)
    logits = tg.Tensor(x, requires_grad=True)
    loss = F.cross_entropy(logits, target)
    loss.backward()
    expected = -reference[np.arange(64), target].mean()
    assert loss.dtype == np.float32 and abs(loss.item() - expected) < 1e-6
    grad = (np.exp(reference) - np.eye(50)[target]) / 64
    np.testing.assert_allclose(logits.grad, grad, rtol=0, atol=1e-8)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_an_ignored_row_of_minus_infinity_poisons_neither_loss_nor_gradient(reduction):
    # a padded position may hold -inf logits (masked out); PyTorch ignores the row in the loss
    x = np.array([[1.0, 2.0, 0.5], [-np.inf] * 3, [0.3, -1.0, 2.0]])
    target = np.array([1, -100, 2])
    logits = tg.Tensor(x, requires_grad=True)
    loss = F.cross_entropy(logits, target, reduction=reduction)
    kept = F.cross_entropy(tg.Tensor(x[[0, 2]]), target[[0, 2]], reduction=reduction)
    if reduction == "none":
        np.testing.assert_allclose(loss.numpy(), [kept.numpy()[0], 0.0, kept.numpy()[1]])
    else:
        np.testing.assert_allclose(loss.item(), kept.item())
    loss.sum().backward()
    assert np.isfinite(logits.grad.numpy()).all()
    np.testing.assert_array_equal(logits.grad.numpy()[1], 0.0)
    logp = tg.Tensor(np.where(np.isinf(x), -np.inf, np.log(np.full(x.shape, 1 / 3))))
    assert np.isfinite(F.nll_loss(logp, target, reduction=reduction).numpy()).all()


def test_an_ignored_row_of_minus_infinity_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 2.0, 0.5], [-np.inf] * 3, [0.3, -1.0, 2.0], [0.0, 0.0, 0.0]])
    target = np.array([1, -100, 2, 0])
    theirs = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(target))
    np.testing.assert_allclose(F.cross_entropy(x, target).item(), theirs.item(), rtol=1e-12)


@pytest.mark.parametrize("shape", [(5, 0), (0, 3), (0,)])
def test_zero_size_softmax_family_matches_pytorch(shape):
    x = tg.Tensor(np.zeros(shape, dtype=np.float32), requires_grad=True)
    assert F.softmax(x, dim=-1).shape == shape
    assert F.log_softmax(x, dim=-1).shape == shape
    lse = x.logsumexp(-1)
    assert lse.shape == shape[:-1] and np.all(lse.numpy() == -np.inf)
    (F.log_softmax(x, dim=-1).sum() + lse.sum()).backward()
    assert x.grad.shape == shape


def test_losses_keep_float32():
    x = tg.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    assert F.cross_entropy(x, np.array([0, 1]), np.ones(3)).dtype == np.float32
    assert F.mse_loss(x, np.zeros((2, 3))).dtype == np.float32  # a float64 target is a constant
    assert F.dropout(x, 0.5, rng=0).dtype == np.float32


def test_integer_tensor_targets_are_accepted():
    x = np.random.default_rng(0).standard_normal((3, 4))
    a = F.cross_entropy(tg.Tensor(x), tg.Tensor(np.array([0, 1, 3])))
    b = F.cross_entropy(tg.Tensor(x), np.array([0, 1, 3], dtype=np.int32))
    assert a.item() == b.item()


# --- errors ---------------------------------------------------------------------------------------


def test_class_loss_errors_name_the_sizes():
    x = tg.Tensor(np.zeros((3, 4)))
    with pytest.raises(IndexError, match="target 7 is out of range for 4 classes"):
        F.cross_entropy(x, np.array([1, 7, 2]))
    with pytest.raises(IndexError, match="target -3 is out of range"):
        F.nll_loss(x, np.array([1, -3, 2]))
    with pytest.raises(ValueError, match=r"batch size 3 .*target has shape \(2,\)"):
        F.cross_entropy(x, np.array([1, 2]))
    with pytest.raises(ValueError, match=r"target has shape \(3, 1\)"):
        F.cross_entropy(x, np.array([[1], [2], [0]]))
    with pytest.raises(TypeError, match="integer class indices, got dtype float64"):
        F.cross_entropy(x, np.array([1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"shape \(N, C\) or \(C,\), got shape \(2, 3, 4\)"):
        F.cross_entropy(tg.Tensor(np.zeros((2, 3, 4))), np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match="needs a 0-d target"):
        F.cross_entropy(tg.Tensor(np.zeros(4)), np.array([1]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(x, np.array([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.cross_entropy(x, np.array([0, 1, 2]), np.ones(3))
    with pytest.raises(TypeError, match="floating-point"):
        F.cross_entropy(tg.Tensor(np.zeros((3, 4), dtype=int)), np.array([0, 1, 2]))


def test_mse_loss_errors():
    with pytest.raises(ValueError, match=r"input has shape \(2, 3\) but target has shape \(3,\)"):
        F.mse_loss(tg.Tensor(np.zeros((2, 3))), np.zeros(3))
    with pytest.raises(TypeError, match="target dtype float32"):
        F.mse_loss(tg.Tensor(np.zeros(3)), tg.Tensor(np.zeros(3, dtype=np.float32)))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(tg.Tensor(np.zeros(3)), np.zeros(3), reduction="mean ")


def test_softmax_dim_and_axis_conflict():
    with pytest.raises(TypeError, match="both dim"):
        F.softmax(tg.ones(2, 2), dim=0, axis=1)
    np.testing.assert_allclose(F.softmax(tg.ones(2, 2), axis=0).numpy(), np.full((2, 2), 0.5))


def test_functions_reject_non_arrays():
    with pytest.raises(TypeError, match="expected a Tensor or an ndarray"):
        F.relu("x")
