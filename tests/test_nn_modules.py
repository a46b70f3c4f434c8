"""The nn surface scripts touch, against PyTorch: activation modules (values, gradients, reprs),
ModuleList / ModuleDict / Sequential (names, indexing, errors, loading a torch state_dict),
Module.requires_grad_ / zero_grad / apply / to / cuda, and torch's nn.modules.* class paths."""

import warnings
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_seq as tg
from tinygrad_seq import nn
from tinygrad_seq.testing import arrays, gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
tnn = torch.nn

# (ours, torch's) constructed alike; the inputs include the kinks (0, the bounds, the threshold)
ACTIVATIONS = [
    (lambda m: m.Tanh(), 1e-15),
    (lambda m: m.Sigmoid(), 1e-15),
    (lambda m: m.ReLU(), 0),
    (lambda m: m.ReLU(inplace=True), 0),
    (lambda m: m.LeakyReLU(), 1e-15),
    (lambda m: m.LeakyReLU(0.2, True), 1e-15),
    (lambda m: m.ELU(), 1e-15),
    (lambda m: m.ELU(alpha=0.5, inplace=True), 1e-15),
    (lambda m: m.Softplus(), 1e-14),
    (lambda m: m.Softplus(beta=2, threshold=4), 1e-14),
    (lambda m: m.SiLU(), 1e-15),
    (lambda m: m.GELU(), 1e-14),  # on the erf primitive (within ~1.5 ulps)
    (lambda m: m.GELU(approximate="tanh"), 1e-15),
    (lambda m: m.Hardtanh(), 0),
    (lambda m: m.Hardtanh(-2.0, 0.5), 0),
    (lambda m: m.ReLU6(), 0),
    (lambda m: m.Softmax(dim=1), 1e-15),
    (lambda m: m.LogSoftmax(dim=0), 1e-15),
    (lambda m: m.SELU(), 1e-15),
    (lambda m: m.SELU(inplace=True), 1e-15),
    (lambda m: m.CELU(), 1e-15),
    (lambda m: m.CELU(alpha=2.0, inplace=True), 1e-15),
    (lambda m: m.Mish(), 1e-14),
    (lambda m: m.LogSigmoid(), 1e-14),
    (lambda m: m.Softsign(), 1e-15),
    (lambda m: m.Tanhshrink(), 1e-15),
    # torch's backward of these two multiplies by a float32 1/6, even in float64 (measured)
    (lambda m: m.Hardsigmoid(), 1e-7),
    (lambda m: m.Hardsigmoid(inplace=True), 1e-7),
    (lambda m: m.Hardswish(), 1e-7),
    (lambda m: m.Threshold(0.5, 20.0), 0),
    (lambda m: m.Threshold(-1.0, 7, True), 0),
    (lambda m: m.Softmin(dim=1), 1e-15),
    (lambda m: m.PReLU(), 1e-15),
    (lambda m: m.PReLU(6, 0.1), 1e-15),
    (lambda m: m.Identity(), 0),
    (lambda m: m.Flatten(), 0),
    (lambda m: m.Flatten(0, 1), 0),
]
KINKS = np.array([-30.0, -6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 4.0, 6.0, 25.0])


def _both(make):
    ours, theirs = make(nn), make(tnn)
    if isinstance(theirs, tnn.PReLU):  # learnt slopes: both start alike; compare at other values
        theirs = theirs.double()
        with torch.no_grad():
            theirs.weight.copy_(torch.linspace(0.1, 0.6, theirs.num_parameters))
        ours = ours.double()
        ours.load_state_dict({"weight": theirs.weight.detach().numpy()})
    return ours, theirs


@pytest.mark.parametrize(
    "make, tol", ACTIVATIONS, ids=lambda v: repr(v(tnn)) if callable(v) else ""
)
def test_activation_values_gradients_and_repr_match_pytorch(make, tol):
    ours, theirs = _both(make)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(0)
    x = np.concatenate([KINKS, rng.standard_normal(12) * 3]).reshape(4, 6)
    cotangent = rng.standard_normal(theirs(torch.tensor(x)).shape)
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs(xt.clone())  # a non-leaf: inplace=True modules may write into it
    expected.backward(torch.tensor(cotangent))
    xo = tg.Tensor(x, requires_grad=True)
    got = ours(xo)
    got.backward(cotangent)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol * 10)
    for p, tp in zip(ours.parameters(), theirs.parameters()):  # PReLU's slopes
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make, tol", ACTIVATIONS)
def test_activations_keep_float32(make, tol):
    ours, theirs = make(nn), make(tnn)
    if isinstance(ours, nn.PReLU) and ours.num_parameters > 1:
        return  # one slope per channel: tested above
    x = np.linspace(-5, 5, 22, dtype=np.float32).reshape(2, 11)
    got = ours(tg.Tensor(x))
    assert got.dtype == np.float32
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    "fn, kinks",
    [
        (lambda x: nn.functional.gelu(x), None),
        (lambda x: nn.functional.gelu(x, approximate="tanh"), None),
        (lambda x: nn.functional.elu(x, 0.7), 0.0),
        (lambda x: nn.functional.leaky_relu(x, 0.1), 0.0),
        (lambda x: nn.functional.softplus(x, 1.5, 3.0), 2.0),  # linear above beta * x = 3
        (lambda x: nn.functional.silu(x), None),
        (lambda x: nn.functional.hardtanh(x, -1.0, 0.5), (-1.0, 0.5)),
        (lambda x: nn.functional.selu(x), 0.0),
        (lambda x: nn.functional.celu(x, 0.5), 0.0),
        (lambda x: nn.functional.mish(x), None),
        (lambda x: nn.functional.logsigmoid(x), None),
        (lambda x: nn.functional.softsign(x), 0.0),
        (lambda x: nn.functional.hardswish(x), (-3.0, 3.0)),
        (lambda x: nn.functional.hardsigmoid(x), (-3.0, 3.0)),
        (lambda x: nn.functional.softmin(x, 1), None),
        (lambda x: nn.functional.prelu(x, x[0] * x[0]), 0.0),  # slopes depending on x: both paths
    ],
)
@given(data=st.data())
def test_composed_activations_gradcheck(fn, kinks, data):
    x = data.draw(arrays((3, 2), low=-4.0, high=4.0, away_from=kinks))
    assert gradcheck(fn, x)


@pytest.mark.parametrize(
    "name", ["elu", "selu", "celu", "softplus", "logsigmoid", "silu", "mish", "softsign"]
)
def test_composed_activations_have_second_derivatives(name):
    x = np.array([[-1.7, -0.3], [0.4, 2.2]])  # away from the kinks
    assert gradgradcheck(getattr(nn.functional, name), x)
    xt = torch.tensor(x, requires_grad=True)
    (g,) = torch.autograd.grad(getattr(torch.nn.functional, name)(xt).sum(), xt, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), xt)
    xo = tg.Tensor(x, requires_grad=True)
    (go,) = tg.autograd.grad(getattr(nn.functional, name)(xo).sum(), xo, create_graph=True)
    (ggo,) = tg.autograd.grad(go.sum(), xo)
    np.testing.assert_allclose(ggo.numpy(), gg.numpy(), rtol=1e-10, atol=1e-12)


def test_softmax_without_dim_warns_and_picks_pytorchs_implicit_dim():
    x = np.random.default_rng(1).standard_normal((2, 3, 4))
    for ndim in (1, 2, 3):
        xs = x[(0,) * (3 - ndim)]
        for ours, theirs in ((nn.Softmax(), tnn.Softmax()), (nn.LogSoftmax(), tnn.LogSoftmax())):
            with pytest.warns(UserWarning, match="Implicit dimension choice"):
                got = ours(tg.Tensor(xs))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = theirs(torch.tensor(xs)).numpy()
            np.testing.assert_allclose(got.numpy(), expected, atol=1e-15)


def test_prelu_checks_the_channels_as_pytorch():
    for m, make in ((tnn, torch.ones), (nn, tg.ones)):
        with pytest.raises(RuntimeError, match="Found parameter numbers = 2 and channel size = 3"):
            m.functional.prelu(make(4, 3), make(2))
        with pytest.raises(RuntimeError, match="Found parameter numbers = 3 and channel size = 1"):
            m.functional.prelu(make(3), make(3))


def test_activations_far_in_the_tails_stay_finite_and_right():
    # log(1 + exp(z)) has no log1p here: for z << 0 the error is absolute (epsilon, times |x| in
    # mish), where torch's log1p stays relatively accurate
    x = np.array([-800.0, -60.0, -20.0, 20.0, 60.0, 800.0])
    for name in ("softplus", "logsigmoid", "mish", "silu", "elu", "selu", "celu"):
        xo, xt = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        got, expected = getattr(nn.functional, name)(xo), getattr(torch.nn.functional, name)(xt)
        got.sum().backward()
        expected.sum().backward()
        np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), 1e-14, 1e-14, name)
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), 1e-14, 1e-14, name)


def test_activation_argument_errors_match_pytorch():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        nn.GELU("exact")
    with pytest.raises(TypeError, match="floating-point"):
        nn.SiLU()(tg.tensor([1, 2]))


def test_unflatten_matches_pytorch():
    x = np.arange(24.0).reshape(2, 12)
    for dim, size in ((1, (3, 4)), (-1, (2, -1)), (0, (1, 2))):
        ours, theirs = nn.Unflatten(dim, size), tnn.Unflatten(dim, size)
        assert repr(ours) == repr(theirs)
        np.testing.assert_array_equal(ours(tg.Tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())
    with pytest.raises(RuntimeError, match="don't multiply up"):
        nn.Unflatten(1, (5, 2))(tg.Tensor(x))
    with pytest.raises(IndexError, match="Dimension out of range"):
        nn.Unflatten(2, (3, 4))(tg.Tensor(x))


# --- containers -----------------------------------------------------------------------------


def _model(m, torch_side=False):
    """The same architecture from nn or torch.nn: every container, nested."""

    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.stem = m.Sequential(OrderedDict(fc=m.Linear(3, 4), act=m.Tanh()))
            self.layers = m.ModuleList([m.Linear(4, 4) for _ in range(2)])
            self.layers.append(m.Sequential(m.Linear(4, 4), m.ReLU()))
            self.heads = m.ModuleDict({"a": m.Linear(4, 2)})
            self.heads.update([("b", m.Linear(4, 1))])

        def forward(self, x):
            x = self.stem(x)
            for layer in self.layers:
                x = layer(x)
            return self.heads["a"](x).sum() + self.heads["b"](x).sum()

    net = Net()
    return net.double() if torch_side else net.to(np.float64)


def test_containers_register_torchs_names_and_load_a_torch_state_dict():
    theirs, ours = _model(tnn, True), _model(nn)
    names = [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_parameters()] == names
    assert "layers.2.0.weight" in names and "heads.b.bias" in names and "stem.fc.weight" in names
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3))
    expected = theirs(torch.tensor(x))
    expected.backward()
    got = ours(tg.Tensor(x))
    got.backward()
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-12)
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, err_msg=name)
    assert repr(ours).replace("Net", "") == repr(theirs).replace("Net", "")


def _keys(container):
    return list(container._modules) if hasattr(container, "_modules") else None


def _apply_both(action):
    """Run ``action`` on a ModuleList and a Sequential of both libraries; return the key lists
    and types that result, so that the two libraries can be compared."""
    out = []
    for m in (nn, tnn):
        for kind in (m.ModuleList, lambda mods, m=m: m.Sequential(*mods)):
            c = kind([m.Tanh(), m.ReLU(), m.Sigmoid(), m.Identity()])
            result = action(c, m)
            names = [type(x).__name__ for x in c]
            kept = type(result).__name__ if result is not None else None
            out.append((_keys(c), names, kept))
    return out[:2], out[2:]


@pytest.mark.parametrize(
    "action",
    [
        lambda c, m: c[-1],
        lambda c, m: c[1:3],
        lambda c, m: c[::2],
        lambda c, m: c.__delitem__(1),
        lambda c, m: c.__delitem__(slice(0, 2)),
        lambda c, m: c.__setitem__(-2, m.ELU()),
        lambda c, m: c.insert(1, m.ELU()),
        lambda c, m: c.append(m.ELU()),
        lambda c, m: c.extend([m.ELU(), m.SiLU()]),
        lambda c, m: c.pop(0),
        lambda c, m: len(c),
    ],
)
def test_list_and_sequential_edits_match_pytorch(action):
    ours, theirs = _apply_both(action)
    assert ours == theirs


def test_sequential_slices_keep_names_and_add():
    for m in (nn, tnn):
        seq = m.Sequential(OrderedDict(a=m.Tanh(), b=m.ReLU(), c=m.Sigmoid()))
        assert list(seq[1:]._modules) == ["b", "c"] and type(seq[1:]) is m.Sequential
        both = seq + m.Sequential(m.ELU())
        assert list(both._modules) == ["0", "1", "2", "3"]
        seq += m.Sequential(m.ELU())
        assert list(seq._modules) == ["a", "b", "c", "3"]


def test_module_list_add_iadd_and_repr_match_pytorch():
    lists = []
    for m in (nn, tnn):
        layers = m.ModuleList([m.Linear(2, 2) for _ in range(3)])
        layers += [m.ReLU(), m.ReLU()]
        combined = layers + m.ModuleList([m.Tanh()])
        lists.append((repr(layers), repr(combined), repr(m.ModuleList()), list(combined._modules)))
    assert lists[0] == lists[1]


def test_module_dict_methods_match_pytorch():
    results = []
    for m in (nn, tnn):
        d = m.ModuleDict({"x": m.Tanh(), "y": m.ReLU()})
        d["z"] = m.Sigmoid()
        d.update(OrderedDict(y=m.ELU()))
        popped = type(d.pop("x")).__name__
        entry = (list(d), list(d.keys()), [type(v).__name__ for v in d.values()])
        entry += ([k for k, _ in d.items()], "y" in d, "x" in d, len(d), popped, repr(d))
        del d["z"]
        entry += (list(d),)
        d.clear()
        results.append(entry + (len(d),))
    assert results[0] == results[1]


@pytest.mark.parametrize(
    "action",
    [
        lambda m: m.ModuleList([m.Tanh()])[1],
        lambda m: m.ModuleList([m.Tanh()])[-2],
        lambda m: m.Sequential(m.Tanh())[5],
        lambda m: m.ModuleList().extend(3),
        lambda m: m.ModuleList([3]),
        lambda m: m.Sequential(m.Tanh(), lambda x: x),
        lambda m: m.ModuleDict(3),
        lambda m: m.ModuleDict({"a": 3}),
        lambda m: m.ModuleDict({"a.b": m.Tanh()}),
        lambda m: m.ModuleDict({"": m.Tanh()}),
        lambda m: m.ModuleDict({1: m.Tanh()}),
        lambda m: m.ModuleDict({"keys": m.Tanh()}),
        lambda m: m.ModuleDict([("a", m.Tanh(), 3)]),
        lambda m: m.ModuleDict([3]),
        lambda m: m.ModuleDict()["missing"],
        lambda m: m.Sequential(m.Tanh()) + m.ModuleList(),
        lambda m: m.Sequential(m.Tanh()).insert(3, m.ReLU()),
    ],
)
def test_container_errors_match_pytorchs_types_and_words(action):
    with pytest.raises(Exception) as theirs:
        action(tnn)
    with pytest.raises(type(theirs.value)) as ours:
        action(nn)
    # torch's words are kept (types are named plainly, and torch's "isint" gets its space)
    squeeze = str.maketrans("", "", " '\"")
    assert str(theirs.value).translate(squeeze)[:30] in str(ours.value).translate(squeeze)


def test_sequential_insert_counts_negative_positions_as_pytorch():
    names = []
    for m in (nn, tnn):
        seq = m.Sequential(m.Tanh(), m.ReLU()).insert(-1, m.ELU())
        names.append([type(x).__name__ for x in seq])
    assert names[0] == names[1] == ["Tanh", "ELU", "ReLU"]


# --- Module methods -----------------------------------------------------------------------------


def _trained(m_nn):
    layer = nn.Linear(3, 2, dtype=np.float64, seed=0)
    layer(np.ones((1, 3))).sum().backward()
    return layer


def test_zero_grad_sets_none_by_default_or_zeros_in_place():
    layer = _trained(nn)
    grad = layer.weight.grad
    layer.zero_grad(set_to_none=False)
    assert layer.weight.grad is grad and not grad.numpy().any()  # the same tensor, zeroed
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None
    layer.zero_grad(set_to_none=False)  # no gradient yet: stays None, as in torch
    assert layer.weight.grad is None
    t = tnn.Linear(3, 2)
    t.zero_grad(set_to_none=False)
    assert t.weight.grad is None


def test_zero_grad_detaches_a_recorded_gradient():
    w = nn.Parameter(np.array([1.0, 2.0]))
    holder = nn.Module()
    holder.w = w
    (w * w).sum().backward(create_graph=True)
    assert w.grad.requires_grad
    holder.zero_grad(set_to_none=False)
    assert not w.grad.requires_grad and not w.grad.numpy().any()


def test_requires_grad_freezes_and_unfreezes_every_parameter():
    model = nn.Sequential(nn.Linear(2, 2, seed=0), nn.ReLU(), nn.Linear(2, 1, seed=1))
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model[2].requires_grad_()
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
    model(np.ones((1, 2), dtype=np.float32)).sum().backward()
    assert model[0].weight.grad is None and model[2].weight.grad is not None


def test_apply_visits_children_before_parents_as_pytorch():
    orders = []
    for m in (nn, tnn):
        model = m.Sequential(m.Linear(2, 2), m.Sequential(m.Tanh(), m.ReLU()))
        seen = []
        assert model.apply(lambda mod, seen=seen: seen.append(type(mod).__name__)) is model
        orders.append(seen)
    assert orders[0] == orders[1]


class _Device:
    """A stand-in for tg.device / torch.device: only its str() is known."""

    def __init__(self, name):
        self.name = name

    def __str__(self):
        return self.name


def test_to_accepts_device_objects_and_tensors_and_cuda_is_refused_clearly():
    layer = nn.Linear(2, 2, seed=0)
    assert layer.to(_Device("cpu")) is layer and layer.to(torch.device("cpu")) is layer
    assert layer.to(_Device("cpu"), tg.float64).weight.dtype == np.float64
    assert layer.to(tg.zeros(1, dtype=tg.float32)).weight.dtype == np.float32
    with pytest.raises(RuntimeError, match="runs on the CPU"):
        layer.to(_Device("cuda:0"))
    with pytest.raises(RuntimeError, match="'cuda' is not available: tinygrad_seq runs on the CPU"):
        layer.cuda()
    with pytest.raises(RuntimeError, match="cuda:1"):
        layer.cuda(1)


def test_add_module_registers_like_an_attribute():
    block = nn.Module()
    block.add_module("fc", nn.Linear(2, 2, seed=0))
    block.register_module("act", nn.Tanh())
    assert [n for n, _ in block.named_parameters()] == ["fc.weight", "fc.bias"]
    assert list(block._modules) == ["fc", "act"]


def test_flatten_parameters_is_a_no_op():
    for layer in (nn.LSTM(2, 3, seed=0), nn.GRU(2, 3, seed=0), nn.RNN(2, 3, seed=0)):
        before = {k: v.copy() for k, v in layer.state_dict().items()}
        assert layer.flatten_parameters() is None
        assert all(np.array_equal(v, layer.state_dict()[k]) for k, v in before.items())


# --- torch's class paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, name",
    [
        ("rnn", "LSTM"),
        ("rnn", "GRU"),
        ("rnn", "RNN"),
        ("rnn", "LSTMCell"),
        ("linear", "Linear"),
        ("linear", "Identity"),
        ("module", "Module"),
        ("sparse", "Embedding"),
        ("dropout", "Dropout"),
        ("container", "Sequential"),
        ("container", "ModuleList"),
        ("container", "ModuleDict"),
        ("activation", "GELU"),
        ("activation", "Tanh"),
        ("normalization", "LayerNorm"),
        ("flatten", "Flatten"),
        ("loss", "CrossEntropyLoss"),
    ],
)
def test_torchs_module_paths_name_the_same_classes(path, name):
    import importlib

    ours = importlib.import_module(f"tinygrad_seq.nn.modules.{path}")
    theirs = importlib.import_module(f"torch.nn.modules.{path}")
    assert getattr(ours, name) is getattr(nn, name)
    assert getattr(nn.modules, name) is getattr(nn, name)
    assert hasattr(theirs, name)  # the path is torch's
    from tinygrad_seq.nn.parameter import Parameter

    assert Parameter is nn.Parameter


# --- buffers --------------------------------------------------------------------------------------


def _with_buffers(m, make):
    """A positional-encoding block, as PyTorch's tutorials write it, from nn or torch.nn."""

    class PositionalEncoding(m.Module):
        def __init__(self):
            super().__init__()
            self.proj = m.Linear(2, 2)
            self.register_buffer("pe", make(np.arange(6.0).reshape(3, 2)))
            self.register_buffer("steps", make(np.array([0])))
            self.register_buffer("mask", make(np.ones(3)), persistent=False)
            self.register_buffer("unused", None)

        def forward(self, x):
            return self.proj(x + self.pe) * self.mask[:, None]

    outer = m.Sequential(PositionalEncoding(), m.Tanh())
    return outer


def test_buffers_are_saved_named_cast_and_loaded_as_pytorchs():
    theirs = _with_buffers(tnn, torch.tensor).double()
    ours = _with_buffers(nn, tg.tensor).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())  # params, then buffers; no mask
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert len(list(ours.buffers())) == 3 and len(list(ours.parameters())) == 2
    assert ours[0].pe.dtype == np.float64 and ours[0].steps.dtype == np.int64  # ints stay ints
    state = {k: v.numpy() * 2 for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    x = np.random.default_rng(0).standard_normal((3, 2))
    np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy())
    np.testing.assert_array_equal(ours[0].steps.numpy(), [0])


def test_assigning_to_a_buffer_replaces_it_and_a_missing_buffer_is_reported():
    block = nn.Module()
    block.register_buffer("count", tg.zeros(1))
    block.count = tg.ones(1)
    assert block.count.tolist() == [1.0] and "count" in block._buffers
    block.count = np.full(1, 2.0)  # arrays are accepted wherever a tensor is
    assert block.state_dict()["count"].tolist() == [2.0]
    with pytest.raises(ValueError, match=r"missing keys \['count'\]"):
        block.load_state_dict({})
    del block.count
    assert list(block.state_dict()) == []


@pytest.mark.parametrize(
    "action",
    [
        lambda m, t: m.Module().register_buffer(1, None),
        lambda m, t: m.Module().register_buffer("a.b", None),
        lambda m, t: m.Module().register_buffer("", None),
        lambda m, t: m.Module().register_buffer("training", None),
        lambda m, t: m.Module().register_buffer("a", 3),
        lambda m, t: _buffer_then(m, t).__setattr__("b", 3),
        lambda m, t: m.Module().train("yes"),
    ],
)
def test_buffer_errors_match_pytorch(action):
    with pytest.raises(Exception) as theirs:
        action(tnn, torch.ones)
    with pytest.raises(type(theirs.value)) as ours:
        action(nn, tg.ones)
    squeeze = str.maketrans("", "", " '\"")
    assert str(theirs.value).translate(squeeze)[:20] in str(ours.value).translate(squeeze)


def _buffer_then(m, ones):
    module = m.Module()
    module.register_buffer("b", ones(1))
    return module


# --- ParameterList, ParameterDict -------------------------------------------------------------


def _with_parameter_containers(m, make):
    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.slopes = m.ParameterList([m.Parameter(make(np.ones(2))), make(np.zeros(3))])
            self.slopes.append(make(np.full(2, 0.5)))
            self.extra = m.ParameterDict({"scale": make(np.ones(2))})
            self.extra.update([("shift", make(np.zeros(2)))])

        def forward(self, x):
            return (x * self.slopes[0] + self.slopes[-1]) * self.extra["scale"] + self.extra[
                "shift"
            ]

    return Net()


def test_parameter_containers_register_torchs_names_and_load_its_state():
    theirs = _with_parameter_containers(tnn, lambda a: torch.tensor(a, dtype=torch.float64))
    ours = _with_parameter_containers(nn, np.asarray)
    names = [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_parameters()] == names
    assert names == ["slopes.0", "slopes.1", "slopes.2", "extra.scale", "extra.shift"]
    state = {k: v.detach().numpy() + 1 for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    x = np.arange(2.0)
    np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(x)).detach().numpy())
    assert all(p.requires_grad for p in ours.parameters())


def test_parameter_list_and_dict_methods_match_pytorch():
    results = []
    for m, make in ((nn, np.ones), (tnn, torch.ones)):
        plist = m.ParameterList([make(1), make(2), make(3)])
        plist += [make(4)]
        entry = [len(plist), plist[-1].shape[0], [p.shape[0] for p in plist[1:3]]]
        entry += [type(plist[0]).__name__]
        pdict = m.ParameterDict({"a": make(1), "b": make(2)})
        pdict.setdefault("c", make(3))
        entry += [list(pdict), pdict["b"].shape[0], "a" in pdict, pdict.get("zz") is None]
        entry += [pdict.pop("a").shape[0], list(pdict.keys()), len(pdict)]
        entry += [pdict.popitem()[0], [v.shape[0] for v in pdict.values()]]
        pdict.clear()
        results.append(entry + [len(pdict)])
    assert results[0] == results[1]


@pytest.mark.parametrize(
    "action",
    [
        lambda m, make: m.ParameterList([make(1)])[3],
        lambda m, make: m.ParameterList().extend(3),
        lambda m, make: m.ParameterDict({1: make(1)}),
        lambda m, make: m.ParameterDict(3),
        lambda m, make: m.ParameterDict()["missing"],
        lambda m, make: m.ParameterDict({"keys": make(1)}),
    ],
)
def test_parameter_container_errors_match_pytorch(action):
    with pytest.raises(Exception) as theirs:
        action(tnn, torch.ones)
    with pytest.raises((type(theirs.value), KeyError)) as ours:  # torch: AttributeError for [key]
        action(nn, np.ones)
    squeeze = str.maketrans("", "", " '\"")
    if type(theirs.value) is not AttributeError:
        assert str(theirs.value).translate(squeeze)[:30] in str(ours.value).translate(squeeze)


def test_get_submodule_parameter_and_buffer_match_pytorch():
    for m, make in ((nn, tg.ones), (tnn, torch.ones)):
        model = m.Sequential(m.Linear(2, 2), m.Sequential(m.Tanh()))
        model[0].register_buffer("mask", make(2))
        assert model.get_submodule("1.0") is model[1][0] and model.get_submodule("") is model
        assert model.get_parameter("0.weight") is model[0].weight
        assert model.get_buffer("0.mask") is model[0].mask
        for method, target, match in (
            ("get_submodule", "3", "has no attribute `3`"),
            ("get_submodule", "0.weight", "`weight` is not an nn.Module"),
            ("get_parameter", "0.mask", "`mask` is not an nn.Parameter"),
            ("get_buffer", "0.weight", "`weight` is not a buffer"),
        ):
            with pytest.raises(AttributeError, match=match):
                getattr(model, method)(target)


# --- nn.init with torch's argument names ------------------------------------------------------


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("uniform_", {"a": -0.5, "b": 0.25}),
        ("normal_", {"mean": 1.0, "std": 0.5}),
        ("xavier_uniform_", {"gain": 2.0}),
        ("xavier_normal_", {"gain": 2.0}),
        ("kaiming_uniform_", {"a": 0.1, "mode": "fan_out", "nonlinearity": "relu"}),
        ("kaiming_normal_", {"a": 0.1, "mode": "fan_in"}),
        ("orthogonal_", {"gain": 1.5}),
        ("trunc_normal_", {"mean": 0.1, "std": 0.5, "a": -0.5, "b": 0.5}),
    ],
)
def test_init_takes_torchs_keywords_and_a_generator(name, kwargs):
    fill = getattr(nn.init, name)
    a = fill(tg.zeros(40, 30, dtype=tg.float64), **kwargs, generator=np.random.default_rng(3))
    b = fill(tg.zeros(40, 30, dtype=tg.float64), **kwargs, rng=3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    theirs = getattr(torch.nn.init, name)(torch.zeros(40, 30, dtype=torch.float64), **kwargs)
    # the same distribution: means and spreads agree (the draws cannot be torch's)
    assert abs(a.numpy().mean() - theirs.numpy().mean()) < 0.1 * (theirs.numpy().std() + 0.1)
    assert abs(a.numpy().std() / theirs.numpy().std() - 1) < 0.1
    with pytest.raises(TypeError, match="not both"):
        fill(tg.zeros(4, 3), **kwargs, generator=0, rng=0)


def test_trunc_normal_and_eye_match_torch():
    w = nn.init.trunc_normal_(tg.zeros(5000, dtype=tg.float64), a=-1.0, b=0.5, generator=0)
    assert w.numpy().min() >= -1.0 and w.numpy().max() <= 0.5
    assert nn.init.eye_(tg.zeros(2, 3)).tolist() == torch.nn.init.eye_(torch.zeros(2, 3)).tolist()
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        nn.init.eye_(tg.zeros(3))


# --- forward hooks ------------------------------------------------------------------------------


def _hooked_run(m, make):
    """Register hooks of every kind on a model, run it, remove one, run again: what was seen."""
    model = m.Sequential(m.Linear(2, 3), m.ReLU())
    seen = []
    model[0].register_forward_hook(lambda mod, args, out: seen.append(("fc", tuple(out.shape))))
    h = model[1].register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    model[1].register_forward_hook(
        lambda mod, args, out: seen.append(("first", None)), prepend=True
    )
    model.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append(("kw", sorted(kwargs))), with_kwargs=True
    )
    zeroed = model(make(4, 2)).sum().item()
    h.remove()
    with model[0].register_forward_hook(lambda mod, args, out: out * 0 + 1):
        replaced = model(make(4, 2)).sum().item()
    after = model(make(4, 2)).shape
    return seen, zeroed, replaced, tuple(after)


def test_forward_hooks_run_and_remove_as_pytorchs():
    ours = _hooked_run(nn, lambda *s: tg.ones(*s))
    theirs = _hooked_run(tnn, lambda *s: torch.ones(*s))
    assert ours[0] == theirs[0] and ours[1] == theirs[1] == 0.0
    assert ours[2] == theirs[2] == 12.0 and ours[3] == theirs[3]


def test_load_state_dict_returns_torchs_named_tuple():
    results = []
    for m in (nn, tnn):
        layer = m.Linear(2, 1)
        state = {
            k: np.asarray(v.detach() if m is tnn else v) for k, v in layer.state_dict().items()
        }
        state = {k: (torch.tensor(v) if m is tnn else v) for k, v in state.items()}
        full = layer.load_state_dict(state)
        partial = layer.load_state_dict({"weight": state["weight"], "extra": state["bias"]}, False)
        results.append((repr(full), partial.missing_keys, partial.unexpected_keys, tuple(partial)))
    assert results[0] == results[1]


# --- layer arguments real scripts pass ----------------------------------------------------------


@pytest.mark.parametrize("padding_idx", [0, 3, -1])
def test_embedding_padding_idx_matches_pytorch(padding_idx):
    theirs = tnn.Embedding(5, 3, padding_idx=padding_idx).double()
    ours = nn.Embedding(5, 3, padding_idx=padding_idx, dtype=np.float64, seed=0)
    assert repr(ours) == repr(theirs) and ours.padding_idx == theirs.padding_idx
    assert not ours.weight.numpy()[ours.padding_idx].any()  # the padding row starts at zeros
    with torch.no_grad():
        theirs.weight.copy_(torch.arange(15.0).reshape(5, 3))  # the padding row too: not zero
    ours.load_state_dict({"weight": theirs.weight.detach().numpy()})
    idx = np.array([[0, 3, 4, 3], [1, 1, 0, 4]])
    cotangent = np.random.default_rng(0).standard_normal((2, 4, 3))
    got, expected = ours(idx), theirs(torch.tensor(idx))
    got.backward(cotangent)
    expected.backward(torch.tensor(cotangent))
    np.testing.assert_array_equal(got.numpy(), expected.detach().numpy())
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-14)


def test_embedding_from_pretrained_and_argument_errors_match_pytorch():
    table = np.arange(6.0).reshape(3, 2)
    for freeze in (True, False):
        ours = nn.Embedding.from_pretrained(table, freeze=freeze, padding_idx=1)
        theirs = tnn.Embedding.from_pretrained(torch.tensor(table), freeze=freeze, padding_idx=1)
        assert repr(ours) == repr(theirs)
        assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
        np.testing.assert_array_equal(ours(np.array([1, 2])).numpy(), table[[1, 2]])
    for m, make in ((tnn, torch.tensor), (nn, np.asarray)):
        for call in (
            lambda m, make: m.Embedding(5, 3, padding_idx=5),
            lambda m, make: m.Embedding(5, 3, padding_idx=-6),
            lambda m, make: m.Embedding.from_pretrained(make(np.ones(3))),
        ):
            with pytest.raises(AssertionError, match="Padding_idx|2-dimensional"):
                call(m, make)
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding(5, 3, max_norm=1.0)


def test_layers_take_a_device_and_dropout_prints_as_pytorch():
    for make in (
        lambda m, d: m.Linear(2, 3, device=d),
        lambda m, d: m.Embedding(4, 2, device=d),
        lambda m, d: m.LayerNorm(3, device=d),
        lambda m, d: m.LSTM(2, 3, num_layers=2, device=d),
        lambda m, d: m.RNN(2, 3, batch_first=True, device=d),
        lambda m, d: m.GRUCell(2, 3, device=d),
        lambda m, d: m.PReLU(device=d),
    ):
        assert repr(make(nn, "cpu")) == repr(make(tnn, "cpu"))
        with pytest.raises(RuntimeError, match="runs on the CPU"):
            make(nn, "cuda")
    assert repr(nn.Dropout(0.2)) == repr(tnn.Dropout(0.2))
    assert repr(nn.Dropout(0.2, inplace=True)) == repr(tnn.Dropout(0.2, inplace=True))


@pytest.mark.parametrize(
    "assign",
    [
        lambda m, make: setattr(m.Linear(2, 2), "weight", make(2, 2)),
        lambda m, make: setattr(m.Linear(2, 2), "bias", 3),
        lambda m, make: setattr(m.Sequential(m.Tanh()), "0", 3),
    ],
)
def test_assigning_a_non_parameter_to_a_parameter_name_is_refused_as_in_torch(assign):
    with pytest.raises(TypeError) as theirs:
        assign(tnn, torch.ones)
    with pytest.raises(TypeError) as ours:
        assign(nn, tg.ones)
    words = str(theirs.value).split(" (")[0].split("' as ")[1]  # "parameter 'weight'"
    assert words in str(ours.value)


def test_assigning_none_to_a_parameter_or_module_name_unregisters_it():
    for m in (nn, tnn):
        layer = m.Linear(2, 2)
        layer.bias = None
        seq = m.Sequential(m.Tanh(), m.ReLU())
        seq[0] = m.ELU()
        assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
        assert type(seq[0]).__name__ == "ELU"


@pytest.mark.parametrize(
    "action",
    [
        lambda m, make: m.Module().register_parameter(1, None),
        lambda m, make: m.Module().register_parameter("a.b", None),
        lambda m, make: m.Module().register_parameter("", None),
        lambda m, make: m.Module().register_parameter("training", None),
        lambda m, make: m.Module().register_parameter("forward", None),
        lambda m, make: m.Module().register_parameter("w", make(1)),
    ],
)
def test_register_parameter_errors_match_pytorch(action):
    with pytest.raises(Exception) as theirs:
        action(tnn, torch.ones)
    with pytest.raises(type(theirs.value)) as ours:
        action(nn, tg.ones)
    squeeze = str.maketrans("", "", " '\"")
    words = str(theirs.value).replace("torch.FloatTensor", "").replace("torch.nn.", "nn.")
    ours_text = str(ours.value).replace("'Tensor'", "''")  # torch names its tensor type
    assert words.translate(squeeze)[:40] in ours_text.translate(squeeze)


def test_a_parameter_registered_as_none_can_be_registered_again():
    for m, ones in ((nn, np.ones), (tnn, torch.ones)):
        make = lambda m=m, ones=ones: m.Parameter(ones(2))  # noqa: E731
        block = m.Module()
        block.register_parameter("bias", None)
        block.register_parameter("bias", make())
        assert [n for n, _ in block.named_parameters()] == ["bias"]


def test_state_dict_prefix_keep_vars_and_destination_as_pytorch():
    results = []
    for m in (nn, tnn):
        layer = m.Linear(2, 1)
        kept = layer.state_dict(keep_vars=True)
        filled = layer.state_dict(destination={"x": 1}, prefix="fc.")
        results.append((list(filled), kept["weight"] is layer.weight))
    assert results[0] == results[1] == (["x", "fc.weight", "fc.bias"], True)
