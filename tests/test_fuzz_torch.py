"""Random programs of Tensor ops, run in tinygrad_seq and in PyTorch (the oracle), must agree.

Hypothesis draws a short program: inputs of random shapes (a 0 in any axis included), then a few
steps, each one op (elementwise, broadcasting, reductions, movement, matmul, softmax, ...) on
earlier values, with parameters drawn so that some are invalid. Every step runs in both; then:
- both compute it: same shape and values (float64, NaN where the other has NaN);
- one refuses: the other must refuse too, and our message must name the op;
and at the end, the gradients of a random-weighted sum of every value agree for every input.
Each op below is written twice, once per library: where the APIs differ on purpose (NumPy's
``axis`` tuples and defaults, ``amax`` for ``max``), the torch side is mapped, not skipped.
"""

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import tinygrad_seq as tg

torch = pytest.importorskip("torch")

ERRORS = (ValueError, IndexError, TypeError, RuntimeError)
SIDES = st.integers(0, 3)


class Program:
    """The values computed so far, in both libraries, and which of them are inputs."""

    def __init__(self, rng):
        self.rng, self.ours, self.theirs, self.inputs = rng, [], [], []

    def add_input(self, shape):
        values = self.rng.uniform(-2, 2, shape)
        if self.rng.random() < 0.5:  # exact zeros and ties: relu, abs, max at their kinks
            values = np.round(values * 2) / 2
        self.inputs.append(len(self.ours))
        self.ours.append(tg.Tensor(values.copy(), requires_grad=True))
        self.theirs.append(torch.tensor(values, requires_grad=True))
        note(f"v{len(self.ours) - 1} = input of shape {shape}")
        return len(self.ours) - 1

    def shape(self, i):
        return self.ours[i].shape

    def run(self, name, ours, theirs, operands, words=None):
        """One step in both libraries; False (the program ends) if both refused it."""
        note(f"v{len(self.ours)} = {name}({', '.join(f'v{i}' for i in operands)})")
        ours_out, ours_error = _attempt(ours, [self.ours[i] for i in operands])
        theirs_out, theirs_error = _attempt(theirs, [self.theirs[i] for i in operands])
        if ours_error or theirs_error:
            assert theirs_error, f"{name}: we refuse what torch computes: {ours_error!r}"
            assert ours_error, f"{name}: torch refuses ({theirs_error}), we computed it"
            words = words or (name.split("(")[0],)
            message = str(ours_error)
            assert any(w in message for w in words), f"{name}: message names no op: {message!r}"
            return False
        ours_out = list(ours_out) if isinstance(ours_out, (list, tuple)) else [ours_out]
        theirs_out = list(theirs_out) if isinstance(theirs_out, (list, tuple)) else [theirs_out]
        assert len(ours_out) == len(theirs_out), f"{name}: {len(ours_out)} pieces vs torch's"
        for ours_value, theirs_value in zip(ours_out, theirs_out):
            expected = theirs_value.detach().numpy()
            assert ours_value.shape == expected.shape, f"{name}: shape differs from torch's"
            _close(ours_value.numpy(), expected, name)
            self.ours.append(ours_value)
            self.theirs.append(theirs_value)
        return True

    def check_gradients(self):
        """d/d(inputs) of sum_k (v_k * w_k).sum() over every value: each op's VJP takes part."""
        weights = [self.rng.standard_normal(v.shape) for v in self.ours]
        ours = sum((v * w).sum() for v, w in zip(self.ours, weights))
        theirs = sum((v * torch.tensor(w)).sum() for v, w in zip(self.theirs, weights))
        ours.backward()
        theirs.backward()
        for i in self.inputs:
            expected = self.theirs[i].grad
            expected = np.zeros(self.shape(i)) if expected is None else expected.numpy()
            got = self.ours[i].grad
            got = np.zeros(self.shape(i)) if got is None else got
            _close(got, expected, f"gradient of v{i}")


def _attempt(fn, args):
    try:
        return fn(*args), None
    except ERRORS as e:
        return None, e


def _close(got, expected, what):
    np.testing.assert_allclose(
        got, expected, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=f"{what} differs from torch"
    )


# --- the ops: each draws its operands and parameters, then runs in both libraries -------------


def _axis(data, ndim):
    """An axis as NumPy takes it: None, an int or a tuple; sometimes out of range or repeated."""
    choices = [st.none(), st.integers(-ndim - 1, ndim)]
    if ndim:
        choices.append(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim))
    axis = data.draw(st.one_of(choices))
    return tuple(axis) if isinstance(axis, list) else axis


def _dims(axis, ndim):
    """The same axis for torch: None means every axis (``amax`` and ``logsumexp`` want a tuple)."""
    return tuple(range(ndim)) if axis is None else axis


def _pick(data, prog):
    return data.draw(st.integers(0, len(prog.ours) - 1))


def _partner(data, prog, shape):
    """The other operand of a binary op: ("number", x), or ("value", i) of an earlier value or a
    new input whose shape broadcasts with ``shape`` (axes dropped at the front or set to 1;
    sometimes one that does not, to be refused)."""
    kind = data.draw(st.sampled_from(["value", "number", "input", "input"]))
    if kind == "number":
        return kind, data.draw(st.sampled_from([2.5, -1.0, 0.0, 3]))
    if kind == "value":
        return kind, _pick(data, prog)
    drop = data.draw(st.integers(0, len(shape)))
    partner = [1 if data.draw(st.booleans()) else n for n in shape[drop:]]
    if partner and data.draw(st.integers(0, 5)) == 0:
        partner[0] += 2
    lead = data.draw(st.lists(SIDES, max_size=1))  # an axis the result gains
    return "value", prog.add_input(tuple(lead + partner))


BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
}


def unary(data, prog):
    name = data.draw(
        st.sampled_from(["neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu"])
    )
    if name == "neg":
        return prog.run(name, lambda x: -x, lambda x: -x, [_pick(data, prog)])
    return prog.run(
        name, lambda x: getattr(x, name)(), lambda x: getattr(torch, name)(x), [_pick(data, prog)]
    )


def binary(data, prog):
    name = data.draw(st.sampled_from(sorted(BINARY)))
    fn, a = BINARY[name], _pick(data, prog)
    kind, b = _partner(data, prog, prog.shape(a))
    if kind == "value":
        return prog.run(name, fn, fn, [a, b])
    if data.draw(st.booleans()):  # the number on the left: __radd__, __rtruediv__, ...
        return prog.run(f"{name}({b}, v)", lambda x: fn(b, x), lambda x: fn(b, x), [a])
    return prog.run(f"{name}(v, {b})", lambda x: fn(x, b), lambda x: fn(x, b), [a])


def power(data, prog):
    exponent = data.draw(st.sampled_from([2, 3, 0.5, -1.0, 0, 1.5, 2.0]))
    x = _pick(data, prog)
    if data.draw(st.booleans()):  # a number raised to a tensor
        return prog.run(
            f"pow({exponent}, v)", lambda v: exponent**v, lambda v: exponent**v, [x], ("pow",)
        )
    return prog.run(f"pow(v, {exponent})", lambda v: v**exponent, lambda v: v**exponent, [x])


def where(data, prog):
    a = _pick(data, prog)
    kind, b = _partner(data, prog, prog.shape(a))
    b = prog.add_input(()) if kind == "number" else b
    return prog.run(
        "where",
        lambda x, y: tg.where(x > y, x, y),
        lambda x, y: torch.where(x > y, x, y),
        [a, b],
        ("where", "gt (>)"),
    )


def clip(data, prog):
    lo = data.draw(st.sampled_from([None, -1.0, 0.0, 0.5]))
    hi = data.draw(st.sampled_from([None, 1.0, 0.0]) if lo is not None else st.just(1.0))
    return prog.run(
        f"clip({lo}, {hi})",
        lambda x: x.clip(lo, hi),
        lambda x: torch.clamp(x, lo, hi),
        [_pick(data, prog)],
    )


def reduction(data, prog):
    name = data.draw(st.sampled_from(["sum", "mean", "max", "min", "logsumexp"]))
    x = _pick(data, prog)
    ndim = len(prog.shape(x))
    axis, keep = _axis(data, ndim), data.draw(st.booleans())
    theirs = {
        "sum": lambda t: torch.sum(t, dim=axis, keepdim=keep),
        "mean": lambda t: torch.mean(t, dim=axis, keepdim=keep),
        "max": lambda t: torch.amax(t, dim=_dims(axis, ndim), keepdim=keep),
        "min": lambda t: torch.amin(t, dim=_dims(axis, ndim), keepdim=keep),
        "logsumexp": lambda t: torch.logsumexp(t, dim=_dims(axis, ndim), keepdim=keep),
    }[name]
    torch_spelling = data.draw(st.booleans())  # dim= and keepdim=, which we accept too

    def ours(v):
        reduce = getattr(v, {"max": "amax", "min": "amin"}.get(name, name))
        return reduce(dim=axis, keepdim=keep) if torch_spelling else reduce(axis, keep)

    return prog.run(f"{name}(axis={axis}, keepdims={keep})", ours, theirs, [x])


def softmax(data, prog):
    name = data.draw(st.sampled_from(["softmax", "log_softmax"]))
    x = _pick(data, prog)
    axis = data.draw(st.one_of(st.none(), st.integers(-len(prog.shape(x)) - 1, len(prog.shape(x)))))
    dim = -1 if axis is None else axis  # our default axis is the last, as torch's implicit one
    return prog.run(
        f"{name}(axis={axis})",
        lambda v: getattr(v, name)(axis),
        lambda t: getattr(torch, name)(t, dim=dim),
        [x],
    )


def reshape(data, prog):
    x = _pick(data, prog)
    size = int(np.prod(prog.shape(x)))
    sides = [d for d in range(1, size + 1) if size % d == 0] or [0]
    shape = list(data.draw(st.lists(st.sampled_from(sides + [0, 2]), max_size=3)))
    if shape and data.draw(st.booleans()):
        shape[data.draw(st.integers(0, len(shape) - 1))] = -1
    shape = tuple(shape)
    return prog.run(f"reshape{shape}", lambda v: v.reshape(shape), lambda t: t.reshape(shape), [x])


def transpose(data, prog):
    x = _pick(data, prog)
    ndim = len(prog.shape(x))
    axes = tuple(data.draw(st.permutations(range(ndim))))
    if ndim and data.draw(st.integers(0, 4)) == 0:  # a repeated or out-of-range axis
        axes = (axes[0],) + axes
    return prog.run(f"permute{axes}", lambda v: v.permute(axes), lambda t: t.permute(axes), [x])


def unsqueeze_squeeze(data, prog):
    x = _pick(data, prog)
    ndim = len(prog.shape(x))
    if data.draw(st.booleans()):
        axis = data.draw(st.integers(-ndim - 2, ndim + 1))
        return prog.run(
            f"unsqueeze({axis})", lambda v: v.unsqueeze(axis), lambda t: t.unsqueeze(axis), [x]
        )
    axis = data.draw(st.one_of(st.none(), st.integers(-ndim - 1, ndim)))
    theirs = (lambda t: t.squeeze()) if axis is None else (lambda t: t.squeeze(axis))
    return prog.run(f"squeeze({axis})", lambda v: v.squeeze(axis), theirs, [x])


def _index_part(data, side):
    kind = data.draw(st.sampled_from(["int", "slice", "slice", "none", "list"]))
    if kind == "int":
        return data.draw(st.integers(-side - 1, side))
    if kind == "slice":
        start = data.draw(st.one_of(st.none(), st.integers(-side - 1, side + 1)))
        stop = data.draw(st.one_of(st.none(), st.integers(-side - 1, side + 1)))
        step = data.draw(st.sampled_from([None, 1, 2, 3]))  # torch has no negative steps
        return slice(start, stop, step)
    if kind == "none":
        return None
    return data.draw(st.lists(st.integers(-side, max(side - 1, 0)), min_size=1, max_size=3))


def getitem(data, prog):
    x = _pick(data, prog)
    shape = prog.shape(x)
    count = data.draw(st.integers(1, len(shape) + 1))
    sides = list(shape) + [1] * (count - len(shape))
    index = tuple(_index_part(data, sides[i]) for i in range(count))
    lists = sum(isinstance(i, list) for i in index)
    if lists > 1:  # several integer arrays pair up elementwise in both; one is enough here
        index = tuple(i for i in index if not isinstance(i, list)) or (0,)
    return prog.run(
        f"getitem[{index}]", lambda v: v[index], lambda t: _torch_index(t, index), [x], ("getitem",)
    )


def _torch_index(t, index):
    """``t[index]`` with NumPy's indexing rules, which are ours: next to an integer list, an int
    is an array index too (NumPy moves both axes to the front when a slice separates them,
    torch selects the int first); and a list is bounds-checked even when the result is empty
    (torch skips the check then)."""
    if not any(isinstance(i, list) for i in index):
        return t[index]
    axis = 0
    for i in index:
        if isinstance(i, list):
            side = t.shape[axis] if axis < t.dim() else 0
            if any(not -side <= k < side for k in i):
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {side}")
        axis += i is not None
    return t[tuple(torch.tensor(i) if isinstance(i, int) else i for i in index)]


def join(data, prog):
    name = data.draw(st.sampled_from(["concat", "stack"]))
    xs = data.draw(st.lists(st.integers(0, len(prog.ours) - 1), min_size=1, max_size=3))
    if data.draw(st.booleans()):  # a fresh input shaped like the first, so the join can work
        xs.append(prog.add_input(prog.shape(xs[0])))
    ndim = len(prog.shape(xs[0])) + (name == "stack")
    axis = data.draw(st.integers(-ndim - 1, ndim))
    ours = {"concat": tg.concat, "stack": tg.stack}[name]
    theirs = {"concat": _torch_cat, "stack": torch.stack}[name]
    return prog.run(
        f"{name}(axis={axis})", lambda *v: ours(list(v), axis), lambda *t: theirs(list(t), axis), xs
    )


def split(data, prog):
    x = _pick(data, prog)
    shape = prog.shape(x)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    side = shape[axis] if -len(shape) <= axis < len(shape) else 2
    if data.draw(st.booleans()):
        chunks = data.draw(st.integers(0, 4))
        return prog.run(
            f"chunk({chunks}, axis={axis})",
            lambda v: v.chunk(chunks, axis),
            lambda t: torch.chunk(t, chunks, axis),
            [x],
        )
    if data.draw(st.booleans()):
        size = data.draw(st.integers(0, 3))
    else:
        size = data.draw(st.lists(st.integers(0, 3), max_size=3))
        if data.draw(st.booleans()):
            size = [*size, side - sum(size)] if side >= sum(size) else size
    return prog.run(
        f"split({size}, axis={axis})",
        lambda v: v.split(size, axis),
        lambda t: torch.split(t, size, axis),
        [x],
    )


def _torch_cat(tensors, dim):
    """torch.cat with NumPy's rules: torch skips tensors of shape (0,) whatever their dimensions
    and ``dim`` (a legacy rule, not ours), so those are checked as np.concatenate checks them."""
    if len({t.dim() for t in tensors}) > 1:
        raise RuntimeError("cat: tensors must have the same number of dimensions")
    for t in tensors:
        t.size(dim)  # IndexError for a dim out of range
    return torch.cat(tensors, dim)


def matmul(data, prog):
    a = _pick(data, prog)
    shape = prog.shape(a)
    if data.draw(st.booleans()) or not shape:
        b = _pick(data, prog)
    else:  # a right operand that fits: (k,) or (..., k, n), sometimes with a batch axis
        k = shape[-1]
        tail = data.draw(st.sampled_from([[k], [k, 2], [k, 0], [1, k, 3]]))
        b = prog.add_input(tuple(tail))
    return prog.run("matmul", lambda x, y: x @ y, lambda x, y: x @ y, [a, b])


OPS = [unary, binary, power, where, clip, reduction, softmax, reshape, transpose]
OPS += [unsqueeze_squeeze, getitem, join, split, matmul]
SHAPES = st.lists(SIDES, max_size=3).map(tuple)


@pytest.mark.parametrize("first", OPS, ids=[op.__name__ for op in OPS])
@settings(max_examples=50, report_multiple_bugs=False)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_random_programs_agree_with_torch(first, data, seed):
    """A program starting with ``first`` (so that a failure says which op family it is), then
    up to three random steps on what came before."""
    prog = Program(np.random.default_rng(seed))
    prog.add_input(data.draw(SHAPES))
    steps = [first] + [data.draw(st.sampled_from(OPS)) for _ in range(data.draw(st.integers(0, 3)))]
    for op in steps:
        if not op(data, prog):
            break
    prog.check_gradients()


# --- what the fuzz found, each pinned by a test of its own --------------------------------------


def _grads(build, value):
    """The gradient of build(x).sum() at ``value`` in both libraries."""
    x = tg.Tensor(np.array(value, dtype=np.float64), requires_grad=True)
    t = torch.tensor(np.array(value, dtype=np.float64), requires_grad=True)
    build(x).sum().backward()
    build(t).sum().backward()
    return x.grad, t.grad.numpy()


@pytest.mark.parametrize(
    "build",
    [
        lambda v: v.relu().log(),  # log's gradient at relu's 0 is inf: relu passes none of it
        lambda v: v.clip(0.0, 1.0).log(),
        lambda v: v.clip(0.5, 0.0),  # min > max: the output is max, nothing passes through
        lambda v: (-v).relu().sqrt(),  # relu(-x) = 0 where x > 0: sqrt's inf does not pass
    ],
)
def test_a_masked_gradient_is_zero_where_the_mask_is_off_even_if_upstream_is_infinite(build):
    ours, theirs = _grads(build, [-1.0, 0.0, 0.25, 2.0])
    np.testing.assert_array_equal(ours, theirs)


def test_a_slice_gradient_adds_into_a_scalar_gradient_made_by_adding_two():
    # two gradients of a 0-d tensor added make a NumPy scalar, which a slice's gradient
    # (x[None]) cannot be added into in place: it was silently lost
    ours, theirs = _grads(lambda v: v[None].sum() + v * 2 + v * 3, 0.5)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    "call, op",
    [
        (lambda x: x.min(axis=5), "min"),
        (lambda x: x[:0].min(), "min"),
        (lambda x: x.mean(axis=(0, 0)), "mean"),
        (lambda x: x > tg.Tensor(np.ones(5)), "gt (>)"),
        (lambda x: x <= np.ones(4), "le (<=)"),
        (lambda x: x.split(2, axis=5), "split"),
        (lambda x: tg.split(x, [1, 1], axis=-3), "split"),
        (lambda x: x.chunk(2, axis=2), "chunk"),
    ],
)
def test_an_error_names_the_op_that_was_called_not_the_one_it_is_made_of(call, op):
    with pytest.raises((ValueError, IndexError)) as error:
        call(tg.Tensor(np.ones((2, 3))))
    assert str(error.value).startswith(f"{op}: "), str(error.value)


@pytest.mark.parametrize("axis", [0, -1, 1])
def test_squeezing_an_axis_whose_length_is_not_one_keeps_it_as_torch_does(axis):
    x = tg.Tensor(np.ones((2, 1, 3)), requires_grad=True)
    expected = torch.ones((2, 1, 3)).squeeze(axis).shape
    y = x.squeeze(axis)
    assert y.shape == expected
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 1, 3)))
