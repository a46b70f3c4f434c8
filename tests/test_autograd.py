"""tg.autograd.grad and backward(create_graph=True): PyTorch's semantics, and PyTorch's numbers for
derivatives of derivatives (ops, Hessian-vector products through RNN/LSTM/GRU, a gradient penalty).
"""

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn

RTOL, ATOL = 1e-9, 1e-12


def leaf(array):
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


# --- semantics ------------------------------------------------------------------------------------


def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    x = leaf([1.0, 2.0])
    (g,) = tg.autograd.grad((x * x).sum(), x)
    assert isinstance(g, tg.Tensor) and g.tolist() == [2.0, 4.0]
    assert x.grad is None
    assert g.grad_fn is None and not g.requires_grad  # first order records nothing


def test_grad_of_several_outputs_adds_them_up():
    x = leaf([1.0, 2.0])
    (gx,) = tg.autograd.grad([(x * x).sum(), x * 3], [x], grad_outputs=[None, np.ones(2)])
    assert gx.tolist() == [5.0, 7.0]


def test_grad_of_a_non_leaf_input():
    x = leaf([1.0, 2.0])
    h = x * 2
    gh, gx = tg.autograd.grad((h * h).sum(), [h, x])
    assert gh.tolist() == [4.0, 8.0] and gx.tolist() == [8.0, 16.0]


def test_unused_input_is_an_error_unless_allowed():
    x, y = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*allow_unused=True"):
        tg.autograd.grad((x * x).sum(), [x, y])
    gx, gy = tg.autograd.grad((x * x).sum(), [x, y], allow_unused=True)
    assert gx.tolist() == [2.0] and gy is None


def test_bad_arguments_name_what_is_wrong():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"inputs\[0\] does not require grad"):
        tg.autograd.grad((x * 2).sum(), tg.Tensor([1.0]))
    with pytest.raises(RuntimeError, match=r"outputs\[0\] does not require grad"):
        tg.autograd.grad(tg.Tensor([1.0]), x)
    with pytest.raises(RuntimeError, match="one-element output"):
        tg.autograd.grad(x * 2, x)
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] has shape \(3,\)"):
        tg.autograd.grad(x * 2, x, grad_outputs=np.ones(3))
    with pytest.raises(ValueError, match="1 grad_outputs for 2 outputs"):
        tg.autograd.grad([x * 2, x * 3], x, grad_outputs=np.ones(2))
    with pytest.raises(TypeError, match=r"inputs\[0\] must be a Tensor"):
        tg.autograd.grad((x * 2).sum(), [np.ones(2)])


def test_retain_graph_defaults_to_create_graph():
    x = leaf([1.0, 2.0])
    y = (x.tanh() * x).sum()
    tg.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="second time"):
        tg.autograd.grad(y, x)
    z = (x.tanh() * x).sum()
    tg.autograd.grad(z, x, create_graph=True)
    tg.autograd.grad(z, x)  # kept by the first call


def test_backward_create_graph_gives_a_recording_grad_that_accumulates():
    x = leaf([0.5, -1.0])
    (x**3).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2)
    (x**2).sum().backward(create_graph=True)  # added out of place, recorded
    first = x.grad
    np.testing.assert_allclose(first.numpy(), 3 * x.numpy() ** 2 + 2 * x.numpy())
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad, 6 * x.numpy() + 2)


def test_first_order_backward_records_nothing():
    x = leaf([0.5, -1.0])
    (x**3).sum().backward()
    assert getattr(x.grad, "grad_fn", None) is None


def test_third_derivative_of_tanh():
    x = leaf([0.3])
    (d1,) = tg.autograd.grad(x.tanh().sum(), x, create_graph=True)
    (d2,) = tg.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = tg.autograd.grad(d2.sum(), x)
    t = np.tanh(0.3)
    np.testing.assert_allclose(
        d3.numpy(), [-2 * (1 - t**2) ** 2 + 4 * t**2 * (1 - t**2)], rtol=1e-12
    )


# --- PyTorch parity -------------------------------------------------------------------------------

OPS = {
    "mul_div": lambda lib, x, y: x * y / (y * y + 1),
    "pow": lambda lib, x, y: (x * x + 1) ** y,
    "exp_log_sqrt": lambda lib, x, y: (x.exp() + y * y).log() + (y * y + 1).sqrt(),
    "tanh_sigmoid": lambda lib, x, y: (x * y).tanh() * y.sigmoid(),
    "abs_relu_clamp": lambda lib, x, y: x.abs() * y.relu() + (x * y).clamp(-0.5, 0.5) * x,
    "matmul": lambda lib, x, y: (x @ y.T).tanh() @ y,
    "reductions": lambda lib, x, y: (x * y).sum(1) * x.max() + (x * y).logsumexp(1),
    "log_softmax": lambda lib, x, y: (x * y).log_softmax(1) * x,
    "movement": lambda lib, x, y: (x.reshape(6) * y.permute(1, 0).reshape(6)).reshape(3, 2) * x,
    "indexing": lambda lib, x, y: x[[0, 2, 0]] * y[1] * x[0:1],
    "join": lambda lib, x, y: lib.cat([x * y, x], 0) * lib.stack([y, x], 0).sum(0).sum(),
    "where": lambda lib, x, y: lib.where(y > 0, x * x, x * y),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_second_derivatives_of_ops_match_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 2)) + 0.1, rng.standard_normal((3, 2))
    fn = OPS[name]
    c = rng.standard_normal(fn(tg, tg.Tensor(x), tg.Tensor(y)).shape)
    u, v = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))

    def hvp(lib, grad, x, y, c, u, v):
        loss = (fn(lib, x, y).tanh() * c).sum()
        gx, gy = grad(loss, [x, y], create_graph=True)
        return grad([gx, gy], [x, y], grad_outputs=[u, v])

    ours = hvp(tg, tg.autograd.grad, leaf(x), leaf(y), c, u, v)
    tt = [torch.tensor(a, requires_grad=True) for a in (x, y)]
    theirs = hvp(torch, torch.autograd.grad, *tt, *(torch.tensor(a) for a in (c, u, v)))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=RTOL, atol=ATOL)


def _torch_and_ours(kind, torch):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=2, dtype=torch.float64)
    ours = getattr(nn, kind)(3, 4, num_layers=2, dtype=np.float64, seed=0)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    names = [n for n, _ in theirs.named_parameters()]
    params = dict(ours.named_parameters())
    return theirs, ours, list(theirs.parameters()), [params[n] for n in names]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("eager", [False, True], ids=["compiled", "eager"])
def test_hessian_vector_product_through_recurrent_layers_matches_torch(kind, eager):
    torch = pytest.importorskip("torch")
    theirs, ours, t_params, o_params = _torch_and_ours(kind, torch)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 2, 3))
    vs = [rng.standard_normal(p.shape) for p in t_params]
    out, _ = theirs(torch.tensor(x))
    grads = torch.autograd.grad((out * out).sum(), t_params, create_graph=True)
    expected = torch.autograd.grad(grads, t_params, grad_outputs=[torch.tensor(v) for v in vs])
    if eager:
        with tg.eager():
            out, _ = ours(x)
    else:
        out, _ = ours(x)  # the compiled loop: replayed op by op by the recorded backward
    grads = tg.autograd.grad((out * out).sum(), o_params, create_graph=True)
    hv = tg.autograd.grad(grads, o_params, grad_outputs=vs)
    for a, b, name in zip(hv, expected, [n for n, _ in theirs.named_parameters()]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=RTOL, atol=ATOL, err_msg=name)


def test_gradient_penalty_through_an_lstm_matches_torch():
    torch = pytest.importorskip("torch")
    theirs, ours, t_params, o_params = _torch_and_ours("LSTM", torch)
    x = np.random.default_rng(2).standard_normal((4, 2, 3))
    xt = torch.tensor(x, requires_grad=True)
    out, _ = theirs(xt)
    (gx,) = torch.autograd.grad(out.tanh().sum(), xt, create_graph=True)
    (out.pow(2).mean() + (gx**2).sum()).backward()  # loss + ||dL/dx||^2
    xo = leaf(x)
    out, _ = ours(xo)
    (gx,) = tg.autograd.grad(out.tanh().sum(), xo, create_graph=True)
    ((out**2).mean() + (gx**2).sum()).backward()
    for o, t in zip(o_params, t_params):
        np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_a_users_primitive_is_differentiable_twice():
    softplus = tg.ops.primitive(
        "softplus_twice", lambda x: np.logaddexp(0, x), lambda g, out, x: g / (1 + np.exp(-x))
    )
    x = leaf([0.3, -1.2])
    (d1,) = tg.autograd.grad(tg.apply(softplus, x).sum(), x, create_graph=True)
    (d2,) = tg.autograd.grad(d1.sum(), x)
    s = 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(d2.numpy(), s * (1 - s), rtol=1e-12)


def test_a_vjp_calling_a_numpy_function_without_a_primitive_names_it():
    sinh = tg.ops.primitive("sinh_twice", np.sinh, lambda g, out, x: g * np.cosh(x))
    x = leaf([0.3])
    (d1,) = tg.autograd.grad(tg.apply(sinh, x).sum(), x)  # first order: arrays, fine
    np.testing.assert_allclose(d1.numpy(), np.cosh(0.3))
    with pytest.raises(TypeError, match=r"np\.cosh of a Tensor: not a primitive"):
        tg.autograd.grad(tg.apply(sinh, x).sum(), x, create_graph=True)


def test_keep_grads_is_first_order_only():
    x = leaf([1.0])
    with pytest.raises(ValueError, match="keep_grads"):
        (x * x).sum().backward(create_graph=True, keep_grads=True)


def test_recorded_backward_through_a_loop_whose_initial_state_depends_on_its_input():
    # the replayed loop's gradients stop at the loop's inputs: x's gradient through h0 is added
    # once, by the outer sweep, not a second time inside the replay
    from tinygrad_seq.scan import scan

    x = leaf(np.random.default_rng(0).standard_normal((4, 2, 3)))
    w = leaf(np.random.default_rng(1).standard_normal((3, 3)))

    def loss():
        h0 = x.mean(0).tanh()  # the initial state, made from the loop's own input
        out, _ = scan(lambda x_t, s, w: ((x_t + s[0] @ w).tanh(),), x, (h0,), (w,))
        return (out * out).sum()

    plain = tg.autograd.grad(loss(), [x, w])
    recorded = tg.autograd.grad(loss(), [x, w], create_graph=True)
    for a, b in zip(recorded, plain):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)


def test_a_numpy_function_never_silently_drops_the_graph():
    # the rule (see _numpy_protocol): on a Tensor that needs a gradient, a NumPy function
    # returns a Tensor recorded in the graph or raises a TypeError naming what to use instead
    t = leaf([1.0, 2.0])
    assert np.sum(t).grad_fn == "sum" and np.mean(t).grad_fn is not None
    assert np.where(np.array([True, False]), t, 0).grad_fn == "where"
    assert np.stack([t, t]).grad_fn == "stack" and np.transpose(t[None]).shape == (2, 1)
    # the ufuncs record wherever they run: ndarray * t as t * ndarray
    assert (np.array([2.0, 3.0]) * t).grad_fn == "mul" and np.exp(t).grad_fn == "exp"
    assert np.sin(t).grad_fn == "sin"
    with pytest.raises(TypeError, match=r"np\.sinh of a Tensor: not a primitive"):
        np.sinh(t)
    with pytest.raises(TypeError, match=r"np\.median of a Tensor that requires grad .* drop"):
        np.median(t)
    np.sum(t).backward()  # the gradient flows through what NumPy returned
    assert t.grad.tolist() == [1.0, 1.0]
    # a result that carries no gradient (a bool, indices) is NumPy's answer
    assert np.allclose(t, [1.0, 2.0]) is True and int(np.argmax(t)) == 1


def test_numpy_functions_see_arrays_when_no_gradient_is_needed():
    t, frozen = leaf([1.0, 2.0]), tg.tensor([1.0, 2.0])
    assert type(np.stack([frozen, frozen])) is np.ndarray and float(np.sum(frozen)) == 3.0
    assert type(np.where(True, frozen, 0)) is np.ndarray and float(np.median(t.detach())) == 1.5
    with tg.no_grad():
        assert type(np.sum(t)) is np.float64


def test_an_array_updated_in_place_by_a_tensor_stays_an_array():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward(create_graph=True)
    before = w.numpy()
    w.data -= 0.5 * w.grad  # a recording Tensor on the right: the array is written, not rebound
    assert w.numpy() is before and w.tolist() == [0.0, 0.0] and w.is_leaf


def test_backward_takes_create_graph_third_as_torch_does():
    x = leaf([2.0])
    (x**3).sum().backward(None, None, True)  # torch: backward(gradient, retain_graph, create_graph)
    assert x.grad.grad_fn == "mul"
