"""nn.Module and nn.Parameter: registration, PyTorch's dotted names and order, state_dict and its
errors, train/eval, dtype casts, zero_grad, repr, and a 2,000-deep nest of modules."""

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn


class Block(nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3))
        self.inner = nn.Linear(3, 3, dtype=np.float64, seed=seed)
        self.act = nn.Tanh()
        self.out = nn.Linear(3, 3, bias=False, dtype=np.float64, seed=seed + 1)

    def forward(self, x):
        return self.out(self.act(self.inner(x * self.scale)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3, dtype=np.float64, seed=0)
        self.blocks = nn.Sequential(Block(1), nn.Dropout(0.5, seed=0), Block(3))
        self.head = nn.Linear(3, 4, dtype=np.float64, seed=5)

    def forward(self, idx):
        return self.head(self.blocks(self.emb(idx)))


def torch_net(torch):
    tnn = torch.nn

    class TBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.scale = tnn.Parameter(torch.ones(3))
            self.inner = tnn.Linear(3, 3)
            self.act = tnn.Tanh()
            self.out = tnn.Linear(3, 3, bias=False)

        def forward(self, x):
            return self.out(self.act(self.inner(x * self.scale)))

    class TNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.emb = tnn.Embedding(5, 3)
            self.blocks = tnn.Sequential(TBlock(), tnn.Dropout(0.5), TBlock())
            self.head = tnn.Linear(3, 4)

        def forward(self, idx):
            return self.head(self.blocks(self.emb(idx)))

    return TNet().double()


# --- registration and names ----------------------------------------------------------------------


def test_parameters_and_submodules_are_registered():
    block = Block()
    assert set(block._parameters) == {"scale"}
    assert list(block._modules) == ["inner", "act", "out"]
    assert block.inner.weight.shape == (3, 3)
    block.scale = None  # a plain value replaces the registration
    assert "scale" not in block._parameters and block.scale is None
    del block.act
    assert "act" not in block._modules


def test_named_parameters_match_pytorch_names_and_order():
    torch = pytest.importorskip("torch")
    ours = [(n, p.shape) for n, p in Net().named_parameters()]
    theirs = [(n, tuple(p.shape)) for n, p in torch_net(torch).named_parameters()]
    assert ours == theirs
    assert [n for n, _ in Net().named_modules()] == [n for n, _ in torch_net(torch).named_modules()]


def test_parameter_names_are_set_for_the_graph_viewer():
    net = Net()
    assert net.head.weight.name == "head.weight"
    assert net.blocks[0].inner.bias.name == "blocks.0.inner.bias"


def test_children_and_modules():
    net = Net()
    assert [type(m).__name__ for m in net.children()] == ["Embedding", "Sequential", "Linear"]
    assert len(list(net.modules())) == 1 + 3 + 3 + 2 * 3


def test_module_without_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken()


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_call_runs_forward():
    net = Net().eval()
    out = net(np.array([[0, 4, 2]]))
    assert out.shape == (1, 3, 4)


# --- state_dict ---------------------------------------------------------------------------------


def test_state_dict_keys_match_pytorch_and_values_are_copies():
    torch = pytest.importorskip("torch")
    net = Net()
    sd = net.state_dict()
    assert list(sd) == list(torch_net(torch).state_dict())
    sd["head.bias"][...] = 123.0
    assert not np.any(net.head.bias.numpy() == 123.0)


def test_load_a_pytorch_state_dict_gives_the_same_outputs():
    torch = pytest.importorskip("torch")
    tnet = torch_net(torch).eval()
    net = Net().eval()
    net.load_state_dict({k: v.detach().numpy() for k, v in tnet.state_dict().items()})
    idx = np.array([[0, 4, 2], [1, 1, 3]])
    expected = tnet(torch.from_numpy(idx)).detach().numpy()
    np.testing.assert_allclose(net(idx).numpy(), expected, rtol=1e-12)


def test_load_state_dict_round_trip_and_in_place():
    a, b = Net(), Net()
    for p in b.parameters():
        p.numpy()[...] = 0.5
    arrays_before = [p.numpy() for p in a.parameters()]
    a.load_state_dict(b.state_dict())
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy(), err_msg=name)
    # the same arrays: an optimizer built before the load keeps working on them
    assert all(x is p.numpy() for x, p in zip(arrays_before, a.parameters()))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda sd: sd.pop("head.bias"), "missing keys \\['head.bias'\\]"),
        (lambda sd: sd.update(extra=np.zeros(1)), "unexpected keys \\['extra'\\]"),
        (
            lambda sd: sd.update({"head.weight": np.zeros((4, 2))}),
            "'head.weight' has shape \\(4, 2\\), the model expects \\(4, 3\\)",
        ),
        (
            lambda sd: sd.update({"head.bias": np.array(["a", "b", "c", "d"])}),
            "'head.bias' has dtype <U1",
        ),
    ],
)
def test_load_state_dict_errors_leave_the_model_unchanged(edit, message):
    net = Net()
    before = net.state_dict()
    sd = {k: np.full_like(v, 7.0) for k, v in before.items()}
    edit(sd)
    with pytest.raises(ValueError, match=message):
        net.load_state_dict(sd)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_load_state_dict_names_every_problem_at_once():
    net = Net()
    sd = net.state_dict()
    sd.pop("emb.weight")
    sd["head.bias"] = np.zeros(9)
    sd["bogus"] = np.zeros(1)
    with pytest.raises(ValueError) as info:
        net.load_state_dict(sd)
    for part in ("emb.weight", "head.bias", "bogus"):
        assert part in str(info.value)


def test_load_state_dict_not_strict_reports_and_loads_the_rest():
    net = Net()
    sd = {"head.bias": np.arange(4.0), "extra": np.zeros(1)}
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert unexpected == ["extra"] and "head.bias" not in missing and "emb.weight" in missing
    np.testing.assert_array_equal(net.head.bias.numpy(), np.arange(4.0))


def test_load_state_dict_rejects_a_non_dict():
    with pytest.raises(TypeError, match="expected a dict"):
        Net().load_state_dict([("head.bias", np.zeros(4))])


def test_tied_weights_appear_once_in_parameters_and_under_both_names_in_state_dict():
    torch = pytest.importorskip("torch")

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3, seed=0)
            self.dec = nn.Linear(3, 5, bias=False, seed=0)
            self.dec.weight = self.emb.weight

    t_emb, t_dec = torch.nn.Embedding(5, 3), torch.nn.Linear(3, 5, bias=False)
    t_dec.weight = t_emb.weight
    t_model = torch.nn.ModuleDict({"emb": t_emb, "dec": t_dec})
    model = Tied()
    assert len(list(model.parameters())) == len(list(t_model.parameters())) == 1
    assert list(model.state_dict()) == list(t_model.state_dict()) == ["emb.weight", "dec.weight"]
    model.load_state_dict(model.state_dict())


# --- modes, dtypes, gradients --------------------------------------------------------------------


def test_train_and_eval_propagate_to_every_module():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.blocks.eval()
    assert net.training and not net.blocks[1].training


def test_to_casts_parameters_and_gradients():
    net = Net()
    net(np.array([1, 2])).sum().backward()
    assert net.float() is net
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in net.parameters())
    out = net(np.array([1, 2]))
    assert out.dtype == np.float32
    net.double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    net.to(tg.float32)
    assert all(p.dtype == np.float32 for p in net.parameters())
    with pytest.raises(TypeError, match="floating point"):
        net.to(np.int64)


def test_zero_grad_clears_every_gradient():
    net = Net()
    net(np.array([1, 2])).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_parameter_requires_grad_and_repr():
    p = nn.Parameter(np.zeros(2))
    assert p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\nTensor(")
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad


def test_repr_reads_like_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Sequential(nn.Linear(8, 2), nn.ReLU()))
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 8),
        torch.nn.Tanh(),
        torch.nn.Sequential(torch.nn.Linear(8, 2), torch.nn.ReLU()),
    )
    assert repr(ours) == repr(theirs)
    assert repr(nn.Embedding(5, 2)) == repr(torch.nn.Embedding(5, 2))


def test_repr_of_a_child_with_its_own_repr():
    class Custom(nn.Module):
        def __repr__(self):
            return "Custom<\nline two>"

    text = repr(nn.Sequential(nn.Sequential(Custom())))
    assert "    (0): Custom<\n    line two>" in text


def test_repr_of_a_subclass_that_extends_it_and_of_a_cycle():
    class Tagged(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(1, 1)

        def __repr__(self):
            return "Tagged:" + super().__repr__()

    assert repr(nn.Sequential(Tagged())).splitlines()[1:3] == [
        "  (0): Tagged:Tagged(",
        "    (fc): Linear(in_features=1, out_features=1, bias=True)",
    ]
    outer = nn.Sequential(nn.Tanh())
    outer.append(nn.Sequential(outer))  # a cycle prints once, not forever
    assert repr(outer).splitlines()[-3:] == ["    (0): Sequential(...)", "  )", ")"]


# --- depth ----------------------------------------------------------------------------------------


def test_a_2000_deep_nest_of_modules_needs_no_recursion():
    depth = 2000
    root = current = nn.Sequential()
    for _ in range(depth):
        child = nn.Sequential()
        current.append(child)
        current = child
    current.append(nn.Linear(2, 2, seed=0))

    names = [name for name, _ in root.named_parameters()]
    assert names == ["0." * depth + "0.weight", "0." * depth + "0.bias"]
    assert len(list(root.modules())) == depth + 2
    sd = root.state_dict()
    root.load_state_dict(sd)
    root.eval()
    assert not current.training
    root.double()
    assert current[0].weight.dtype == np.float64
    root.zero_grad()
    text = repr(root)
    assert text.count("Sequential(") == depth + 1 and "Linear(in_features=2" in text
