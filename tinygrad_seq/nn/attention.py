"""``MultiheadAttention``, as ``torch.nn.MultiheadAttention``: parameter names, layouts, masks,
shapes and results are PyTorch 2.13's, so a torch ``state_dict`` loads as it is.

There is no gradient code here: attention is composed from linear maps, slicing, masking,
softmax and matmul (``functional._attend``), and backward is the engine's job.

Named for the graph viewer: the module's nodes sit in a scope "multihead attention"; the
projections are "queries", "keys", "values"; each head is a scope "head h" holding its "query",
"key", "value", "scores", "attention weights" and "context"; the heads' contexts are joined into
"contexts" and projected to the "attention output".
"""

import math
import numbers

import numpy as np

from .._tensor import Tensor, _check_device
from ..functions import concat, stack
from ..modes import scope
from . import functional as F
from . import init
from .layers import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear"]

_PROJECTIONS = ("queries", "keys", "values")


def _check_heads(embed_dim, num_heads):
    """Both sizes positive integers, and the embedding split evenly across the heads (PyTorch's
    errors and messages)."""
    for value in (embed_dim, num_heads):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                f"and num_heads={num_heads} instead"
            )
    if embed_dim % num_heads:
        raise AssertionError(
            f"embed_dim must be divisible by num_heads, got embed_dim={embed_dim} and "
            f"num_heads={num_heads}"
        )


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` under the name PyTorch gives ``MultiheadAttention.out_proj`` (its repr says
    so); it behaves exactly as ``Linear``.

    >>> from tinygrad_seq.nn.attention import NonDynamicallyQuantizableLinear
    >>> NonDynamicallyQuantizableLinear(2, 3, seed=0).weight.shape
    (3, 2)
    """


class MultiheadAttention(Module):
    """Attention with ``num_heads`` heads, as ``torch.nn.MultiheadAttention``:
    ``output, weights = mha(query, key, value)``.

        Q = query W_q^T + b_q,  K = key W_k^T + b_k,  V = value W_v^T + b_v
        head_h = softmax(Q_h K_h^T / sqrt(head_dim) + mask) V_h       (h-th slice of head_dim)
        output = concat(head_1, ..., head_H) W_o^T + b_o

    Shapes (E = embed_dim): query (L, N, E), key (S, N, kdim), value (S, N, vdim); (N, L, E) ...
    with ``batch_first``; unbatched (L, E), (S, kdim), (S, vdim). The output has query's layout;
    the weights are (N, L, S), or (N, num_heads, L, S) with ``average_attn_weights=False``.

    Parameters: ``in_proj_weight`` (3E, E) holding W_q, W_k, W_v stacked (or ``q_proj_weight``,
    ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim) when kdim or vdim differ from E),
    ``in_proj_bias`` (3E,), ``out_proj`` (a Linear), ``bias_k``, ``bias_v`` (1, 1, E) with
    ``add_bias_kv``. Initialised as PyTorch: Xavier uniform projections, zero biases, Xavier
    normal ``bias_k``/``bias_v``, drawn from ``seed`` (None: the global Generator).

    Masks: ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N * num_heads, L, S); a bool
    mask marks what must NOT be attended (True = ignore: the opposite of
    ``scaled_dot_product_attention``), a float mask is added to the scores. ``is_causal`` is a
    hint that ``attn_mask`` is the causal mask (it must be given), as in PyTorch. ``dropout``
    drops attention weights in training mode, from the global Generator unless ``seed`` is given.

    Fully masked query rows (every key ignored): with ``need_weights=False`` their output is the
    output bias alone (attention gives 0, as PyTorch 2.13). With ``need_weights=True`` PyTorch
    returns NaN for them; we refuse with a ValueError naming the row instead of a silent NaN.

    >>> import numpy as np, tinygrad_seq as tg
    >>> mha = tg.nn.MultiheadAttention(8, 2, batch_first=True, seed=0)
    >>> x = np.ones((3, 5, 8), dtype=np.float32)  # (batch, sequence, embedding)
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    >>> [name for name, _ in mha.named_parameters()]
    ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']
    """

    def __init__(
        self,
        embed_dim,
        num_heads,
        dropout=0.0,
        bias=True,
        add_bias_kv=False,
        add_zero_attn=False,
        kdim=None,
        vdim=None,
        batch_first=False,
        device=None,
        dtype=None,
        *,
        seed=None,
    ):
        super().__init__()
        _check_device(device)
        _check_heads(embed_dim, num_heads)
        F._check_probability(dropout, "MultiheadAttention")
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn = add_zero_attn
        rng = init.default_rng(seed)
        self._rng = rng  # dropout masks, call after call
        self._make_parameters(bias, add_bias_kv, dtype, rng)

    def _make_parameters(self, bias, add_bias_kv, dtype, rng):
        """The projections and biases, named, shaped and initialised as PyTorch's."""
        embed_dim = self.embed_dim

        def empty(*shape):
            return Parameter(np.empty(shape, dtype=dtype))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = init.xavier_uniform_(empty(3 * embed_dim, embed_dim), rng=rng)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            for name, size in (("q", embed_dim), ("k", self.kdim), ("v", self.vdim)):
                weight = init.xavier_uniform_(empty(embed_dim, size), rng=rng)
                self.register_parameter(f"{name}_proj_weight", weight)
        bias_in = init.zeros_(empty(3 * embed_dim)) if bias else None
        self.register_parameter("in_proj_bias", bias_in)
        if add_bias_kv:
            self.bias_k = init.xavier_normal_(empty(1, 1, embed_dim), rng=rng)
            self.bias_v = init.xavier_normal_(empty(1, 1, embed_dim), rng=rng)
        else:
            self.bias_k = self.bias_v = None
        self.out_proj = NonDynamicallyQuantizableLinear(
            embed_dim, embed_dim, bias=bias, dtype=dtype, seed=rng
        )
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights=True,
        attn_mask=None,
        average_attn_weights=True,
        is_causal=False,
    ):
        q, k, v, batched = self._inputs(query, key, value, key_padding_mask, attn_mask)
        with scope("multihead attention"):
            out, weights = self._attention(
                q, k, v, key_padding_mask, attn_mask, need_weights, is_causal
            )
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            out = out[0]
            weights = None if weights is None else weights[0]
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    # --- the steps of forward -----------------------------------------------------------------

    def _inputs(self, query, key, value, key_padding_mask, attn_mask):
        """query, key, value as (N, L|S, features) Tensors of the module's dtype, and whether
        the input was batched; shapes checked as PyTorch checks them."""
        dtype = self.out_proj.weight.dtype
        q, k, v = (
            _as_input(x, dtype, name)
            for x, name in ((query, "query"), (key, "key"), (value, "value"))
        )
        _check_shapes(q, k, v, key_padding_mask, attn_mask, self.num_heads)
        batched = q.ndim == 3
        if not batched:
            q, k, v = q[None], k[None], v[None]
        elif not self.batch_first:
            q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        if q.shape[-1] != self.embed_dim:
            raise AssertionError(
                f"was expecting embedding dimension of {self.embed_dim}, but got {q.shape[-1]}"
            )
        for name, x, size in (("key", k, self.kdim), ("value", v, self.vdim)):
            if x.shape[-1] != size:
                raise RuntimeError(
                    f"MultiheadAttention: {name} has {x.shape[-1]} features, expected "
                    f"{'kdim' if name == 'key' else 'vdim'}={size}"
                )
        if k.shape[:2] != v.shape[:2] or k.shape[0] != q.shape[0]:
            raise AssertionError(
                f"MultiheadAttention: query, key and value must share the batch size and key and "
                f"value the sequence length, got query {tuple(query.shape)}, key "
                f"{tuple(key.shape)}, value {tuple(value.shape)}"
            )
        return q, k, v, batched

    def _projections(self, q, k, v):
        """(queries, keys, values): the three input projections, all heads at once."""
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights = (w[:e], w[e : 2 * e], w[2 * e :])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = self.in_proj_bias
        biases = (None,) * 3 if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        projected = []
        for x, w, bias, letter, name in zip((q, k, v), weights, biases, "qkv", _PROJECTIONS):
            if self._qkv_same_embed_dim:
                w = w.named(f"W_{letter}")  # a slice of in_proj_weight, named as taught
            if bias is not None:
                bias = bias.named(f"b_{letter}")
            projected.append(F.linear(x, w, bias).named(name))
        return projected

    def _attention(self, q, k, v, key_padding_mask, attn_mask, need_weights, is_causal):
        n, length, _ = q.shape
        q, k, v = self._projections(q, k, v)
        dtype = q.dtype
        padding = _additive(key_padding_mask, dtype, "key_padding_mask")
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                "module method `generate_square_subsequent_mask` to create this mask."
            )
        causal = is_causal and padding is None and not need_weights  # the hint is trusted
        mask = None if causal else _additive(attn_mask, dtype, "attn_mask")
        if mask is not None:
            mask = _heads_mask(mask, n, self.num_heads, length, k.shape[1])
        if self.bias_k is not None:  # one more key and value, learned, for every sequence
            k = concat([k, self.bias_k.expand(n, 1, self.embed_dim)], axis=1)
            v = concat([v, self.bias_v.expand(n, 1, self.embed_dim)], axis=1)
            mask, padding = _pad_last(mask), _pad_last(padding)
        if self.add_zero_attn:  # and a zero key and value
            zeros = np.zeros((n, 1, self.embed_dim), dtype=dtype)
            k, v = concat([k, zeros], axis=1), concat([v, zeros], axis=1)
            mask, padding = _pad_last(mask), _pad_last(padding)
        source = k.shape[1]
        if padding is not None:
            if padding.shape != (n, source):
                raise AssertionError(
                    f"Expected key_padding_mask of shape ({n}, {source}) (batch, source length), "
                    f"got {tuple(padding.shape)}"
                )
            padding = padding.reshape(n, 1, 1, source)
            mask = padding if mask is None else mask + padding
        if causal:
            tril = np.tril(np.ones((length, source), dtype=bool))
            mask = np.where(tril, 0.0, -np.inf).astype(dtype).reshape(1, 1, length, source)
        if need_weights and mask is not None:
            _refuse_fully_masked(mask, n, self.num_heads, length, source)
        return self._heads(q, k, v, mask, need_weights)

    def _heads(self, q, k, v, mask, need_weights):
        """Each head attends over its slice of head_dim features, in a scope of its own."""
        d, p = self.head_dim, self.dropout if self.training else 0.0
        scale = 1.0 / math.sqrt(d)
        contexts, weights = [], []
        for h in range(self.num_heads):
            part = slice(h * d, (h + 1) * d)
            with scope(f"head {h}"):
                qh, kh, vh = (
                    x[..., part].named(name) for x, name in ((q, "query"), (k, "key"), (v, "value"))
                )
                mh = None if mask is None else mask[:, h if mask.shape[1] > 1 else 0]
                context, weight = F._attend(qh, kh, vh, mh, scale, p, self._rng)
            contexts.append(context)
            weights.append(weight)
        joined = concat(contexts, axis=-1).named("contexts")
        out = self.out_proj(joined).named("attention output")
        return out, (stack(weights, axis=1) if need_weights else None)


# --- checks and masks -----------------------------------------------------------------------------


def _as_input(x, dtype, name, who="MultiheadAttention"):
    """``x`` as a Tensor of the parameters' dtype: arrays are data and are cast (as ``Linear``
    casts them); a Tensor of another float dtype is refused, as PyTorch refuses it."""
    if isinstance(x, Tensor) and x.dtype.kind == "f" and x.dtype != dtype:
        raise TypeError(
            f"{who}: {name} dtype {x.dtype} does not match the parameters' dtype "
            f"{dtype}; cast it, or build the module with dtype=np.{x.dtype}"
        )
    return F._as_float_tensor(x, who).astype(dtype)


def _check_shapes(q, k, v, key_padding_mask, attn_mask, num_heads):
    """The dimension checks of PyTorch's ``_mha_shape_check`` (AssertionError, as there)."""
    padding_dims = None if key_padding_mask is None else np.ndim(key_padding_mask)
    mask_dims = None if attn_mask is None else np.ndim(attn_mask)
    if q.ndim not in (2, 3):
        raise AssertionError(
            f"query should be unbatched 2D or batched 3D tensor but received {q.ndim}-D query "
            "tensor"
        )
    batched = q.ndim == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if k.ndim != q.ndim or v.ndim != q.ndim:
        raise AssertionError(
            f"For {kind} `query`, expected `key` and `value` to be {q.ndim}-D but found "
            f"{k.ndim}-D and {v.ndim}-D tensors respectively"
        )
    if padding_dims is not None and padding_dims != q.ndim - 1:
        raise AssertionError(
            f"For {kind} `query`, expected `key_padding_mask` to be `None` or {q.ndim - 1}-D but "
            f"found {padding_dims}-D tensor instead"
        )
    if mask_dims is not None and mask_dims not in (2, 3):
        raise AssertionError(
            f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
            f"{mask_dims}-D tensor instead"
        )
    if not batched and mask_dims == 3:
        expected = (num_heads, q.shape[0], k.shape[0])
        if tuple(np.shape(attn_mask)) != expected:
            raise AssertionError(
                f"Expected `attn_mask` shape to be {expected} but got {tuple(np.shape(attn_mask))}"
            )


def _additive(mask, dtype, name):
    """A mask as a float to add to the scores (bool True -> -inf), as PyTorch's canonical mask;
    an unbatched key_padding_mask (S,) gains its batch axis."""
    if mask is None:
        return None
    values = mask if isinstance(mask, Tensor) else np.asarray(mask)
    if values.dtype == np.bool_:
        array = values._data if isinstance(values, Tensor) else values
        values = np.where(array, -np.inf, 0.0).astype(dtype)
    elif values.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    elif not isinstance(values, Tensor):
        values = values.astype(dtype, copy=False)
    if name == "key_padding_mask" and values.ndim == 1:
        values = values[None]
    return values


def _heads_mask(mask, n, num_heads, length, source):
    """attn_mask (L, S) or (N * num_heads, L, S) as (1 | N, 1 | num_heads, L, S)."""
    if mask.ndim == 2:
        if tuple(mask.shape) != (length, source):
            raise RuntimeError(
                f"The shape of the 2D attn_mask is {tuple(mask.shape)}, but should be "
                f"{(length, source)}."
            )
        return mask.reshape(1, 1, length, source)
    if tuple(mask.shape) != (n * num_heads, length, source):
        raise RuntimeError(
            f"The shape of the 3D attn_mask is {tuple(mask.shape)}, but should be "
            f"{(n * num_heads, length, source)}."
        )
    return mask.reshape(n, num_heads, length, source)


def _pad_last(mask):
    """One more key, never masked: a zero column at the end."""
    if mask is None:
        return None
    zeros = np.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype)
    if isinstance(mask, Tensor):
        return concat([mask, zeros], axis=-1)
    return np.concatenate([mask, zeros], axis=-1)


def _refuse_fully_masked(mask, n, num_heads, length, source):
    values = mask._data if isinstance(mask, Tensor) else mask
    dead = np.isneginf(np.broadcast_to(values, (n, num_heads, length, source))).all(axis=-1)
    if dead.any():
        b, h, row = (int(i) for i in np.argwhere(dead)[0])
        raise ValueError(
            f"MultiheadAttention: query {row} of batch item {b} (head {h}) has every key masked "
            "(key_padding_mask / attn_mask), so its attention weights would be 0/0: PyTorch "
            "returns NaN here. Unmask at least one key, or pass need_weights=False (the output "
            "row is then the output bias, as in PyTorch)."
        )
