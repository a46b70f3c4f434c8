"""optim.LBFGS: PyTorch's iterates step by step (fixed step and strong Wolfe line search, history
limits, runs split over calls), its state and counters, state_dict round trips, versions, errors."""

import numpy as np
import pytest

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F
from tinygrad_seq import nn, optim

# --- three small problems, each written once for us and once for torch ----------------------------


def rosenbrock(lib, x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def least_squares(lib, w, b, inputs=None):
    rng = np.random.default_rng(3)
    a, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    a, y = (tg.tensor(a), tg.tensor(y)) if lib is tg else (lib.tensor(a), lib.tensor(y))
    return (((a @ w + b) - y) ** 2).mean()


def _lstm_data():
    """A few sine waves; predict each next value (PyTorch's "time sequence prediction")."""
    t = np.arange(12) + np.array([[0.0], [4.0], [9.0]])
    return np.sin(t / 3.0)


def lstm_regression(lib, *params):
    w_ih, w_hh, b_ih, b_hh, w_out, b_out = params
    wave = _lstm_data()
    h = c = None
    loss = 0
    for step in range(wave.shape[1] - 1):
        x = wave[:, step : step + 1]
        x = tg.tensor(x) if lib is tg else lib.tensor(x)
        gates = x @ w_ih.T + b_ih + (0 if h is None else h @ w_hh.T + b_hh)
        i, f, g, o = (gates[:, k * 4 : (k + 1) * 4] for k in range(4))
        c_new = i.sigmoid() * g.tanh()
        c = c_new if c is None else f.sigmoid() * c + c_new
        h = o.sigmoid() * c.tanh()
        target = wave[:, step + 1 : step + 2]
        target = tg.tensor(target) if lib is tg else lib.tensor(target)
        loss = loss + (((h @ w_out.T + b_out) - target) ** 2).mean()
    return loss


def _init(problem):
    rng = np.random.default_rng(0)
    if problem is rosenbrock:
        return [np.array([-1.2, 1.0])]
    if problem is least_squares:
        return [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    shapes = [(16, 1), (16, 4), (16,), (16,), (1, 4), (1,)]
    return [0.3 * rng.standard_normal(s) for s in shapes]


def _run_both(torch, problem, kwargs, steps):
    """Step both optimizers ``steps`` times; yield (our params, torch's params, losses, states)."""
    init = _init(problem)
    ours = [nn.Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt, t_opt = optim.LBFGS(ours, **kwargs), torch.optim.LBFGS(theirs, **kwargs)

    def closure():
        opt.zero_grad()
        loss = problem(tg, *ours)
        loss.backward()
        return loss

    def t_closure():
        t_opt.zero_grad()
        loss = problem(torch, *theirs)
        loss.backward()
        return loss

    for _ in range(steps):
        loss, t_loss = opt.step(closure), t_opt.step(t_closure)
        state, t_state = opt.state[ours[0]], t_opt.state[theirs[0]]
        yield ours, theirs, (float(loss), t_loss.item()), (state, t_state)


PARITY = [
    (rosenbrock, {"lr": 0.2, "max_iter": 6}),
    (rosenbrock, {"line_search_fn": "strong_wolfe"}),
    (rosenbrock, {"line_search_fn": "strong_wolfe", "max_iter": 3, "history_size": 2}),
    (rosenbrock, {"lr": 0.1, "max_iter": 2, "history_size": 3}),
    (least_squares, {}),
    (least_squares, {"line_search_fn": "strong_wolfe", "max_iter": 4}),
    (lstm_regression, {"lr": 0.5, "max_iter": 5}),
    (lstm_regression, {"line_search_fn": "strong_wolfe", "max_iter": 6, "history_size": 4}),
    (lstm_regression, {"line_search_fn": "strong_wolfe", "max_iter": 20, "max_eval": 9}),
]


@pytest.mark.parametrize("problem, kwargs", PARITY, ids=[f"{p.__name__}-{kw}" for p, kw in PARITY])
def test_iterates_match_pytorch_step_by_step(problem, kwargs):
    torch = pytest.importorskip("torch")
    steps = 0
    for ours, theirs, (loss, t_loss), (state, t_state) in _run_both(torch, problem, kwargs, 4):
        steps += 1
        assert loss == pytest.approx(t_loss, rel=1e-9, abs=1e-12)
        for p, tp in zip(ours, theirs):
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-9, atol=1e-12)
        for key in ("func_evals", "n_iter"):
            assert state[key] == t_state[key], key
        assert len(state["old_dirs"]) == len(t_state["old_dirs"])
        assert float(state["t"]) == pytest.approx(float(t_state["t"]), rel=1e-9)
    assert steps == 4


def test_float32_parameters_stay_float32_and_follow_pytorch():
    torch = pytest.importorskip("torch")
    init = _init(least_squares)
    ours = [nn.Parameter(a.astype(np.float32)) for a in init]
    theirs = [torch.tensor(a.astype(np.float32), requires_grad=True) for a in init]
    opt = optim.LBFGS(ours, line_search_fn="strong_wolfe", max_iter=5)
    t_opt = torch.optim.LBFGS(theirs, line_search_fn="strong_wolfe", max_iter=5)
    a = np.random.default_rng(1).standard_normal((6, 3)).astype(np.float32)
    y = np.random.default_rng(2).standard_normal((6, 2)).astype(np.float32)

    def closure():
        opt.zero_grad()
        loss = ((tg.tensor(a) @ ours[0] + ours[1] - tg.tensor(y)) ** 2).mean()
        loss.backward()
        return loss

    def t_closure():
        t_opt.zero_grad()
        loss = ((torch.tensor(a) @ theirs[0] + theirs[1] - torch.tensor(y)) ** 2).mean()
        loss.backward()
        return loss

    arrays = [p.numpy() for p in ours]
    opt.step(closure)
    t_opt.step(t_closure)
    for p, tp, array in zip(ours, theirs, arrays):
        assert p.dtype == np.float32 and p.numpy() is array  # updated in place
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=2e-4, atol=2e-5)


# --- protocol, state, versions, errors ------------------------------------------------------------


def _quadratic():
    w = nn.Parameter(np.array([1.0, -2.0, 0.5]))
    return w, lambda: ((w - np.array([3.0, 1.0, -1.0])) ** 2 * np.array([1.0, 4.0, 9.0])).sum()


def test_step_returns_the_first_loss_and_converges():
    w, f = _quadratic()
    opt = optim.LBFGS([w], line_search_fn="strong_wolfe")
    calls = []

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        calls.append(float(loss))
        return loss

    loss = opt.step(closure)
    assert isinstance(loss, tg.Tensor) and float(loss) == calls[0]
    np.testing.assert_allclose(w.numpy(), [3.0, 1.0, -1.0], atol=1e-6)
    assert opt.state[w]["func_evals"] == len(calls) <= 25


def test_a_stationary_start_returns_at_once():
    w = nn.Parameter(np.zeros(2))
    opt = optim.LBFGS([w])

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert opt.state[w] == {"func_evals": 1, "n_iter": 0}
    assert w._version == 0


def test_each_parameter_write_counts_in_the_version():
    w, f = _quadratic()
    opt = optim.LBFGS([w], max_iter=3, max_eval=10)
    loss_before = (w * w).sum()  # saves w itself

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss

    opt.step(closure)
    assert w._version == 3  # one move per iteration, no line search
    with pytest.raises(RuntimeError, match="modified by an inplace operation|changed"):
        loss_before.backward()


def test_the_closure_records_even_under_no_grad():
    w, f = _quadratic()
    opt = optim.LBFGS([w], max_iter=2, max_eval=4)

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss

    with tg.no_grad():
        opt.step(closure)
    assert opt.state[w]["n_iter"] == 2


def test_state_dict_round_trips_through_save_and_a_run_continues_identically(tmp_path):
    w, f = _quadratic()
    opt = optim.LBFGS([w], max_iter=2, max_eval=4, history_size=3)

    def closure_for(opt, w):
        def closure():
            opt.zero_grad()
            loss = ((w - np.array([3.0, 1.0, -1.0])) ** 2 * np.array([1.0, 4.0, 9.0])).sum()
            loss.backward()
            return loss

        return closure

    opt.step(closure_for(opt, w))
    tg.save(opt.state_dict(), tmp_path / "opt.npz")
    w2 = nn.Parameter(w.numpy().copy())
    opt2 = optim.LBFGS([w2], max_iter=2, max_eval=4, history_size=3)
    opt2.load_state_dict(tg.load(tmp_path / "opt.npz"))
    for _ in range(2):
        opt.step(closure_for(opt, w))
        opt2.step(closure_for(opt2, w2))
    np.testing.assert_array_equal(w.numpy(), w2.numpy())
    assert opt.state[w]["n_iter"] == opt2.state[w2]["n_iter"] == 6


def test_state_dict_copies_the_history():
    w, f = _quadratic()
    opt = optim.LBFGS([w], max_iter=3)

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss

    opt.step(closure)
    saved = opt.state_dict()["state"][0]
    assert saved["old_dirs"] and saved["old_dirs"][0] is not opt.state[w]["old_dirs"][0]


def test_options_and_errors_match_pytorch():
    torch = pytest.importorskip("torch")
    w = nn.Parameter(np.zeros(2))
    tw = torch.zeros(2, requires_grad=True)
    ours, theirs = optim.LBFGS([w], max_iter=8), torch.optim.LBFGS([tw], max_iter=8)
    assert ours.param_groups[0].keys() == theirs.param_groups[0].keys()
    assert ours.defaults == theirs.defaults
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.LBFGS([w], lr=-1)
    v = nn.Parameter(np.zeros(1))
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [w]}, {"params": [v]}])
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        optim.LBFGS([w], line_search_fn="backtracking").step(lambda: (w * w).sum())
    with pytest.raises(TypeError, match="needs a closure"):
        optim.LBFGS([w]).step(None)


def test_parameters_without_gradient_count_as_zero():
    w, f = _quadratic()
    unused = nn.Parameter(np.ones(2))
    opt = optim.LBFGS([w, unused], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_array_equal(unused.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(w.numpy(), [3.0, 1.0, -1.0], atol=1e-6)


def test_a_model_trains_with_lbfgs_like_the_time_sequence_example():
    model = nn.Sequential(nn.Linear(1, 8, dtype=np.float64, seed=0), nn.Tanh())
    head = nn.Linear(8, 1, dtype=np.float64, seed=1)
    x = np.linspace(-2, 2, 32)[:, None]
    y = np.sin(x)
    params = list(model.parameters()) + list(head.parameters())
    opt = optim.LBFGS(params, lr=0.8)

    def closure():
        opt.zero_grad()
        loss = F.mse_loss(head(model(tg.tensor(x))), tg.tensor(y))
        loss.backward()
        return loss

    first = float(opt.step(closure))
    for _ in range(5):
        last = float(opt.step(closure))
    assert last < 0.1 * first
