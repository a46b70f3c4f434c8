"""Functions of tensors, named and behaving as in ``torch.nn.functional``: activations, softmax,
dropout, linear, and the losses.

Everything here is composed from Tensor primitives, so no function defines a derivative. The
losses check their inputs first and name the expected and the actual sizes in their errors.

>>> import numpy as np, tinygrad_seq as tg
>>> import tinygrad_seq.nn.functional as F
>>> logits = tg.Tensor(np.array([[2.0, 0.5, -1.0]]), requires_grad=True)
>>> loss = F.cross_entropy(logits, np.array([0]))
>>> loss.backward()
>>> round(loss.item(), 4), logits.grad.shape
(0.2413, (1, 3))
"""

import numbers

import numpy as np

from .. import ops
from .._tensor import Tensor, apply, matmul_transposed
from ..functions import stack, where
from . import activation_functions
from .activation_functions import *  # noqa: F403  elu, silu, mish, ...: composed there
from .init import default_rng

__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "embedding",
    "gelu",
    "layer_norm",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "softmax",
    "tanh",
]
__all__ += activation_functions.__all__  # elu, silu, softplus, ...

_REDUCTIONS = ("mean", "sum", "none")


def _as_tensor(x, fn):
    """``x`` as a Tensor (ndarrays and numbers are wrapped, sharing the array)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, np.generic, numbers.Number, list, tuple)):
        return Tensor(x)
    raise TypeError(f"{fn}: expected a Tensor or an ndarray, got {type(x).__name__}")


def _as_float_tensor(x, fn):
    x = _as_tensor(x, fn)
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: expected a floating-point input, got dtype {x.dtype}")
    return x


def _dim(dim, axis, fn):
    """PyTorch's ``dim`` or NumPy's ``axis`` (default: the last axis)."""
    if dim is not None and axis is not None and dim != axis:
        raise TypeError(f"{fn}: got both dim={dim!r} and axis={axis!r}; pass one of them")
    chosen = dim if dim is not None else axis
    return -1 if chosen is None else chosen


def _check_reduction(reduction, fn):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


# --- activations ----------------------------------------------------------------------------------


def relu(input, inplace=False):
    """max(x, 0) elementwise (``inplace``: see ``elu``).

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.relu(tg.Tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return _as_tensor(input, "relu").relu()


def tanh(input):
    """Hyperbolic tangent elementwise.

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.tanh(tg.Tensor([0.0])).tolist()
    [0.0]
    """
    return _as_tensor(input, "tanh").tanh()


def sigmoid(input):
    """1 / (1 + exp(-x)) elementwise (computed stably).

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.sigmoid(tg.Tensor([0.0])).tolist()
    [0.5]
    """
    return _as_tensor(input, "sigmoid").sigmoid()


def softmax(input, dim=None, *, axis=None):
    """exp(x) / sum(exp(x)) along ``dim`` (default: the last axis), computed stably.

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.softmax(tg.Tensor([[0.0, 0.0]]), dim=1).tolist()
    [[0.5, 0.5]]
    """
    return _as_float_tensor(input, "softmax").softmax(_dim(dim, axis, "softmax"))


def log_softmax(input, dim=None, *, axis=None):
    """x - logsumexp(x) along ``dim`` (default: the last axis); never overflows.

    >>> import numpy as np, tinygrad_seq as tg
    >>> np.round(tg.nn.functional.log_softmax(tg.Tensor(np.array([1000.0, 1000.0]))).numpy(), 4)
    array([-0.6931, -0.6931])
    """
    return _as_float_tensor(input, "log_softmax").log_softmax(_dim(dim, axis, "log_softmax"))


def dropout(input, p=0.5, training=True, rng=None):
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) ("inverted"
    dropout, so evaluation needs no rescaling). Identity when ``training`` is False.

    ``rng`` is a ``np.random.Generator`` (or an int seed); None draws from the global Generator
    that ``tg.manual_seed`` seeds.

    >>> import numpy as np, tinygrad_seq as tg
    >>> y = tg.nn.functional.dropout(tg.ones(1000), 0.5, rng=np.random.default_rng(0))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    """
    _check_probability(p, "dropout")
    x = _as_float_tensor(input, "dropout")
    if not training or p == 0:
        return x
    if p == 1:  # everything dropped; 1 / (1 - p) would divide by zero
        return x * np.zeros(x.shape, dtype=x.dtype)
    keep = default_rng(rng).random(x.shape) >= p
    # the mask is built in x's dtype: the Python float scale does not upcast float32
    return x * (keep.astype(x.dtype) * (1.0 / (1.0 - p)))


def _check_probability(p, fn):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"{fn}: probability p must be a number in [0, 1], got {p!r}")


# --- linear ---------------------------------------------------------------------------------------


def _check_features(x, in_features, who):
    """Raise a clear error unless ``x`` is shaped (..., in_features)."""
    if x.ndim == 0:
        raise ValueError(
            f"{who}: expected input of shape (..., {in_features}), got a 0-d tensor (a scalar)"
        )
    if x.shape[-1] != in_features:
        raise ValueError(
            f"{who}: expected input with {in_features} features in its last dimension, "
            f"got {x.shape[-1]} (input shape {x.shape})"
        )


def linear(input, weight, bias=None):
    """x @ weight.T + bias over the last axis of ``x``; any leading dimensions.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.Tensor(np.ones((2, 3)))
    >>> tg.nn.functional.linear(tg.Tensor(np.ones((4, 3))), w).shape
    (4, 2)
    """
    x = _as_float_tensor(input, "linear")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    _check_features(x, weight.shape[1], "linear")
    if x.dtype != weight.dtype:  # a module casts its input; the function does no magic
        raise TypeError(
            f"linear: input dtype {x.dtype} does not match the weight dtype {weight.dtype}; "
            f"cast one of them (.float() / .double())"
        )
    out = matmul_transposed(x, weight)
    return out if bias is None else out + bias


def _check_indices(indices, num_embeddings, who):
    """The integer index array behind ``indices``; a clear error for floats or out-of-range."""
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(
            f"{who}: indices must be integers, got dtype {idx.dtype} "
            "(cast with .astype(np.int64) if they are whole numbers)"
        )
    bad = (idx < 0) | (idx >= num_embeddings)
    if bad.any():
        raise IndexError(
            f"{who}: index {idx[bad].flat[0]} is out of range for num_embeddings="
            f"{num_embeddings} (expected 0 <= index < {num_embeddings})"
        )
    return idx


def embedding(input, weight):
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by integer ``input`` of any
    shape; the result has shape input.shape + (embedding_dim,). Repeated indices add their
    gradients into the same row.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.Tensor(np.arange(6.0).reshape(3, 2))
    >>> tg.nn.functional.embedding(np.array([2, 0]), w).tolist()
    [[4.0, 5.0], [0.0, 1.0]]
    """
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num, dim), got shape {weight.shape}")
    return weight[_check_indices(input, weight.shape[0], "embedding")]


def one_hot(tensor, num_classes=-1):
    """Integer class indices of any shape -> an int64 tensor of shape ``shape + (num_classes,)``
    holding 1 at each index and 0 elsewhere. ``num_classes=-1`` takes the largest index + 1.

    >>> import numpy as np, tinygrad_seq as tg
    >>> tg.nn.functional.one_hot(np.array([0, 2])).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    idx = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got dtype {idx.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    if num_classes == -1:
        if idx.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor")
        num_classes = int(idx.max()) + 1
    if num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be -1 or >= 0, got {num_classes}")
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        bad = idx[(idx < 0) | (idx >= num_classes)].flat[0]
        raise ValueError(
            f"one_hot: class index {bad} is out of range for num_classes={num_classes} "
            f"(expected 0 <= index < {num_classes})"
        )
    return Tensor((idx[..., None] == np.arange(num_classes)).astype(np.int64))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing ``normalized_shape`` axes to mean 0 and variance 1 (the biased
    variance, as PyTorch), then ``* weight + bias`` if given: (x - mean) / sqrt(var + eps).

    >>> import numpy as np, tinygrad_seq as tg
    >>> y = tg.nn.functional.layer_norm(tg.Tensor(np.array([[1.0, 3.0]])), (2,))
    >>> np.round(y.numpy(), 4)
    array([[-1.,  1.]])
    """
    x = _as_float_tensor(input, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or len(shape) > x.ndim or x.shape[x.ndim - len(shape) :] != shape:
        raise ValueError(
            f"layer_norm: normalized_shape {shape} must be the trailing dimensions of the "
            f"input, got input shape {x.shape}"
        )
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    centered = x - x.mean(axes, keepdims=True)
    variance = (centered * centered).mean(axes, keepdims=True)
    out = centered / (variance + eps).sqrt()
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


# --- losses ---------------------------------------------------------------------------------------


def mse_loss(input, target, reduction="mean"):
    """Mean (or sum, or elementwise) squared error; ``input`` and ``target`` must have one shape.

    An ndarray target is cast to the input's dtype (it is a constant, so float64 data does not
    upcast a float32 model).

    >>> import numpy as np, tinygrad_seq as tg
    >>> tg.nn.functional.mse_loss(tg.Tensor([1.0, 3.0]), np.array([0.0, 1.0])).item()
    2.5
    """
    _check_reduction(reduction, "mse_loss")
    x = _as_float_tensor(input, "mse_loss")
    if isinstance(target, Tensor):
        if target.dtype != x.dtype:
            raise TypeError(f"mse_loss: input dtype {x.dtype} but target dtype {target.dtype}")
    else:
        target = np.asarray(target).astype(x.dtype, copy=False)
    if tuple(target.shape) != x.shape:
        raise ValueError(
            f"mse_loss: input has shape {x.shape} but target has shape {tuple(target.shape)}; "
            "they must match"
        )
    diff = x - target
    return _reduce(diff * diff, reduction)


def _reduce(losses, reduction):
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def _class_targets(input, target, ignore_index, fn):
    """Check ``input`` and integer class ``target``; return (scores (N, C), safe targets (N,),
    valid mask (N,), unbatched). An unbatched (C,) input with a 0-d target counts as N = 1."""
    x = _as_float_tensor(input, fn)
    if x.ndim not in (1, 2):
        raise ValueError(
            f"{fn}: expected input of shape (N, C) or (C,), got shape {x.shape}; for a sequence "
            "flatten time into the batch: input.reshape(-1, C), target.reshape(-1)"
        )
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{fn}: target must hold integer class indices, got dtype {t.dtype} "
            "(class-probability targets are not supported)"
        )
    unbatched = x.ndim == 1
    if unbatched:
        if t.ndim != 0:
            raise ValueError(
                f"{fn}: an unbatched input of shape {x.shape} needs a 0-d target, got shape "
                f"{t.shape}"
            )
        x, t = x.reshape(1, -1), t.reshape(1)
    n, c = x.shape
    if t.shape != (n,):
        raise ValueError(
            f"{fn}: input has batch size {n} (shape {x.shape}) but target has shape "
            f"{t.shape}; expected target shape ({n},)"
        )
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(
            f"{fn}: target {t[bad][0]} is out of range for {c} classes "
            f"(expected 0 <= target < {c}, or ignore_index={ignore_index})"
        )
    return x, np.where(valid, t, 0), valid, unbatched


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of integer ``target`` classes under log-probabilities ``input``
    (N, C). ``weight`` (C,) rescales each class; targets equal to ``ignore_index`` count for
    nothing, and "mean" divides by the (weighted) number of the others, as PyTorch does.

    >>> import numpy as np, tinygrad_seq as tg
    >>> logp = tg.Tensor(np.log(np.array([[0.5, 0.5], [0.25, 0.75]])))
    >>> round(tg.nn.functional.nll_loss(logp, np.array([0, 1])).item(), 4)
    0.4904
    """
    _check_reduction(reduction, "nll_loss")
    checked = _class_targets(input, target, ignore_index, "nll_loss")
    return _nll(*checked, weight, reduction, "nll_loss")


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Softmax cross-entropy of logits ``input`` (N, C) against integer ``target`` (N,):
    ``nll_loss(log_softmax(input, dim=1), target)``, stable for any logit size (log-sum-exp).
    Targets equal to ``ignore_index`` (padding) count for nothing.

    >>> import numpy as np, tinygrad_seq as tg
    >>> logits = tg.Tensor(np.array([[1000.0, 0.0], [0.0, 0.0]]))
    >>> round(tg.nn.functional.cross_entropy(logits, np.array([0, -100])).item(), 4)
    0.0
    """
    _check_reduction(reduction, "cross_entropy")
    x, safe, valid, unbatched = _class_targets(input, target, ignore_index, "cross_entropy")
    if not valid.all():  # an ignored row may be -inf (masked): its NaN must not reach the loss
        x = where(valid[:, None], x, 0.0)  # nor its gradient (where passes 0 to ignored rows)
    return _nll(x.log_softmax(1), safe, valid, unbatched, weight, reduction, "cross_entropy")


def _nll(logp, safe, valid, unbatched, weight, reduction, fn):
    n, c = logp.shape
    w = valid.astype(logp.dtype)
    if weight is not None:
        class_w = np.asarray(weight._data if isinstance(weight, Tensor) else weight)
        if class_w.shape != (c,):
            raise ValueError(f"{fn}: weight must have shape ({c},), got {class_w.shape}")
        w = w * class_w.astype(logp.dtype)[safe]
    picked = logp[np.arange(n), safe]  # integer-array getitem: backward adds per row
    if not valid.all():  # ignored rows count for nothing, even a -inf or NaN one (0 * inf = NaN)
        picked = where(valid, picked, 0.0)
    losses = -(picked * w)
    if reduction == "none":
        return losses.reshape(()) if unbatched else losses
    total = losses.sum()
    if reduction == "sum":
        return total
    denom = w.sum()
    if denom == 0:  # every target ignored: NaN as in PyTorch, with zero gradients
        return total + float("nan")
    return total / denom


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy of probability ``target`` (same shape as ``input``) under
    sigmoid(``input``), computed from the logits without overflow:
    ``(1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)``, times ``weight`` if given.

    ``pos_weight`` (broadcast over the last axis, one per class) weighs the positive term.

    >>> import numpy as np, tinygrad_seq as tg
    >>> x = tg.Tensor(np.array([1000.0, -1000.0, 0.0]))
    >>> F = tg.nn.functional
    >>> F.binary_cross_entropy_with_logits(x, np.array([1.0, 0.0, 1.0]), reduction="none").tolist()
    [0.0, 0.0, 0.6931471805599453]
    """
    fn = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, fn)
    x = _as_float_tensor(input, fn)
    t = _constant_like(target, x, fn, "target")
    if tuple(t.shape) != x.shape:
        raise ValueError(
            f"{fn}: target has shape {tuple(t.shape)} but input has shape {x.shape}; "
            "they must match"
        )
    # softplus(-x) = log(1 + exp(-x)) as logsumexp([0, -x]): never overflows, and its gradient
    # is -sigmoid(x) everywhere (max(-x, 0) + log1p(exp(-|x|)) has a kink at x = 0 where the
    # pieces' subgradients do not add up to PyTorch's sigmoid(x) - t)
    softplus = stack([Tensor(np.zeros(x.shape, x.dtype)), -x], axis=0).logsumexp(axis=0)
    if pos_weight is not None:
        softplus = softplus * (1 + (_constant_like(pos_weight, x, fn, "pos_weight") - 1) * t)
    losses = (1 - t) * x + softplus
    if weight is not None:
        losses = losses * _constant_like(weight, x, fn, "weight")
    return _reduce(losses, reduction)


def _constant_like(value, x, fn, what):
    """A target/weight: a Tensor of x's dtype as it is, anything else as an array of that dtype."""
    if isinstance(value, Tensor):
        if value.dtype != x.dtype:
            raise TypeError(f"{fn}: input dtype {x.dtype} but {what} dtype {value.dtype}")
        return value
    return np.asarray(value).astype(x.dtype, copy=False)


# --- attention (composed: matmul, masking, softmax, dropout; no derivative of its own) -----------


def scaled_dot_product_attention(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p=0.0,
    is_causal=False,
    *,
    scale=None,
    enable_gqa=False,
):
    """softmax(query @ key^T * scale + mask) @ value, as
    ``torch.nn.functional.scaled_dot_product_attention``.

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); leading
    dimensions broadcast. ``scale`` defaults to 1 / sqrt(E). ``attn_mask`` broadcasts to
    (..., L, S): a bool mask says which keys each query may attend to (True = takes part), a
    float mask is added to the scores (-inf removes a key). ``is_causal`` lets query i see keys
    0..i only (no ``attn_mask`` then). ``dropout_p`` drops attention weights (always, as
    PyTorch: pass 0.0 in evaluation), drawing from the global Generator (``tg.manual_seed``).
    ``enable_gqa``: query has Hq heads at dim -3, key and value Hk (Hq a multiple of Hk), and
    each key/value head serves Hq / Hk query heads. Bad shapes or dtypes raise RuntimeError, as
    in PyTorch, naming the shapes.

    A query whose keys are all masked attends to nothing: its output row is 0 and it passes no
    gradient, as PyTorch 2.13 returns here (a plain softmax would give 0/0 = NaN).

    >>> import numpy as np, tinygrad_seq as tg
    >>> F = tg.nn.functional
    >>> q = k = v = tg.Tensor(np.eye(3)[None])  # (1, 3, 3)
    >>> out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    >>> np.round(out.numpy()[0, :2], 3).tolist()
    [[1.0, 0.0, 0.0], [0.36, 0.64, 0.0]]
    """
    fn = "scaled_dot_product_attention"
    q, k, v = _attention_inputs(query, key, value, enable_gqa, fn)
    mask = _attention_mask(attn_mask, is_causal, q, k, fn)
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    _check_probability(dropout_p, fn)
    context, _ = _attend(q, k, v, mask, scale, dropout_p)
    return context


def _attend(q, k, v, mask=None, scale=1.0, dropout_p=0.0, rng=None):
    """(context, attention weights) of already checked ``q, k, v``; ``mask`` None, a bool array
    (True = takes part) or a float Tensor/array added to the scores. The one place where
    attention is written; named for the graph viewer ("scores", "attention weights",
    "context"). Fully masked rows give zero weights (see ``scaled_dot_product_attention``).

    >>> import numpy as np, tinygrad_seq as tg
    >>> q = tg.Tensor(np.ones((2, 4)))
    >>> context, weights = tg.nn.functional._attend(q, q, q, scale=0.5)
    >>> weights.numpy().tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    scores = (q @ k.transpose(-2, -1)) * scale
    if mask is not None and mask.dtype == np.bool_:
        scores = where(mask, scores, -np.inf)
    elif mask is not None:
        scores = scores + mask
    scores = scores.named("scores")
    dead = np.isneginf(scores._data).all(axis=-1, keepdims=True)
    if dead.any():  # 0/0: softmax a finite row instead, then zero it (no gradient flows back)
        weights = where(dead, 0.0, where(dead, 0.0, scores).softmax(-1))
    else:
        weights = scores.softmax(-1)
    weights = weights.named("attention weights")
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True, rng).named("attention weights (dropout)")
    return (weights @ v).named("context"), weights


def _attention_inputs(query, key, value, enable_gqa, fn):
    q, k, v = (_as_float_tensor(x, fn) for x in (query, key, value))
    for name, x in (("query", q), ("key", k), ("value", v)):
        if x.ndim < 2:
            raise RuntimeError(f"{fn}: {name} must have at least 2 dimensions, got shape {x.shape}")
    if not q.dtype == k.dtype == v.dtype:
        raise RuntimeError(
            f"{fn}: query, key and value must have one dtype, got {q.dtype}, {k.dtype}, {v.dtype}"
        )
    if k.shape[-1] != q.shape[-1]:
        raise RuntimeError(
            f"{fn}: query (..., L, E) and key (..., S, E) must share E, got query shape "
            f"{q.shape} and key shape {k.shape}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise RuntimeError(
            f"{fn}: key (..., S, E) and value (..., S, Ev) must share S, got key shape {k.shape} "
            f"and value shape {v.shape}"
        )
    if enable_gqa:
        k, v = (_repeat_heads(x, q, fn) for x in (k, v))
    try:
        np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise RuntimeError(
            f"{fn}: the leading (batch) dimensions of query {q.shape}, key {k.shape} and value "
            f"{v.shape} do not broadcast"
        ) from None
    return q, k, v


def _repeat_heads(x, q, fn):
    """Grouped-query attention: each of x's Hk heads (dim -3) repeated Hq / Hk times in a row."""
    if x.ndim < 3 or q.ndim < 3 or q.shape[-3] % x.shape[-3]:
        raise RuntimeError(
            f"{fn}: enable_gqa needs heads at dim -3, the query's a multiple of the key's and "
            f"value's, got query shape {q.shape} and {x.shape}"
        )
    groups, heads = q.shape[-3] // x.shape[-3], x.shape[-3]
    lead, rest = x.shape[:-3], x.shape[-2:]
    x = x.reshape(*lead, heads, 1, *rest).expand(*lead, heads, groups, *rest)
    return x.reshape(*lead, heads * groups, *rest)


def _attention_mask(attn_mask, is_causal, q, k, fn):
    """None, a bool array (True = takes part), or a float mask in q's dtype, broadcastable to
    (..., L, S)."""
    length, source = q.shape[-2], k.shape[-2]
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(f"{fn}: pass attn_mask or is_causal=True, not both")
        return np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is None:
        return None
    mask = attn_mask if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
    if mask.dtype == np.bool_:
        mask = np.asarray(mask._data if isinstance(mask, Tensor) else mask)
    elif mask.dtype.kind != "f":
        raise RuntimeError(
            f"{fn}: attn_mask must be bool or floating point, got dtype {mask.dtype}"
        )
    elif isinstance(mask, Tensor) and mask.dtype != q.dtype:
        raise RuntimeError(
            f"{fn}: a float attn_mask must have the query's dtype {q.dtype}, got {mask.dtype}"
        )
    elif not isinstance(mask, Tensor):
        mask = mask.astype(q.dtype, copy=False)  # an array is data: it follows the query
    try:
        np.broadcast_shapes(mask.shape, q.shape[:-2] + (length, source))
    except ValueError:
        raise RuntimeError(
            f"{fn}: attn_mask of shape {tuple(mask.shape)} does not broadcast to "
            f"(..., L, S) = {q.shape[:-2] + (length, source)}"
        ) from None
    return mask


def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal's distribution function: 0.5 x (1 + erf(x / sqrt 2));
    ``approximate="tanh"``: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), as ``F.gelu``.

    >>> import tinygrad_seq as tg
    >>> [round(v, 4) for v in tg.nn.functional.gelu(tg.Tensor([-1.0, 0.0, 1.0])).tolist()]
    [-0.1587, 0.0, 0.8413]
    """
    x = _as_float_tensor(input, "gelu")
    if approximate == "tanh":
        inner = (x + 0.044715 * x * x * x) * np.sqrt(2.0 / np.pi)
        return 0.5 * x * (1.0 + inner.tanh())
    if approximate != "none":
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    # erf is a primitive (NumPy has none to compose it from)
    return 0.5 * x * (1.0 + apply(ops.erf, x * (1.0 / np.sqrt(2.0))))
