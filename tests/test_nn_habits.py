"""PyTorch habits on the nn / optim side work as in PyTorch: with the same weights and inputs the
layers, losses, optimizers, schedulers, clipping and packed sequences give torch's numbers
(float64, ~1e-9), and the initialisers follow torch's fans, gains and distributions.

torch is a test oracle only; these tests skip without it.
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F
from tinygrad_seq import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional
RTOL, ATOL = 1e-9, 1e-12


def _close(ours, theirs, what=""):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    ours = ours.numpy() if isinstance(ours, tg.Tensor) else ours
    assert ours is not None, f"{what}: missing"
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def _leaves(array):
    """The same float64 values as a tg leaf and a torch leaf, both requiring grad."""
    return tg.Tensor(array.copy(), requires_grad=True), torch.tensor(array, requires_grad=True)


# --- LayerNorm ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, normalized, kwargs",
    [
        ((3, 5), 5, {}),
        ((2, 3, 4), (3, 4), {"eps": 1e-3}),
        ((4, 6), (6,), {"elementwise_affine": False}),
        ((2, 6), 6, {"bias": False}),
    ],
)
def test_layer_norm_matches_torch_values_and_gradients(shape, normalized, kwargs):
    rng = np.random.default_rng(0)
    theirs = torch.nn.LayerNorm(normalized, dtype=torch.float64, **kwargs)
    ours = nn.LayerNorm(normalized, dtype=np.float64, **kwargs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    with torch.no_grad():  # non-trivial affine parameters, loaded into ours via the state_dict
        for p in theirs.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x, tx = _leaves(rng.standard_normal(shape) * 3 + 1)
    w = rng.standard_normal(shape)
    (ours(x) * w).sum().backward()
    (theirs(tx) * torch.from_numpy(w)).sum().backward()
    _close(ours(x), theirs(tx), "output")
    _close(x.grad, tx.grad, "input grad")
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        _close(p.grad, tp.grad, name)
    assert repr(ours) == repr(theirs)


def test_layer_norm_checks_the_shape_and_casts_arrays():
    with pytest.raises(ValueError, match=r"normalized_shape \(4,\) .* input shape \(2, 3\)"):
        nn.LayerNorm(4)(np.zeros((2, 3), np.float32))
    assert nn.LayerNorm(3)(np.zeros((2, 3))).dtype == np.float32  # an array is data: cast
    with pytest.raises(TypeError, match="float64 does not match the weight dtype float32"):
        nn.LayerNorm(3)(tg.Tensor(np.zeros((2, 3))))


# --- losses ---------------------------------------------------------------------------------------


def _class_data(rng, n=6, c=4):
    return rng.standard_normal((n, c)) * 2, rng.integers(0, c, n), rng.random(c) + 0.5


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("with_weight", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss"])
def test_class_losses_match_torch(name, reduction, with_weight, ignore_index):
    rng = np.random.default_rng(1)
    logits, target, weight = _class_data(rng)
    if name == "NLLLoss":  # log-probabilities
        logits = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    kw = {"ignore_index": ignore_index, "reduction": reduction}
    ours = getattr(nn, name)(weight if with_weight else None, **kw)
    theirs = getattr(torch.nn, name)(torch.from_numpy(weight) if with_weight else None, **kw)
    x, tx = _leaves(logits)
    loss, t_loss = ours(x, target), theirs(tx, torch.from_numpy(target))
    _close(loss, t_loss, "loss")
    g = rng.standard_normal(loss.shape)
    (loss * g).sum().backward()
    (t_loss * torch.from_numpy(g)).sum().backward()
    _close(x.grad, tx.grad, "grad")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_module_matches_torch(reduction):
    rng = np.random.default_rng(2)
    x, tx = _leaves(rng.standard_normal((3, 4)))
    y = rng.standard_normal((3, 4))
    loss = nn.MSELoss(reduction=reduction)(x, y)
    t_loss = torch.nn.MSELoss(reduction=reduction)(tx, torch.from_numpy(y))
    _close(loss, t_loss)
    loss.sum().backward()
    t_loss.sum().backward()
    _close(x.grad, tx.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("with_weight", [False, True])
@pytest.mark.parametrize("with_pos_weight", [False, True])
@pytest.mark.parametrize("as_module", [False, True])
def test_bce_with_logits_matches_torch(reduction, with_weight, with_pos_weight, as_module):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((5, 3)) * 4
    logits[0] = [0.0, 40.0, -40.0]  # the kink of max(x, 0) and the far tails
    logits[1] = [800.0, -800.0, 1e-8]  # exp(800) overflows float64: the form must not
    target = rng.random((5, 3))
    target[1] = [0.0, 1.0, 1.0]
    weight = rng.random((5, 3)) if with_weight else None
    pos_weight = rng.random(3) + 0.5 if with_pos_weight else None
    x, tx = _leaves(logits)
    if as_module:
        loss = nn.BCEWithLogitsLoss(weight, reduction=reduction, pos_weight=pos_weight)(x, target)
    else:
        loss = F.binary_cross_entropy_with_logits(x, target, weight, reduction, pos_weight)
    t = lambda a: None if a is None else torch.from_numpy(a)
    t_loss = TF.binary_cross_entropy_with_logits(
        tx, t(target), t(weight), reduction=reduction, pos_weight=t(pos_weight)
    )
    assert np.isfinite(loss.numpy()).all()
    _close(loss, t_loss, "loss")
    g = rng.standard_normal(loss.shape)
    (loss * g).sum().backward()
    (t_loss * torch.from_numpy(g)).sum().backward()
    _close(x.grad, tx.grad, "grad")


@pytest.mark.parametrize(
    "name, kwargs",
    [("CrossEntropyLoss", {"ignore_index": 3}), ("MSELoss", {"reduction": "sum"})]
    + [("NLLLoss", {}), ("BCEWithLogitsLoss", {"reduction": "none"})],
)
def test_loss_modules_print_as_torchs(name, kwargs):
    assert repr(getattr(nn, name)(**kwargs)) == repr(getattr(torch.nn, name)(**kwargs))


def test_losses_name_bad_input():
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match=r"target has shape \(2,\) but input has shape \(3,\)"):
        F.binary_cross_entropy_with_logits(tg.Tensor(np.zeros(3)), np.zeros(2))
    with pytest.raises(TypeError):  # ignore_index is keyword-only: no silent misplacement
        nn.CrossEntropyLoss(None, None, 0)


# --- one_hot --------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_classes", [-1, 7])
@pytest.mark.parametrize("shape", [(5,), (2, 3), ()])
def test_one_hot_matches_torch(shape, num_classes):
    idx = np.random.default_rng(4).integers(0, 5, shape)
    ours = F.one_hot(tg.Tensor(idx), num_classes)
    theirs = TF.one_hot(torch.from_numpy(idx), num_classes)
    assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(F.one_hot(idx, num_classes).numpy(), theirs.numpy())  # an array


def test_one_hot_names_bad_input():
    with pytest.raises(TypeError, match="integer class indices, got dtype float64"):
        F.one_hot(np.array([1.0]))
    with pytest.raises(ValueError, match="class index 3 is out of range for num_classes=3"):
        F.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="class index -1"):
        F.one_hot(np.array([-1]), 3)


# --- nn.init --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nonlinearity, param",
    [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("selu", None)]
    + [("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0), ("conv2d", None)],
)
def test_calculate_gain_is_torchs(nonlinearity, param):
    ours = nn.init.calculate_gain(nonlinearity, param)
    assert ours == torch.nn.init.calculate_gain(nonlinearity, param)


SHAPES = [(30, 50), (64, 8), (16, 4, 3), (8, 4, 3, 3)]


def _sample_stats(fill, shape, n):
    """max |value| and std of ``n`` fills of a tensor of ``shape`` (values pooled)."""
    values = np.concatenate([np.asarray(fill(shape, seed)).ravel() for seed in range(n)])
    return np.abs(values).max(), values.std()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("xavier_uniform_", {"gain": 2.0}),
        ("xavier_normal_", {"gain": 0.5}),
        ("kaiming_uniform_", {"a": math.sqrt(5)}),
        ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
        ("kaiming_normal_", {"nonlinearity": "tanh"}),
    ],
)
def test_scaled_initialisers_draw_from_torchs_distribution(shape, name, kwargs):
    def ours(shape, seed):
        w = nn.Parameter(np.zeros(shape))
        before = w._version
        assert getattr(nn.init, name)(w, rng=seed, **kwargs) is w
        assert w._version == before + 1  # an in-place write, counted
        return w.numpy()

    def theirs(shape, seed):
        torch.manual_seed(seed)
        return getattr(torch.nn.init, name)(torch.empty(shape, dtype=torch.float64), **kwargs)

    n = max(1, 20000 // math.prod(shape))
    (our_max, our_std), (t_max, t_std) = (
        _sample_stats(ours, shape, n),
        _sample_stats(theirs, shape, n),
    )
    assert our_std == pytest.approx(t_std, rel=0.03)
    if "uniform" in name:  # the bound: both maxima sit just under it
        assert our_max == pytest.approx(t_max, rel=0.01)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (6, 2, 3)])
@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal_is_orthogonal_as_torchs(shape, gain):
    w = nn.init.orthogonal_(nn.Parameter(np.zeros(shape)), gain=gain, rng=0)
    theirs = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain)
    for q in (w.numpy().reshape(shape[0], -1), theirs.numpy().reshape(shape[0], -1)):
        small = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
        np.testing.assert_allclose(small, gain**2 * np.eye(len(small)), atol=1e-12)
    assert w._version == 1


def test_initialisers_are_reproducible_and_name_bad_input():
    a = nn.init.xavier_uniform_(tg.zeros(4, 3), rng=7).numpy()
    np.testing.assert_array_equal(a, nn.init.xavier_uniform_(tg.zeros(4, 3), rng=7).numpy())
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(3,\)"):
        nn.init.xavier_normal_(tg.zeros(3))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        nn.init.kaiming_uniform_(tg.zeros(3, 3), mode="in")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        nn.init.calculate_gain("gelu")
    with pytest.raises(TypeError, match="floating-point"):
        nn.init.orthogonal_(np.zeros((2, 2), dtype=np.int64))


# --- Adagrad, RMSprop, Adadelta -------------------------------------------------------------------

OPTIM_CONFIGS = [
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.01}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}),
]
OPTIM_IDS = [f"{name}-{kw}" for name, kw in OPTIM_CONFIGS]
PARAM_SHAPES = [(3, 4), (4,), ()]


@pytest.mark.parametrize("name, kwargs", OPTIM_CONFIGS, ids=OPTIM_IDS)
def test_adaptive_optimizers_match_torch_step_by_step(name, kwargs):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in PARAM_SHAPES]
    ours = [nn.Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(tg.optim, name)(ours, **kwargs)
    t_opt = getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(15):
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            if i == 1 and 4 <= step < 7:  # no gradient: both skip it
                p.grad = tp.grad = None
                continue
            g = rng.standard_normal(p.shape)
            p.grad, tp.grad = g.copy(), torch.from_numpy(g.copy())
        versions = [p._version for p in ours]
        opt.step()
        t_opt.step()
        for p, tp, v in zip(ours, theirs, versions):
            _close(p.numpy(), tp, f"step {step}")
            assert p._version == v + (p.grad is not None)  # each update counted
    sd, t_sd = opt.state_dict(), t_opt.state_dict()
    assert set(sd["param_groups"][0]) <= set(t_sd["param_groups"][0])
    for key, value in sd["state"][0].items():
        _close(np.asarray(value, dtype=float), t_sd["state"][0][key], key)
    assert set(sd["state"][0]) == set(t_sd["state"][0])


@pytest.mark.parametrize("name, kwargs", OPTIM_CONFIGS, ids=OPTIM_IDS)
def test_adaptive_optimizer_state_dict_resumes_exactly(name, kwargs, tmp_path):
    def run(opt, params, steps):
        for step in steps:
            rng = np.random.default_rng(step)
            for p in params:
                p.grad = rng.standard_normal(p.shape)
            opt.step()

    init = [np.random.default_rng(9).standard_normal(s) for s in PARAM_SHAPES]
    straight = [nn.Parameter(a.copy()) for a in init]
    run(getattr(tg.optim, name)(straight, **kwargs), straight, range(8))
    first = [nn.Parameter(a.copy()) for a in init]
    opt = getattr(tg.optim, name)(first, **kwargs)
    run(opt, first, range(4))
    tg.save({"params": [p.numpy() for p in first], "optim": opt.state_dict()}, tmp_path / "ck.npz")
    ckpt = tg.load(tmp_path / "ck.npz")
    resumed = [nn.Parameter(a) for a in ckpt["params"]]
    opt2 = getattr(tg.optim, name)(resumed, lr=123.0)
    opt2.load_state_dict(ckpt["optim"])
    run(opt2, resumed, range(4, 8))
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_adagrad_state_exists_from_construction_as_torchs():
    p, tp = nn.Parameter(np.zeros(2)), torch.zeros(2, dtype=torch.float64, requires_grad=True)
    sd = tg.optim.Adagrad([p], initial_accumulator_value=0.3).state_dict()
    t_sd = torch.optim.Adagrad([tp], initial_accumulator_value=0.3).state_dict()
    assert sd["state"][0]["step"] == t_sd["state"][0]["step"].item() == 0
    _close(sd["state"][0]["sum"], t_sd["state"][0]["sum"])


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("Adagrad", {"lr_decay": -1}, "lr_decay"),
        ("Adagrad", {"eps": -1}, "epsilon"),
        ("RMSprop", {"momentum": -0.5}, "momentum"),
        ("RMSprop", {"alpha": -0.1}, "alpha"),
        ("RMSprop", {"lr": -1}, "learning rate"),
        ("Adadelta", {"rho": 1.5}, "rho"),
        ("Adadelta", {"eps": -1}, "epsilon"),
    ],
)
def test_adaptive_optimizers_name_bad_options(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(tg.optim, name)([nn.Parameter(np.zeros(2))], **kwargs)


def test_optim_is_a_package_and_the_old_names_stay():
    from tinygrad_seq.optim import SGD, Adam, AdamW, Optimizer, lr_scheduler

    assert tg.optim.SGD is SGD and issubclass(AdamW, Adam) and issubclass(SGD, Optimizer)
    assert tg.optim.lr_scheduler is lr_scheduler


# --- lr_scheduler ---------------------------------------------------------------------------------

SCHEDULES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("StepLR", {"step_size": 1}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 5}),
    ("CosineAnnealingLR", {"T_max": 4, "eta_min": 0.01}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.95**epoch / (1 + epoch % 3)}),
]
SCHEDULE_IDS = [f"{name}-{sorted(kw)}" for name, kw in SCHEDULES]


def _two_groups(make_optimizer, tensors):
    return make_optimizer([{"params": [tensors[0]]}, {"params": [tensors[1]], "lr": 0.3}], lr=0.1)


def _scheduled_pair(name, kwargs, make=lambda lib, params, **kw: lib.optim.SGD(params, **kw)):
    ours = [nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))]
    theirs = [torch.ones(n, dtype=torch.float64, requires_grad=True) for n in (2, 3)]
    opt = make(tg, [{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.3}], lr=0.1)
    t_opt = make(torch, [{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.3}], lr=0.1)
    sched = getattr(tg.optim.lr_scheduler, name)(opt, **kwargs)
    t_sched = getattr(torch.optim.lr_scheduler, name)(t_opt, **kwargs)
    return (ours, opt, sched), (theirs, t_opt, t_sched)


@pytest.mark.parametrize("name, kwargs", SCHEDULES, ids=SCHEDULE_IDS)
def test_schedules_give_torchs_learning_rates(name, kwargs):
    (_, opt, sched), (_, t_opt, t_sched) = _scheduled_pair(name, kwargs)
    for epoch in range(25):
        assert sched.last_epoch == t_sched.last_epoch == epoch
        assert sched.get_last_lr() == t_sched.get_last_lr()  # bit for bit
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in t_opt.param_groups]
        opt.step()
        t_opt.step()
        sched.step()
        t_sched.step()
    ours, theirs = sched.state_dict(), t_sched.state_dict()
    assert set(ours) <= set(theirs)
    for key, value in ours.items():
        assert value == theirs[key], key


@pytest.mark.parametrize("name, kwargs", SCHEDULES[:5], ids=SCHEDULE_IDS[:5])
def test_schedules_resume_from_a_checkpoint(name, kwargs, tmp_path):
    (_, opt, sched), _ = _scheduled_pair(name, kwargs)
    for _ in range(7):
        sched.step()
    tg.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ck.npz")
    expected = []
    for _ in range(10):
        sched.step()
        expected.append(sched.get_last_lr())
    ckpt = tg.load(tmp_path / "ck.npz")
    params = [nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))]
    opt2 = _two_groups(tg.optim.SGD, params)
    opt2.load_state_dict(ckpt["optim"])  # brings initial_lr back
    sched2 = getattr(tg.optim.lr_scheduler, name)(opt2, **kwargs)  # PyTorch's way to resume
    sched2.load_state_dict(ckpt["sched"])
    got = []
    for _ in range(10):
        sched2.step()
        got.append(sched2.get_last_lr())
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_schedule_and_optimizer_steps_give_torchs_parameters():
    (ours, opt, sched), (theirs, t_opt, t_sched) = _scheduled_pair(
        "CosineAnnealingLR",
        {"T_max": 3},
        make=lambda lib, params, **kw: lib.optim.Adam(params, **kw),
    )
    rng = np.random.default_rng(5)
    for _ in range(8):
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(p.shape)
            p.grad, tp.grad = g.copy(), torch.from_numpy(g)
        opt.step()
        t_opt.step()
        sched.step()
        t_sched.step()
    for p, tp in zip(ours, theirs):
        _close(p.numpy(), tp)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"patience": 2, "factor": 0.5},
        {"patience": 1, "cooldown": 2, "min_lr": 0.02},
        {"mode": "max", "patience": 0, "threshold": 0.1, "threshold_mode": "abs"},
        {"mode": "max", "patience": 1, "min_lr": [0.05, 0.01]},
    ],
)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    (_, opt, sched), (_, t_opt, t_sched) = _scheduled_pair("ReduceLROnPlateau", kwargs)
    metrics = [5.0, 4.0, 4.0, 3.99999, 4.1, 3.0, 3.0, 3.0, 3.0, 2.5] * 3
    for i, metric in enumerate(metrics):
        value = tg.Tensor(np.array(metric)) if i % 2 else metric  # a 0-d tensor is accepted
        sched.step(value)
        t_sched.step(metric)
        assert sched.get_last_lr() == t_sched.get_last_lr(), f"epoch {i}"
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in t_opt.param_groups]
    ours, theirs = sched.state_dict(), t_sched.state_dict()
    assert set(ours) <= set(theirs)
    assert all(ours[k] == theirs[k] for k in ours)


def test_schedulers_name_bad_input():
    opt = tg.optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(TypeError, match="StepLR: list is not an optimizer"):
        tg.optim.lr_scheduler.StepLR([], step_size=1)
    with pytest.raises(KeyError, match="initial_lr"):
        tg.optim.lr_scheduler.StepLR(opt, step_size=1, last_epoch=3)
    with pytest.raises(ValueError, match="expected 1 lr_lambdas"):
        tg.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0, lambda e: 1.0])
    with pytest.raises(ValueError, match="factor must be < 1.0"):
        tg.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=2.0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        tg.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="low")


def test_lambda_lr_state_dict_saves_callable_objects_not_functions():
    class Warmup:
        def __init__(self):
            self.steps = 4

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.steps)

    opt = _two_groups(tg.optim.SGD, [nn.Parameter(np.zeros(1)), nn.Parameter(np.zeros(1))])
    sched = tg.optim.lr_scheduler.LambdaLR(opt, [Warmup(), lambda epoch: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"steps": 4}, None]
    state["lr_lambdas"][0]["steps"] = 2
    sched.load_state_dict(state)
    assert sched.lr_lambdas[0].steps == 2


# --- gradient clipping ----------------------------------------------------------------------------


@pytest.mark.parametrize("grad_as_tensor", [False, True])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_returns_torchs_tensor(norm_type, grad_as_tensor):
    rng = np.random.default_rng(6)
    grads = [rng.standard_normal(s) for s in PARAM_SHAPES]
    ours = [nn.Parameter(np.zeros(s)) for s in PARAM_SHAPES]
    theirs = [torch.zeros(s, dtype=torch.float64) for s in PARAM_SHAPES]
    for p, tp, g in zip(ours, theirs, grads):
        # .grad as an ndarray today, as a Tensor once the Tensor-side habits land: both work
        p.grad = tg.Tensor(g.copy()) if grad_as_tensor else g.copy()
        tp.grad = torch.from_numpy(g.copy())
    arrays = [np.asarray(p.grad) for p in ours]
    total = nn.utils.clip_grad_norm_(ours, 0.5, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)
    assert isinstance(total, tg.Tensor) and total.shape == () and total.dtype == np.float64
    _close(total, t_total)
    for p, tp, array in zip(ours, theirs, arrays):
        assert np.asarray(p.grad) is array or np.shares_memory(np.asarray(p.grad), array)
        _close(np.asarray(p.grad), tp.grad)


@pytest.mark.parametrize("grad_as_tensor", [False, True])
def test_clip_grad_value_matches_torch(grad_as_tensor):
    rng = np.random.default_rng(7)
    grads = [np.asarray(rng.standard_normal(s) * 2) for s in PARAM_SHAPES]
    ours = [nn.Parameter(np.zeros(s)) for s in PARAM_SHAPES] + [nn.Parameter(np.zeros(2))]
    theirs = [torch.zeros(s, dtype=torch.float64) for s in PARAM_SHAPES]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad = tg.Tensor(g.copy()) if grad_as_tensor else g.copy()
        tp.grad = torch.from_numpy(g.copy())
    assert nn.utils.clip_grad_value_(ours, 0.7) is None  # the last has no grad: skipped
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, tp in zip(ours, theirs):
        _close(np.asarray(p.grad), tp.grad)
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        nn.utils.clip_grad_value_(ours, -1.0)


def test_clip_grad_norm_without_gradients_is_a_zero_tensor():
    total = nn.utils.clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0)
    assert isinstance(total, tg.Tensor) and total.item() == 0.0


# --- padded and packed sequences ------------------------------------------------------------------


def test_nn_utils_rnn_imports_as_torchs():
    from tinygrad_seq.nn.utils.rnn import (  # the import line a port changes
        PackedSequence,
        pack_padded_sequence,
        pad_packed_sequence,
        pad_sequence,
    )

    assert nn.utils.rnn.PackedSequence is PackedSequence
    assert PackedSequence._fields == torch.nn.utils.rnn.PackedSequence._fields
    assert callable(pack_padded_sequence) and callable(pad_packed_sequence)
    assert callable(pad_sequence)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch_with_gradients(batch_first, padding_side):
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal((n, 3)) for n in (2, 5, 1)]
    ours = [tg.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    kw = {"batch_first": batch_first, "padding_value": -2.0, "padding_side": padding_side}
    padded = nn.utils.rnn.pad_sequence(ours, **kw)
    t_padded = torch.nn.utils.rnn.pad_sequence(theirs, **kw)
    _close(padded, t_padded)
    w = rng.standard_normal(padded.shape)
    (padded * w).sum().backward()
    (t_padded * torch.from_numpy(w)).sum().backward()
    for o, t in zip(ours, theirs):
        _close(o.grad, t.grad)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[5, 3, 3, 1], [2, 5, 1, 4]])
def test_pack_and_pad_packed_match_torch(batch_first, lengths):
    enforce_sorted = lengths == sorted(lengths, reverse=True)
    rng = np.random.default_rng(9)
    shape = (4, 5, 3) if batch_first else (5, 4, 3)
    x, tx = _leaves(rng.standard_normal(shape))
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    t_packed = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first, enforce_sorted)
    _close(packed.data, t_packed.data, "data")
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        ours, theirs = getattr(packed, field), getattr(t_packed, field)
        assert (ours is None) == (theirs is None), field
        if ours is not None:
            assert ours.dtype == np.int64
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=field)
    padded, lens = nn.utils.rnn.pad_packed_sequence(packed, batch_first, 0.5, total_length=6)
    t_padded, t_lens = torch.nn.utils.rnn.pad_packed_sequence(t_packed, batch_first, 0.5, 6)
    _close(padded, t_padded, "padded")
    np.testing.assert_array_equal(lens.numpy(), t_lens.numpy())
    w = rng.standard_normal(padded.shape)
    (padded * w).sum().backward()
    (t_padded * torch.from_numpy(w)).sum().backward()
    _close(x.grad, tx.grad, "grad")


def test_packing_names_bad_input():
    rnn_utils = nn.utils.rnn
    with pytest.raises(ValueError, match=r"lengths \[1, 3\] must be sorted in decreasing order"):
        rnn_utils.pack_padded_sequence(np.zeros((3, 2)), [1, 3])
    with pytest.raises(ValueError, match=r"every length must be in 1..3"):
        rnn_utils.pack_padded_sequence(np.zeros((3, 2)), [4, 1])
    with pytest.raises(ValueError, match="expected 2 lengths"):
        rnn_utils.pack_padded_sequence(np.zeros((3, 2)), [3])
    with pytest.raises(TypeError, match="lengths must be a 1-D list or array of integers"):
        rnn_utils.pack_padded_sequence(np.zeros((3, 2)), [3.0, 1.0])
    packed = rnn_utils.pack_padded_sequence(np.zeros((3, 2)), [3, 1])
    with pytest.raises(ValueError, match="total_length=2 is shorter than the longest sequence"):
        rnn_utils.pad_packed_sequence(packed, total_length=2)
    with pytest.raises(ValueError, match=r"sequence 1 has shape \(2, 3\)"):
        rnn_utils.pad_sequence([np.zeros((2, 2)), np.zeros((2, 3))])
    packed_x = rnn_utils.pack_padded_sequence(np.zeros((3, 2, 1), np.float32), [3, 1])
    with pytest.raises(ValueError, match="PackedSequence carries its lengths"):
        nn.GRU(1, 2)(packed_x, lengths=[3, 1])


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize(
    "num_layers, bidirectional, batch_first, lengths, with_state",
    [
        (1, False, False, [5, 3, 2], False),
        (2, True, False, [2, 5, 3], True),
        (2, False, True, [1, 4, 5], False),
        (1, True, True, [5, 5, 2], True),
        (1, False, False, [4, 4, 4], False),  # all full: the scan path
    ],
)
def test_recurrent_layers_take_a_packed_sequence_as_torch(
    kind, num_layers, bidirectional, batch_first, lengths, with_state
):
    I, H, B, T = 3, 4, 3, 5
    enforce_sorted = lengths == sorted(lengths, reverse=True)
    kw = {"num_layers": num_layers, "bidirectional": bidirectional, "batch_first": batch_first}
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(I, H, dtype=torch.float64, **kw)
    ours = getattr(nn, kind)(I, H, dtype=np.float64, **kw)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(10)
    x, tx = _leaves(rng.standard_normal((B, T, I) if batch_first else (T, B, I)))
    states = [rng.standard_normal((num_layers * (1 + bidirectional), B, H))]
    states *= 2 if kind == "LSTM" else 1
    pairs = [_leaves(s) for s in states]
    hx = t_hx = None
    if with_state:
        hx = tuple(p[0] for p in pairs) if kind == "LSTM" else pairs[0][0]
        t_hx = tuple(p[1] for p in pairs) if kind == "LSTM" else pairs[0][1]

    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    t_packed = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first, enforce_sorted)
    out, final = ours(packed, hx)
    t_out, t_final = theirs(t_packed, t_hx)

    assert isinstance(out, nn.utils.rnn.PackedSequence)
    np.testing.assert_array_equal(out.batch_sizes.numpy(), t_out.batch_sizes.numpy())
    _close(out.data, t_out.data, "output")
    finals = final if kind == "LSTM" else (final,)
    t_finals = t_final if kind == "LSTM" else (t_final,)
    for f, tf in zip(finals, t_finals):
        _close(f, tf, "final state")
    w = rng.standard_normal(out.data.shape)
    ws = [rng.standard_normal(f.shape) for f in finals]
    loss = (out.data * w).sum() + sum((f * v).sum() for f, v in zip(finals, ws))
    t_loss = (t_out.data * torch.from_numpy(w)).sum()
    t_loss = t_loss + sum((f * torch.from_numpy(v)).sum() for f, v in zip(t_finals, ws))
    loss.backward()
    t_loss.backward()
    _close(x.grad, tx.grad, "input grad")
    if with_state:
        for s, ts in pairs:
            _close(s.grad, ts.grad, "state grad")
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        _close(p.grad, tp.grad, name)
    padded, lens = nn.utils.rnn.pad_packed_sequence(out, batch_first)
    t_padded, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first)
    _close(padded, t_padded, "unpacked output")
    assert lens.tolist() == lengths


# --- docs/porting.md: the ported script gives PyTorch's loss curve --------------------------------

PORTING = Path(__file__).resolve().parents[1] / "docs" / "porting.md"
OUR_IMPORTS = "import tinygrad_seq as torch\nfrom tinygrad_seq import nn\n"
TORCH_IMPORTS = "import torch\nfrom torch import nn\n"


def _porting_blocks():
    blocks = re.findall(r"^```python[^\n]*\n(.*?)^```", PORTING.read_text(), flags=re.M | re.S)
    (setup,) = [b for b in blocks if 'tg.save(start, "init.pt")' in b]
    (script,) = [b for b in blocks if b.startswith(OUR_IMPORTS) and "torch.save(" in b]
    return setup, script


def _run(source, folder, monkeypatch):
    monkeypatch.chdir(folder)
    namespace = {"__name__": "ported_script"}
    exec(compile(source, str(PORTING), "exec"), namespace)
    return namespace


def test_the_ported_char_lstm_script_gives_pytorchs_loss_curve(tmp_path, monkeypatch, capsys):
    setup, script = _porting_blocks()
    ours_dir, torch_dir = tmp_path / "ours", tmp_path / "torch"
    ours_dir.mkdir()
    torch_dir.mkdir()
    start = _run(setup, ours_dir, monkeypatch)["start"]  # writes ours/init.pt with tg.save
    torch.save({k: torch.from_numpy(v) for k, v in start.items()}, torch_dir / "init.pt")

    theirs = _run(TORCH_IMPORTS + script[len(OUR_IMPORTS) :], torch_dir, monkeypatch)
    ours = _run(script, ours_dir, monkeypatch)  # exactly as shown in the guide

    assert len(ours["losses"]) == len(theirs["losses"]) == 40
    assert ours["losses"][-1] < 0.8 * ours["losses"][0]  # it learns
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-6)
    assert isinstance(ours["model"].lstm, nn.LSTM) and isinstance(
        theirs["model"].lstm, torch.nn.LSTM
    )
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0] == out[1], out  # the same printed line from both


@pytest.mark.parametrize("name, kwargs", SCHEDULES[:5], ids=SCHEDULE_IDS[:5])
def test_step_with_an_epoch_jumps_as_torchs(name, kwargs):
    (_, _, sched), (_, _, t_sched) = _scheduled_pair(name, kwargs)
    for epoch in (3, 7, 4):
        with pytest.warns(UserWarning, match="deprecated"):
            sched.step(epoch)
        with pytest.warns(UserWarning):
            t_sched.step(epoch)
        assert sched.last_epoch == t_sched.last_epoch == epoch
        np.testing.assert_allclose(sched.get_last_lr(), t_sched.get_last_lr(), rtol=1e-15)


def test_reduce_lr_on_plateau_resumes_from_a_checkpoint(tmp_path):
    (_, opt, sched), _ = _scheduled_pair("ReduceLROnPlateau", {"patience": 1, "cooldown": 1})
    metrics = [3.0, 2.0, 2.5, 2.5, 2.5, 1.0, 1.5, 1.5, 1.5, 1.5]
    for m in metrics[:4]:
        sched.step(m)
    tg.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ck.npz")
    ckpt = tg.load(tmp_path / "ck.npz")
    opt2 = _two_groups(tg.optim.SGD, [nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))])
    opt2.load_state_dict(ckpt["optim"])
    sched2 = tg.optim.lr_scheduler.ReduceLROnPlateau(opt2)
    sched2.load_state_dict(ckpt["sched"])
    for m in metrics[4:]:
        sched.step(m)
        sched2.step(m)
        assert sched2.get_last_lr() == sched.get_last_lr()
    assert sched.get_last_lr() != [0.1, 0.3]  # it did reduce
