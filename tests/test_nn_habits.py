"""PyTorch habits on the nn / optim side work as in PyTorch: with the same weights and inputs the
layers, losses, optimizers, schedulers, clipping and packed sequences give torch's numbers
(float64, ~1e-9), and the initialisers follow torch's fans, gains and distributions.

torch is a test oracle only; these tests skip without it.
"""

import math

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
    ours = ours.data if isinstance(ours, tg.Tensor) else ours
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
    assert repr(ours).startswith("LayerNorm(")


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
    assert np.isfinite(loss.data).all()
    _close(loss, t_loss, "loss")
    g = rng.standard_normal(loss.shape)
    (loss * g).sum().backward()
    (t_loss * torch.from_numpy(g)).sum().backward()
    _close(x.grad, tx.grad, "grad")


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
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    np.testing.assert_array_equal(F.one_hot(idx, num_classes).data, theirs.numpy())  # an array


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
        return w.data

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
    for q in (w.data.reshape(shape[0], -1), theirs.numpy().reshape(shape[0], -1)):
        small = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
        np.testing.assert_allclose(small, gain**2 * np.eye(len(small)), atol=1e-12)
    assert w._version == 1


def test_initialisers_are_reproducible_and_name_bad_input():
    a = nn.init.xavier_uniform_(tg.zeros(4, 3), rng=7).data
    np.testing.assert_array_equal(a, nn.init.xavier_uniform_(tg.zeros(4, 3), rng=7).data)
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(3,\)"):
        nn.init.xavier_normal_(tg.zeros(3))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        nn.init.kaiming_uniform_(tg.zeros(3, 3), mode="in")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        nn.init.calculate_gain("gelu")
    with pytest.raises(TypeError, match="floating-point"):
        nn.init.orthogonal_(np.zeros((2, 2), dtype=np.int64))
