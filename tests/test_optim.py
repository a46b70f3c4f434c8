"""Optimizers and gradient clipping: PyTorch's update rules (checked against torch step by step and
over a training run), param_groups, state_dict round trips, dtype and in-place updates, errors."""

import math

import numpy as np
import pytest

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F
from tinygrad_seq import nn, optim

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True}),
]
IDS = [f"{name}-{kw}" for name, kw in CONFIGS]
SHAPES = [(3, 4), (4,), (2,)]


def _pair(torch, rng):
    init = [rng.standard_normal(s) for s in SHAPES]
    ours = [nn.Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    return ours, theirs


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_updates_match_pytorch_step_by_step(name, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, theirs = _pair(torch, rng)
    opt = getattr(optim, name)(ours, **kwargs)
    t_opt = getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(20):
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            if i == 2 and 5 <= step < 9:  # no gradient: both skip the parameter
                p.grad = tp.grad = None
                continue
            g = rng.standard_normal(p.shape)
            p.grad, tp.grad = g.copy(), torch.from_numpy(g.copy())
        if step == 12:  # a learning-rate schedule changes param_groups in both
            opt.param_groups[0]["lr"] *= 0.5
            t_opt.param_groups[0]["lr"] *= 0.5
        opt.step()
        t_opt.step()
        for p, tp in zip(ours, theirs):
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_param_groups_with_their_own_options_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    ours, theirs = _pair(torch, rng)

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.1, "momentum": 0.5}]

    opt = optim.SGD(groups(ours), lr=0.01, momentum=0.9)
    t_opt = torch.optim.SGD(groups(theirs), lr=0.01, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in t_opt.param_groups]
    for _ in range(5):
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(p.shape)
            p.grad, tp.grad = g, torch.from_numpy(g.copy())
        opt.step()
        t_opt.step()
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12)


# --- training parity ------------------------------------------------------------------------------


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((16, 3)), rng.integers(0, 4, 16)


def _train_ours(name, kwargs, init, steps=30, max_norm=0.15):
    x, y = _data()
    model = nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.Tanh(), nn.Linear(8, 4))
    model.double().load_state_dict(init)
    opt = getattr(optim, name)(model.parameters(), **kwargs)
    losses, norms = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(tg.Tensor(x)), y)
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm).item())
        opt.step()
        losses.append(loss.item())
    return np.array(losses), np.array(norms)


def _train_torch(torch, name, kwargs, init, steps=30, max_norm=0.15):
    x, y = _data()
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 4))
    model.double().load_state_dict({k: torch.from_numpy(v) for k, v in init.items()})
    opt = getattr(torch.optim, name)(model.parameters(), **kwargs)
    losses, norms = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm).item())
        opt.step()
        losses.append(loss.item())
    return np.array(losses), np.array(norms)


TRAIN_CONFIGS = [
    ("SGD", {"lr": 0.5, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    ("SGD", {"lr": 0.3}),
    ("Adam", {"lr": 0.05, "weight_decay": 1e-3}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("name, kwargs", TRAIN_CONFIGS, ids=[c[0] for c in TRAIN_CONFIGS])
def test_training_with_clipping_has_pytorchs_loss_curve(name, kwargs):
    torch = pytest.importorskip("torch")
    init = nn.Sequential(nn.Linear(3, 8, seed=1), nn.Tanh(), nn.Linear(8, 4, seed=2)).double()
    init = init.state_dict()
    losses, norms = _train_ours(name, kwargs, init)
    t_losses, t_norms = _train_torch(torch, name, kwargs, init)
    assert losses[-1] < losses[0]  # it trains
    assert (norms > 0.15).any()  # and the clipping was active
    np.testing.assert_allclose(losses, t_losses, rtol=1e-9)
    np.testing.assert_allclose(norms, t_norms, rtol=1e-9)


# --- clip_grad_norm_ ------------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("max_norm", [0.1, 100.0])
def test_clip_grad_norm_matches_pytorch(norm_type, dtype, max_norm):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    ours = [nn.Parameter(np.zeros(s, dtype=dtype)) for s in SHAPES]
    theirs = [torch.zeros(s, dtype=torch.from_numpy(np.zeros(0, dtype)).dtype) for s in SHAPES]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad, tp.grad = g.copy(), torch.from_numpy(g.copy())
    ours.append(nn.Parameter(np.zeros(2, dtype=dtype)))  # no grad: ignored
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, tg.Tensor) and total.dtype == dtype  # as torch: a 0-d tensor
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(total.item(), t_total.item(), rtol=rtol)
    for p, tp in zip(ours, theirs):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=rtol)


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(np.zeros(2))
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0  # no gradients at all
    p.grad = np.array([np.inf, 0.0])
    with pytest.raises(RuntimeError, match="inf"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type"):
        nn.utils.clip_grad_norm_(p, 1.0, norm_type=0)
    q = nn.Parameter(np.zeros(2))
    q.grad = np.array([3.0, 4.0])
    params = (x for x in [q])  # a generator is read once
    assert nn.utils.clip_grad_norm_(params, 1.0).item() == 5.0
    np.testing.assert_allclose(np.linalg.norm(q.grad), 1.0, rtol=1e-6)


# --- dtype, in place, zero_grad -------------------------------------------------------------------


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_updates_are_in_place_and_keep_float32(name, kwargs):
    p = nn.Parameter(np.ones((2, 3), dtype=np.float32))
    array = p.numpy()
    opt = getattr(optim, name)([p], **kwargs)
    opt.param_groups[0]["lr"] = np.float64(opt.param_groups[0]["lr"])  # NumPy option: no upcast
    for _ in range(3):
        p.grad = np.full((2, 3), 0.5, dtype=np.float32)
        opt.step()
    assert p.numpy() is array and p.dtype == np.float32
    assert not np.array_equal(p.numpy(), np.ones((2, 3)))
    for value in opt.state.get(p, {}).values():
        assert not isinstance(value, np.ndarray) or value.dtype == np.float32


def test_zero_grad():
    p = nn.Parameter(np.ones(2))
    opt = optim.Adam([p])
    p.grad = np.ones(2)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # nothing to do, and no state created
    assert not opt.state


def test_model_parameters_generator_and_training_loop():
    model = nn.Sequential(nn.Linear(2, 4, seed=0), nn.Tanh(), nn.Linear(4, 1, seed=1))
    opt = optim.Adam(model.parameters(), lr=0.05)
    x = np.random.default_rng(0).standard_normal((32, 2)).astype(np.float32)
    y = (x[:, :1] * x[:, 1:]).astype(np.float32)
    first = None
    for _ in range(100):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first


# --- state_dict ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_state_dict_through_a_checkpoint_resumes_exactly(name, kwargs, tmp_path):
    shapes = [(3, 4), (4,), ()]

    def grads(step):
        rng = np.random.default_rng(step)
        return [rng.standard_normal(s) for s in shapes]

    def run(opt, params, steps):
        for step in steps:
            for p, g in zip(params, grads(step)):
                p.grad = g
            opt.step()

    init = [np.random.default_rng(9).standard_normal(s) for s in shapes]  # () is a 0-d parameter
    straight = [nn.Parameter(a.copy()) for a in init]
    run(getattr(optim, name)(straight, **kwargs), straight, range(10))

    first = [nn.Parameter(a.copy()) for a in init]
    opt = getattr(optim, name)(first, **kwargs)
    run(opt, first, range(5))
    tg.save({"params": [p.numpy() for p in first], "optim": opt.state_dict()}, tmp_path / "ck.npz")
    ckpt = tg.load(tmp_path / "ck.npz")
    resumed = [nn.Parameter(a) for a in ckpt["params"]]
    opt2 = getattr(optim, name)(resumed, lr=123.0)  # options come back from the state dict
    opt2.load_state_dict(ckpt["optim"])
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    run(opt2, resumed, range(5, 10))
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_state_dict_layout_is_pytorchs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, theirs = _pair(torch, rng)
    opt, t_opt = optim.Adam(ours, lr=0.01), torch.optim.Adam(theirs, lr=0.01)
    for p, tp in zip(ours, theirs):
        p.grad, tp.grad = np.ones(p.shape), torch.ones(tp.shape, dtype=torch.float64)
    opt.step()
    t_opt.step()
    sd, t_sd = opt.state_dict(), t_opt.state_dict()
    assert list(sd["state"]) == list(t_sd["state"]) == [0, 1, 2]
    for k in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(sd["state"][1][k], t_sd["state"][1][k].numpy(), rtol=1e-12)
    assert sd["state"][0]["step"] == t_sd["state"][0]["step"].item() == 1
    assert sd["param_groups"][0]["params"] == t_sd["param_groups"][0]["params"]
    assert set(sd["param_groups"][0]) <= set(t_sd["param_groups"][0])
    sd["state"][0]["exp_avg"][...] = 99.0  # a copy
    assert not (opt.state[ours[0]]["exp_avg"] == 99.0).any()


def test_load_state_dict_errors_leave_the_optimizer_unchanged():
    params = [nn.Parameter(np.zeros(s)) for s in SHAPES]
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = np.ones(p.shape)
    opt.step()
    good = opt.state_dict()

    bad_shape = opt.state_dict()
    bad_shape["state"][1]["momentum_buffer"] = np.zeros(7)
    bad_shape["param_groups"][0]["lr"] = 5.0
    with pytest.raises(ValueError, match=r"state '1.momentum_buffer' has shape \(7,\)"):
        opt.load_state_dict(bad_shape)
    assert opt.param_groups[0]["lr"] == 0.1

    other = optim.SGD([nn.Parameter(np.zeros(2))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="group 0 has 3 parameters in the saved state, 1 here"):
        other.load_state_dict(good)
    with pytest.raises(ValueError, match="1 parameter groups, this optimizer has 2"):
        optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1).load_state_dict(good)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"weights": 1})
    np.testing.assert_array_equal(opt.state[params[1]]["momentum_buffer"], np.ones(4))


# --- construction errors --------------------------------------------------------------------------


def test_construction_errors():
    p = nn.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="Invalid momentum"):
        optim.SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid weight_decay"):
        optim.AdamW([p], weight_decay=-1.0)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="single Tensor"):
        optim.Adam(p)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.Adam([np.zeros(2)])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([p * 2])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.Adam([{"params": [p]}, {"params": [p]}])
    with pytest.raises(TypeError, match="unknown options \\['momentum'\\]"):
        optim.Adam([{"params": [p], "momentum": 0.9}])


def test_repr_lists_the_groups():
    text = repr(optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.1" in text


# --- zero_grad, as torch 2.13 ---------------------------------------------------------------------


def test_zero_grad_sets_none_by_default_and_zeroes_in_place_otherwise():
    torch = pytest.importorskip("torch")
    w, tw = nn.Parameter(np.array([1.0, 2.0])), torch.tensor([1.0, 2.0], requires_grad=True)
    opt, t_opt = optim.SGD([w], lr=0.1), torch.optim.SGD([tw], lr=0.1)
    (w * w).sum().backward()
    (tw * tw).sum().backward()
    grad, array, t_grad = w.grad, w.grad.numpy(), tw.grad
    opt.zero_grad(set_to_none=False)
    t_opt.zero_grad(set_to_none=False)
    assert (w.grad is grad) == (tw.grad is t_grad) is True
    assert w.grad.numpy() is array  # the same storage, as torch's zero_()
    np.testing.assert_array_equal(w.grad.numpy(), tw.grad.numpy())
    opt.zero_grad()
    t_opt.zero_grad()
    assert w.grad is None and tw.grad is None
    opt.zero_grad(set_to_none=False)  # no gradient: nothing to zero
    assert w.grad is None


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_zero_grad_in_place_detaches_a_recorded_gradient_as_pytorch():
    torch = pytest.importorskip("torch")
    w, tw = nn.Parameter(np.array([1.0, 2.0])), torch.tensor([1.0, 2.0], requires_grad=True)
    (w * w * w).sum().backward(create_graph=True)
    (tw * tw * tw).sum().backward(create_graph=True)
    assert w.grad.requires_grad and tw.grad.requires_grad
    optim.SGD([w], lr=0.1).zero_grad(set_to_none=False)
    torch.optim.SGD([tw], lr=0.1).zero_grad(set_to_none=False)
    assert w.grad.requires_grad == tw.grad.requires_grad == False  # noqa: E712
    assert w.grad.grad_fn is None and tw.grad.grad_fn is None
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])


def test_zero_grad_in_place_of_a_read_only_gradient_array():
    w = nn.Parameter(np.zeros((2, 3)))
    w.grad = np.broadcast_to(np.ones(3), (2, 3))  # a read-only view
    optim.SGD([w], lr=0.1).zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((2, 3)))


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_steps_allocate_no_parameter_sized_temporaries(name):
    """After the first step, an update computes in one scratch array kept per parameter: no
    fresh array of the parameter's size (each would be a new mmap above 128 KiB, zeroed by the
    kernel at every step: the demo's page faults). The scratch is not in the state_dict."""
    import tracemalloc

    w = nn.Parameter(np.ones((256, 256), np.float32))
    opt = getattr(optim, name)([w], lr=0.01, amsgrad=True)
    w.grad = np.full((256, 256), 0.5, np.float32)
    opt.step()
    tracemalloc.start()
    tracemalloc.reset_peak()
    opt.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < w.numpy().nbytes // 4
    assert set(opt.state_dict()["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
