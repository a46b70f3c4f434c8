"""The derivative table: every primitive's NumPy forward and its vector-Jacobian products.

This is the only file in tinygrad_seq that knows a derivative. Each primitive is declared once:
its forward function, then one VJP per input, side by side. A VJP is a pure function

    vjp(g, out, *inputs, **params) -> gradient for that input

of the upstream gradient ``g`` (shape of ``out``), the forward result ``out``, the forward inputs
and the op's non-tensor parameters. It may return a gradient of a broadcast shape: the engine undoes
broadcasting in one place (``grads.unbroadcast``). ``None`` in place of a VJP marks an input
that is not differentiable (indices, masks).

The same VJPs give every higher derivative: a first-order backward runs them on arrays; a
recorded one (``create_graph=True``) runs them on Tensors, where each NumPy operation in them is a
primitive of this table (Tensor implements NumPy's protocols) and is recorded, so the recorded VJP
is differentiated by this table again. A VJP that needs another primitive calls it with ``bind``;
comparisons are written as NumPy calls (``np.equal(x, out)``), which give masks on both.

A new differentiable op is declared the same public way::

    >>> import numpy as np, tinygrad_seq as tg
    >>> square = tg.ops.primitive("square", lambda x: x * x, lambda g, out, x: 2 * g * x)
    >>> x = tg.Tensor(np.array([3.0]), requires_grad=True)
    >>> tg.apply(square, x).sum().backward(); x.grad
    Tensor([6.], dtype=float64)

Only NumPy is imported here: the table knows no graph and no Tensor.
"""

import numpy as np


class Primitive:
    """A differentiable operation: a name, a NumPy forward, and one VJP per input.

    ``vjps[i]`` is the VJP of input ``i`` or ``None`` if that input takes no gradient. Variadic
    primitives (concat, stack) give ``vjp_argnum(i, g, out, *inputs, **params)`` instead.

    ``forms`` declares, per input, what its VJP returns when that is not a plain array of the
    input's (or a broadcast) shape: ``"same"`` (``g`` itself: ``add``), ``"product"`` (maybe a
    ``ProductGrad``), ``"indexed"`` (an ``IndexedGrad``), or a function of the params giving one
    of these (or None). The compiled loop writes how each gradient is added up from this.

    ``saves`` names the forward values the VJPs read: input positions and/or ``"out"``. The graph
    keeps only those until backward; the other inputs are replaced by a ``Placeholder`` (shape
    and dtype, no data), so e.g. the (B, 4H) pre-activations of an LSTM step die right after the
    forward step. ``None`` (the default, safe for user ops) keeps every input and ``out``.

    >>> x = np.array([0.0, 1.0]); out = exp.forward(x)
    >>> exp.vjp(0, np.ones(2), out, (x,), {})  # g * out: exp's VJP reads only its result
    array([1.        , 2.71828183])
    >>> exp.saved((x,), out)[0]  # so the graph keeps no copy of x
    (Placeholder((2,), float64),)
    """

    __slots__ = (
        "name",
        "forward",
        "vjps",
        "vjp_argnum",
        "vjp_all",
        "grad_mask",
        "saves",
        "saves_out",
        "forms",
        "elementwise",
    )

    def __init__(
        self, name, forward, vjps=(), vjp_argnum=None, saves=None, vjp_all=None, forms=None
    ):
        self.name = name
        self.forward = forward
        self.vjps = tuple(vjps)
        self.vjp_argnum = vjp_argnum
        # ``vjp_all(g, out, *inputs, needs=..., **params)``: every input's gradient from one sweep,
        # for an op whose inputs share the work of their gradients (``scan``: a whole loop)
        self.vjp_all = vjp_all
        # which inputs take a gradient; None for variadic primitives, where all do
        variadic = vjp_argnum or vjp_all
        self.grad_mask = None if variadic else tuple(v is not None for v in self.vjps)
        self.saves = None if saves is None else frozenset(k for k in saves if k != "out")
        self.saves_out = saves is None or "out" in saves
        self.forms = forms or {}
        # one input, and each output element a function of the input element at its position
        # alone: the compiled loop may apply it once to neighbouring slices of one array.
        # "total": also defined, finite and warning-free for every finite input, so it may be
        # applied to the elements between the slices too
        self.elementwise = False

    def grad_form(self, argnum, params):
        """What input ``argnum``'s VJP returns with these params (see ``forms``), None if a
        plain array.

        >>> add.grad_form(0, {}), getitem.grad_form(0, {"index": 1}), exp.grad_form(0, {})
        ('same', 'indexed', None)
        """
        form = self.forms.get(argnum)
        return form(**params) if callable(form) else form

    def saved(self, inputs, out):
        """(inputs, out) as the graph keeps them: what the VJPs do not read is dropped."""
        saves = self.saves
        if saves is None:
            return tuple(inputs), out
        if saves:
            kept = tuple([x if i in saves else Placeholder(x) for i, x in enumerate(inputs)])
        else:
            kept = tuple([Placeholder(x) for x in inputs])
        return kept, (out if self.saves_out else None)

    def vjp(self, argnum, g, out, inputs, params):
        """The gradient of input ``argnum`` given the upstream gradient ``g``."""
        if self.vjp_argnum is not None:
            return self.vjp_argnum(argnum, g, out, *inputs, **params)
        return self.vjps[argnum](g, out, *inputs, **params)

    def bind(self, *args, **params):
        """Apply the primitive: its forward on arrays, a recorded node on recording Tensors. A VJP
        that calls another primitive calls it this way, so that the same line runs on arrays
        (first order) and records on Tensors (``create_graph``: derivatives of derivatives).
        A Tensor says how it records through its ``_bind`` method (this module knows no Tensor).

        >>> import numpy as np
        >>> scatter.bind(np.array([1.0, 2.0]), index=np.array([0, 0]), shape=(2,))
        array([3., 0.])
        """
        for a in args:
            if type(a) is not np.ndarray:  # arrays, the first order's case, asked nothing
                bind = getattr(a, "_bind", None)
                if bind is not None:
                    return bind(self, *args, **params)
        return self.forward(*args, **params)

    def differentiable(self, argnum):
        """Whether input ``argnum`` receives a gradient at all."""
        return self.grad_mask is None or (argnum < len(self.vjps) and self.grad_mask[argnum])

    def __repr__(self):
        return f"Primitive({self.name!r})"


REGISTRY = {}


def primitive(name, forward, *vjps, vjp_argnum=None, saves=None, forms=None):
    """Declare a primitive and register it under ``name``; returns the ``Primitive``.

    >>> import numpy as np
    >>> cube = primitive("cube_doc", lambda x: x**3, lambda g, out, x: 3 * g * x**2)
    >>> cube.forward(np.array([2.0]))
    array([8.])
    """
    if name in globals().get("BUILTIN", ()):  # BUILTIN is set once the table below is declared
        raise ValueError(f"primitive {name!r} is built in; choose another name")
    prim = Primitive(name, forward, vjps, vjp_argnum, saves, forms=forms)
    REGISTRY[name] = prim
    return prim


# --- helpers for the VJPs below -------------------------------------------------------------------


def _normalize_axis(axis, ndim):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes)) if ndim else ()


def _expand_reduced(g, x_ndim, axis, keepdims):
    """Reinsert the axes a reduction removed, so ``g`` broadcasts against its input."""
    if keepdims or x_ndim == 0:
        return g
    return np.expand_dims(g, _normalize_axis(axis, x_ndim))


def _like(value, x):
    """``value`` as a 0-d array of x's float dtype, made once. On small arrays NumPy's conversion
    of a Python number on every call costs as much as the arithmetic (hot VJPs of recurrent
    cells); for other dtypes the number itself, so NumPy's promotion rules stay as they are."""
    key = (value, x.dtype)
    constant = _CONSTANTS.get(key)
    if constant is None:
        constant = np.array(value, x.dtype) if x.dtype.kind == "f" else value
        _CONSTANTS[key] = constant
    return constant


_CONSTANTS = {}


def _sigmoid(x):
    # e / (1 + e) with e = exp(x): relative accuracy of a few ulps everywhere, subnormal tail
    # included. Not 0.5 * tanh(x / 2) + 0.5 (about 1.3x faster), which cancels for x < 0
    # (float32: a fixed step of 3e-8 from -17.5, 0 from -20); not 1 / (1 + exp(-x)), whose exp
    # overflows for x < -88 (a warning; np.errstate costs as much as the op on a gate array).
    # Clamping x at 40 changes no result (sigmoid rounds to 1 above 37 in float64, 9 in float16)
    # and keeps exp finite.
    constants = _SIGMOID_CONSTANTS.get(x.dtype)
    if constants is None:
        if x.dtype.kind != "f":  # integers: float64, as np.exp and np.tanh give
            x = x.astype(np.float64)
        clamp = 40.0 if x.dtype.itemsize >= 4 else 11.0
        constants = _SIGMOID_CONSTANTS[x.dtype] = (np.array(clamp, x.dtype), np.array(1, x.dtype))
    clamp, one = constants
    out = np.minimum(x, clamp)
    if type(out) is not np.ndarray:  # a 0-d input gives a NumPy scalar: no out= for it
        out = np.array(out)
    np.exp(out, out=out)
    return np.divide(out, out + one, out=out)


_SIGMOID_CONSTANTS = {}


def _sigmoid_vjp(g, out, x):
    # sigmoid'(x) = e / (1 + e)**2 with e = exp(-|x|), from x: not out * (1 - out), where 1 - out
    # cancels for x > 0 (float32: 37 ulps at x = 3.45, and 0 from x = 17, where the slope is 4e-8;
    # PyTorch's too). Written e / (1 + e * (2 + e)), one rounding in the denominator where
    # (1 + e)**2 has two: within 3 ulps in float32 and 2 in float64 (tests/test_precision.py).
    # -|x|; on recording Tensors as a select, since abs' slope at 0 is sign(0) = 0, which would
    # zero this VJP's own second derivative there (sigmoid's third, -1/8 at 0)
    minus_abs = -np.abs(x) if type(x) is np.ndarray else np.where(np.greater(x, 0), -x, x)
    e = np.exp(minus_abs)
    return g * (e / (_like(1, e) + e * (_like(2, e) + e)))


def _pow_vjp_base(g, out, x, y):
    # y * x ** (y - 1), and 0 where y == 0 (x ** 0 is the constant 1, even at x = 0), as PyTorch;
    # infinities (0 ** -0.5) are the true values, not worth a warning.
    # Where y - 1 is rounded (a y below 1, not an integer), the power multiplies that rounding by
    # log(x) (float32 y = -7.29 at x = 946: 51 ulps, PyTorch's too): there x ** (y - 1) is taken as
    # x ** y / x, within 2 ulps wherever x ** y is normal and finite and x is not 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rounded = np.not_equal((y - 1) + 1, y)
        if not np.any(rounded):
            grad = g * y * np.power(x, y - 1)
        else:
            exact = np.logical_and(np.isfinite(out / x), np.greater_equal(np.abs(out), _tiny(out)))
            usable = np.logical_and(rounded, exact)
            if np.all(usable):
                grad = g * (y * (out / x))
            else:  # x ** y recomputed with 1 in x's place where unused: a recorded backward
                # then differentiates no 0 ** y there (0 * inf, NaN)
                safe_x = np.where(usable, x, _like(1, out))
                quotient = np.power(safe_x, y) / safe_x
                grad = g * (y * np.where(usable, quotient, np.power(x, y - 1)))
    zero = np.equal(y, 0)
    return np.where(zero, 0, grad) if np.any(zero) else grad


def _tiny(x):
    """The smallest normal number of x's float dtype (below it, relative precision is lost)."""
    return np.finfo(x.dtype).tiny if x.dtype.kind in "fc" else 1


def _pow_vjp_exponent(g, out, x, y):
    # x ** y * log(x), and 0 where x == 0 and y >= 0 (there 0 ** y is constant in y), as
    # PyTorch; NaN for a negative x, where x ** y is real only at isolated y
    with np.errstate(divide="ignore", invalid="ignore"):
        grad = g * out * np.log(x)
    return np.where(np.logical_and(np.equal(x, 0), np.greater_equal(y, 0)), 0, grad)


def _matmul_vjp_a(g, out, a, b):
    if a.ndim == 1 and b.ndim == 1:  # dot product: out is a scalar
        return g * b
    # a 1-D operand is promoted as np.matmul does, and the promoted axis dropped again
    if b.ndim == 1:
        return g[..., None] * b
    ga = g[..., None, :] @ np.swapaxes(b, -1, -2) if a.ndim == 1 else g @ np.swapaxes(b, -1, -2)
    return ga[..., 0, :] if a.ndim == 1 else ga


def _matmul_vjp_b(g, out, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if a.ndim == 1:
        return a[:, None] * g[..., None, :]
    if b.ndim == 1:
        return (np.swapaxes(a, -1, -2) @ g[..., None])[..., 0]
    if a.ndim == 2 and g.ndim == 2:
        return ProductGrad(a, g)  # a.T @ g; the engine sums these as one GEMM
    return np.swapaxes(a, -1, -2) @ g


def _max_vjp(g, out, x, axis=None, keepdims=False):
    # ties share the gradient equally, so the VJP is the same whichever maximum is chosen
    out = _expand_reduced(out, x.ndim, axis, keepdims)
    mask = np.equal(x, out)
    count = mask.sum(axis=_normalize_axis(axis, x.ndim), keepdims=True)
    return _expand_reduced(g, x.ndim, axis, keepdims) * mask / count.astype(x.dtype)


def _masked(g, mask):
    """``g`` where ``mask``, else 0, as PyTorch's relu and clamp select. Multiplying by the mask
    is 1.3-5x faster than np.where (measured, float32 up to (256, 1024)), but makes inf * 0 =
    NaN where the mask is off (an infinite upstream gradient: log or sqrt at 0); only then,
    rarely, is the select done."""
    if type(g) is not np.ndarray:  # a recorded backward (Tensors): the select records itself
        return np.where(mask, g, 0)
    out = g * mask
    if np.isnan(out).any():
        out = np.where(mask, g, _like(0, g))
    return out


def _clip_vjp(g, out, x, lo=None, hi=None):
    # the gradient passes where lo <= x <= hi, as PyTorch's clamp: nowhere if lo > hi
    inside = True if lo is None else np.greater_equal(x, lo)
    inside = inside if hi is None else np.logical_and(inside, np.less_equal(x, hi))
    return _masked(g, inside)


class Placeholder:
    """Stands in for an input whose values no VJP reads: its shape and dtype, no data.

    >>> Placeholder(np.zeros((2, 3))).shape
    (2, 3)
    """

    __slots__ = ("shape", "dtype", "ndim")

    def __init__(self, array):
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __repr__(self):
        return f"Placeholder({self.shape}, {self.dtype})"


# Two gradients are declared rather than written out, because how they are added up decides the
# speed of a recurrent net's backward. What they ARE is declared here (``evaluate``); how they
# are added up (all time steps' weight products as one GEMM, slices added in place into one
# buffer) is written once in ``grads``, for the sweep and the compiled loop alike.


class ProductGrad:
    """The gradient ``a.T @ b`` of a weight (``a`` (n, p), ``b`` (n, q)), not yet multiplied.

    A weight used at every time step (``h @ W``) receives T of these; the engine adds them up as
    ONE product ``concat(a's).T @ concat(b's)`` (``grads.weight_product``).

    >>> ProductGrad(np.ones((2, 3)), np.ones((2, 4))).evaluate().shape
    (3, 4)
    """

    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b

    def evaluate(self):
        """The gradient itself (recorded, on recording Tensors)."""
        return self.a.T @ self.b


class IndexedGrad:
    """The gradient that is ``value`` at ``index`` (a basic index) and zero everywhere else.

    The getitem VJP returns this instead of a zero-filled array of the whole input: a layer slices
    its input projection into T time steps and each step's gates into 4, and dense gradients would
    cost T (or 4) full-size zero arrays, O(T^2) work for a sequence. The engine adds ``value`` into
    the input's gradient buffer in place (``grads.add_indexed``).

    >>> IndexedGrad(1, np.array([5.0, 6.0]), (3, 2)).evaluate()
    array([[0., 0.],
           [5., 6.],
           [0., 0.]])
    """

    __slots__ = ("index", "value", "shape")

    def __init__(self, index, value, shape):
        self.index, self.value, self.shape = index, value, shape

    def evaluate(self):
        """The gradient itself: ``value`` scattered into zeros (recorded, on recording Tensors)."""
        return scatter.bind(self.value, index=self.index, shape=self.shape)


def _getitem_vjp(g, out, x, index=None):
    if _is_basic_index(index):
        return IndexedGrad(index, g, x.shape)  # a view: no element is addressed twice
    return scatter.bind(g, index=index, shape=x.shape)


def _scatter(value, index, shape):
    grad = np.zeros(shape, dtype=value.dtype)
    if _is_basic_index(index):
        grad[index] = value  # a view: no element is addressed twice
    else:
        np.add.at(grad, index, value)  # integer arrays may repeat: repeated rows must add up
    return grad


_BASIC = (int, slice, type(None), type(Ellipsis))


def _is_basic_index(index):
    if type(index) is not tuple:  # the common case, checked without a generator: it is hot
        return isinstance(index, _BASIC)
    return all(isinstance(i, _BASIC) for i in index)


def _setitem(x, value, index):
    out = x.copy()  # a new array: views and nodes that hold x keep its values
    try:
        out[index] = value
    except (
        ValueError,
        TypeError,
    ):  # NumPy takes only 0-d and 1-d values for a mask's slot; torch takes
        lead = value.ndim - out[index].ndim  # any that broadcasts, leading 1s dropped
        if lead <= 0 or any(n != 1 for n in value.shape[:lead]):
            raise
        out[index] = value.reshape(value.shape[lead:])
    return out


def _setitem_vjp_value(g, out, x, value, index):
    grad = g[index]
    if grad.ndim < value.ndim:  # NumPy (and torch) write a (1, 3) value into a (3,) slot
        grad = grad.reshape((1,) * (value.ndim - grad.ndim) + grad.shape)
    return grad


def _concat_vjp(argnum, g, out, *xs, axis=0):
    start = sum(x.shape[axis] for x in xs[:argnum])
    sl = [slice(None)] * g.ndim
    sl[axis] = slice(start, start + xs[argnum].shape[axis])
    return g[tuple(sl)]


def _logsumexp(x, axis=None, keepdims=False):
    if x.size == 0:  # an empty sum: log(0) = -inf, as PyTorch (np.max has no empty maximum)
        return np.full_like(np.sum(x, axis=axis, keepdims=keepdims), -np.inf)
    # subtract the max first so exp never overflows; -inf rows stay -inf instead of NaN
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=_normalize_axis(axis, x.ndim))


def _log_softmax(x, axis=-1):
    # (x - m) - log(sum(exp(x - m))): the difference of two small numbers. Composed as
    # x - logsumexp(x), logsumexp ~ m is rounded at m's magnitude first (float32 logits ~1e3
    # lose 4 digits: error 3e-5 instead of 2e-7)
    if x.size == 0:
        return x.copy()
    m = np.max(x, axis=axis, keepdims=True)
    out = x - np.where(np.isfinite(m), m, 0)
    out -= np.log(np.sum(np.exp(out), axis=axis, keepdims=True))
    return out


# --- the table ------------------------------------------------------------------------------------
# Elementwise binary ops broadcast like NumPy; their VJPs return full-shape gradients.

add = primitive(
    "add",
    np.add,
    lambda g, out, x, y: g,
    lambda g, out, x, y: g,
    saves=(),
    forms={0: "same", 1: "same"},
)
sub = primitive(
    "sub",
    np.subtract,
    lambda g, out, x, y: g,
    lambda g, out, x, y: -g,
    saves=(),
    forms={0: "same"},
)
mul = primitive(
    "mul", np.multiply, lambda g, out, x, y: g * y, lambda g, out, x, y: g * x, saves=(0, 1)
)
div = primitive(
    "div",
    np.divide,
    lambda g, out, x, y: g / y,
    lambda g, out, x, y: -g * out / y,
    saves=(1, "out"),
)
matmul = primitive(
    "matmul", np.matmul, _matmul_vjp_a, _matmul_vjp_b, saves=(0, 1), forms={1: "product"}
)
# x @ w.T for a weight stored (out_features, in_features) as PyTorch stores it. A primitive rather
# than matmul(x, w.T) for measured speed: OpenBLAS is 1.4-4x slower when an operand is a transposed
# view, so the forward may take ``w_t``, a contiguous copy of w.T that a layer makes once per call
# (a constant: no gradient), while the backward multiplies by w as stored. The weight's gradient
# is a ProductGrad, summed over all time steps as one GEMM.
linear = primitive(
    "linear",
    lambda x, w, w_t=None: x @ (w.T if w_t is None else w_t),
    lambda g, out, x, w, w_t=None: g @ w,
    lambda g, out, x, w, w_t=None: ProductGrad(
        g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
    ),
    None,
    saves=(0, 1),
    forms={1: "product"},
)
where = primitive(
    "where",
    np.where,
    None,  # the condition is a mask, not differentiable
    lambda g, out, cond, x, y: np.where(cond, g, 0),
    lambda g, out, cond, x, y: np.where(cond, 0, g),
    saves=(0,),
)

# Elementwise unary ops. exp, sqrt and tanh reuse ``out`` instead of recomputing; sigmoid reads x
# (see _sigmoid_vjp).

neg = primitive("neg", np.negative, lambda g, out, x: -g, saves=())
power = primitive("pow", np.power, _pow_vjp_base, _pow_vjp_exponent, saves=(0, 1, "out"))
exp = primitive("exp", np.exp, lambda g, out, x: g * out, saves=("out",))
log = primitive("log", np.log, lambda g, out, x: g / x, saves=(0,))
sqrt = primitive("sqrt", np.sqrt, lambda g, out, x: g / (2 * out), saves=("out",))
absolute = primitive("abs", np.abs, lambda g, out, x: g * np.sign(x), saves=(0,))
tanh = primitive("tanh", np.tanh, lambda g, out, x: g * (_like(1, out) - out * out), saves=("out",))
sin = primitive("sin", np.sin, lambda g, out, x: g * np.cos(x), saves=(0,))
cos = primitive("cos", np.cos, lambda g, out, x: -g * np.sin(x), saves=(0,))
# a primitive, not exp/div composed: stable for any x with four ufunc calls (see _sigmoid)
sigmoid = primitive("sigmoid", _sigmoid, _sigmoid_vjp, saves=(0,))
sigmoid.elementwise = tanh.elementwise = "total"  # the gates of LSTM and GRU steps
# relu(x) > 0 exactly where x > 0, so the VJP reads the output and the input can go
relu = primitive(
    "relu", lambda x: np.maximum(x, 0), lambda g, out, x: _masked(g, out > 0), saves=("out",)
)
clip = primitive("clip", lambda x, lo=None, hi=None: np.clip(x, lo, hi), _clip_vjp, saves=(0,))

astype = primitive(
    "astype",
    lambda x, dtype: x.astype(dtype),
    lambda g, out, x, dtype: g.astype(x.dtype),
    saves=(),
)

# Reductions. ``axis`` is None, an int or a tuple, as in NumPy.

sum_ = primitive(
    "sum",
    lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
    lambda g, out, x, axis=None, keepdims=False: np.broadcast_to(
        _expand_reduced(g, x.ndim, axis, keepdims), x.shape
    ),
    saves=(),
)
max_ = primitive(
    "max", lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims), _max_vjp
)
# a primitive for stability: log(sum(exp(x))) overflows for x > 88 in float32
logsumexp = primitive(
    "logsumexp",
    _logsumexp,
    lambda g, out, x, axis=None, keepdims=False: (
        _expand_reduced(g, x.ndim, axis, keepdims)
        * np.exp(x - _expand_reduced(out, x.ndim, axis, keepdims))
    ),
)

# a primitive for accuracy (see _log_softmax) and because its VJP reuses out: softmax = exp(out)
log_softmax = primitive(
    "log_softmax",
    _log_softmax,
    lambda g, out, x, axis=-1: g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),
    saves=("out",),
)

# Movement ops: no arithmetic, the gradient is moved back into the input's layout.

reshape = primitive(
    "reshape",
    lambda x, shape: np.reshape(x, shape),
    lambda g, out, x, shape: g.reshape(x.shape),
    saves=(),
)
transpose = primitive(
    "transpose",
    lambda x, axes: np.transpose(x, axes),
    lambda g, out, x, axes: np.transpose(g, np.argsort(axes)),
    saves=(),
)
getitem = primitive(
    "getitem",
    lambda x, index: x[index],
    _getitem_vjp,
    saves=(),
    forms={0: lambda index: "indexed" if _is_basic_index(index) else None},
)
# getitem's adjoint: ``value`` added at ``index`` into zeros of ``shape``. A primitive so that
# getitem's VJP is one too, and differentiable again (its own VJP is getitem)
scatter = primitive(
    "scatter",
    _scatter,
    lambda g, out, value, index, shape: g[index],
    saves=(),
)
# ``x[index] = value`` as a new array (``t[index] = value`` on a tensor in the graph). What was
# overwritten gets no gradient; the value gets the gradient of its slot, summed back over the
# broadcasting. A repeated advanced index keeps one of the values written there, yet each of them
# is given the slot's gradient, as torch's ``index_put_`` (accumulate=False) does.
setitem = primitive(
    "setitem",
    _setitem,
    lambda g, out, x, value, index: setitem.bind(g, _like(0, g), index=index),
    _setitem_vjp_value,
    saves=(),
)
concat = primitive(
    "concat", lambda *xs, axis=0: np.concatenate(xs, axis=axis), vjp_argnum=_concat_vjp, saves=()
)
stack = primitive(
    "stack",
    lambda *xs, axis=0: np.stack(xs, axis=axis),
    # a view of g, not np.take: take copies the whole of a non-contiguous g on every call
    vjp_argnum=lambda argnum, g, out, *xs, axis=0: g[(slice(None),) * (axis % g.ndim) + (argnum,)],
    saves=(),
)


_TWO_OVER_SQRT_PI = 1.1283791670955126  # 2 / sqrt(pi), correctly rounded
# erf(x) = x * sum_n c_n x^(2n), c_n = (2 / sqrt(pi)) (-1)^n / (n! (2n + 1)): 20 terms for |x| < 1
_ERF_TAYLOR = [_TWO_OVER_SQRT_PI]
for _n in range(1, 20):
    _ERF_TAYLOR.append(-_ERF_TAYLOR[-1] * (2 * _n - 1) / (_n * (2 * _n + 1)))


def _exp_neg_square(x):
    """exp(-x^2) without the error of rounding x^2 (up to x^2 ulps of the result): x = hi + lo
    with hi of 26 bits (Veltkamp's split), so hi * hi is exact."""
    split = x * 134217729.0  # 2^27 + 1
    hi = split - (split - x)
    lo = x - hi
    return np.exp(-hi * hi) * np.exp(-lo * (2.0 * hi + lo))


def _erf(x):
    """erf within ~1.5 ulps in float64: the Taylor series (Horner) for |x| < 1, and beyond it
    1 - erfc with erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / ...))),
    a continued fraction evaluated from its tail (200 levels reach 1e-17 at x = 1, 60 at x = 2).
    erf is +-1 in float64 beyond |x| = 6."""
    x = np.asarray(x)
    a = np.abs(x.astype(np.float64))
    out = np.empty_like(a)
    small = a < 1.0
    s = a[small]
    s2, acc = s * s, np.full_like(s, _ERF_TAYLOR[-1])
    for c in _ERF_TAYLOR[-2::-1]:
        acc = acc * s2 + c
    out[small] = s * acc
    b = np.minimum(a[~small], 6.0)  # NaN stays NaN through every step
    f = b.copy()
    for k in range(200 if np.any(b < 2.0) else 60, 0, -1):
        f = b + (0.5 * k) / f
    out[~small] = 1.0 - _exp_neg_square(b) * (0.5 * _TWO_OVER_SQRT_PI) / f
    return np.copysign(out, x).astype(x.dtype, copy=False)


def _erf_slope(x):
    # erf'(x) = 2 / sqrt(pi) * exp(-x^2). Rounding x^2 costs up to x^2 ulps (float32: 50 at
    # x = -9.3), so an array takes _exp_neg_square, in float64 (its split is for 53 bits). A
    # recording Tensor (create_graph) keeps the plain composition: the split's own derivative
    # would cancel catastrophically.
    if type(x) is not np.ndarray:
        return _like(_TWO_OVER_SQRT_PI, x) * np.exp(-x * x)
    slope = _TWO_OVER_SQRT_PI * _exp_neg_square(x.astype(np.float64, copy=False))
    return slope.astype(x.dtype, copy=False)


# a primitive because NumPy has no erf to compose it from (the exact GELU needs it)
erf = primitive(
    "erf",
    _erf,
    lambda g, out, x: g * _erf_slope(x),
    saves=(0,),
)


def _scan_vjp(g, out, *inputs, program, needs, options, parents=None, **params):
    # the loop's rule is the composition of its step's: the recorded program's backward, planned
    # once from the VJPs above and the forms they declare, run over the steps in reverse
    return program.vjp(g, inputs, needs, options, parents, **params)


# A compiled loop (``tg.scan``): a step recorded once as a program of the primitives above, run
# over T steps as ONE node. Its forward is ``tg.scan`` itself, which records the step
scan = Primitive("scan", None, vjp_all=_scan_vjp)
REGISTRY["scan"] = scan

# What ships with the package; the test suite requires a gradient test case for each of these.
BUILTIN = frozenset(REGISTRY)
