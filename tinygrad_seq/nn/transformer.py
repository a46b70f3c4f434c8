"""The Transformer, as ``torch.nn.Transformer`` and its parts: ``TransformerEncoderLayer``,
``TransformerEncoder``, ``TransformerDecoderLayer``, ``TransformerDecoder``.

Each layer is attention plus a position-wise feed-forward network, each wrapped in a residual
connection and a LayerNorm (after the sum, or before the block with ``norm_first``). Stacks are
deep copies of one layer (PyTorch's ``_get_clones``), so parameter names match PyTorch's
(``encoder.layers.0.self_attn.in_proj_weight``) and a torch ``state_dict`` loads as it is.
There is no gradient code here.

Named for the graph viewer: a stack opens a scope "encoder" or "decoder" and one "layer i" per
layer; inside, the blocks' outputs are "self-attention", "cross-attention" and "feed-forward".
"""

import copy

import numpy as np

from .._tensor import Tensor, _check_device
from ..factories import generator
from ..modes import scope
from . import functional as F
from . import init
from .attention import MultiheadAttention, _as_input
from .cells import check_size
from .container import ModuleList
from .layers import Dropout, LayerNorm, Linear
from .module import Module

__all__ = [
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]


def _get_clones(module, n):
    """``n`` deep copies of ``module``. Random Generators are shared, not copied: the clones'
    dropout keeps drawing from one stream (the global one that ``tg.manual_seed`` seeds, or the
    module's own), instead of each clone repeating the same masks."""
    shared = [generator()] + [
        value
        for m in module.modules()
        for value in vars(m).values()
        if isinstance(value, np.random.Generator)
    ]
    return ModuleList([copy.deepcopy(module, {id(g): g for g in shared}) for _ in range(n)])


def _activation(activation):
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if callable(activation):
        return activation
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _check_sizes(who, **sizes):
    for name, value in sizes.items():
        check_size(who, name, value)


class _Layer(Module):
    """What both layers share: the feed-forward block, the norms and dropouts, the options."""

    norms = 2  # LayerNorms (and dropouts) around the blocks: 3 with cross-attention

    def __init__(
        self,
        d_model,
        nhead,
        dim_feedforward=2048,
        dropout=0.1,
        activation=F.relu,
        layer_norm_eps=1e-5,
        batch_first=False,
        norm_first=False,
        bias=True,
        device=None,
        dtype=None,
        *,
        seed=None,
    ):
        super().__init__()
        who = type(self).__name__
        _check_device(device)
        _check_sizes(who, d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward)
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        rng = init.default_rng(seed)
        attention = dict(dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype, seed=rng)
        self.self_attn = MultiheadAttention(d_model, nhead, **attention)
        if self.norms == 3:
            self.multihead_attn = MultiheadAttention(d_model, nhead, **attention)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, seed=rng)
        self.dropout = Dropout(dropout, seed=rng)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, seed=rng)
        self.norm_first = norm_first
        for i in range(1, self.norms + 1):
            setattr(
                self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            )
        for i in range(1, self.norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout, seed=rng))
        self.activation = _activation(activation)

    def _input(self, x, name):
        return _as_input(x, self.linear1.weight.dtype, name, type(self).__name__)

    def _sa_block(self, x, mask, key_padding_mask, is_causal):
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(x).named("self-attention")

    def _ff_block(self, x, last_dropout):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return last_dropout(x).named("feed-forward")


class TransformerEncoderLayer(_Layer):
    """Self-attention then a feed-forward network, each with a residual connection and a
    LayerNorm, as ``torch.nn.TransformerEncoderLayer``:

        x = norm1(x + self_attention(x));  x = norm2(x + feed_forward(x))
        norm_first:  x = x + self_attention(norm1(x));  x = x + feed_forward(norm2(x))
        feed_forward(x) = linear2(dropout(activation(linear1(x))))

    Shapes: src (S, N, d_model), (N, S, d_model) with ``batch_first``, or unbatched
    (S, d_model). ``activation`` is "relu", "gelu" or a callable. ``src_mask`` and
    ``src_key_padding_mask`` are ``MultiheadAttention``'s ``attn_mask`` and
    ``key_padding_mask``; a position whose keys are all masked gets 0 from attention, as in
    PyTorch (no NaN). Dropout draws from the global Generator unless ``seed`` is given.

    >>> import numpy as np, tinygrad_seq as tg
    >>> layer = tg.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, seed=0)
    >>> layer(np.ones((5, 3, 8), dtype=np.float32)).shape
    (5, 3, 8)
    """

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = self._input(src, "src")
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x, self.dropout2))


class TransformerDecoderLayer(_Layer):
    """Self-attention, attention over the encoder's output (``memory``), then a feed-forward
    network, each with a residual connection and a LayerNorm, as
    ``torch.nn.TransformerDecoderLayer``:

        x = norm1(x + self_attention(x))
        x = norm2(x + cross_attention(x, memory))
        x = norm3(x + feed_forward(x))          (norm_first: x = x + block(norm(x)) each)

    Shapes: tgt (T, N, d_model), memory (S, N, d_model) ((N, T, d_model) ... with
    ``batch_first``; unbatched without N). Masks as ``MultiheadAttention``'s.

    >>> import numpy as np, tinygrad_seq as tg
    >>> layer = tg.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, seed=0)
    >>> tgt, memory = np.ones((4, 3, 8), np.float32), np.ones((6, 3, 8), np.float32)
    >>> layer(tgt, memory).shape
    (4, 3, 8)
    """

    norms = 3

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal=False,
        memory_is_causal=False,
    ):
        x, memory = self._input(tgt, "tgt"), self._input(memory, "memory")
        cross = (memory, memory_mask, memory_key_padding_mask, memory_is_causal)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), *cross)
            return x + self._ff_block(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, *cross))
        return self.norm3(x + self._ff_block(x, self.dropout3))

    def _mha_block(self, x, memory, mask, key_padding_mask, is_causal):
        x = self.multihead_attn(
            x,
            memory,
            memory,
            attn_mask=mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(x).named("cross-attention")


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` if given, as
    ``torch.nn.TransformerEncoder``: ``forward(src, mask=None, src_key_padding_mask=None,
    is_causal=None)``.

    ``enable_nested_tensor`` and ``mask_check`` are accepted and ignored: there are no nested
    tensors here. PyTorch's nested-tensor fast path (evaluation mode, ``batch_first``, a
    ``src_key_padding_mask``) returns 0 at padded positions; we return what the layers compute
    there (PyTorch's result without that path). Positions that are not padding agree.

    >>> import numpy as np, tinygrad_seq as tg
    >>> layer = tg.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, seed=0)
    >>> encoder = tg.nn.TransformerEncoder(layer, num_layers=2)
    >>> encoder(np.ones((5, 3, 8), dtype=np.float32)).shape, len(encoder.layers)
    ((5, 3, 8), 2)
    >>> next(name for name, _ in encoder.named_parameters())
    'layers.0.self_attn.in_proj_weight'
    """

    def __init__(
        self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True
    ):
        super().__init__()
        _check_sizes("TransformerEncoder", num_layers=num_layers)
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        batch_first = self.layers[0].self_attn.batch_first
        is_causal = _detect_is_causal_mask(mask, is_causal, _seq_len(src, batch_first))
        output = src
        with scope("encoder"):
            for i, layer in enumerate(self.layers):
                with scope(f"layer {i}"):
                    output = layer(
                        output,
                        src_mask=mask,
                        is_causal=is_causal,
                        src_key_padding_mask=src_key_padding_mask,
                    )
            return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn (each attending to the same
    ``memory``), then ``norm`` if given, as ``torch.nn.TransformerDecoder``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> layer = tg.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, seed=0)
    >>> decoder = tg.nn.TransformerDecoder(layer, num_layers=2)
    >>> tgt, memory = np.ones((4, 3, 8), np.float32), np.ones((6, 3, 8), np.float32)
    >>> decoder(tgt, memory).shape
    (4, 3, 8)
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        _check_sizes("TransformerDecoder", num_layers=num_layers)
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal=None,
        memory_is_causal=False,
    ):
        batch_first = self.layers[0].self_attn.batch_first
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, _seq_len(tgt, batch_first))
        output = tgt
        with scope("decoder"):
            for i, layer in enumerate(self.layers):
                with scope(f"layer {i}"):
                    output = layer(
                        output,
                        memory,
                        tgt_mask=tgt_mask,
                        memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask,
                        memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=tgt_is_causal,
                        memory_is_causal=memory_is_causal,
                    )
            return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """An encoder-decoder Transformer ("Attention Is All You Need"), as ``torch.nn.Transformer``:
    ``out = model(src, tgt, ...)``, the decoder attending to the encoder's output.

    Shapes: src (S, N, d_model), tgt (T, N, d_model) -> (T, N, d_model); (N, S, d_model) ... with
    ``batch_first``; unbatched without N. Weight matrices (every parameter with two or more
    dimensions) are re-drawn Xavier uniform, as PyTorch, from ``seed`` (None: the global
    Generator). ``custom_encoder`` / ``custom_decoder`` replace the default stacks.

    >>> import numpy as np, tinygrad_seq as tg
    >>> model = tg.nn.Transformer(8, 2, num_encoder_layers=1, num_decoder_layers=1,
    ...                           dim_feedforward=16, seed=0)
    >>> src, tgt = np.ones((6, 3, 8), np.float32), np.ones((4, 3, 8), np.float32)
    >>> mask = tg.nn.Transformer.generate_square_subsequent_mask(4)
    >>> model(src, tgt, tgt_mask=mask).shape
    (4, 3, 8)
    >>> mask.tolist()[1]
    [0.0, 0.0, -inf, -inf]
    """

    def __init__(
        self,
        d_model=512,
        nhead=8,
        num_encoder_layers=6,
        num_decoder_layers=6,
        dim_feedforward=2048,
        dropout=0.1,
        activation=F.relu,
        custom_encoder=None,
        custom_decoder=None,
        layer_norm_eps=1e-5,
        batch_first=False,
        norm_first=False,
        bias=True,
        device=None,
        dtype=None,
        *,
        seed=None,
    ):
        super().__init__()
        rng = init.default_rng(seed)
        options = dict(
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            layer_norm_eps=layer_norm_eps,
            batch_first=batch_first,
            norm_first=norm_first,
            bias=bias,
            device=device,
            dtype=dtype,
            seed=rng,
        )
        norm_dtype = np.dtype(np.float32 if dtype is None else dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, **options)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=norm_dtype)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, **options)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=norm_dtype)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p, rng=rng)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(
        self,
        src,
        tgt,
        src_mask=None,
        tgt_mask=None,
        memory_mask=None,
        src_key_padding_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        src_is_causal=None,
        tgt_is_causal=None,
        memory_is_causal=False,
    ):
        src_shape, tgt_shape = np.shape(src), np.shape(tgt)
        batch_axis = 0 if self.batch_first else 1
        if len(src_shape) == 3 and src_shape[batch_axis] != tgt_shape[batch_axis]:
            raise RuntimeError(
                f"the batch number of src and tgt must be equal (src shape {src_shape}, tgt "
                f"shape {tgt_shape}, batch_first={self.batch_first})"
            )
        if src_shape[-1] != self.d_model or tgt_shape[-1] != self.d_model:
            raise RuntimeError(
                f"the feature number of src and tgt must be equal to d_model={self.d_model}, "
                f"got src shape {src_shape} and tgt shape {tgt_shape}"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """A (sz, sz) float mask: 0 on and below the diagonal, -inf above (position i sees
        positions 0..i), float32 unless ``dtype`` says otherwise.

        >>> import tinygrad_seq as tg
        >>> tg.nn.Transformer.generate_square_subsequent_mask(2).tolist()
        [[0.0, -inf], [0.0, 0.0]]
        """
        _check_device(device)
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        return Tensor(np.triu(np.full((sz, sz), -np.inf, dtype=dtype), 1))


def _seq_len(x, batch_first):
    shape = np.shape(x)
    return shape[1 if batch_first and len(shape) == 3 else 0]


def _detect_is_causal_mask(mask, is_causal, size):
    """``is_causal`` as given, or (None) whether ``mask`` is the causal mask: a hint only, the
    result does not depend on it."""
    make_causal = is_causal is True
    if is_causal is None and mask is not None:
        values = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if values.dtype == np.bool_:
            values = np.where(values, -np.inf, 0.0)
        causal = np.triu(np.full((size, size), -np.inf), 1)
        make_causal = values.shape == causal.shape and bool(np.all(values == causal))
    return make_causal
