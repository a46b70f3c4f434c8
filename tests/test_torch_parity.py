"""The engine agrees with PyTorch on forward values and gradients (PyTorch as an oracle only)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_seq as tg
from tinygrad_seq.testing import arrays, broadcastable_shapes

torch = pytest.importorskip("torch")

# (name, tinygrad_seq function, torch function, input shapes, low, high)
UNARY = [
    ("neg", lambda x: -x, lambda x: -x),
    ("exp", lambda x: x.exp(), torch.exp),
    ("log", lambda x: x.abs().log(), lambda x: x.abs().log()),
    ("sqrt", lambda x: (x * x + 1).sqrt(), lambda x: (x * x + 1).sqrt()),
    ("abs", lambda x: x.abs(), torch.abs),
    ("tanh", lambda x: x.tanh(), torch.tanh),
    ("sin", lambda x: x.sin(), torch.sin),
    ("cos", lambda x: tg.cos(x), torch.cos),
    ("sigmoid", lambda x: x.sigmoid(), torch.sigmoid),
    ("relu", lambda x: x.relu(), torch.relu),
    ("pow", lambda x: x**3, lambda x: x**3),
    ("clip", lambda x: x.clip(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7)),
    ("sum", lambda x: x.sum(axis=0, keepdims=True), lambda x: x.sum(dim=0, keepdim=True)),
    ("mean", lambda x: x.mean(axis=-1), lambda x: x.mean(dim=-1)),
    ("amax", lambda x: x.amax(axis=1), lambda x: x.amax(dim=1)),
    ("min", lambda x: x.min(), lambda x: x.amin()),
    ("logsumexp", lambda x: x.logsumexp(axis=1), lambda x: torch.logsumexp(x, dim=1)),
    ("log_softmax", lambda x: x.log_softmax(dim=1), lambda x: torch.log_softmax(x, dim=1)),
    ("softmax", lambda x: x.softmax(axis=0), lambda x: torch.softmax(x, dim=0)),
    ("reshape", lambda x: x.reshape(-1), lambda x: x.reshape(-1)),
    ("transpose", lambda x: x.transpose(1, 0), lambda x: x.permute(1, 0)),
    ("T", lambda x: x.T * 2, lambda x: x.T * 2),
    ("getitem", lambda x: x[1:, ::2], lambda x: x[1:, ::2]),
    ("gather", lambda x: x[[0, 0, 2]], lambda x: x[[0, 0, 2]]),
    ("split", lambda x: tg.split(x, 2, axis=1)[1] * 3, lambda x: torch.split(x, 2, 1)[1] * 3),
    ("chunk", lambda x: x.chunk(2, dim=0)[0], lambda x: x.chunk(2, dim=0)[0]),
    ("stack", lambda x: tg.stack([x, x * 2], 1), lambda x: torch.stack([x, x * 2], 1)),
    ("concat", lambda x: tg.concat([x, x * 2], 0), lambda x: torch.cat([x, x * 2], 0)),
]

BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b),
    ("sub", lambda a, b: a - b, lambda a, b: a - b),
    ("mul", lambda a, b: a * b, lambda a, b: a * b),
    ("div", lambda a, b: a / (b * b + 0.5), lambda a, b: a / (b * b + 0.5)),
    ("where", lambda a, b: tg.where(a > b, a, b), lambda a, b: torch.where(a > b, a, b)),
]


def compare(ours, theirs, inputs):
    xs = [tg.Tensor(a.copy(), requires_grad=True) for a in inputs]
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    out, ref = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    cot = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(cot)
    ref.backward(torch.tensor(cot))
    for x, t in zip(xs, ts, strict=True):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, ours, theirs", UNARY, ids=[u[0] for u in UNARY])
def test_unary_matches_torch(name, ours, theirs):
    x = np.random.default_rng(0).standard_normal((4, 5))
    compare(ours, theirs, [x])


@pytest.mark.parametrize("name, ours, theirs", BINARY, ids=[b[0] for b in BINARY])
@given(data=st.data())
def test_binary_matches_torch_with_broadcasting(name, ours, theirs, data):
    sa, sb = data.draw(broadcastable_shapes(2))
    compare(ours, theirs, [data.draw(arrays(sa)), data.draw(arrays(sb))])


@pytest.mark.parametrize(
    "sa, sb",
    [
        ((3, 4), (4, 2)),
        ((2, 3, 4), (2, 4, 5)),
        ((2, 1, 3, 4), (3, 4, 2)),
        ((4,), (4, 3)),
        ((2, 3, 4), (4,)),
        ((4,), (4,)),
    ],
)
def test_matmul_matches_torch(sa, sb):
    rng = np.random.default_rng(0)
    compare(
        lambda a, b: a @ b, lambda a, b: a @ b, [rng.standard_normal(sa), rng.standard_normal(sb)]
    )


def test_long_composite_matches_torch():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 4))

    def ours(x, w):
        h = x
        for _ in range(5):
            h = (h @ w).tanh() * (h.sigmoid() + 0.5)
        return h.log_softmax(1).sum() + h.max()

    def theirs(x, w):
        h = x
        for _ in range(5):
            h = (h @ w).tanh() * (h.sigmoid() + 0.5)
        return torch.log_softmax(h, 1).sum() + h.max()

    compare(ours, theirs, [x, w])
