"""Layers: Linear, Embedding, LayerNorm, Dropout, Identity, Flatten and Unflatten, as in
``torch.nn`` (activations are in ``activation.py``, containers in ``container.py``).

Parameters are initialised as PyTorch initialises them, from an explicit ``seed`` (an int, a
``np.random.Generator``, or None for the global Generator that ``tg.manual_seed`` seeds).

>>> import numpy as np, tinygrad_seq as tg
>>> from tinygrad_seq import nn
>>> model = nn.Sequential(nn.Linear(3, 8, seed=0), nn.Tanh(), nn.Linear(8, 2, seed=1))
>>> model(tg.Tensor(np.ones((5, 3), dtype=np.float32))).shape
(5, 2)
>>> [name for name, _ in model.named_parameters()]
['0.weight', '0.bias', '2.weight', '2.bias']
"""

import math

import numpy as np

from .._tensor import Tensor, _check_device
from ..functions import where
from . import functional as F
from . import init

# ReLU, Sigmoid, Tanh and Sequential are re-exported: they lived here before activation.py and
# container.py, and are imported from here
from .activation import ReLU, Sigmoid, Tanh
from .cells import check_size  # the size check every nn layer shares
from .container import Sequential
from .module import Module, Parameter

__all__ = [
    "Dropout",
    "Embedding",
    "Flatten",
    "Identity",
    "LayerNorm",
    "Linear",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "Unflatten",
]


class Linear(Module):
    """y = x @ weight.T + bias over the last axis; weight has shape (out_features, in_features).

    Weight and bias are drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)), as in PyTorch.

    >>> import numpy as np, tinygrad_seq as tg
    >>> layer = tg.nn.Linear(4, 3, seed=0)
    >>> layer.weight.shape, layer(tg.Tensor(np.zeros((2, 7, 4), dtype=np.float32))).shape
    ((3, 4), (2, 7, 3))
    """

    def __init__(
        self, in_features, out_features, bias=True, dtype=np.float32, seed=None, device=None
    ):
        super().__init__()
        _check_device(device)  # the CPU only: "cpu", None or tg.device("cpu")
        self.in_features = check_size("Linear", "in_features", in_features, allow_zero=True)
        self.out_features = check_size("Linear", "out_features", out_features, allow_zero=True)
        rng = init.default_rng(seed)
        bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        init.uniform_(self.weight, -bound, bound, rng)
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
            init.uniform_(self.bias, -bound, bound, rng)
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        dtype = self.weight.dtype
        if isinstance(x, Tensor) and x.dtype.kind == "f" and x.dtype != dtype:  # as PyTorch
            raise TypeError(
                f"{self!r}: input dtype {x.dtype} does not match the weight dtype {dtype}; "
                f"cast the input (.astype(np.{dtype})) or build the layer with dtype=np.{x.dtype}"
            )
        x = F._as_float_tensor(x, "Linear")
        F._check_features(x, self.in_features, repr(self))
        # the layer's dtype decides the precision: float64 arrays meet a float32 model as float32
        return F.linear(x.astype(dtype), self.weight, self.bias)

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Embedding(Module):
    """A lookup table: integer indices of any shape -> rows of ``weight`` (num_embeddings,
    embedding_dim). Rows are initialised from N(0, 1), as in PyTorch. Repeated indices add their
    gradients into the same row.

    ``padding_idx`` (negative counts from the end): that row starts at zeros and gets no
    gradient, as in PyTorch. ``sparse=True`` is accepted, and gradients stay dense arrays (the
    optimizers' results are the same). ``max_norm`` and ``scale_grad_by_freq`` are refused.

    >>> import numpy as np, tinygrad_seq as tg
    >>> emb = tg.nn.Embedding(10, 4, padding_idx=0, seed=0)
    >>> emb(np.array([[1, 2, 0]])).shape, emb.weight[0].tolist()
    ((1, 3, 4), [0.0, 0.0, 0.0, 0.0])
    """

    def __init__(
        self,
        num_embeddings,
        embedding_dim,
        padding_idx=None,
        max_norm=None,
        norm_type=2.0,
        scale_grad_by_freq=False,
        sparse=False,
        _weight=None,
        _freeze=False,
        device=None,
        dtype=np.float32,
        seed=None,
    ):
        super().__init__()
        _check_device(device)
        self.num_embeddings = check_size("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = check_size("Embedding", "embedding_dim", embedding_dim)
        if max_norm is not None or scale_grad_by_freq:
            raise NotImplementedError(
                "Embedding: max_norm and scale_grad_by_freq are not supported (renormalise or "
                "rescale the weight yourself)"
            )
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = padding_idx % num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
            init.normal_(self.weight, 0.0, 1.0, init.default_rng(seed))
            if padding_idx is not None:
                self.weight._data[padding_idx] = 0
        else:
            weight = np.array(_weight._data if isinstance(_weight, Tensor) else _weight)
            if weight.shape != (num_embeddings, embedding_dim):
                raise AssertionError(
                    "Shape of weight does not match num_embeddings and embedding_dim"
                )
            self.weight = Parameter(weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(
        cls,
        embeddings,
        freeze=True,
        padding_idx=None,
        max_norm=None,
        norm_type=2.0,
        scale_grad_by_freq=False,
        sparse=False,
    ):
        """An Embedding holding a copy of the 2-D ``embeddings``, not trained if ``freeze``.

        >>> import numpy as np, tinygrad_seq as tg
        >>> emb = tg.nn.Embedding.from_pretrained(np.eye(3, dtype=np.float32))
        >>> emb(np.array([2])).tolist(), emb.weight.requires_grad
        ([[0.0, 0.0, 1.0]], False)
        """
        weight = np.asarray(embeddings._data if isinstance(embeddings, Tensor) else embeddings)
        if weight.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = weight.shape
        return cls(
            rows,
            cols,
            padding_idx,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            sparse,
            _weight=weight,
            _freeze=freeze,
        )

    def forward(self, indices):
        idx = F._check_indices(indices, self.num_embeddings, repr(self))
        rows = self.weight[idx]  # integer-array getitem: its backward adds repeated rows
        if self.padding_idx is None:
            return rows
        # the padding row's value, but no gradient to it: a constant where the index is padding
        is_padding = (idx == self.padding_idx)[..., None]
        return where(~is_padding, rows, rows._data)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.sparse:
            text += ", sparse=True"
        return text


class LayerNorm(Module):
    """Normalize over the trailing ``normalized_shape`` axes (mean 0, variance 1, see
    ``functional.layer_norm``), then scale by ``weight`` (ones) and shift by ``bias`` (zeros),
    both of shape ``normalized_shape``, unless ``elementwise_affine=False``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> norm = tg.nn.LayerNorm(4)
    >>> y = norm(np.arange(8, dtype=np.float32).reshape(2, 4))
    >>> np.round(y.numpy().mean(axis=1), 6).tolist(), norm.weight.shape
    ([0.0, 0.0], (4,))
    """

    def __init__(
        self,
        normalized_shape,
        eps=1e-5,
        elementwise_affine=True,
        bias=True,
        dtype=np.float32,
        device=None,
    ):
        super().__init__()
        _check_device(device)
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(check_size("LayerNorm", "normalized_shape", n) for n in shape)
        self.eps, self.elementwise_affine = eps, bool(elementwise_affine)
        weight = (
            Parameter(np.ones(self.normalized_shape, dtype=dtype)) if elementwise_affine else None
        )
        self.register_parameter("weight", weight)
        with_bias = elementwise_affine and bias
        self.register_parameter(
            "bias", Parameter(np.zeros(self.normalized_shape, dtype=dtype)) if with_bias else None
        )

    def forward(self, input):
        x = F._as_float_tensor(input, "LayerNorm")
        if self.weight is not None:  # as Linear: the parameters' dtype decides the precision
            dtype = self.weight.dtype
            if x.dtype != dtype and isinstance(input, Tensor):  # arrays are data: cast
                raise TypeError(
                    f"{self!r}: input dtype {x.dtype} does not match the weight dtype {dtype}"
                )
            x = x.astype(dtype)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class Dropout(Module):
    """During training, zero each element with probability ``p`` and scale the others by
    1 / (1 - p); the identity in eval mode. The mask comes from this module's own Generator.

    >>> import numpy as np, tinygrad_seq as tg
    >>> drop = tg.nn.Dropout(0.5, seed=0)
    >>> drop.eval()(tg.ones(3)).tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, p=0.5, seed=None, inplace=False):
        super().__init__()
        F._check_probability(p, "Dropout")
        self.p, self.inplace = p, inplace  # inplace: accepted, the result is a new tensor
        self._rng = init.default_rng(seed)  # the masks, call after call

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self._rng)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to switch a layer off). Any arguments
    are accepted and ignored, as in PyTorch.

    >>> import tinygrad_seq as tg
    >>> tg.nn.Identity(54, unused="x")(tg.ones(2)).tolist()
    [1.0, 1.0]
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """``input.flatten(start_dim, end_dim)``; by default keeps the batch axis (``start_dim=1``).

    >>> import tinygrad_seq as tg
    >>> tg.nn.Flatten()(tg.zeros(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return F._as_tensor(input, "Flatten").flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size`` (a tuple; one entry may be -1).

    >>> import tinygrad_seq as tg
    >>> tg.nn.Unflatten(1, (3, 4))(tg.zeros(2, 12)).shape
    (2, 3, 4)
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(
                "unflattened_size must be tuple of ints, "
                f"but found type {type(unflattened_size).__name__}"
            )
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        x = F._as_tensor(input, "Unflatten")
        ndim = x.ndim
        if not -ndim <= self.dim < ndim:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                f"but got {self.dim})"
            )
        dim = self.dim % ndim
        size = self.unflattened_size
        known = -math.prod(size) if -1 in size else math.prod(size)
        if (-1 in size and x.shape[dim] % known) or (-1 not in size and known != x.shape[dim]):
            raise RuntimeError(
                f"unflatten: Provided sizes {list(size)} don't multiply up to the size of dim "
                f"{self.dim} ({x.shape[dim]}) in the input tensor"
            )
        return x.reshape(*x.shape[:dim], *size, *x.shape[dim + 1 :])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
